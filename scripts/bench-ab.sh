#!/usr/bin/env bash
# A/B of two builds of rdmajs in one testbed boot: the same rdmajs-bench test
# from tree A and from tree B, alternating, BENCH_REPEAT times (default 5),
# in deterministic timing by default, so the difference is the code's and
# not the host's. Prints every run, the medians, the spreads and B / A.
#
#   git worktree add /tmp/rdmajs-base 72eb6a6
#   (cd /tmp/rdmajs-base && bash scripts/setup.sh)     # its own npm ci and native build
#   bash scripts/bench-ab.sh /tmp/rdmajs-base . -- write_bw -s 64 -n 20000
#   bash scripts/bench-ab.sh /tmp/rdmajs-base . -- send_lat -s 2 -n 2000 -e --profile
#
# With --profile each client's profile summary (top frames by self time) is
# printed too: in deterministic timing the same build gives the same top
# entries run to run, so two builds' profiles can be compared line by line.
# BENCH_TIMING=threaded uses the threaded VM (noisy; for busy-poll tests).
set -uo pipefail
cd "$(dirname "$0")/.."

TAG=bench-ab
source scripts/bench-lib.sh
# bench_cli <tree>: its rdmajs-bench (packages/bench since the benchmark left
# @rdmajs/examples; older trees have it there), or nothing when not built.
bench_cli() {
  local f
  for f in "$1/packages/bench/dist/cli.js" "$1/packages/examples/dist/bench/cli.js"; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
}

if [ "${1:-}" != "--inner" ]; then
  [ $# -ge 4 ] && [ "$3" = "--" ] || { say "usage: bench-ab.sh <tree A> <tree B> -- <rdmajs-bench test and args>"; exit 2; }
  for t in "$1" "$2"; do
    [ -n "$(bench_cli "$t")" ] || { say "$t has no built rdmajs-bench: run 'bash scripts/setup.sh' there"; exit 2; }
  done
  A=$(cd "$1" && pwd)
  B=$(cd "$2" && pwd)
  shift 3
  exec node packages/testbed/dist/cli.js auto --timing "${BENCH_TIMING:-deterministic}" --timeout 3600 -- \
    env ${BENCH_REPEAT:+BENCH_REPEAT=$BENCH_REPEAT} bash scripts/bench-ab.sh --inner "$A" "$B" -- "$@"
fi

# ---------------------------------------------------------------- inside ---
A=$2
B=$3
shift 4
bench_device
GID=${BENCH_GID:-$(gid_index)}
HOST=${RDMAJS_TESTBED_IP:-127.0.0.1}
PORT=18700
TIMEOUT=${BENCH_TIMEOUT:-600}
REPEAT=${BENCH_REPEAT:-5}
bench_scratch
test=$1
shift
say "device $DEV, $(nproc) CPU(s), timing ${RDMAJS_TESTBED_TIMING:-native}: $test $*"
for r in $(seq "$REPEAT"); do
  for side in A B; do
    tree=$A
    [ "$side" = B ] && tree=$B
    say "run $r, $side ($tree)"
    cli=$(bench_cli "$tree")
    PAIR_SLEEP=0 run_pair "$side.$r" node "$cli" "$test" -d "$DEV" -x "$GID" -p "$PORT" "$@" -- \
      node "$cli" "$test" "$HOST" -d "$DEV" -x "$GID" -p "$PORT" --json "$@"
  done
done

node packages/bench/dist/report/ab.js "$OUT" "$REPEAT" "$A" "$B"
