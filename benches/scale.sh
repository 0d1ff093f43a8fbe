#!/usr/bin/env bash
# Issue 18's four figures from one run, each beside floors measured in the same run:
#
#   1. start-up: `plan` on 200 workflows (2,000 files) with a local remote, beside
#      `git ls-remote` + `git cat-file --batch` of the same files by path, and by blob id
#      (benches/startup.sh; instructions by callgrind over every process, wall by hyperfine);
#   2. the rewriter beside its floor, yaml-rust2 parse-only of the inputs plus the re-parse of
#      the changed outputs (benches/rewrite.rs under callgrind, as benches/run.sh does), in the
#      bench profile (one codegen unit for rebranch: the figure) and in the release profile;
#   3. a fleet of 20 URL repositories with long histories, planned by `batch plan`, beside a
#      full `git clone` and `git clone --depth 1 --single-branch` (benches/fetch.sh);
#   4. the same batch as 3 shards, whose merged report must equal the unsharded one
#      (benches/fetch.sh; the run fails when it does not).
#
#   benches/scale.sh          4 to 6 minutes on 2 cores once the data is generated and built
#
# Environment: BENCH_DATA (default target/bench-data). Writes $BENCH_DATA/scale/results.txt.
# Needs git, python3, hyperfine and valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BENCH_DATA=${BENCH_DATA:-$ROOT/target/bench-data}
DATA=$BENCH_DATA/scale
mkdir -p "$DATA"
OUT=$DATA/results.txt
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
: >"$OUT"
dirty=$(git status --porcelain --untracked-files=no | grep -q . && echo ' plus uncommitted changes' || true)
say "# issue 18, one run: started $(date -u +%Y-%m-%dT%H:%M:%SZ) at $(git rev-parse --short HEAD)$dirty"
say "machine: $(nproc) cores, $(free -g | awk '/^Mem/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(git --version), $(hyperfine --version), $(valgrind --version)"

echo "== build (release)"
cargo build --quiet --release --bin rebranch
# A copy, so that a build elsewhere cannot swap the binary during the run.
BIN=$DATA/rebranch
cp target/release/rebranch "$BIN"
# The rewriter bench in the bench profile (release with rebranch in one codegen unit, whose
# counts do not move with how rustc splits the crate: the figure), and in the release
# profile the binary is built with (16 units), for comparison.
bench_exe() {
  cargo bench --profile "$1" --bench rewrite --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable") and m["target"]["name"] == "rewrite": print(m["executable"])'
}
cp "$(bench_exe bench)" "$DATA/rewrite-bench"
cp "$(bench_exe release)" "$DATA/rewrite-bench-release"

ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.3f}x')" "$1" "$2"; }

# --- 1. start-up ---------------------------------------------------------------------------
echo "== 1. start-up (benches/startup.sh)"
benches/startup.sh "$BIN" >/dev/null
S=$BENCH_DATA/startup
num() { grep "^instructions, $1" "$S/results.txt" | awk '{print $NF}'; }
floor=$(num "floor:") floor_id=$(num "floor by id:") plan=$(num "$BIN plan:")
say ""
say "## 1. plan on 200 workflows with a local remote ($(head -1 "$S/results.txt" | sed 's/.*: //'))"
say "- instructions: plan $plan | floor (by path) $floor | floor by id $floor_id" \
  "| plan/floor $(ratio "$plan" "$floor"), plan/floor by id $(ratio "$plan" "$floor_id")"
python3 - "$S/hyperfine.json" <<'EOF' | tee -a "$OUT"
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
floor, by_id = r.pop("floor"), r.pop("floor by id")
(name, plan), = r.items()
f = lambda x: f"{x['mean'] * 1000:.1f} ± {x['stddev'] * 1000:.1f} ms (CPU {(x['user'] + x['system']) * 1000:.1f} ms)"
print(f"- wall (hyperfine): plan {f(plan)} | floor {f(floor)} | floor by id {f(by_id)}")
print(f"  plan/floor {plan['mean'] / floor['mean']:.2f}x wall, plan/floor by id {plan['mean'] / by_id['mean']:.2f}x wall (target <= 1.5x)")
EOF

