//! The plan-file parser and variable resolution on arbitrary text: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(spec) = rebranch::spec::Spec::parse(&text, "fuzz.toml") {
        let sets = [("to".to_string(), "release".to_string())];
        let _ = spec.resolve(&sets, &|_| None);
        let _ = spec.resolve(&[], &|k| Some(format!("{k}-value")));
    }
});
