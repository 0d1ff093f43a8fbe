#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and writes the figures, each beside its floor.
#
#   benches/run.sh            full size (release build; 50,000 files, 10,000 commits): minutes
#   benches/run.sh --smoke    tiny sizes, one pass each, debug build: seconds (what CI runs)
#
# Environment: BENCH_DATA (generated repositories, reused between runs; default
# target/bench-data), BENCH_OUT (the report; default $BENCH_DATA/<mode>/results.txt).
# Needs git, python3, hyperfine, GNU time; valgrind for instruction counts (full mode).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MODE=full
[[ ${1:-} == --smoke ]] && MODE=smoke
DATA=${BENCH_DATA:-$ROOT/target/bench-data}/$MODE
mkdir -p "$DATA"
OUT=${BENCH_OUT:-$DATA/results.txt}
W=$DATA/work
rm -rf "$W" && mkdir -p "$W"

if [[ $MODE == smoke ]]; then
  PROFILE=dev BENCH_PROFILE=dev BIN=$ROOT/target/debug/rebranch
  BIG=(--files 400 --charts 8 --commits 60 --index-releases 3)
  FLEET=4 HF=(--runs 1) CRIT=(--test)
else
  # The benches in the bench profile: release, with rebranch in one codegen unit (Cargo.toml).
  PROFILE=release BENCH_PROFILE=bench BIN=$ROOT/target/release/rebranch
  BIG=()
  FLEET=100 HF=(--warmup 2 --min-runs 10) CRIT=()
fi
SMALL=(--files 60 --charts 2 --commits 20 --index-releases 2)

