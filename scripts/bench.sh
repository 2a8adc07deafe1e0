#!/usr/bin/env bash
# perftest and rdmajs-bench side by side, with matching parameters, on one
# RDMA device: this host's if it has one, else the SoftRoCE testbed VM,
# booted once for the whole run. `npm run bench` runs it after setup.
#
# Prints one table (test, perftest figure, rdmajs figure, ratio, target from
# ../shared/DESIGN.md §6) and the same as JSON between marker lines: inside
# the VM nothing written to disk survives, so stdout is the only output.
#
#   bash scripts/bench.sh            # boots the testbed (or uses the host's device)
#   BENCH_QUICK=1 bash scripts/bench.sh   # fewer iterations, for a smoke test
#
# Each pair runs BENCH_REPEAT times (default 2), perftest and rdmajs-bench
# alternating, and the table keeps each tool's best run: under emulation a
# run can land in a slow mode (bandwidth halves, latency jumps to the 4 ms
# scheduler tick) that says nothing about either tool. All runs are in the JSON.
#
# Every process runs under `timeout`; leftovers are killed. Iteration counts
# are sized for TCG emulation (2 vCPUs): the whole run takes 4-9 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

TAG=bench
source scripts/bench-lib.sh
[ "${1:-}" = "--inner" ] || bench_enter 1200 scripts/bench.sh BENCH_QUICK BENCH_TIMEOUT BENCH_GID BENCH_REPEAT

# ---------------------------------------------------------------- inside ---
BENCH="packages/examples/dist/bench/cli.js"
TABLE="packages/examples/dist/bench/table.js"
[ -f "$BENCH" ] || { say "missing $BENCH: run 'npx tsc -b' first"; exit 1; }

bench_device
GID=${BENCH_GID:-$(gid_index)}
HOST=${RDMAJS_TESTBED_IP:-127.0.0.1} # the TCP exchange only; RDMA goes by GID
PORT=18515
TIMEOUT=${BENCH_TIMEOUT:-180}        # per process, seconds
REPEAT=${BENCH_REPEAT:-2}
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

# pair <label> <metric> <target> <perftest binary and args> -- <rdmajs test and args>
# Runs both REPEAT times, alternating, and adds the row to the manifest.
pair() {
  local label=$1 metric=$2 target=$3 pt=() rj=() r pfiles=() rfiles=() id
  shift 3
  while [ "$1" != "--" ]; do pt+=("$1"); shift; done
  shift
  rj=("$@")
  id=$(printf 'p%02d' "$(wc -l <"$MANIFEST")")
  for r in $(seq "$REPEAT"); do
    perftest "$id.pt$r" "${pt[@]}"
    pfiles+=("$id.pt$r.client")
    rdmajs "$id.rj$r" "${rj[@]}"
    rfiles+=("$id.rj$r.client")
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$metric" "$(IFS=,; echo "${pfiles[*]}")" "$(IFS=,; echo "${rfiles[*]}")" "$target" >>"$MANIFEST"
}

started=$(date +%s)
say "device $DEV, GID index $GID, exchange over $HOST, output in $OUT"
say "$(nproc) CPUs, clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown), node $(node --version)"

# Bandwidth at 64 KiB (perftest: tx depth 128, every send signaled above 8 KiB).
N=$(n 1000)
pair "write_bw 64 KiB" bw ">=0.95" ib_write_bw -s 65536 -n "$N" -- write_bw -s 65536 -n "$N"
pair "read_bw 64 KiB" bw ">=0.95" ib_read_bw -s 65536 -n "$N" -- read_bw -s 65536 -n "$N"
pair "send_bw 64 KiB" bw ">=0.95" ib_send_bw -s 65536 -n "$N" -- send_bw -s 65536 -n "$N"

# Message rate at 64 B: one work request per post (CQ moderation 100), then chains of 16.
N=$(n 10000)
pair "write_bw 64 B rate" mpps - ib_write_bw -s 64 -n "$N" -- write_bw -s 64 -n "$N"
N=$(n 16000)
pair "write_bw 64 B rate, -l 16" mpps ">=0.9" ib_write_bw -s 64 -l 16 -n "$N" -- write_bw -s 64 -l 16 -n "$N"
N=$(n 4000)
pair "atomic_bw 8 B rate" mpps - ib_atomic_bw -n "$N" -- atomic_bw -n "$N"

# Latency at 2 B, busy-polling; typical = median of the half round trips.
# perftest sends nothing inline on rxe (it only knows the inline sizes of
# vendors' NICs), so rdmajs runs with -I 0 too.
N=$(n 3000)
pair "send_lat 2 B" lat "<=1.15" ib_send_lat -s 2 -n "$N" -- send_lat -s 2 -n "$N" -I 0
pair "write_lat 2 B" lat "<=1.15" ib_write_lat -s 2 -n "$N" -- write_lat -s 2 -n "$N" -I 0
N=$(n 1000)
pair "read_lat 2 B (full round trip)" lat - ib_read_lat -s 2 -n "$N" -- read_lat -s 2 -n "$N"

# Event-driven latency: perftest -e vs cq.pollWait on the completion channel.
pair "send_lat 2 B, events (-e)" lat "<=1.3" ib_send_lat -s 2 -n "$N" -e -- send_lat -s 2 -n "$N" -I 0 -e

# Allocation evidence: a million 64 B writes in chains of 16; heap, RSS and GCs across the run.
N=$(n 1000000)
rdmajs mem write_bw -s 64 -l 16 -n "$N"
printf '%s\t%s\t%s\t%s\t%s\n' "$N x 64 B writes -l 16: memory" mem - mem.client flat >>"$MANIFEST"

say "done in $(($(date +%s) - started)) s"
echo
echo "perftest vs rdmajs-bench on $DEV (GID $GID); ratio = rdmajs / perftest"
node "$TABLE" "$OUT"
