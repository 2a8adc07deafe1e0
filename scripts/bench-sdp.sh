#!/usr/bin/env bash
# @rdmajs/sdp side by side with rsockets (rstream), kernel TCP through
# rstream (-T s), Node's net, and ib_write_bw, in one testbed run (or on
# this host's RDMA device). `npm run bench:sdp` runs it after setup.
#
# Ping-pong at 64 B / 4 KiB / 64 KiB in rstream's unit (microseconds per
# transfer = half a round trip), streaming with 64 KiB writes in MiB/s.
# Each measurement runs BENCH_REPEAT times (default 3); the table shows the
# median and the spread of the runs. Timing modes and passes as in
# scripts/bench.sh (deterministic by default in the testbed; the busy-poll
# row runs in a threaded pass). Writes bench-results/sdp.{md,json} and a chart.
set -uo pipefail
cd "$(dirname "$0")/.."

TAG=bench-sdp
source scripts/bench-lib.sh
[ "${1:-}" = "--inner" ] || bench_enter sdp 3600 scripts/bench-sdp.sh BENCH_QUICK BENCH_ONLY BENCH_REPEAT BENCH_TIMEOUT

BENCH="packages/bench/dist/cli.js"
[ -f "$BENCH" ] || { say "missing $BENCH: run 'npx tsc -b' first"; exit 1; }
bench_device
# rdma_cm needs an IP on the device: the testbed's, or the first RoCE v2 IPv4 GID's.
IP=${RDMAJS_TESTBED_IP:-$(node -e "import('@rdmajs/verbs').then(v => { const c = v.openDevice('$DEV'); console.log(c.defaultGid(1).ip); c.close(); })")}
GID=$(gid_index)
REPEAT=${BENCH_REPEAT:-3}
TIMEOUT=${BENCH_TIMEOUT:-180}
PORT=18600
bench_scratch
MANIFEST="$OUT/manifest.tsv"
: >"$MANIFEST"
q() { if [ -n "${BENCH_QUICK:-}" ]; then echo $((($1 + 9) / 10)); else echo "$1"; fi; }

# record <row> <tool> <unit> <format>: lists the last client's output; the
# collector (packages/bench/src/report/sdp-runs.ts) reads its figure.
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(basename "$LAST")" >>"$MANIFEST"; }

# pair <server command...> -- <client command...>; the client's stdout is
# then in $LAST. rdmajs-bench's server serves until killed: no lingering.
RUN=0
pair() {
  RUN=$((RUN + 1))
  LAST="$OUT/r$RUN.client"
  PAIR_LINGER=0 run_pair "r$RUN" "$@"
}

rstream_run() { # <row> <size> <count> [-T s]
  local row=$1 size=$2 count=$3 tool=rstream
  shift 3
  [ $# -gt 0 ] && tool="rstream -T s"
  want "$([ "$tool" = rstream ] && echo anchor || echo 1)" "$row" "$tool" || return 0
  say "$tool -S $size -C $count"
  pair rstream -b "$IP" -p "$PORT" -S "$size" -C "$count" "$@" -- rstream -s "$IP" -p "$PORT" -S "$size" -C "$count" "$@"
  record "$row" "$tool" usec rstream
}

rdmajs_run() { # <row> <tool label> <args...>
  local row=$1 tool=$2 unit=usec
  shift 2
  want "$( [ "$tool" = "sdp --busy 1000" ] && echo 2 || echo 1)" "$row" "$tool" || return 0
  say "rdmajs-bench sdp $*"
  PAIR_READY="server on port" pair node "$BENCH" sdp -p "$PORT" "$@" -- node "$BENCH" sdp "$IP" -p "$PORT" --json "$@"
  case " $* " in *" --stream "*) unit=MiB/s ;; esac
  record "$row" "$tool" "$unit" rdmajs
}

started=$(date +%s)
say "device $DEV, $IP, GID $GID, $(nproc) CPUs, node $(node --version)"
for r in $(seq "$REPEAT"); do
  for spec in "64 $(q 5000)" "4096 $(q 2000)" "65536 $(q 300)"; do
    set -- $spec
    row="ping-pong $1 B"
    rstream_run "$row" "$1" "$2"
    rstream_run "$row" "$1" "$2" -T s
    rdmajs_run "$row" "node net" --transport net -S "$1" -C "$2"
    rdmajs_run "$row" "sdp" -S "$1" -C "$2"
    # Steady state: V8 needs thousands of transfers to tier up under emulation.
    rdmajs_run "$row" "node net, warm" --transport net -S "$1" -C "$2" --warmup $((4 * $2))
    rdmajs_run "$row" "sdp, warm" -S "$1" -C "$2" --warmup $((4 * $2))
    rdmajs_run "$row" "sdp --busy 1000" --busy 1000 -S "$1" -C "$2"
  done
  row="stream 64 KiB writes"
  N=$(q 2000)
  if want 1 "$row" ib_write_bw; then
    say "ib_write_bw -s 65536 -n $N"
    PAIR_SLEEP=2 pair ib_write_bw -d "$DEV" -x "$GID" -F -p "$PORT" -s 65536 -n "$N" -- ib_write_bw -d "$DEV" -x "$GID" -F -p "$PORT" -s 65536 -n "$N" "$IP"
    record "$row" "ib_write_bw" MiB/s perftest
  fi
  rdmajs_run "$row" "node net" --transport net --stream -S 65536 -C "$N"
  rdmajs_run "$row" "sdp" --stream -S 65536 -C "$N"
  rdmajs_run "$row" "sdp, zero-copy" --stream --zero-copy 65536 -S 65536 -C "$N"
done
say "done in $(($(date +%s) - started)) s"
node packages/bench/dist/report/collect.js sdp "$OUT"
