//! The flow's planners on literal observations: no git, no network.

use super::*;

fn oid(c: char) -> Oid {
    Oid::from_str(&c.to_string().repeat(40)).unwrap()
}

fn cfg(pattern: &str) -> FlowConfig {
    FlowConfig {
        remote: "origin".into(),
        main: "main".into(),
        integration: "integration".into(),
        pattern: Pattern::parse(pattern).unwrap(),
        planned: ["main", "integration", "release"].map(String::from).into(),
        plan_name: "adr-002".into(),
        plan_source: "test".into(),
        variables: BTreeMap::new(),
    }
}

fn chart(name: &str, main: char, integration: char) -> Chart {
    Chart {
        name: name.into(),
        path: format!("charts/{name}"),
        on_main: Some(oid(main)),
        on_integration: Some(oid(integration)),
        files: vec![format!("~ charts/{name}/values.yaml")],
    }
}

fn obs(charts: Vec<Chart>, branches: Vec<(&str, ChartBranch)>) -> FlowObservation {
    let mut heads: BTreeMap<String, Oid> =
        [("main", oid('1')), ("integration", oid('2'))].map(|(k, v)| (k.to_string(), v)).into();
    for (name, b) in &branches {
        heads.insert(name.to_string(), b.tip);
    }
    let root = vec![crate::observe::ci::TreeEntry {
        name: "charts".into(),
        mode: tree::DIR_MODE,
        oid: oid('c'),
    }];
    let dir = charts
        .iter()
        .filter_map(|c| {
            Some(crate::observe::ci::TreeEntry {
                name: c.name.clone(),
                mode: tree::DIR_MODE,
                oid: c.on_main?,
            })
        })
        .collect();
    FlowObservation {
        workdir: "/repo".into(),
        remote: "origin".into(),
        remote_url: "/origin.git".into(),
        heads,
        main_tip: oid('1'),
        integration_tip: Some(oid('2')),
        chart_dirs: vec!["charts".into()],
        ct_config: Some("ct.yaml".into()),
        charts,
        main_trees: [(String::new(), root), ("charts".to_string(), dir)].into(),
        branches: branches.into_iter().map(|(n, b)| (n.to_string(), b)).collect(),
        identity: Some(("Bot".into(), "bot@example.invalid".into())),
        now: 1_700_000_000,
        listing: Default::default(),
    }
}

fn branch(chart: &str, tip: char, tree: Oid, descends: bool) -> ChartBranch {
    ChartBranch {
        chart: chart.into(),
        tip: oid(tip),
        tree,
        descends_from_main: descends,
        foreign: Vec::new(),
        unmerged: vec![format!("charts/{chart}/values.yaml")],
    }
}

fn commits(plan: &Plan) -> Vec<&ChartCommit> {
    plan.actions
        .iter()
        .filter_map(|s| match &s.action {
            Action::ChartCommit(c) => Some(&**c),
            _ => None,
        })
        .collect()
}

#[test]
fn changed_charts_get_one_commit_on_main_each() {
    let o = obs(vec![chart("a", 'a', 'b'), chart("same", 'e', 'e'), chart("c", 'c', 'd')], vec![]);
    let plan = split(&cfg("chart/{chart}"), &o).unwrap();
    let c = commits(&plan);
    assert_eq!(c.iter().map(|c| c.branch.as_str()).collect::<Vec<_>>(), ["chart/a", "chart/c"]);
    assert!(c.iter().all(|c| c.parent == oid('1').to_string() && c.from.is_none()));
    assert_eq!(c[0].chart_tree, Some(oid('b').to_string()));
    assert!(c[0].message.contains("Rebranch-Chart: a"));
    assert_ne!(c[0].commit, c[1].commit);
    assert_eq!(split(&cfg("chart/{chart}"), &o).unwrap(), plan, "deterministic");
    let prs = pull_requests(&cfg("chart/{chart}"), &plan);
    assert_eq!(prs[0].head, "chart/a");
    assert_eq!(prs[0].base, "main");
    assert_eq!(prs[0].title, "chart/a: a from integration");
}

