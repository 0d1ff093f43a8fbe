#!/usr/bin/env bash
# Start-up cost: `rebranch plan` on a repository of about 200 workflows whose remote is a
# local path, beside its floor (`git ls-remote` + `git cat-file --batch` of the same files,
# benches/floor.sh), in wall time (hyperfine) and instructions (callgrind, every process).
# The plan reads every blob of the tree (it searches the whole tree for the old names), so
# the floor reads all 2,000 files: by path (`TIP:PATH`, as the issue states it) and, the
# lower floor, by blob id after one `git ls-tree -r`.
#
#   benches/startup.sh BIN...      each binary measured in turn (e.g. before and after a change)
#
# Environment: BENCH_DATA (default target/bench-data); needs git, python3, hyperfine and
# valgrind. Writes $BENCH_DATA/startup/results.txt (and hyperfine's hyperfine.json beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${BENCH_DATA:-$ROOT/target/bench-data}/startup
mkdir -p "$DATA"
OUT=$DATA/results.txt
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1

ARGS="--files 2000 --charts 100 --commits 200 --index-releases 5"
if [[ $(cat "$DATA/.args" 2>/dev/null) != "$ARGS" ]]; then
  rm -rf "$DATA/repo"
  # shellcheck disable=SC2086
  python3 benches/gen.py "$DATA/repo" --quiet $ARGS
  # A clone's index is written right after its files, so the last files checked out can
  # share the index's timestamp ("racily clean"): every status then hashes them again. Any
  # `git status` in a real clone rewrites the index later and ends that; so does this one.
  sleep 1
  git -C "$DATA/repo/clone" status --porcelain >/dev/null
  echo "$ARGS" >"$DATA/.args"
fi
CLONE=$DATA/repo/clone
git -C "$CLONE" remote set-url origin "$DATA/repo/origin.git"
TIP=$(git -C "$CLONE" rev-parse origin/main)
python3 benches/candidates.py plans/adr-002.toml "$CLONE" "$TIP" >"$DATA/cand.txt"

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
: >"$OUT"
say "# start-up $(date -u +%Y-%m-%dT%H:%M:%SZ): $(wc -l <"$DATA/cand.txt") files, local remote"
say "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(git --version), $(valgrind --version)"

# Instructions of every process (the floor is a shell and three git processes).
instructions() {
  rm -f "$DATA"/cg.out.*
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$DATA/cg.out.%p" "$@" \
    >/dev/null 2>"$DATA/cg.err"
  awk '/Collected/ {s += $NF} END {print s}' "$DATA/cg.err"
}
say "instructions, floor: $(instructions benches/floor.sh "$CLONE" "$DATA/cand.txt")"
say "instructions, floor by id: $(instructions benches/floor.sh "$CLONE" "$DATA/cand.txt" ids)"
for bin in "$@"; do
  say "instructions, $bin plan: $(instructions "$bin" plan --repo "$CLONE")"
done

cmds=(-n floor "benches/floor.sh $CLONE $DATA/cand.txt")
cmds+=(-n "floor by id" "benches/floor.sh $CLONE $DATA/cand.txt ids")
for bin in "$@"; do
  cmds+=(-n "$bin" "$bin plan --repo $CLONE >/dev/null")
done
hyperfine --warmup 3 --min-runs 20 --style basic --export-json "$DATA/hyperfine.json" "${cmds[@]}" 2>&1 \
  | tee -a "$OUT"
