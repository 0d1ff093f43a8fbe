//! Shards: a batch split across machines. `--shard I/N` takes the repositories whose name
//! hashes to I (FNV-1a, 64 bits, of the name's UTF-8 bytes, modulo N, plus one): the same on
//! every run and every machine, whatever the order of the batch file or the other
//! repositories in it, and every repository in exactly one shard. Each shard writes its own
//! report; [`merge`] puts them back together into the report of the whole batch.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::report::{RepoReport, Report};

/// One shard of N: `index` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Reads `I/N`, with 1 ≤ I ≤ N; the error says what to write instead.
    fn from_str(text: &str) -> Result<Shard, String> {
        let form =
            "write it as I/N, the shard's number from 1 to N and the number of shards, e.g. 2/8";
        let (i, n) = text.split_once('/').ok_or_else(|| format!("`{text}` is not I/N: {form}"))?;
        let number = |s: &str| s.trim().parse::<u32>().ok();
        let (Some(index), Some(count)) = (number(i), number(n)) else {
            return Err(format!("`{text}` is not two whole numbers: {form}"));
        };
        if count == 0 {
            return Err(format!("`{text}` has no shards: N must be 1 or more, e.g. 1/{}", 1));
        }
        if index == 0 || index > count {
            return Err(format!(
                "`{text}`: shards are numbered from 1 to {count}; use 1/{count} to {count}/{count}"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether repository `name` belongs to this shard.
    pub fn takes(&self, name: &str) -> bool {
        shard_of(name, self.count) == self.index
    }

    /// The shard's report in work directory `workdir`, unless `--report` says otherwise.
    pub fn report_path(&self, workdir: &Path) -> PathBuf {
        workdir.join(format!("rebranch-batch-report.shard-{}-of-{}.json", self.index, self.count))
    }
}

/// The shard (from 1 to `count`) that repository `name` belongs to.
pub fn shard_of(name: &str, count: u32) -> u32 {
    (fnv1a64(name.as_bytes()) % u64::from(count.max(1))) as u32 + 1
}

/// FNV-1a, 64 bits: fixed, unlike the standard library's seeded hasher.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error(
        "{path} is the report of `batch {found}`, and {first} of `batch {want}`: merge the reports of one batch command"
    )]
    Command { path: String, found: String, first: String, want: String },
    #[error(
        "{path} is a report of {found}, and {first} of {want}: merge the reports of one batch file"
    )]
    File { path: String, found: String, first: String, want: String },
    #[error(
        "{path} is not the report of a shard (it was not run with --shard): there is nothing to merge it with"
    )]
    NotShard { path: String },
    #[error(
        "{path} is shard {found}, and {first} is a shard of {want}: merge the shards of one split"
    )]
    Count { path: String, found: Shard, first: String, want: u32 },
    #[error("shard {shard} is given twice ({first} and {path})")]
    Twice { shard: Shard, first: String, path: String },
    #[error(
        "the report of shard {missing} of {count} is missing: pass the reports of all {count} shards (or run that shard)"
    )]
    Missing { missing: String, count: u32 },
    #[error(
        "repository `{name}` is in two shards' reports ({first} and {path}): were they split with the same N?"
    )]
    Repeated { name: String, first: String, path: String },
}

