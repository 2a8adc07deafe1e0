# shellcheck shell=bash
# Shared by scripts/bench.sh and scripts/bench-sdp.sh (sourced, not run):
# entering the testbed, finding the device and its GID, and the
# server/client pair runner. Callers set TAG (log prefix) first.

say() { printf '[%s] %s\n' "$TAG" "$*" >&2; }

# bench_enter <timeout s> <script> <VAR...>: re-runs <script> --inner on an
# RDMA device (this host's, else the testbed VM, booted once), handing the
# named variables over: the VM passes no environment through.
bench_enter() {
  local limit=$1 script=$2 busy v settings=()
  shift 2
  # Ratios hold only on a quiet machine: other VMs share the same cores.
  busy=$(pgrep -c -f '^qemu-system-x86_64 ' 2>/dev/null || true)
  if [ "${busy:-0}" -gt 0 ]; then
    say "warning: $busy other qemu VM(s) running on this host; figures will be disturbed"
  fi
  for v in "$@"; do
    [ -n "${!v:-}" ] && settings+=("$v=${!v}")
  done
  exec node packages/testbed/dist/cli.js auto --timeout "$limit" -- env "${settings[@]}" bash "$script" --inner
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
