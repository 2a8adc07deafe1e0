#!/usr/bin/env bash
# @rdmajs/mp side by side with Open MPI 4.1 + UCX 1.13 (packages/bench/anchors/osu.c
# under mpirun) and ucx_perftest, OSU-style: latency and bandwidth between
# 2 ranks, MPI_Allreduce of doubles on 4, sizes 1 B .. 4 MiB, in one testbed
# boot (or on this host's RDMA device). `npm run bench:mp` runs it after setup.
#
#   bash scripts/bench-mp.sh                  # prints the tables; writes bench-results/mp.{md,json}
#   BENCH_QUICK=1 bash scripts/bench-mp.sh    # a tenth of the iterations: a smoke test
#
# One pass, deterministic timing by default (BENCH_TIMING=threaded: a
# threaded VM with 2 vCPUs); the tables say which. Every rank waits without
# spinning, so one vCPU measures them all: @rdmajs/mp waits on completion
# events, Open MPI yields when idle (mpi_yield_when_idle), ucx_perftest runs
# with -E sleep. How Open MPI + UCX are made to run over rxe0 and not shared
# memory, and what fails otherwise: docs/mp-anchors.md.
#
# Variables: BENCH_TIMING, BENCH_QUICK, BENCH_REPEAT (runs of each tool,
# default 1: deterministic runs repeat), BENCH_TIMEOUT (per process, s,
# default 900), BENCH_OUT (default bench-results), BENCH_MP_WINDOW (bw
# window, default 16), BENCH_MP_BUILD (where osu.c is built, default
# .cache/bench-mp).
set -uo pipefail
cd "$(dirname "$0")/.."

TAG=bench-mp
source scripts/bench-lib.sh
BUILD=${BENCH_MP_BUILD:-.cache/bench-mp}
OSU="$BUILD/osu"

# ---------------------------------------------------------------- host ---
# One pass (bench_enter's deterministic mode adds a threaded pass for
# busy-poll rows; there are none here).
mp_enter() {
  local timing=${BENCH_TIMING:-${RDMAJS_TESTBED_TIMING:-deterministic}} v settings=() tmp rc status=0
  case "$timing" in deterministic | threaded) ;; *) say "BENCH_TIMING must be deterministic or threaded, got '$timing'"; exit 2 ;; esac
  for v in BENCH_QUICK BENCH_ONLY BENCH_REPEAT BENCH_TIMEOUT BENCH_MP_WINDOW BENCH_MP_BUILD; do
    [ -n "${!v:-}" ] && settings+=("$v=${!v}")
  done
  # osu.c is built here, outside the source tree (the VM sees this disk read-only).
  if command -v mpicc.openmpi >/dev/null; then
    mkdir -p "$BUILD"
    if [ ! -x "$OSU" ] || [ packages/bench/anchors/osu.c -nt "$OSU" ]; then
      say "building $OSU"
      mpicc.openmpi -O2 -Wall -o "$OSU" packages/bench/anchors/osu.c || { say "osu.c did not build: no Open MPI rows"; rm -f "$OSU"; }
    fi
  else
    say "no mpicc.openmpi (apt-get install libopenmpi-dev): no Open MPI rows"
  fi
  local busy
  busy=$(pgrep -c -f '^qemu-system-x86_64 ' 2>/dev/null || true)
  [ "${busy:-0}" -gt 0 ] && [ "$timing" = threaded ] && say "warning: $busy other qemu VM(s) running; threaded figures will be disturbed"
  tmp=$(mktemp -d)
  say "one pass, $timing timing"
  node packages/testbed/dist/cli.js auto --timing "$timing" --timeout 3600 -- \
    env "${settings[@]}" BENCH_ROWS=all bash scripts/bench-mp.sh --inner 2>&1 | tee "$tmp/pass.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || { say "the pass exited $rc"; status=1; }
  node packages/bench/dist/mp/summary.js --out "${BENCH_OUT:-bench-results}" "$tmp/pass.log" || status=1
  rm -rf "$tmp"
  exit "$status"
}
[ "${1:-}" = "--inner" ] || mp_enter

