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
# Every process runs under `timeout`; leftovers are killed. Iteration counts
# are sized for TCG emulation (2 vCPUs): the whole run takes about 6 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inner" ]; then
  # Ratios hold only on a quiet machine: other VMs share the same cores.
  busy=$(pgrep -c -f '^qemu-system-x86_64 ' 2>/dev/null || true)
  if [ "${busy:-0}" -gt 0 ]; then
    printf '[bench] warning: %s other qemu VM(s) running on this host; figures will be disturbed\n' "$busy" >&2
  fi
  # The VM passes no environment through: hand BENCH_* settings over explicitly.
  settings=()
  for v in BENCH_QUICK BENCH_TIMEOUT BENCH_GID; do
    [ -n "${!v:-}" ] && settings+=("$v=${!v}")
  done
  exec node packages/testbed/dist/cli.js auto --timeout 1200 -- env "${settings[@]}" bash scripts/bench.sh --inner
fi

# ---------------------------------------------------------------- inside ---
say() { printf '[bench] %s\n' "$*" >&2; }

BENCH="packages/examples/dist/bench/cli.js"
TABLE="packages/examples/dist/bench/table.js"
[ -f "$BENCH" ] || { say "missing $BENCH: run 'npx tsc -b' first"; exit 1; }

DEV=${RDMAJS_DEVICE:-$(ls /sys/class/infiniband 2>/dev/null | head -1)}
[ -n "$DEV" ] || { say "no RDMA device"; exit 1; }
# The RoCE v2 IPv4 GID, chosen by type like ctx.defaultGid() (index 1 on rxe).
gid_index() {
  local port=/sys/class/infiniband/$DEV/ports/1 t i
  for t in "$port"/gid_attrs/types/*; do
    i=${t##*/}
    [ "$(cat "$t" 2>/dev/null)" = "RoCE v2" ] || continue
    case "$(cat "$port/gids/$i" 2>/dev/null)" in 0000:0000:0000:0000:0000:ffff:*) echo "$i"; return ;; esac
  done
  echo 0
}
GID=${BENCH_GID:-$(gid_index)}
HOST=${RDMAJS_TESTBED_IP:-127.0.0.1} # the TCP exchange only; RDMA goes by GID
PORT=18515
TIMEOUT=${BENCH_TIMEOUT:-180}        # per process, seconds
OUT=$(mktemp -d)
MANIFEST="$OUT/manifest.tsv"
: >"$MANIFEST"

cleanup() {
  local pids
  pids=$(jobs -p)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  rm -rf "$OUT"
}
trap cleanup EXIT

# Iterations, scaled down by BENCH_QUICK for smoke tests.
n() { if [ -n "${BENCH_QUICK:-}" ]; then echo $(((($1 / 10) + 15) / 16 * 16)); else echo "$1"; fi; }

# run_pair <id> <server command...> -- <client command...>
# Server in the background, client in the foreground; both time-limited.
run_pair() {
  local id=$1 srv=() cli=() spid rc i
  shift
  while [ "$1" != "--" ]; do srv+=("$1"); shift; done
  shift
  cli=("$@")
  timeout -k 5 "$TIMEOUT" "${srv[@]}" >"$OUT/$id.server" 2>&1 &
  spid=$!
  sleep "${PAIR_SLEEP:-1}"
  timeout -k 5 "$TIMEOUT" "${cli[@]}" >"$OUT/$id.client" 2>"$OUT/$id.err"
  rc=$?
  for i in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.2; done
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  if [ "$rc" -ne 0 ]; then
    say "$id failed (exit $rc): ${cli[*]}"
    tail -n 5 "$OUT/$id.err" "$OUT/$id.client" "$OUT/$id.server" | sed 's/^/    /' >&2
  fi
  PORT=$((PORT + 1))
  return 0
}

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

# row <label> <metric> <perftest id|-> <rdmajs id> <target>
row() {
  local pf=-
  [ "$3" != - ] && pf="$3.client"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$pf" "$4.client" "$5" >>"$MANIFEST"
}

started=$(date +%s)
say "device $DEV, GID index $GID, exchange over $HOST, output in $OUT"
say "$(nproc) CPUs, clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown), node $(node --version)"

# Bandwidth at 64 KiB (perftest: tx depth 128, every send signaled above 8 KiB).
N=$(n 2000)
perftest pt_write ib_write_bw -s 65536 -n "$N"
rdmajs rj_write write_bw -s 65536 -n "$N"
row "write_bw 64 KiB" bw pt_write rj_write ">=0.95"

N=$(n 1000)
perftest pt_read ib_read_bw -s 65536 -n "$N"
rdmajs rj_read read_bw -s 65536 -n "$N"
row "read_bw 64 KiB" bw pt_read rj_read ">=0.95"

perftest pt_send ib_send_bw -s 65536 -n "$N"
rdmajs rj_send send_bw -s 65536 -n "$N"
row "send_bw 64 KiB" bw pt_send rj_send ">=0.95"

# Message rate at 64 B: one work request per post (CQ moderation 100), then chains of 16.
N=$(n 20000)
perftest pt_rate ib_write_bw -s 64 -n "$N"
rdmajs rj_rate write_bw -s 64 -n "$N"
row "write_bw 64 B rate" mpps pt_rate rj_rate "-"

N=$(n 32000)
perftest pt_rate16 ib_write_bw -s 64 -l 16 -n "$N"
rdmajs rj_rate16 write_bw -s 64 -l 16 -n "$N"
row "write_bw 64 B rate, -l 16" mpps pt_rate16 rj_rate16 ">=0.9"

N=$(n 5000)
perftest pt_atomic ib_atomic_bw -n "$N"
rdmajs rj_atomic atomic_bw -n "$N"
row "atomic_bw 8 B rate" mpps pt_atomic rj_atomic "-"

# Latency at 2 B, busy-polling; typical = median of the half round trips.
# perftest sends nothing inline on rxe (it only knows the inline sizes of
# vendors' NICs), so rdmajs runs with -I 0 too.
N=$(n 5000)
perftest pt_slat ib_send_lat -s 2 -n "$N"
rdmajs rj_slat send_lat -s 2 -n "$N" -I 0
row "send_lat 2 B" lat pt_slat rj_slat "<=1.15"

perftest pt_wlat ib_write_lat -s 2 -n "$N"
rdmajs rj_wlat write_lat -s 2 -n "$N" -I 0
row "write_lat 2 B" lat pt_wlat rj_wlat "<=1.15"

N=$(n 2000)
perftest pt_rlat ib_read_lat -s 2 -n "$N"
rdmajs rj_rlat read_lat -s 2 -n "$N"
row "read_lat 2 B (full round trip)" lat pt_rlat rj_rlat "-"

# Event-driven latency: perftest -e vs cq.pollWait on the completion channel.
perftest pt_elat ib_send_lat -s 2 -n "$N" -e
rdmajs rj_elat send_lat -s 2 -n "$N" -I 0 -e
row "send_lat 2 B, events (-e)" lat pt_elat rj_elat "<=1.3"

# Allocation evidence: a million 64 B writes in chains of 16; heap, RSS and GCs across the run.
N=$(n 1000000)
rdmajs rj_mem write_bw -s 64 -l 16 -n "$N"
row "1M x 64 B writes -l 16: memory" mem - rj_mem flat

say "done in $(($(date +%s) - started)) s"
echo
echo "perftest vs rdmajs-bench on $DEV (GID $GID); ratio = rdmajs / perftest"
node "$TABLE" "$OUT"
