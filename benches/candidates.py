#!/usr/bin/env python3
"""The paths a plan file's [rewrite] files globs select at a commit, as rebranch reads them:
each pattern is DIR/GLOB, DIR literal, GLOB matching one name (`*`, `?`), regular files only.
usage: candidates.py PLAN.toml CLONE COMMIT > paths.txt"""

import fnmatch
import subprocess
import sys
import tomllib


def main():
    plan_file, clone, commit = sys.argv[1:4]
    with open(plan_file, "rb") as f:
        patterns = tomllib.load(f)["rewrite"]["files"]
    listing = subprocess.run(
        ["git", "-C", clone, "ls-tree", "-r", "--full-tree", commit],
        check=True, capture_output=True, text=True,
    ).stdout
    by_dir = {}
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        mode = meta.split()[0]
        if mode not in ("100644", "100755"):
            continue
        d, _, name = path.rpartition("/")
        by_dir.setdefault(d, []).append(name)
    out = set()
    for p in patterns:
        d, _, glob = p.rpartition("/")
        for name in by_dir.get(d, []):
            if fnmatch.fnmatchcase(name, glob):
                out.add(f"{d}/{name}" if d else name)
    sys.stdout.write("".join(p + "\n" for p in sorted(out)))


if __name__ == "__main__":
    main()
