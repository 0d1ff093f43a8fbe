//! Property tests of the plan-file parser, as a fuzzer would try it but in every
//! `cargo test`: arbitrary text, and the built-in plan truncated, spliced and with random
//! `--set` values, never panics in `Spec::parse` or `resolve`; every error names its source.

use proptest::prelude::*;
use rebranch::spec::{BUILTIN_ADR_002, Spec, parse_set};

fn parse_and_resolve(text: &str, sets: &[(String, String)]) {
    match Spec::parse(text, "fuzz.toml") {
        Ok(spec) => {
            if let Err(e) = spec.resolve(sets, &|k| Some(format!("{k}-from-env"))) {
                assert!(!e.to_string().trim().is_empty());
            }
            let _ = spec.resolve(&[], &|_| None);
        }
        Err(e) => assert!(!e.to_string().trim().is_empty()),
    }
}

/// A char boundary at or before `i`.
fn floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        parse_and_resolve(&text, &[]);
    }

    #[test]
    fn toml_like_text_never_panics(
        lines in prop::collection::vec(
            prop_oneof![
                Just("[plan]".to_string()),
                Just("[[branch]]".to_string()),
                Just("[rewrite]".to_string()),
                Just("[variables]".to_string()),
                Just("[remote]".to_string()),
                Just("[pages]".to_string()),
                "[a-z_]{1,12} = \"[{}a-z./*-]{0,16}\"",
                "[a-z_]{1,12} = \\[\"[{}a-z./*-]{0,12}\"\\]",
                "[a-z_]{1,12} = \\{ default = \"[a-z]{0,8}\" \\}",
                "[a-z_]{1,12} = [0-9]{1,3}",
            ],
            0..24,
        )
    ) {
        parse_and_resolve(&lines.join("\n"), &[]);
    }

    #[test]
    fn builtin_plan_cut_and_spliced_never_panics(
        cut in 0usize..4000,
        at in 0usize..4000,
        insert in "[\\[\\]{}=\"a-z .\n/-]{0,24}",
    ) {
        let cut = floor(BUILTIN_ADR_002, cut);
        parse_and_resolve(&BUILTIN_ADR_002[..cut], &[]);
        let at = floor(BUILTIN_ADR_002, at);
        let spliced = format!("{}{insert}{}", &BUILTIN_ADR_002[..at], &BUILTIN_ADR_002[at..]);
        parse_and_resolve(&spliced, &[]);
    }

    #[test]
    fn any_set_values_are_accepted_or_refused_never_panic(
        sets in prop::collection::vec(
            (prop_oneof![
                Just("remote"), Just("main"), Just("from"), Just("to"), Just("integration"),
                Just("cloudflare.project"), Just("cloudflare.account_id"), Just("helm_repo_url"),
            ], ".{0,24}"),
            0..6,
        )
    ) {
        let given: Vec<String> = sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let parsed: Vec<(String, String)> = given.iter().filter_map(|g| parse_set(g).ok()).collect();
        parse_and_resolve(BUILTIN_ADR_002, &parsed);
    }
}
