# shellcheck shell=bash
# Shared by scripts/bench.sh and scripts/bench-sdp.sh (sourced, not run):
# entering the testbed, finding the device and its GID, and the
# server/client pair runner. Callers set TAG (log prefix) first.

say() { printf '[%s] %s\n' "$TAG" "$*" >&2; }

# bench_enter <suite> <timeout s> <script> <VAR...>: runs <script> --inner
# on an RDMA device, once per pass, and summarises the passes on the host
# (table, JSON and charts in $BENCH_OUT, default bench-results/). The named
# variables are handed over: the VM passes no environment through.
#
# Passes: on a host with an RDMA device, one native pass. In the testbed,
# BENCH_TIMING (default: $RDMAJS_TESTBED_TIMING, else deterministic) picks
# the mode: `deterministic` boots one VM with icount on one vCPU for every
# row it can measure, then a threaded VM (2 vCPUs) for the rows that
# busy-poll on both sides; `threaded` runs every row in one threaded VM.
bench_enter() {
  local suite=$1 limit=$2 script=$3 busy v settings=() passes=() tmp i rc status=0
  shift 3
  for v in "$@"; do
    [ -n "${!v:-}" ] && settings+=("$v=${!v}")
  done
  local timing=${BENCH_TIMING:-${RDMAJS_TESTBED_TIMING:-deterministic}}
  case "$timing" in deterministic | threaded) ;; *) say "BENCH_TIMING must be deterministic or threaded, got '$timing'"; exit 2 ;; esac
  if node --input-type=module -e "import { hasRdmaDevice } from '@rdmajs/testbed'; process.exit(hasRdmaDevice() ? 0 : 1)"; then
    passes=("threaded all") # --timing is ignored on a real device: the pass says 'native'
  elif [ "$timing" = deterministic ]; then
    passes=("deterministic 1cpu" "threaded 2cpu")
  else
    passes=("threaded all")
  fi
  # Threaded figures hold only on a quiet machine: other VMs share its cores.
  busy=$(pgrep -c -f '^qemu-system-x86_64 ' 2>/dev/null || true)
  if [ "${busy:-0}" -gt 0 ]; then
    say "warning: $busy other qemu VM(s) running on this host; threaded figures will be disturbed (deterministic ones are not)"
  fi
  tmp=$(mktemp -d)
  i=0
  for p in "${passes[@]}"; do
    set -- $p
    i=$((i + 1))
    say "pass $i of ${#passes[@]}: $1 timing, rows: $2"
    node packages/testbed/dist/cli.js auto --timing "$1" --timeout "$limit" -- \
      env "${settings[@]}" BENCH_ROWS="$2" bash "$script" --inner 2>&1 | tee "$tmp/pass$i.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { say "pass $i exited $rc"; status=1; }
  done
  node packages/bench/dist/report/summary.js --suite "$suite" --out "${BENCH_OUT:-bench-results}" "$tmp"/pass*.log || status=1
  rm -rf "$tmp"
  exit "$status"
}

# Which rows this pass runs: BENCH_ROWS = all | 1cpu (rows one vCPU can
# measure) | 2cpu (only those that need two); default all, or 1cpu on one CPU.
ROWS=${BENCH_ROWS:-$([ "$(nproc)" -ge 2 ] && echo all || echo 1cpu)}

# want <CPUs needed> <row> [tool]: whether this pass runs it. A row left out
# for want of CPUs goes into $OUT/skipped.tsv, so the table says why it has
# no figure instead of judging one. `want anchor ...`: a row's anchor, run in
# every pass that runs any tool of the row, so each figure is compared with
# one from its own pass. BENCH_ONLY (an extended regular expression): only
# the rows whose label matches run, in every suite.
want() {
  local need=$1 row=$2 tool=${3:-}
  if [ -n "${BENCH_ONLY:-}" ] && ! [[ "$row" =~ $BENCH_ONLY ]]; then return 1; fi
  if [ "$need" = anchor ]; then
    if [ "$ROWS" = 2cpu ]; then [ "$(nproc)" -ge 2 ]; return; fi
    need=1
  fi
  case "$ROWS:$need" in
    2cpu:1) return 1 ;; # the other pass measures it
    1cpu:2) printf '%s\t%s\t%s\n' "$row" "$tool" "needs 2 CPUs: measured in a threaded pass, if any" >>"$OUT/skipped.tsv"; return 1 ;;
  esac
  if [ "$(nproc)" -lt "$need" ]; then
    printf '%s\t%s\t%s\n' "$row" "$tool" "not measurable on $(nproc) CPU (busy-polling on both sides)" >>"$OUT/skipped.tsv"
    return 1
  fi
  return 0
}

# Sets DEV (RDMAJS_DEVICE or the first device) or exits.
bench_device() {
  DEV=${RDMAJS_DEVICE:-$(ls /sys/class/infiniband 2>/dev/null | head -1)}
  [ -n "$DEV" ] || { say "no RDMA device"; exit 1; }
}

# The RoCE v2 IPv4 GID index of $DEV port 1, chosen by type like
# ctx.defaultGid() (index 1 on rxe); 0 if there is none.
gid_index() {
  local port=/sys/class/infiniband/$DEV/ports/1 t i
  for t in "$port"/gid_attrs/types/*; do
    i=${t##*/}
    [ "$(cat "$t" 2>/dev/null)" = "RoCE v2" ] || continue
    case "$(cat "$port/gids/$i" 2>/dev/null)" in 0000:0000:0000:0000:0000:ffff:*) echo "$i"; return ;; esac
  done
  echo 0
}

# Makes OUT (a scratch directory, removed on exit with any leftover jobs).
bench_scratch() {
  OUT=$(mktemp -d)
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local pids
  pids=$(jobs -p)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  rm -rf "$OUT"
}

# run_pair <id> <server command...> -- <client command...>
# Server in the background, client in the foreground, both under `timeout`
# (TIMEOUT seconds); output in $OUT/<id>.{server,client,err}. The client
# starts once the server's output matches PAIR_READY (a grep pattern; up to
# 30 s), or else after PAIR_SLEEP seconds (default 1). The server gets
# PAIR_LINGER seconds (default 10) to exit by itself, then is killed.
# Takes the next PORT.
run_pair() {
  local id=$1 srv=() cli=() spid rc i
  shift
  while [ "$1" != "--" ]; do srv+=("$1"); shift; done
  shift
  cli=("$@")
  timeout -k 5 "$TIMEOUT" "${srv[@]}" >"$OUT/$id.server" 2>&1 &
  spid=$!
  if [ -n "${PAIR_READY:-}" ]; then
    for i in $(seq 300); do grep -q -- "$PAIR_READY" "$OUT/$id.server" 2>/dev/null && break; sleep 0.1; done
  else
    sleep "${PAIR_SLEEP:-1}"
  fi
  timeout -k 5 "$TIMEOUT" "${cli[@]}" >"$OUT/$id.client" 2>"$OUT/$id.err"
  rc=$?
  for i in $(seq $((${PAIR_LINGER:-10} * 5))); do kill -0 "$spid" 2>/dev/null || break; sleep 0.2; done
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  if [ "$rc" -ne 0 ]; then
    say "$id failed (exit $rc): ${cli[*]}"
    tail -n 5 "$OUT/$id.err" "$OUT/$id.client" "$OUT/$id.server" | sed 's/^/    /' >&2
  fi
  PORT=$((PORT + 1))
  return 0
}
