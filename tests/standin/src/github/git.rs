//! The bare repository, read and written through the git CLI on every request, so pushes
//! made by the tool under test (over `git daemon`) are seen at once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A git command on `git_dir`, isolated from the user's and the system's configuration.
fn git(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir")
        .arg(git_dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "GitHub")
        .env("GIT_AUTHOR_EMAIL", "noreply@github.com")
        .env("GIT_COMMITTER_NAME", "GitHub")
        .env("GIT_COMMITTER_EMAIL", "noreply@github.com")
        .stdin(Stdio::null());
    cmd
}

/// Runs git; its stdout when it exits 0.
fn run(git_dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = git(git_dir).args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then_some(out.stdout)
}

fn run_text(git_dir: &Path, args: &[&str]) -> Option<String> {
    run(git_dir, args).map(|o| String::from_utf8_lossy(&o).trim().to_owned())
}

/// Every branch and its tip.
pub fn branches(git_dir: &Path) -> BTreeMap<String, String> {
    let out = run_text(
        git_dir,
        &["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads"],
    )
    .unwrap_or_default();
    out.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(name, sha)| (name.to_owned(), sha.to_owned()))
        .collect()
}

/// The tip of `branch`, if it exists.
pub fn tip(git_dir: &Path, branch: &str) -> Option<String> {
    branches(git_dir).remove(branch)
}

/// Whether `ancestor` is an ancestor of (or equal to) `descendant`.
pub fn is_ancestor(git_dir: &Path, ancestor: &str, descendant: &str) -> bool {
    run(git_dir, &["merge-base", "--is-ancestor", ancestor, descendant]).is_some()
}

/// The tree of a commit.
pub fn tree_of(git_dir: &Path, commit: &str) -> Option<String> {
    run_text(git_dir, &["rev-parse", &format!("{commit}^{{tree}}")])
}

/// Whether `sha` names a commit in the repository.
pub fn is_commit(git_dir: &Path, sha: &str) -> bool {
    run_text(git_dir, &["cat-file", "-t", sha]).is_some_and(|t| t == "commit")
}

/// A new commit of `tree` with these parents and message.
pub fn commit_tree(git_dir: &Path, tree: &str, parents: &[&str], message: &str) -> Option<String> {
    let mut args = vec!["commit-tree", tree];
    for p in parents {
        args.extend(["-p", p]);
    }
    args.extend(["-m", message]);
    run_text(git_dir, &args)
}

/// `git update-ref refs/heads/<branch> <new> <old>`: a compare-and-swap (`old` "" = must not
/// exist); with `new` all zeros, a delete.
pub fn update_ref(git_dir: &Path, branch: &str, new: &str, old: &str) -> bool {
    let name = format!("refs/heads/{branch}");
    if new.bytes().all(|b| b == b'0') {
        return run(git_dir, &["update-ref", "-d", &name, old]).is_some();
    }
    run(git_dir, &["update-ref", &name, new, old]).is_some()
}

/// `git branch -m old new` in the bare repository (HEAD follows when it named `old`).
pub fn rename_branch(git_dir: &Path, old: &str, new: &str) -> bool {
    run(git_dir, &["branch", "-m", old, new]).is_some()
}

/// The files of `commit`'s tree under `dir` ("" or "docs"), paths relative to `dir`.
pub fn snapshot(git_dir: &Path, commit: &str, dir: &str) -> Option<BTreeMap<String, Vec<u8>>> {
    let listing = run(git_dir, &["ls-tree", "-r", "-z", "--full-tree", commit])?;
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    let mut wanted = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else { continue };
        let mut meta = meta.split(' ');
        let (_mode, kind, sha) = (meta.next(), meta.next(), meta.next());
        if kind != Some("blob") {
            continue;
        }
        if let (Some(rel), Some(sha)) = (path.strip_prefix(&prefix), sha) {
            wanted.push((rel.to_owned(), sha.to_owned()));
        }
    }
    let mut child = git(git_dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input: String = wanted.iter().map(|(_, sha)| format!("{sha}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    let mut files = BTreeMap::new();
    let mut rest = out.stdout.as_slice();
    for (path, _) in wanted {
        let newline = rest.iter().position(|b| *b == b'\n')?;
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        let size: usize = header.rsplit(' ').next()?.parse().ok()?;
        let start = newline + 1;
        files.insert(path, rest.get(start..start + size)?.to_vec());
        rest = rest.get(start + size + 1..)?;
    }
    Some(files)
}
