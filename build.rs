//! Embeds the sample Helm chart repository (`fixtures/helm-repo/<branch>/…`) into the binary,
//! so `rebranch demo` works from any directory and needs no network.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/helm-repo");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = String::from("/// (branch, path, bytes) of the sample repository.\n");
    out.push_str("pub static SAMPLE_FILES: &[(&str, &str, &[u8])] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&root).expect("under the root");
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let branch = parts.next().expect("a branch directory");
        let path: Vec<String> = parts.collect();
        out.push_str(&format!(
            "    ({branch:?}, {:?}, include_bytes!({:?})),\n",
            path.join("/"),
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("sample_files.rs");
    fs::write(dest, out).expect("write sample_files.rs");
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