/// Merges the reports of every shard of one batch into the report of the whole batch, in
/// the batch file's order, as an unsharded run would have written it.
pub fn merge(reports: &[(String, Report)]) -> Result<Report, MergeError> {
    let Some((first_path, first)) = reports.first() else {
        return Err(MergeError::Missing { missing: "1".into(), count: 1 });
    };
    let first_shard =
        first.shard.ok_or_else(|| MergeError::NotShard { path: first_path.clone() })?;
    let count = first_shard.count;
    let mut seen: Vec<Option<&str>> = vec![None; count as usize];
    let mut repos: Vec<(&str, RepoReport)> = Vec::new();
    for (path, report) in reports {
        if report.command != first.command {
            return Err(MergeError::Command {
                path: path.clone(),
                found: report.command.clone(),
                first: first_path.clone(),
                want: first.command.clone(),
            });
        }
        if report.repos_file != first.repos_file {
            return Err(MergeError::File {
                path: path.clone(),
                found: report.repos_file.clone(),
                first: first_path.clone(),
                want: first.repos_file.clone(),
            });
        }
        let shard = report.shard.ok_or_else(|| MergeError::NotShard { path: path.clone() })?;
        if shard.count != count {
            return Err(MergeError::Count {
                path: path.clone(),
                found: shard,
                first: first_path.clone(),
                want: count,
            });
        }
        let slot = &mut seen[shard.index as usize - 1];
        if let Some(other) = slot {
            return Err(MergeError::Twice { shard, first: other.to_string(), path: path.clone() });
        }
        *slot = Some(path);
        for repo in &report.repos {
            if let Some((other, _)) = repos.iter().find(|(_, r)| r.name == repo.name) {
                return Err(MergeError::Repeated {
                    name: repo.name.clone(),
                    first: other.to_string(),
                    path: path.clone(),
                });
            }
            repos.push((path, repo.clone()));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing: missing.join(", "), count });
    }
    let mut repos: Vec<RepoReport> = repos.into_iter().map(|(_, r)| r).collect();
    repos.sort_by_key(|r| r.position);
    for r in &mut repos {
        r.position = None;
    }
    Ok(Report {
        format_version: first.format_version,
        command: first.command.clone(),
        repos_file: first.repos_file.clone(),
        shard: None,
        repos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::report::{FORMAT_VERSION, RepoResult};

    #[test]
    fn shard_values_are_read_and_bad_ones_name_the_fix() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for (bad, says) in [
            ("0/3", "use 1/3 to 3/3"),
            ("4/3", "use 1/3 to 3/3"),
            ("1/0", "N must be 1 or more"),
            ("3", "write it as I/N"),
            ("a/b", "two whole numbers"),
            ("-1/3", "two whole numbers"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn the_hash_is_fixed_and_every_name_lands_in_one_shard() {
        // FNV-1a's published test vectors: the split must not change between builds.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        let names: Vec<String> = (0..1000).map(|i| format!("helm-charts-{i}")).collect();
        for n in [1, 2, 3, 8] {
            let shards: Vec<Shard> = (1..=n).map(|index| Shard { index, count: n }).collect();
            let mut sizes = vec![0usize; n as usize];
            for name in &names {
                let owners: Vec<&Shard> = shards.iter().filter(|s| s.takes(name)).collect();
                assert_eq!(owners.len(), 1, "{name} in exactly one of {n}");
                sizes[owners[0].index as usize - 1] += 1;
            }
            let fair = names.len() / n as usize;
            assert!(sizes.iter().all(|s| s * 10 >= fair * 8), "{n} shards: {sizes:?}");
        }
    }

    fn line(name: &str, position: usize) -> RepoReport {
        RepoReport {
            name: name.into(),
            path: format!("/w/{name}"),
            result: RepoResult::Pending,
            changes: 1,
            error: None,
            note: None,
            previous: None,
            position: Some(position),
        }
    }

    fn shard_report(index: u32, count: u32, repos: Vec<RepoReport>) -> (String, Report) {
        (
            format!("r{index}.json"),
            Report {
                format_version: FORMAT_VERSION,
                command: "plan".into(),
                repos_file: "repos.toml".into(),
                shard: Some(Shard { index, count }),
                repos,
            },
        )
    }

    #[test]
    fn merge_keeps_the_file_order_and_refuses_what_does_not_fit() {
        let a = shard_report(1, 2, vec![line("b", 1), line("d", 3)]);
        let b = shard_report(2, 2, vec![line("a", 0), line("c", 2)]);
        let merged = merge(&[a.clone(), b.clone()]).unwrap();
        let names: Vec<&str> = merged.repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(merged.shard.is_none() && merged.repos.iter().all(|r| r.position.is_none()));

        let err = |reports: &[(String, Report)]| merge(reports).unwrap_err().to_string();
        let alone = err(std::slice::from_ref(&a));
        assert!(alone.contains("shard 2 of 2 is missing"), "{alone}");
        assert!(err(&[a.clone(), a.clone()]).contains("given twice"));
        let mut other = b.clone();
        other.1.command = "apply".into();
        assert!(err(&[a.clone(), other]).contains("one batch command"));
        let three = shard_report(2, 3, vec![]);
        assert!(err(&[a.clone(), three]).contains("one split"));
        let mut plain = b.clone();
        plain.1.shard = None;
        assert!(err(&[a.clone(), plain]).contains("not the report of a shard"));
        let dup = shard_report(2, 2, vec![line("b", 1)]);
        assert!(err(&[a, dup]).contains("`b` is in two shards"));
    }
}
