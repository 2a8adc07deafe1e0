#!/usr/bin/env bash
# One-time (and idempotent) set-up for a fresh Debian/Ubuntu machine:
# system packages, npm dependencies, the native build, and, when this host
# has no RDMA device, the SoftRoCE testbed cache (kernel + initramfs).
# `npm run demo` and `npm test` call it first; it is fast when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# Build tools and RDMA user space; qemu and perftest/rdmacm-utils for the
# testbed and the side-by-side benchmarks; Open MPI (mpirun, mpicc) and
# ucx_perftest for the @rdmajs/mp tests and benchmarks.
APT_PACKAGES=(build-essential python3 pkg-config libibverbs-dev librdmacm-dev ibverbs-providers
  ibverbs-utils rdmacm-utils perftest iproute2 qemu-system-x86 cpio
  openmpi-bin libopenmpi-dev ucx-utils)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing system packages: ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to apt-get install: ${missing[*]}"; exit 1; }
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm dependencies: (re)install when the lockfile differs from the last install's.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.rdmajs-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm dependencies"
  npm ci --ignore-scripts --no-audit --no-fund
  echo "$lock_hash" >node_modules/.rdmajs-lock
  rm -rf native/build # its Makefile points into the old node_modules
fi

say "building (native addon + TypeScript)"
if [ ! -f native/build/Makefile ]; then
  (cd native && npx --no-install node-gyp configure) >/tmp/rdmajs-native-build.log 2>&1 || {
    cat /tmp/rdmajs-native-build.log >&2
    exit 1
  }
fi
(cd native && npx --no-install node-gyp build -j "$(nproc)") >/tmp/rdmajs-native-build.log 2>&1 || {
  cat /tmp/rdmajs-native-build.log >&2
  exit 1
}
npx --no-install tsc -b
# npm ci ran before dist/ existed, so it linked none of our bins (npx rdmajs-run
# would then ask the registry): link them now that their files exist.
npm rebuild --ignore-scripts --no-audit --no-fund >/dev/null

# The testbed is only needed when this host cannot do RDMA itself.
if ! node --input-type=module -e "import { hasRdmaDevice } from '@rdmajs/testbed'; process.exit(hasRdmaDevice() ? 0 : 1)"; then
  node packages/testbed/dist/cli.js prepare
fi
say "ready"
