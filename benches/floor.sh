#!/bin/sh
# The floor of `rebranch plan`: the reads it cannot avoid, done by the git CLI.
# One connection listing the remote's refs, then the candidate files' blobs at the remote
# tip of main, read from the object database in one `git cat-file --batch` process.
# usage: benches/floor.sh CLONE CANDIDATES_FILE [ids]
# By default cat-file is given `TIP:PATH` for each file, which makes git resolve every path
# through the trees again; with `ids`, one `git ls-tree -r` lists the blob ids and cat-file
# reads them by id (the lower floor, the one rebranch's single tree walk compares with).
set -eu
cd "$1"
tip=$(git ls-remote origin | awk '$2 == "refs/heads/main" { print $1 }')
if [ "${3:-}" = ids ]; then
  git ls-tree -r --full-tree "$tip" \
    | awk -F '\t' 'NR == FNR { want[$0] = 1; next } ($2 in want) { split($1, m, " "); print m[3] }' "$2" - \
    | git cat-file --batch >/dev/null
else
  sed "s|^|$tip:|" "$2" | git cat-file --batch >/dev/null
fi
