#!/usr/bin/env bash
# The whole test suite: unit tests here, then the device suite on a real RDMA
# device (this host's, or the SoftRoCE testbed VM's), then the slow VM tests
# (two-host rdma_cm, 64 clients), which boot testbed VMs themselves. Ends with
# one summary line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
status=0

echo "== unit tests (no device)"
node_modules/.bin/vitest run --project unit 2>&1 | tee "$log_dir/unit.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== type tests (the QP phase in the types)"
if node_modules/.bin/tsc -p packages/verbs/test/types; then
  echo "type tests passed"
else
  echo "type tests FAILED"
  status=1
fi

echo "== device tests (real RDMA; the testbed VM when this host has none)"
node packages/testbed/dist/cli.js auto --timeout 2400 -- node_modules/.bin/vitest run --project device 2>&1 |
  tee "$log_dir/device.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== VM tests (two testbed VMs for rdma_cm across hosts; 64 client processes in one VM; deterministic timing; rdmajs-run --testbed and --testbed-pair; the packed packages in a scratch project; the README's commands)"
# On the host: each test boots its own VMs (qemu), even where the host has RDMA.
node_modules/.bin/vitest run --project pair 2>&1 | tee "$log_dir/pair.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# Sum vitest's "Tests  X failed | Y passed (Z)" lines.
passed=0
failed=0
for f in "$log_dir"/*.log; do
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -E '^ *Tests +' | tail -1)
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)
  x=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${x:-0}))
  if [ -z "$line" ]; then
    echo "no test summary in $(basename "$f" .log) run" >&2
    status=1
  fi
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
# Name what failed again at the very end, where a truncated log still shows it.
if [ "$failed" -gt 0 ]; then
  echo
  echo "== what failed (the full reports are above)"
  for f in "$log_dir"/*.log; do
    sed 's/\x1b\[[0-9;]*m//g' "$f" |
      awk -v run="$(basename "$f" .log)" '
        /^ *FAIL |Unhandled (Rejection|Error)/ { print run ": " $0; show = 8; next }
        show > 0 && NF > 0 { print "    " $0; show-- }'
  done | head -60
fi
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