# --- 2. the rewriter -----------------------------------------------------------------------
echo "== 2. rewriter (benches/rewrite.rs under callgrind)"
BIG=$BENCH_DATA/full/big
if [[ ! -f $BIG/sizes.json || -n $(cat "$BIG/.args" 2>/dev/null) ]]; then
  # The corpus of benches/run.sh (full size): generated the same way, and shared with it.
  python3 benches/gen.py "$BIG" --quiet
  echo "" >"$BIG/.args"
fi
say ""
say "## 2. the rewriter ($(REBRANCH_BENCH_CORPUS=$BIG REBRANCH_BENCH_ONCE=rewrite "$DATA/rewrite-bench"))"
declare -A n
for exe in rewrite-bench rewrite-bench-release; do
  for side in load parse reparse rewrite; do
    n[$side]=$(REBRANCH_BENCH_CORPUS=$BIG REBRANCH_BENCH_ONCE=$side valgrind --tool=callgrind \
      --callgrind-out-file="$DATA/callgrind.$exe.$side" "$DATA/$exe" 2>&1 \
      | awk '/Collected/ {gsub(",", "", $NF); print $NF}')
  done
  parse=$((n[parse] - n[load])) floor=$((n[reparse] - n[load])) rewrite=$((n[rewrite] - n[load]))
  if [[ $exe == rewrite-bench ]]; then
    say "- bench profile (rebranch in one codegen unit), instructions, corpus loading subtracted:"
  else
    say "- release profile (16 codegen units, as the binary is built; moves with the crate's split):"
  fi
  say "  rewriter $rewrite | floor (parse-only of the inputs + re-parse of the changed outputs)" \
    "$floor | parse-only $parse"
  say "  rewriter/floor $(ratio "$rewrite" "$floor") (target <= 1.3x), rewriter/parse-only $(ratio "$rewrite" "$parse")"
done

# --- 3. and 4. the fleet, and shards -------------------------------------------------------
echo "== 3. fleet and 4. shards (benches/fetch.sh)"
benches/fetch.sh "$BIN" >/dev/null
F=$BENCH_DATA/fetch
say ""
say "## 3. 20 URL repositories with long histories ($(head -1 "$F/results.txt" | sed 's/^.*Z: //'))"
python3 - "$F/results.tsv" "$BIN" <<'EOF' | tee -a "$OUT"
import sys
rows = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1:] for l in open(sys.argv[1])}
full, d1 = rows["full"], rows["depth1"]
b = rows["batch:" + sys.argv[2]]
mb = lambda x: f"{int(x) / 1e6:.1f} MB"
print(f"- git clone (full): {mb(full[1])}, {int(full[0]) / 1000:.1f} s")
print(f"- git clone --depth 1 --single-branch main, then fetch --depth 1 charts: {mb(d1[1])}, {int(d1[0]) / 1000:.1f} s")
print(f"- rebranch batch plan (fetch, check out main, plan): {mb(b[1])}, {int(b[0]) / 1000:.1f} s;"
      f" again (nothing to fetch): {int(b[2]) / 1000:.1f} s")
print(f"  bytes {int(b[1]) / int(d1[1]):.2f}x of depth 1, {int(b[1]) / int(full[1]):.3f}x of full;"
      f" time {int(b[0]) / int(d1[0]):.2f}x of depth 1, {int(b[0]) / int(full[0]):.2f}x of full")
s = rows["shards:" + sys.argv[2]]
print(f"\n## 4. 3 shards of the same batch plan\n- {int(s[0]) / 1000:.1f} s for the three; {s[1]}")
EOF
say ""
say "finished $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