# ---------------------------------------------------------------- inside ---
bench_device
GID=$(gid_index)
TIMEOUT=${BENCH_TIMEOUT:-900}
REPEAT=${BENCH_REPEAT:-1}
WINDOW=${BENCH_MP_WINDOW:-16}
PORT=13400
bench_scratch
MANIFEST="$OUT/manifest.tsv"
SETTINGS="$OUT/settings.tsv"
: >"$MANIFEST"
: >"$SETTINGS"
q() { if [ -n "${BENCH_QUICK:-}" ]; then echo $((($1 + 9) / 10)); else echo "$1"; fi; }
setting() { printf '%s\t%s\n' "$1" "$2" >>"$SETTINGS"; }
# skip <test> <tool> <why>: no figure, and the table says why.
skip() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT/skipped.tsv"; say "skipped: $1 $2: $3"; }
packets() { cat "/sys/class/infiniband/$DEV/ports/1/hw_counters/sent_pkts" 2>/dev/null || echo 0; }

# mpirun wants a host name; the testbed VM has none ("(none)").
[ "$(hostname)" = "(none)" ] && hostname testbed 2>/dev/null

# UCX over rxe: rc_verbs carries the data; ud_verbs only wires it up (UCP
# needs an auxiliary transport to connect RC from a worker address), with
# its IPv4 destination-GID check off (with the check, UCX 1.13 drops every
# UD packet rxe delivers: "UD endpoint ... unhandled timeout error"). No
# shared-memory transports: ranks in one VM still go through rxe0.
export UCX_TLS=rc_verbs,ud_verbs:aux
export UCX_NET_DEVICES=$DEV:1
export UCX_IB_GID_INDEX=$GID
export UCX_UD_VERBS_ETH_DGID_CHECK=n
# Debian's /etc/openmpi/openmpi-mca-params.conf disables pml ucx (pml = ^ucx):
# force it. opal_common_ucx_devices (default mlx*) only matters when Open MPI
# picks the pml itself (kept; harmless).
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none
  --mca pml ucx --mca btl self --mca osc ^ucx --mca opal_common_ucx_devices any
  --mca mpi_yield_when_idle 1
  -x UCX_TLS -x UCX_NET_DEVICES -x UCX_IB_GID_INDEX -x UCX_UD_VERBS_ETH_DGID_CHECK)
# One vCPU cannot run two busy-polling processes (they take turns at the tick).
UCX_WAIT=$([ "$(nproc)" -ge 2 ] && echo poll || echo sleep)
setting mpirun "${MPIRUN[*]}"
for v in UCX_TLS UCX_NET_DEVICES UCX_IB_GID_INDEX UCX_UD_VERBS_ETH_DGID_CHECK; do setting "$v" "${!v}"; done
setting "ucx_perftest wait mode" "-E $UCX_WAIT"

# The same sizes and iterations on every side (osu.c's and mp-osu's flags).
# -j: untimed rounds of the first size before it (three times its count):
# V8 tiers mp-osu's hot path up over the first thousands of round trips
# (without it the 1-4 B latencies and 8-16 B allreduces came out 1.5-4x the
# settled figure). osu.c takes the same flags.
LAT_ARGS=(-n "$(q 1000)" -j "$(q 3000)")
BW_ARGS=(-n "$(q 100)" -m 3 -W "$WINDOW" -j "$(q 300)")
AR_ARGS=(-n "$(q 500)" -j "$(q 1500)")
setting "osu / mp-osu flags" "latency ${LAT_ARGS[*]}; bw ${BW_ARGS[*]}; allreduce ${AR_ARGS[*]}; sizes 1 B (allreduce 8 B) .. 4 MiB"

RUN=0
# osu_run <test> <tool> <ranks> <args...>: one OSU-style run; its rxe packet count goes into the settings.
osu_run() {
  local test=$1 tool=$2 n=$3 before rc file
  shift 3
  RUN=$((RUN + 1))
  file="r$RUN.$tool.$test"
  say "$tool $test, $n ranks"
  before=$(packets)
  if [ "$tool" = openmpi ]; then
    timeout -k 10 "$TIMEOUT" "${MPIRUN[@]}" -n "$n" "$OSU" "$test" "$@" >"$OUT/$file" 2>"$OUT/$file.err"
  else
    timeout -k 10 "$TIMEOUT" node packages/mp/dist/launch/cli.js -n "$n" -- node packages/bench/dist/mp/osu.js "$test" "$@" >"$OUT/$file" 2>"$OUT/$file.err"
  fi
  rc=$?
  if [ "$rc" -ne 0 ]; then
    say "$tool $test failed (exit $rc)"
    tail -n 8 "$OUT/$file.err" "$OUT/$file" | sed 's/^/    /' >&2
  fi
  setting "rxe0 packets sent, $tool $test (run $RUN)" "$(($(packets) - before))"
  printf '%s\t%s\tosu\t-\t%s\n' "$test" "$tool" "$file" >>"$MANIFEST"
}

