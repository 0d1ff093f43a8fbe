//! Planner tests on literal observations: no git, no network.

use std::collections::{BTreeMap, BTreeSet};

use git2::Oid;

use super::*;
use crate::git::local::LocalBranch;
use crate::observe::Observation;
use crate::spec::Spec;

fn oid(c: char) -> Oid {
    Oid::from_str(&c.to_string().repeat(40)).unwrap()
}

/// For plans without a CI rewrite: no text is ever read.
fn no_texts(blob: Oid) -> Result<String, String> {
    Err(format!("no text for {blob}"))
}

fn target() -> Target {
    Spec::builtin().resolve(&[], &|_| None).unwrap()
}

fn obs(remote: &[(&str, char)], local: &[(&str, char)]) -> Observation {
    Observation {
        workdir: "/repo".into(),
        remote: "origin".into(),
        remote_url: "git://example/repo".into(),
        remote_heads: remote.iter().map(|(n, c)| (n.to_string(), oid(*c))).collect(),
        remote_default: Some("main".into()),
        local: local
            .iter()
            .map(|(n, c)| {
                let upstream = Some(Upstream { remote: "origin".into(), branch: n.to_string() });
                (n.to_string(), LocalBranch { oid: oid(*c), upstream })
            })
            .collect(),
        tracking: BTreeMap::new(),
        head_branch: Some("main".into()),
        checkouts: BTreeMap::from([(
            "main".to_string(),
            crate::git::local::Checkout { path: "/repo".into(), current: true, clean: true },
        )]),
        local_refs: local.iter().map(|(n, _)| format!("refs/heads/{n}")).collect(),
        contains: BTreeSet::new(),
        missing: BTreeSet::new(),
        files: remote.iter().map(|(_, c)| (oid(*c), "index.yaml".to_string())).collect(),
        services: Vec::new(),
        ci: None,
        listing: Default::default(),
    }
}

fn lines(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|s| format!("{} {}: {}", s.action.sign().symbol(), s.action.subject(), s.summary))
        .collect()
}

#[test]
fn fresh_repository_gets_the_adr_002_order() {
    let plan = build(
        &target(),
        &obs(&[("main", 'a'), ("charts", 'c')], &[("main", 'a'), ("charts", 'c')]),
        &no_texts,
    )
    .unwrap();
    assert_eq!(
        lines(&plan),
        [
            "+ origin/release: create at ccccccc (tip of charts)",
            "+ origin/integration: create at aaaaaaa (tip of main)",
            "- origin/charts: delete ccccccc (renamed to release; its tip is kept by release)",
            "~ branch charts → release: rename local branch charts to release at ccccccc, upstream origin/charts → origin/release",
            "+ branch integration: create local branch at aaaaaaa, upstream origin/integration",
        ]
    );
    // Warnings about the hosting come from the services (`ops::services`), not the planner.
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn migrated_repository_plans_nothing() {
    let o = obs(
        &[("main", 'a'), ("release", 'c'), ("integration", 'b')],
        &[("main", 'a'), ("release", 'c'), ("integration", 'b')],
    );
    let mut o = o;
    o.contains.insert((oid('a'), oid('b')));
    let plan = build(&target(), &o, &no_texts).unwrap();
    assert!(plan.is_empty(), "{:?}", lines(&plan));
}

#[test]
fn release_equal_to_charts_only_deletes_charts() {
    let plan = build(
        &target(),
        &obs(
            &[("main", 'a'), ("charts", 'c'), ("release", 'c'), ("integration", 'a')],
            &[("integration", 'a')],
        ),
        &no_texts,
    )
    .unwrap();
    assert_eq!(
        lines(&plan),
        ["- origin/charts: delete ccccccc (renamed to release; its tip is kept by release)"]
    );
}

#[test]
fn release_elsewhere_is_refused() {
    let err =
        build(&target(), &obs(&[("main", 'a'), ("charts", 'c'), ("release", 'd')], &[]), &no_texts)
            .unwrap_err();
    assert!(err.message.contains("`release` already exists at ddddddd"), "{}", err.message);
    assert!(err.hint.contains("--set to="), "{}", err.hint);
}

#[test]
fn release_ahead_of_charts_is_accepted() {
    let mut o = obs(
        &[("main", 'a'), ("charts", 'c'), ("release", 'd'), ("integration", 'a')],
        &[("integration", 'a')],
    );
    o.contains.insert((oid('c'), oid('d')));
    let plan = build(&target(), &o, &no_texts).unwrap();
    assert_eq!(plan.actions.len(), 1);
}

#[test]
fn missing_main_suggests_master() {
    let err =
        build(&target(), &obs(&[("master", 'a'), ("charts", 'c')], &[]), &no_texts).unwrap_err();
    assert_eq!(err.message, "remote `origin` has no branch `main` (the stable branch of the plan)");
    assert!(err.hint.contains("--set main=master"));
}

#[test]
fn missing_charts_and_release_is_refused() {
    let err = build(&target(), &obs(&[("main", 'a')], &[]), &no_texts).unwrap_err();
    assert!(err.message.contains("neither `charts` nor `release`"), "{}", err.message);
}

#[test]
fn local_branch_ahead_of_remote_is_refused() {
    let mut o = obs(&[("main", 'a'), ("charts", 'c')], &[("charts", 'e')]);
    o.contains.insert((oid('c'), oid('e')));
    let err = build(&target(), &o, &no_texts).unwrap_err();
    assert!(
        err.message.contains("local branch `charts` (eeeeeee) is ahead of `origin/charts`"),
        "{}",
        err.message
    );
}

#[test]
fn missing_objects_ask_for_a_fetch() {
    let mut o = obs(&[("main", 'a'), ("charts", 'c')], &[]);
    o.missing.insert(oid('c'));
    let err = build(&target(), &o, &no_texts).unwrap_err();
    assert_eq!(err.hint, "run `git fetch origin` and plan again");
}

#[test]
fn stale_tracking_ref_is_dropped_after_a_manual_migration() {
    let mut o =
        obs(&[("main", 'a'), ("release", 'c'), ("integration", 'a')], &[("integration", 'a')]);
    o.tracking.insert("charts".into(), oid('c'));
    let plan = build(&target(), &o, &no_texts).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "- refs/remotes/origin/charts: drop the stale remote-tracking ref (the remote has no such branch)"
        ]
    );
}

