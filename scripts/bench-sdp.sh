#!/usr/bin/env bash
# @rdmajs/sdp side by side with rsockets (rstream), kernel TCP through
# rstream (-T s), Node's net, and ib_write_bw, in one testbed run (or on
# this host's RDMA device). `npm run bench:sdp` runs it after setup.
#
# Ping-pong at 64 B / 4 KiB / 64 KiB in rstream's unit (microseconds per
# transfer = half a round trip), streaming with 64 KiB writes in MiB/s.
# Each measurement runs BENCH_REPEAT times (default 2) and the best counts.
# Prints a table with ratios and the same as JSON between marker lines.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inner" ]; then
  busy=$(pgrep -c -f '^qemu-system-x86_64 ' 2>/dev/null || true)
  if [ "${busy:-0}" -gt 0 ]; then
    printf '[bench-sdp] warning: %s other qemu VM(s) running on this host; figures will be disturbed\n' "$busy" >&2
  fi
  settings=()
  for v in BENCH_QUICK BENCH_REPEAT BENCH_TIMEOUT; do
    [ -n "${!v:-}" ] && settings+=("$v=${!v}")
  done
  exec node packages/testbed/dist/cli.js auto --timeout 1500 -- env "${settings[@]}" bash scripts/bench-sdp.sh --inner
fi

say() { printf '[bench-sdp] %s\n' "$*" >&2; }
BENCH="packages/examples/dist/bench/cli.js"
[ -f "$BENCH" ] || { say "missing $BENCH: run 'npx tsc -b' first"; exit 1; }
DEV=${RDMAJS_DEVICE:-$(ls /sys/class/infiniband 2>/dev/null | head -1)}
[ -n "$DEV" ] || { say "no RDMA device"; exit 1; }
# rdma_cm needs an IP on the device: the testbed's, or the first RoCE v2 IPv4 GID.
IP=${RDMAJS_TESTBED_IP:-$(node -e "import('@rdmajs/verbs').then(v => { const c = v.openDevice('$DEV'); console.log(c.defaultGid(1).ip); c.close(); })")}
GID=$(node -e "import('@rdmajs/verbs').then(v => { const c = v.openDevice('$DEV'); console.log(c.defaultGid(1).index); c.close(); })")
REPEAT=${BENCH_REPEAT:-2}
TIMEOUT=${BENCH_TIMEOUT:-180}
PORT=18600
OUT=$(mktemp -d)
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
cleanup() {
  local pids
  pids=$(jobs -p)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  rm -rf "$OUT"
}
trap cleanup EXIT
q() { if [ -n "${BENCH_QUICK:-}" ]; then echo $((($1 + 9) / 10)); else echo "$1"; fi; }

# record <row> <tool> <unit> <value>
record() { printf '{"row":"%s","tool":"%s","unit":"%s","value":%s}\n' "$1" "$2" "$3" "${4:-null}" >>"$RESULTS"; }

# server in the background, client in the foreground; prints the client's stdout
pair() {
  local srv=() cli=() spid
  while [ "$1" != "--" ]; do srv+=("$1"); shift; done
  shift
  cli=("$@")
  timeout -k 5 "$TIMEOUT" "${srv[@]}" >"$OUT/server.log" 2>&1 &
  spid=$!
  sleep "${PAIR_SLEEP:-1}"
  timeout -k 5 "$TIMEOUT" "${cli[@]}" 2>"$OUT/client.err" || { say "failed: ${cli[*]}"; tail -3 "$OUT/client.err" "$OUT/server.log" >&2; }
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  PORT=$((PORT + 1))
}

rstream_run() { # <row> <size> <count> [-T s]
  local row=$1 size=$2 count=$3 tool=rstream v
  shift 3
  [ $# -gt 0 ] && tool="rstream -T s"
  say "$tool -S $size -C $count"
  v=$(pair rstream -b "$IP" -p "$PORT" -S "$size" -C "$count" "$@" -- rstream -s "$IP" -p "$PORT" -S "$size" -C "$count" "$@" | awk 'NF>=8 && $1!="name" {v=$NF} END {print v}')
  record "$row" "$tool" usec "$v"
}

rdmajs_run() { # <row> <tool label> <args...>
  local row=$1 tool=$2 v
  shift 2
  say "rdmajs-bench sdp $*"
  v=$(PAIR_SLEEP=1 pair node "$BENCH" sdp -p "$PORT" "$@" -- node "$BENCH" sdp "$IP" -p "$PORT" --json "$@" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const r=JSON.parse(s);console.log(r.usecPerXfer??r.mibPerSec)}catch{console.log("null")}})')
  local unit=usec
  case " $* " in *" --stream "*) unit=MiB/s ;; esac
  record "$row" "$tool" "$unit" "$v"
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
    rdmajs_run "$row" "sdp --busy 1000" --busy 1000 -S "$1" -C "$2"
  done
  row="stream 64 KiB writes"
  N=$(q 2000)
  say "ib_write_bw -s 65536 -n $N"
  v=$(PAIR_SLEEP=2 pair ib_write_bw -d "$DEV" -x "$GID" -F -p "$PORT" -s 65536 -n "$N" -- ib_write_bw -d "$DEV" -x "$GID" -F -p "$PORT" -s 65536 -n "$N" "$IP" |
    awk '$1=="65536" {v=$4} END {print v}')
  record "$row" "ib_write_bw" MiB/s "$v"
  rdmajs_run "$row" "node net" --transport net --stream -S 65536 -C "$N"
  rdmajs_run "$row" "sdp" --stream -S 65536 -C "$N"
  rdmajs_run "$row" "sdp, zero-copy" --stream --zero-copy 65536 -S 65536 -C "$N"
done
say "done in $(($(date +%s) - started)) s"

node --input-type=module - "$RESULTS" <<'EOF'
import fs from 'node:fs';
const rows = new Map();
for (const line of fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean)) {
  const r = JSON.parse(line);
  const row = rows.get(r.row) ?? new Map();
  rows.set(r.row, row);
  const all = row.get(r.tool) ?? { unit: r.unit, values: [] };
  if (r.value !== null) all.values.push(r.value);
  row.set(r.tool, all);
}
const best = (t) => (t && t.values.length ? (t.unit === 'usec' ? Math.min(...t.values) : Math.max(...t.values)) : undefined);
const out = [];
console.log('\n@rdmajs/sdp vs rsockets, kernel TCP and perftest (best of runs; ping-pong in usec per transfer, lower is better; stream in MiB/s)');
for (const [name, tools] of rows) {
  const base = name.startsWith('ping') ? best(tools.get('rstream')) : best(tools.get('ib_write_bw'));
  const baseName = name.startsWith('ping') ? 'rstream' : 'ib_write_bw';
  console.log(`\n${name}`);
  for (const [tool, t] of tools) {
    const v = best(t);
    // ratio > 1 means sdp-like tool is better than the baseline
    const ratio = v === undefined || base === undefined ? undefined : t.unit === 'usec' ? base / v : v / base;
    console.log(`  ${tool.padEnd(18)} ${v === undefined ? 'failed' : v.toFixed(2).padStart(9)} ${t.unit.padEnd(6)} ${ratio === undefined || tool === baseName ? '' : `${ratio.toFixed(2)}x ${baseName}`}`);
    out.push({ row: name, tool, unit: t.unit, best: v ?? null, runs: t.values, vs: baseName, ratio: ratio ?? null });
  }
}
console.log('\n--- JSON ---');
console.log(JSON.stringify(out));
console.log('--- end JSON ---');
EOF
