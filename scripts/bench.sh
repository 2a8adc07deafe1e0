#!/usr/bin/env bash
# perftest and rdmajs-bench side by side, with matching parameters, on one
# RDMA device: this host's if it has one, else the SoftRoCE testbed VM.
# `npm run bench` runs it after setup.
#
# In the testbed the figures come from deterministic timing by default
# (qemu icount, one vCPU: guest ns = guest instructions, so runs repeat
# whatever the host does); the busy-poll latency rows, which one vCPU cannot
# measure, run in a second, threaded VM. BENCH_TIMING=threaded runs every
# row in one threaded VM instead. Each row says which mode it came from.
#
#   bash scripts/bench.sh                 # prints the table; writes bench-results/verbs.{md,json}, charts
#   BENCH_QUICK=1 bash scripts/bench.sh   # a tenth of the iterations, for a smoke test
#   BENCH_REPEAT=5 BENCH_OUT=/tmp/b bash scripts/bench.sh
#
# Each pair runs BENCH_REPEAT times (default 3), perftest and rdmajs-bench
# alternating; the table shows the median and the spread of the runs, and
# the JSON keeps every run. Every process runs under `timeout`; leftovers
# are killed.
set -uo pipefail
cd "$(dirname "$0")/.."

TAG=bench
source scripts/bench-lib.sh
[ "${1:-}" = "--inner" ] || bench_enter verbs 3600 scripts/bench.sh BENCH_QUICK BENCH_ONLY BENCH_TIMEOUT BENCH_GID BENCH_REPEAT

# ---------------------------------------------------------------- inside ---
BENCH="packages/bench/dist/cli.js"
[ -f "$BENCH" ] || { say "missing $BENCH: run 'npx tsc -b' first"; exit 1; }

bench_device
GID=${BENCH_GID:-$(gid_index)}
HOST=${RDMAJS_TESTBED_IP:-127.0.0.1} # the TCP exchange only; RDMA goes by GID
PORT=18515
TIMEOUT=${BENCH_TIMEOUT:-180}        # per process, seconds
REPEAT=${BENCH_REPEAT:-3}
bench_scratch
MANIFEST="$OUT/manifest.tsv"
: >"$MANIFEST"

# Iterations, scaled down by BENCH_QUICK for smoke tests.
n() { if [ -n "${BENCH_QUICK:-}" ]; then echo $(((($1 / 10) + 15) / 16 * 16)); else echo "$1"; fi; }

# perftest <id> <ib_binary> <args...>
perftest() {
  local id=$1 bin=$2
  shift 2
  say "$bin $*"
  PAIR_SLEEP=2 run_pair "$id" "$bin" -d "$DEV" -x "$GID" -F -p "$PORT" "$@" -- "$bin" -d "$DEV" -x "$GID" -F -p "$PORT" "$@" "$HOST"
}

# rdmajs <id> <test> <args...>; the client prints JSON (the server follows its parameters).
rdmajs() {
  local id=$1 test=$2
  shift 2
  say "rdmajs-bench $test $*"
  PAIR_SLEEP=0 run_pair "$id" node "$BENCH" "$test" -d "$DEV" -x "$GID" -p "$PORT" "$@" -- \
    node "$BENCH" "$test" "$HOST" -d "$DEV" -x "$GID" -p "$PORT" --json "$@"
}

# pair <label> <metric> <CPUs needed> <perftest binary and args> -- <rdmajs test and args>
# Runs both REPEAT times (ROW_REPEAT for this row), alternating, and adds
# the row to the manifest, when this pass runs it (see want).
pair() {
  local label=$1 metric=$2 need=$3 pt=() rj=() r pfiles=() rfiles=() id
  shift 3
  want "$need" "$label" || return 0
  while [ "$1" != "--" ]; do pt+=("$1"); shift; done
  shift
  rj=("$@")
  id=$(printf 'p%02d' "$(wc -l <"$MANIFEST")")
  for r in $(seq "${ROW_REPEAT:-$REPEAT}"); do
    perftest "$id.pt$r" "${pt[@]}"
    pfiles+=("$id.pt$r.client")
    rdmajs "$id.rj$r" "${rj[@]}"
    rfiles+=("$id.rj$r.client")
  done
  printf '%s\t%s\t%s\t%s\n' "$label" "$metric" "$(IFS=,; echo "${pfiles[*]}")" "$(IFS=,; echo "${rfiles[*]}")" >>"$MANIFEST"
}