#[test]
fn fingerprint_changes_when_a_ref_moves() {
    let a = build(&target(), &obs(&[("main", 'a'), ("charts", 'c')], &[]), &no_texts).unwrap();
    let b = build(&target(), &obs(&[("main", 'a'), ("charts", 'd')], &[]), &no_texts).unwrap();
    assert_ne!(a.observed.fingerprint, b.observed.fingerprint);
    assert_eq!(a.observed.moved(&b.observed), ["remote charts: ccccccc → ddddddd"]);
}

#[test]
fn plan_round_trips_through_json() {
    let plan =
        build(&target(), &obs(&[("main", 'a'), ("charts", 'c')], &[("charts", 'c')]), &no_texts)
            .unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn a_new_branch_beside_refs_under_its_name_is_refused_before_anything() {
    let mut o = obs(&[("main", 'a'), ("charts", 'c')], &[("main", 'a')]);
    o.listing.heads = o.remote_heads.clone();
    for n in ["release/1.x", "release/2.x", "release/3.x", "release/4.x"] {
        o.listing.heads.insert(n.to_string(), oid('d'));
    }
    let err = build(&target(), &o, &no_texts).unwrap_err();
    assert!(err.message.contains("cannot create branch `release`"), "{}", err.message);
    assert!(err.message.contains("refs/heads/release/1.x") && err.message.contains("and 1 more"));
    assert!(err.hint.contains("--set to=NAME"), "{}", err.hint);

    let mut o = obs(&[("main", 'a'), ("charts", 'c')], &[("main", 'a')]);
    o.local_refs.insert("refs/remotes/origin/integration/app".to_string());
    let err = build(&target(), &o, &no_texts).unwrap_err();
    assert!(err.message.contains("`integration`: this clone has"), "{}", err.message);
    assert!(err.hint.contains("--set integration=NAME"), "{}", err.hint);

    let mut o = obs(&[("main", 'a'), ("charts", 'c')], &[("main", 'a')]);
    o.listing.tags.insert("release".to_string());
    let err = build(&target(), &o, &no_texts).unwrap_err();
    assert!(err.message.contains("refs/tags/release"), "{}", err.message);
}

fn setting(
    key: &str,
    from: serde_json::Value,
    to: serde_json::Value,
) -> crate::service::SettingChange {
    crate::service::SettingChange {
        service: "forge".into(),
        scope: "o/r".into(),
        key: key.into(),
        label: key.into(),
        from,
        to,
        remote: "origin".into(),
        needs: Vec::new(),
        serves: None,
        back: false,
        ..Default::default()
    }
}

#[test]
fn a_service_s_changes_go_where_their_stage_says_in_the_adr_002_order() {
    use crate::service::{Contribution, Stage};
    use serde_json::json;
    let mut o = obs(&[("main", 'a'), ("charts", 'b')], &[]);
    o.services.push(Contribution {
        service: "forge".into(),
        changes: vec![
            (Stage::Release, setting("branches/charts/protection", json!({"p": 1}), json!(null))),
            (Stage::Guard, setting("gate", json!(null), json!({"approvals": 1}))),
            (Stage::Follow, setting("pulls/3/base", json!("charts"), json!("release"))),
        ],
        warnings: vec!["a warning".into()],
        notes: vec!["a note".into()],
        ..Default::default()
    });
    let plan = build(&target(), &o, &no_texts).unwrap();
    let subjects: Vec<String> =
        plan.actions.iter().map(|s| format!("{} {}", s.action.subject(), s.summary)).collect();
    let at = |s: &str| {
        subjects.iter().position(|x| x.contains(s)).unwrap_or_else(|| panic!("{s} in {subjects:?}"))
    };
    assert!(at("origin/release") < at("pulls/3/base"), "{subjects:?}");
    assert!(at("pulls/3/base") < at("origin/integration"), "{subjects:?}");
    assert!(at("origin/integration") < at("gate"), "{subjects:?}");
    assert!(at("gate") < at("branches/charts/protection"), "{subjects:?}");
    assert!(at("branches/charts/protection") < at("origin/charts"), "{subjects:?}");
    assert!(plan.warnings.contains(&"a warning".to_string()));
    assert!(plan.notes.contains(&"a note".to_string()));
}

#[test]
fn a_service_that_refuses_stops_the_plan_with_its_fix() {
    let mut o = obs(&[("main", 'a'), ("charts", 'b')], &[]);
    o.services.push(crate::service::Contribution {
        service: "forge".into(),
        refusal: Some(("the site goes down".into(), "set x".into())),
        ..Default::default()
    });
    let e = build(&target(), &o, &no_texts).unwrap_err();
    assert_eq!((e.message.as_str(), e.hint.as_str()), ("the site goes down", "set x"));
}