# ucx_run <tag_lat|tag_bw> <bytes>: one ucx_perftest pair on rxe0.
ucx_run() {
  local t=$1 bytes=$2 n test=latency
  [ "$t" = tag_bw ] && test=bw
  if [ "$test" = latency ]; then n=$(scaled "$(q 1000)" 5 "$bytes"); else n=$(($(scaled "$(q 100)" 3 "$bytes") * WINDOW)); fi
  RUN=$((RUN + 1))
  say "ucx_perftest -t $t -s $bytes -n $n"
  PAIR_SLEEP=1 PAIR_LINGER=10 run_pair "u$RUN" ucx_perftest -p "$PORT" -E "$UCX_WAIT" -- \
    ucx_perftest "${RDMAJS_TESTBED_IP:-127.0.0.1}" -p "$PORT" -t "$t" -s "$bytes" -n "$n" -w "$(((n + 9) / 10))" -E "$UCX_WAIT"
  printf '%s\tucx_perftest\tucx\t%s\tu%s.client\n' "$test" "$bytes" "$RUN" >>"$MANIFEST"
}
# osu.c's iteration scaling: n up to 8 KiB, then n * 8 KiB / size, never below min.
scaled() { local it=$1; [ "$3" -gt 8192 ] && it=$(($1 * 8192 / $3)); [ "$it" -lt "$2" ] && it=$2; echo "$it"; }

# What can run.
HAVE_MPI=1
[ -x "$OSU" ] && command -v mpirun >/dev/null || HAVE_MPI=0
HAVE_MP=1
WHY_MP=""
if [ ! -f packages/mp/dist/launch/cli.js ] || [ ! -f packages/bench/dist/mp/osu.js ]; then
  HAVE_MP=0
  WHY_MP="@rdmajs/mp or mp/osu.js is not built (npx tsc -b)"
elif ! node --input-type=module -e "const m = await import('@rdmajs/mp'); process.exit(typeof m.init === 'function' ? 0 : 1)" 2>/dev/null; then
  HAVE_MP=0
  WHY_MP="@rdmajs/mp has no init() yet"
fi

started=$(date +%s)
say "device $DEV, GID $GID, ${RDMAJS_TESTBED_TIMING:-native} timing, $(nproc) CPUs, node $(node --version)"
for r in $(seq "$REPEAT"); do
  for spec in "latency 2" "bw 2" "allreduce 4"; do
    set -- $spec
    test=$1 n=$2
    case $test in latency) args=("${LAT_ARGS[@]}") ;; bw) args=("${BW_ARGS[@]}") ;; *) args=("${AR_ARGS[@]}") ;; esac
    if [ "$HAVE_MPI" = 1 ]; then
      want anchor "$test" openmpi && osu_run "$test" openmpi "$n" "${args[@]}"
    else
      [ "$r" = 1 ] && skip "$test" openmpi "no Open MPI build of osu.c ($OSU) or no mpirun"
    fi
    if [ "$HAVE_MP" = 1 ]; then
      want 1 "$test" rdmajs && osu_run "$test" rdmajs "$n" "${args[@]}"
    else
      [ "$r" = 1 ] && skip "$test" rdmajs "$WHY_MP"
    fi
  done
  if command -v ucx_perftest >/dev/null; then
    for bytes in 1 8 64 512 4096 32768 262144 1048576 4194304; do
      want anchor latency ucx_perftest && ucx_run tag_lat "$bytes"
      want anchor bw ucx_perftest && ucx_run tag_bw "$bytes"
    done
  elif [ "$r" = 1 ]; then
    skip latency ucx_perftest "no ucx_perftest (apt-get install ucx-utils)"
    skip bw ucx_perftest "no ucx_perftest (apt-get install ucx-utils)"
  fi
done
say "done in $(($(date +%s) - started)) s"
node packages/bench/dist/mp/collect.js "$OUT"
