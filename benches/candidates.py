#!/usr/bin/env python3
"""The blobs `rebranch plan` reads at a commit: every regular file of the tree. The plan
searches the whole tree of the stable branch for the old names (src/observe/ci.rs); the
plan file's [rewrite] files globs only choose which of those files the rewriter parses, so
they do not change what is read. PLAN.toml is still taken, for the callers' sake.
usage: candidates.py PLAN.toml CLONE COMMIT > paths.txt"""

import subprocess
import sys


def main():
    _plan_file, clone, commit = sys.argv[1:4]
    listing = subprocess.run(
        ["git", "-C", clone, "ls-tree", "-r", "--full-tree", "-z", commit],
        check=True, capture_output=True, text=True,
    ).stdout
    out = []
    for item in listing.split("\0"):
        if not item:
            continue
        meta, path = item.split("\t", 1)
        if meta.split()[0] in ("100644", "100755"):
            out.append(path)
    sys.stdout.write("".join(p + "\n" for p in sorted(out)))


if __name__ == "__main__":
    main()
