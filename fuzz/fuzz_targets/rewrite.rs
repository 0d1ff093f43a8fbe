//! The CI rewriter (YAML, TOML, JSON, shell scripts, Makefiles) on arbitrary bytes: it must
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rebranch::rewrite::fuzz_one(data));
