#!/usr/bin/env bash
# Fetching a fleet by the minimum: `rebranch batch plan` over 20 repositories given by
# `git://` URLs (a loopback git daemon), each with a long history on main and on charts,
# beside the git CLI fetching the same repositories two ways:
#   - `git clone` (everything: every branch, its whole history, the tags);
#   - `git clone --depth 1 --single-branch --branch main` then `git fetch --depth 1` of
#     charts: the tips of the branches the plan names, the least git itself fetches.
# Each checks out main, as rebranch does. Bytes are the received packs as stored
# (.git/objects/pack), time is wall time for the 20,
# one repository at a time. rebranch's time includes planning; a second batch plan (fetching
# nothing new, then planning) is given to show that share. Then the same batch plan is run
# unsharded and as 3 shards (`--shard K/3 --report F`), and `batch report --merge` of the
# three must equal the unsharded report byte for byte, with the same exit code.
#
#   benches/fetch.sh BIN...        each binary in turn (e.g. before and after a change)
#
# Environment: BENCH_DATA (default target/bench-data). Writes $BENCH_DATA/fetch/results.txt
# (and results.tsv: name, ms, bytes, for benches/scale.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${BENCH_DATA:-$ROOT/target/bench-data}/fetch
mkdir -p "$DATA"
OUT=$DATA/results.txt
N=${FLEET_SIZE:-20}
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1
export HOME=$DATA/home
mkdir -p "$HOME"
printf '[user]\n\tname = Bench\n\temail = bench@acme.example\n' >"$HOME/.gitconfig"

ARGS="--files 2000 --charts 20 --commits 15000 --index-releases 1500 --no-clone"
if [[ $(cat "$DATA/.args" 2>/dev/null) != "$ARGS" ]]; then
  rm -rf "$DATA/src"
  # shellcheck disable=SC2086
  python3 benches/gen.py "$DATA/src" --quiet $ARGS
  git -C "$DATA/src/origin.git" tag v1 main~100
  echo "$ARGS" >"$DATA/.args"
fi
rm -rf "$DATA/served" && mkdir -p "$DATA/served"
for i in $(seq -w 1 "$N"); do cp -r "$DATA/src/origin.git" "$DATA/served/r$i.git"; done

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(git --exec-path)/git-daemon" --export-all --reuseaddr --listen=127.0.0.1 --port="$PORT" \
  --base-path="$DATA/served" "$DATA/served" >/dev/null 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  sleep 0.05
done
url() { echo "git://127.0.0.1:$PORT/r$1.git"; }

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
: >"$OUT"
say "# fetch $(date -u +%Y-%m-%dT%H:%M:%SZ): $N repositories, $(cat "$DATA/src/sizes.json")"
say "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(git --version)"
say "origin: $(du -sb "$DATA/src/origin.git/objects" | cut -f1) bytes of objects each"

ms() { echo $(( ($2 - $1) / 1000000 )); }
packs() { du -cb "$@" 2>/dev/null | tail -1 | cut -f1; }
W=$DATA/work

run_git() { # NAME then a function that fetches repository $i into $W/$i
  local name=$1 how=$2
  rm -rf "$W" && mkdir -p "$W"
  local s e
  s=$(date +%s%N)
  for i in $(seq -w 1 "$N"); do "$how" "$i"; done
  e=$(date +%s%N)
  local bytes
  bytes=$(packs "$W"/*/.git/objects/pack)
  say "$name: $(ms "$s" "$e") ms, $bytes bytes"
  printf '%s\t%s\t%s\n' "$3" "$(ms "$s" "$e")" "$bytes" >>"$TSV"
}
full() { git clone -q "$(url "$1")" "$W/$1"; }
tips() {
  git clone -q --depth 1 --single-branch --branch main "$(url "$1")" "$W/$1"
  git -C "$W/$1" fetch -q --depth 1 origin charts:refs/remotes/origin/charts
}
TSV=$DATA/results.tsv
: >"$TSV"
run_git "git clone (full)" full full
run_git "git clone --depth 1 --single-branch main + fetch --depth 1 charts" tips depth1

for bin in "$@"; do
  rm -rf "$W" && mkdir -p "$W"
  { echo "[defaults]"; echo "workdir = \"$W\""; } >"$DATA/repos.toml"
  for i in $(seq -w 1 "$N"); do printf '\n[[repo]]\nname = "%s"\nurl = "%s"\n' "$i" "$(url "$i")"; done >>"$DATA/repos.toml"
  s=$(date +%s%N)
  "$bin" batch plan --repos "$DATA/repos.toml" --jobs 1 >"$DATA/plan.out" 2>&1 || true
  e=$(date +%s%N)
  s2=$(date +%s%N)
  "$bin" batch plan --repos "$DATA/repos.toml" --jobs 1 >/dev/null 2>&1 || true
  e2=$(date +%s%N)
  results=$(grep -o ' repositories: .*' "$DATA/plan.out" | head -1)
  bytes=$(packs "$W"/*/.git/objects/pack)
  say "$bin batch plan: $(ms "$s" "$e") ms, $bytes bytes ($results); again: $(ms "$s2" "$e2") ms"
  printf '%s\t%s\t%s\t%s\n' "batch:$bin" "$(ms "$s" "$e")" "$bytes" "$(ms "$s2" "$e2")" >>"$TSV"

  # Shards: the same batch plan (nothing new to fetch now) as one run and as 3 shards, each
  # writing its own report; the shards' reports merged must equal the unsharded report, and
  # the merge must exit as the unsharded run did.
  rc=0
  "$bin" batch plan --repos "$DATA/repos.toml" --jobs 1 --detailed-exitcode >/dev/null 2>&1 || rc=$?
  cp "$W/rebranch-batch-report.json" "$DATA/unsharded.json"
  s=$(date +%s%N)
  for k in 1 2 3; do
    "$bin" batch plan --repos "$DATA/repos.toml" --jobs 1 --detailed-exitcode --shard "$k/3" \
      --report "$DATA/shard-$k.json" >/dev/null 2>&1 || true
  done
  e=$(date +%s%N)
  mrc=0
  "$bin" batch report --merge "$DATA"/shard-{1,2,3}.json --format json --detailed-exitcode \
    >"$DATA/merged.json" 2>"$DATA/merge.err" || mrc=$?
  sizes=$(python3 -c 'import json,sys; print("/".join(str(len(json.load(open(f))["repos"])) for f in sys.argv[1:]))' \
    "$DATA"/shard-{1,2,3}.json)
  if cmp -s "$DATA/unsharded.json" "$DATA/merged.json" && [[ $rc == "$mrc" ]]; then
    verdict="merged report byte-identical to the unsharded one, exit code $mrc for both"
  else
    verdict="MERGED REPORT DIFFERS (exit codes: unsharded $rc, merge $mrc; see $DATA/merged.json)"
  fi
  say "$bin 3 shards ($sizes repositories), $(ms "$s" "$e") ms for the three: $verdict"
  printf '%s\t%s\t%s\n' "shards:$bin" "$(ms "$s" "$e")" "$verdict" >>"$TSV"
  [[ $verdict == merged* ]] || exit 1
done
