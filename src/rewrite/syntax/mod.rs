//! The syntax side of the rewriter: readers that give every value, key, word and comment of
//! a file its byte span, and know nothing of what a branch is. YAML keeps a span tree over
//! yaml-rust2's events, shell a word splitter, Makefiles split into recipes and assignments.
//! (TOML and JSON are read in `toml` and `json`, which also hold their few rules.)

pub(crate) mod make;
pub(crate) mod shell;
pub(crate) mod yaml;
