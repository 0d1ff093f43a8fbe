#!/bin/sh
# The floor of `rebranch plan`: the reads it cannot avoid, done by the git CLI.
# One connection listing the remote's refs, then the candidate files' blobs at the remote
# tip of main, read from the object database in one `git cat-file --batch` process.
# usage: benches/floor.sh CLONE CANDIDATES_FILE
set -eu
cd "$1"
tip=$(git ls-remote origin | awk '$2 == "refs/heads/main" { print $1 }')
sed "s|^|$tip:|" "$2" | git cat-file --batch >/dev/null