# Hermetic git: no user or system config; identities come from the generated clones.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
: >"$OUT"
say "# rebranch benchmarks ($MODE) $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "machine: $(nproc) cores, $(free -g | awk '/^Mem/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(git --version), $(hyperfine --version)"

echo "== build ($PROFILE)"
cargo build --quiet --profile "$PROFILE" --bin rebranch
# A copy: building the benches in the bench profile writes its own build of the binary to
# the same place.
cp "$BIN" "$DATA/rebranch" && BIN=$DATA/rebranch

# The big repository and the fleet of small ones: generated once, reused.
gen() { # DIR ARGS...
  local dir=$1; shift
  local stamp="$*"
  if [[ ! -f $dir/sizes.json || $(cat "$dir/.args" 2>/dev/null) != "$stamp" ]]; then
    python3 "$ROOT/benches/gen.py" "$dir" --quiet "$@"
    # As in benches/startup.sh: no file left racily clean, as after any `git status` (not
    # in the smoke run, which times nothing and should stay quick).
    if [[ $MODE != smoke && -d $dir/clone ]]; then
      sleep 1 && git -C "$dir/clone" status --porcelain >/dev/null
    fi
    echo "$stamp" >"$dir/.args"
  fi
}
echo "== generate"
gen "$DATA/big" "${BIG[@]}"
gen "$DATA/small" "${SMALL[@]}"
rm -rf "$DATA/fleet" && mkdir -p "$DATA/fleet"
for i in $(seq -w 1 "$FLEET"); do
  cp -r "$DATA/small" "$DATA/fleet/r$i"
done

# One loopback git daemon serves every bare remote.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --export-all --enable=receive-pack --reuseaddr --listen=127.0.0.1 --port="$PORT" \
  --base-path="$DATA" "$DATA" >/dev/null 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  sleep 0.05
done
git -C "$DATA/big/clone" remote set-url origin "git://127.0.0.1:$PORT/big/origin.git"
for r in "$DATA"/fleet/r*; do
  git -C "$r/clone" remote set-url origin "git://127.0.0.1:$PORT/fleet/${r##*/}/origin.git"
done
CLONE=$DATA/big/clone
say "big repository: $(cat "$DATA/big/sizes.json")"

# --- 1. plan vs the git CLI doing the same reads -----------------------------------------
echo "== 1. plan vs floor"
TIP=$(git -C "$CLONE" rev-parse origin/main)
python3 benches/candidates.py plans/adr-002.toml "$CLONE" "$TIP" >"$W/cand-default.txt"
python3 benches/candidates.py "$DATA/big/bench-plan.toml" "$CLONE" "$TIP" >"$W/cand-bench.txt"
"$BIN" plan --repo "$CLONE" >"$W/plan-default.out"
"$BIN" plan --repo "$CLONE" --plan "$DATA/big/bench-plan.toml" >"$W/plan-bench.out"
hyperfine "${HF[@]}" --style basic --export-json "$W/plan.json" \
  -n "plan (default plan, $(wc -l <"$W/cand-default.txt") files)" \
  "$BIN plan --repo $CLONE >/dev/null" \
  -n "floor (default plan's reads)" "benches/floor.sh $CLONE $W/cand-default.txt" \
  -n "plan (bench plan, $(wc -l <"$W/cand-bench.txt") files)" \
  "$BIN plan --repo $CLONE --plan $DATA/big/bench-plan.toml >/dev/null" \
  -n "floor (bench plan's reads)" "benches/floor.sh $CLONE $W/cand-bench.txt" \
  >"$W/plan.hyperfine.txt"

# --- 2. the rewriter vs yaml-rust2 parsing alone (criterion, in process) ------------------
echo "== 2. rewriter vs parse-only"
export REBRANCH_BENCH_CORPUS=$DATA/big
cargo bench --quiet --profile "$BENCH_PROFILE" --bench rewrite -- "${CRIT[@]}" >"$W/rewrite.criterion.txt" 2>&1 \
  || { cat "$W/rewrite.criterion.txt"; exit 1; }
if [[ $MODE == full ]] && command -v valgrind >/dev/null; then
  EXE=$(cargo bench --profile "$BENCH_PROFILE" --bench rewrite --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable") and m["target"]["name"] == "rewrite": print(m["executable"])')
  for side in load parse reparse rewrite; do
    REBRANCH_BENCH_ONCE=$side valgrind --tool=callgrind --callgrind-out-file=/dev/null "$EXE" \
      2>&1 | awk -v s="$side" '/Collected/ {print s, $NF}' >>"$W/callgrind.txt"
  done
fi
unset REBRANCH_BENCH_CORPUS

# --- 3. plan over the fleet of small repositories, 1, 2 and 4 at a time -------------------
# `rebranch batch plan --jobs N` (one process, a thread pool), beside the same plans run as
# separate processes with xargs -P N.
echo "== 3. fleet"
printf '%s\n' "$DATA"/fleet/r*/clone >"$W/repos.txt"
{
  echo "[defaults]"
  echo "workdir = \"$W/batch-work\""
  for r in "$DATA"/fleet/r*; do printf '\n[[repo]]\nname = "%s"\npath = "%s/clone"\n' "${r##*/}" "$r"; done
} >"$W/repos.toml"
"$BIN" batch plan --repos "$W/repos.toml" --jobs 2 >"$W/batch-plan.out" 2>&1
hyperfine "${HF[@]}" --style basic --export-json "$W/fleet.json" -L jobs 1,2,4 \
  "$BIN batch plan --repos $W/repos.toml --jobs {jobs} >/dev/null" \
  "xargs -P {jobs} -I% $BIN plan --repo % <$W/repos.txt >/dev/null" >"$W/fleet.hyperfine.txt"
# What bounds the scaling: the CPU of every process on the machine during one batch run
# (rebranch and the git daemon's upload-pack processes, which share the same cores), from
# /proc/stat; the best wall time N jobs can reach is that CPU divided by min(N, cores).
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
for jobs in 1 2 4; do
  for _ in 1 2 3 4 5; do
    a=$(busy) s=$(date +%s%N)
    "$BIN" batch plan --repos "$W/repos.toml" --jobs "$jobs" >/dev/null 2>&1
    e=$(date +%s%N) b=$(busy)
    echo "$jobs $(((e - s) / 1000000)) $(((b - a) * 1000 / $(getconf CLK_TCK)))"
  done
done >"$W/fleet.cpu.txt"

# --- 4. network round trips of a full ADR-002 apply --------------------------------------
echo "== 4. round trips"
cargo bench --quiet --profile "$BENCH_PROFILE" --bench roundtrips >"$W/roundtrips.txt" 2>&1 \
  || { cat "$W/roundtrips.txt"; exit 1; }

# --- 5. peak memory of plan on the big repository ----------------------------------------
echo "== 5. memory"
rss() { /usr/bin/time -f '%M' -o "$W/rss" "$@" >/dev/null && cat "$W/rss"; }
{
  echo "plan-default $(rss "$BIN" plan --repo "$CLONE")"
  echo "floor-default $(rss benches/floor.sh "$CLONE" "$W/cand-default.txt")"
  echo "plan-bench $(rss "$BIN" plan --repo "$CLONE" --plan "$DATA/big/bench-plan.toml")"
  echo "floor-bench $(rss benches/floor.sh "$CLONE" "$W/cand-bench.txt")"
} >"$W/rss.txt"

python3 benches/report.py "$W" "$MODE" | tee -a "$OUT"
echo "report written to $OUT"
