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

if [ "${1:-}" != "--inner" ]; then
  [ $# -ge 4 ] && [ "$3" = "--" ] || { say "usage: bench-ab.sh <tree A> <tree B> -- <rdmajs-bench test and args>"; exit 2; }
  for t in "$1" "$2"; do
    [ -f "$t/packages/examples/dist/bench/cli.js" ] || { say "$t has no built rdmajs-bench: run 'bash scripts/setup.sh' there"; exit 2; }
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
    PAIR_SLEEP=0 run_pair "$side.$r" node "$tree/packages/examples/dist/bench/cli.js" "$test" -d "$DEV" -x "$GID" -p "$PORT" "$@" -- \
      node "$tree/packages/examples/dist/bench/cli.js" "$test" "$HOST" -d "$DEV" -x "$GID" -p "$PORT" --json "$@"
  done
done

node --input-type=module - "$OUT" "$REPEAT" "$A" "$B" <<'EOF'
import { existsSync, readFileSync } from 'node:fs';
const [dir, repeat, a, b] = process.argv.slice(2);
const figure = (side, r) => {
  const f = `${dir}/${side}.${r}.client`;
  if (!existsSync(f)) return null;
  const line = readFileSync(f, 'utf8').split('\n').find((l) => l.startsWith('{"tool":"rdmajs-bench"'));
  const res = line && JSON.parse(line).results[0];
  // The client writes its profile summary (--profile) to stderr.
  const err = `${dir}/${side}.${r}.err`;
  const profile = existsSync(err) && readFileSync(err, 'utf8').includes('CPU profile') ? readFileSync(err, 'utf8').trim() : '';
  if (!res) return { value: null, unit: '', profile };
  return 'tTypicalUs' in res ? { value: res.tTypicalUs, unit: 'µs typical', profile } : { value: res.mpps, unit: 'Mpps', profile };
};
const stats = (xs) => {
  const v = xs.filter((x) => x !== null).sort((p, q) => p - q);
  if (!v.length) return { median: null, spread: null };
  const m = v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { median: m, spread: (v[v.length - 1] - v[0]) / m };
};
const runs = { A: [], B: [] };
let unit = '';
for (let r = 1; r <= Number(repeat); r++) {
  for (const side of ['A', 'B']) {
    const f = figure(side, r);
    runs[side].push(f?.value ?? null);
    unit ||= f?.unit ?? '';
    if (f?.profile) console.log(`--- ${side} run ${r} ---\n${f.profile}`);
  }
}
const sa = stats(runs.A);
const sb = stats(runs.B);
const show = (x) => (x === null ? 'failed' : x.toPrecision(6));
console.log(`\nA = ${a}\nB = ${b}\nunit: ${unit}`);
for (const side of ['A', 'B']) {
  const s = side === 'A' ? sa : sb;
  console.log(`${side}: ${runs[side].map(show).join(' / ')}  median ${show(s.median)}  spread ${s.spread === null ? '-' : (s.spread * 100).toFixed(2) + ' %'}`);
}
if (sa.median && sb.median) console.log(`B / A = ${(sb.median / sa.median).toFixed(4)}`);
EOF