#[test]
fn branches_of_the_plan_are_never_chart_branches() {
    let mut o = obs(vec![chart("main", 'a', 'b')], vec![]);
    let plan = split(&cfg("chart-{chart}"), &o).unwrap();
    assert_eq!(plan.actions.len(), 1, "chart-main is fine");
    let mut c = cfg("chart-{chart}");
    c.planned.insert("chart-main".into());
    let err = split(&c, &o).unwrap_err();
    assert!(err.message.contains("a branch of the plan itself"), "{}", err.message);
    let mut merged = branch("main", '1', oid('9'), true);
    merged.unmerged.clear();
    o.branches.insert("chart-main".into(), merged);
    assert!(prune(&c, &o).unwrap().is_empty(), "never deleted");
}

#[test]
fn branches_named_against_the_pattern_are_found_and_feature_branches_are_not() {
    let mut o = obs(vec![chart("a", 'a', 'a')], vec![]);
    for name in ["integration-a", "charts/a", "feature/a", "chart-b"] {
        o.heads.insert(name.into(), oid('7'));
    }
    let found: Vec<String> =
        health(&cfg("chart/{chart}"), &o).into_iter().map(|f| f.branch).collect();
    assert_eq!(found, ["charts/a", "integration-a"]);
}

#[test]
fn an_up_to_date_branch_is_left_out_and_a_current_one_is_built_on() {
    let a = chart("a", 'a', 'b');
    let target =
        tree::with_dir(&obs(vec![a.clone()], vec![]).main_trees, "charts/a", Some(oid('b')))
            .unwrap();
    let done = obs(vec![a.clone()], vec![("chart/a", branch("a", '5', target, true))]);
    assert!(split(&cfg("chart/{chart}"), &done).unwrap().is_empty());
    let behind = obs(vec![a.clone()], vec![("chart/a", branch("a", '5', oid('9'), true))]);
    let plan = split(&cfg("chart/{chart}"), &behind).unwrap();
    assert_eq!(commits(&plan)[0].parent, oid('5').to_string(), "on top of its own tip");
    let stale = obs(vec![a], vec![("chart/a", branch("a", '5', target, false))]);
    let plan = split(&cfg("chart/{chart}"), &stale).unwrap();
    assert_eq!(commits(&plan)[0].parent, oid('1').to_string(), "on top of main");
    assert_eq!(commits(&plan)[0].from, Some(oid('5').to_string()));
}

#[test]
fn someone_elses_commits_keep_a_branch_as_it_is() {
    let mut b = branch("a", '5', oid('9'), true);
    b.foreign = vec!["5555555 fix values".into()];
    let o = obs(vec![chart("a", 'a', 'b')], vec![("chart/a", b)]);
    let plan = split(&cfg("chart/{chart}"), &o).unwrap();
    assert!(plan.is_empty());
    assert!(plan.notes[0].contains("5555555 fix values"), "{:?}", plan.notes);
}

#[test]
fn the_adr_pattern_and_bad_chart_names_are_refused() {
    let o = obs(vec![chart("a", 'a', 'b')], vec![]);
    let err = split(&cfg("integration/{chart}"), &o).unwrap_err();
    assert!(err.message.contains("'refs/heads/integration' exists"), "{}", err.message);
    let o = obs(vec![chart("a~b", 'a', 'b'), chart("ok", 'c', 'd')], vec![]);
    let err = split(&cfg("chart/{chart}"), &o).unwrap_err();
    assert!(
        err.message.contains("chart `a~b`") && err.message.contains("charts/a~b"),
        "{}",
        err.message
    );
}

#[test]
fn prune_deletes_merged_branches_and_says_why_it_keeps_the_others() {
    let mut merged = branch("a", '5', oid('9'), false);
    merged.unmerged.clear();
    let open = branch("c", '6', oid('8'), true);
    let o = obs(
        vec![chart("a", 'a', 'a'), chart("c", 'c', 'd')],
        vec![("chart/a", merged), ("chart/c", open)],
    );
    let plan = prune(&cfg("chart/{chart}"), &o).unwrap();
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].action.subject(), "origin/chart/a");
    assert!(
        plan.notes[0].starts_with("kept `chart/c`: unmerged work: charts/c/values.yaml"),
        "{:?}",
        plan.notes
    );
    let findings = health(&cfg("chart/{chart}"), &o);
    assert_eq!(findings.len(), 1);
    assert!(findings[0].problem.starts_with("merged but not pruned"));
}