started=$(date +%s)
say "device $DEV, GID index $GID, exchange over $HOST, output in $OUT"
say "$(nproc) CPUs, clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown), node $(node --version)"

# Targets and what each row means: packages/bench/src/report/rows.ts.
# Bandwidth at 64 KiB (perftest: tx depth 128, every send signaled above 8 KiB).
N=$(n 1000)
pair "write_bw 64 KiB" bw 1 ib_write_bw -s 65536 -n "$N" -- write_bw -s 65536 -n "$N"
pair "read_bw 64 KiB" bw 1 ib_read_bw -s 65536 -n "$N" -- read_bw -s 65536 -n "$N"
# SEND has a JS receiver too (two processes, each with V8's threads): longer.
N=$(n 3000)
pair "send_bw 64 KiB" bw 1 ib_send_bw -s 65536 -n "$N" -- send_bw -s 65536 -n "$N"

# Message rate at 64 B: one work request per post (CQ moderation 100), then
# chains of 16 and atomics. Rates run >= 1 s of guest time, and rdmajs warms up for
# 10000 operations first (the JIT's tiering): with the defaults (n/10 warm-up,
# 10000 operations) the unbatched figure was 26 % lower and its runs 1-2 %
# apart, now under 0.5 % (docs/performance.md#reproducibility).
N=$(n 50000)
pair "write_bw 64 B rate" mpps 1 ib_write_bw -s 64 -n "$N" -- write_bw -s 64 -n "$N" -w "$(n 10000)"
pair "write_bw 64 B rate, -l 16" mpps 1 ib_write_bw -s 64 -l 16 -n "$N" -- write_bw -s 64 -l 16 -n "$N" -w "$(n 10000)"
N=$(n 60000)
pair "atomic_bw 8 B rate" mpps 1 ib_atomic_bw -n "$N" -- atomic_bw -n "$N" -w "$(n 10000)"

# Latency at 2 B, busy-polling on both sides (two CPUs); typical = median of
# the half round trips. perftest sends nothing inline on rxe (it only knows
# the inline sizes of vendors' NICs), so rdmajs runs with -I 0 too.
N=$(n 3000)
pair "send_lat 2 B" lat 2 ib_send_lat -s 2 -n "$N" -- send_lat -s 2 -n "$N" -I 0
pair "write_lat 2 B" lat 2 ib_write_lat -s 2 -n "$N" -- write_lat -s 2 -n "$N" -I 0
# RDMA READ: only the client polls (the responder is the kernel's rxe).
# The deterministic latency rows run long, and rdmajs-bench after as many
# untimed iterations: V8 compiles the hot path over the first thousands, and
# on one vCPU its compiler thread takes turns with the ping-pong (1000 after
# 100 measured mostly that: docs/performance.md, "The compiler's thread").
N=$(n 30000)
W=$(n 30000)
pair "read_lat 2 B (full round trip)" lat 1 ib_read_lat -s 2 -n "$N" -- read_lat -s 2 -n "$N" -w "$W"

# Event-driven latency: perftest -e vs cq.onWake on the completion channel.
pair "send_lat 2 B, events (-e)" lat 1 ib_send_lat -s 2 -n "$N" -e -- send_lat -s 2 -n "$N" -I 0 -e -w "$W"

# Bandwidth by message size (-a: 2 B .. 8 MiB), once each: the sweep chart.
N=$(n 100)
ROW_REPEAT=1 pair "write_bw by size (-a)" sweep 1 ib_write_bw -a -n "$N" -- write_bw -a -n "$N"

# Allocation evidence: a million 64 B writes in chains of 16; heap, RSS and GCs across the run.
N=$(n 1000000)
if want 1 "1M x 64 B writes -l 16: memory"; then
  rdmajs mem write_bw -s 64 -l 16 -n "$N"
  printf '%s\t%s\t%s\t%s\n' "1M x 64 B writes -l 16: memory" mem - mem.client >>"$MANIFEST"
fi

say "done in $(($(date +%s) - started)) s"
node packages/bench/dist/report/collect.js verbs "$OUT"
