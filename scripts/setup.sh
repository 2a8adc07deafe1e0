#!/usr/bin/env bash
# One-time (and idempotent) set-up: system packages, npm dependencies, the
# native build, TypeScript, and the SoftRoCE testbed cache (kernel +
# initramfs) when the purpose needs it. Fast (seconds) when all is there.
#
#   scripts/setup.sh [--for build|demo|bench|test] [--plan]
#
#   --for build   packages to build the addon, npm dependencies, the build
#   --for demo    + the testbed (qemu, kernel) unless this host has an ACTIVE RDMA port
#   --for bench   + perftest, rdmacm-utils, Open MPI, UCX; testbed as for demo
#   --for test    + the testbed always: `npm test`'s VM tests boot qemu on
#                 every host (the default, so a bare `scripts/setup.sh`
#                 prepares everything any npm script needs)
#   --plan        print what would be done (distribution, RDMA devices,
#                 missing packages, testbed) and change nothing
#
# Packages are installed automatically only on Debian-family hosts (apt-get;
# run as root or with sudo). Elsewhere the script names the packages to
# install (Fedora/RHEL, Arch, openSUSE names) and goes on; the native build
# then fails clearly if the headers are missing. The testbed's kernel is
# Debian's linux-image-amd64, fetched with apt-get download: Debian only.
#
# Environment: RDMAJS_SKIP_APT=1 never runs apt-get (prints what is missing);
# NO_COLOR disables bold output. For tests: RDMAJS_OS_RELEASE (default
# /etc/os-release) and RDMAJS_SYSFS_INFINIBAND (default /sys/class/infiniband).
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=test
plan_only=0
while (($#)); do
  case "$1" in
    --for) purpose=${2:-}; shift 2 || shift ;;
    --for=*) purpose=${1#--for=}; shift ;;
    --plan | --dry-run) plan_only=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$purpose" in
  build | demo | bench | test) ;;
  *) echo "setup.sh: --for wants build, demo, bench or test, not '$purpose'" >&2; exit 2 ;;
esac

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
  bold=$'\033[1m' plain=$'\033[0m'
else
  bold='' plain=''
fi
say() { printf '%s[setup]%s %s\n' "$bold" "$plain" "$*" >&2; }
warn() { printf '%s[setup] warning:%s %s\n' "$bold" "$plain" "$*" >&2; }

# ------------------------------------------------------------ decisions ---

# The distribution, from os-release: ID, ID_LIKE, PRETTY_NAME.
os_release=${RDMAJS_OS_RELEASE:-/etc/os-release}
[ -z "${RDMAJS_OS_RELEASE:-}" ] && [ ! -r "$os_release" ] && os_release=/usr/lib/os-release
os_id='' os_like='' os_name=''
if [ -r "$os_release" ]; then
  { read -r os_id; read -r os_like; read -r os_name; } < <(
    # shellcheck disable=SC1090
    . "$os_release" 2>/dev/null || true
    printf '%s\n%s\n%s\n' "${ID:-}" "${ID_LIKE:-}" "${PRETTY_NAME:-${NAME:-}}"
  )
fi
os_name=${os_name:-unknown distribution}
# family: debian (the testbed's kernel comes from its archive), ubuntu (same
# package names, no linux-image-amd64), fedora, arch, suse, unknown.
family=unknown
for word in $os_id $os_like; do
  case "$word" in
    ubuntu) family=ubuntu; break ;;
    debian) family=debian ;; # keep looking: Mint says "ubuntu debian"
    fedora | rhel | centos | rocky | almalinux | ol | amzn) family=fedora; break ;;
    arch | archarm | manjaro) family=arch; break ;;
    suse | opensuse* | sles*) family=suse; break ;;
  esac
done
# No os-release at all, but Debian's marker file (a test's fake os-release aside).
if [ "$family" = unknown ] && [ -z "${RDMAJS_OS_RELEASE:-}" ] && [ -e /etc/debian_version ]; then
  family=debian os_name="Debian $(cat /etc/debian_version)"
fi

# RDMA devices with an ACTIVE port (the same test as @rdmajs/testbed's hasRdmaDevice).
sysfs=${RDMAJS_SYSFS_INFINIBAND:-/sys/class/infiniband}
rdma_devices=()
for dev in "$sysfs"/*; do
  [ -d "$dev/ports" ] || continue
  for state in "$dev"/ports/*/state; do
    if [ -r "$state" ] && grep -q ACTIVE "$state" 2>/dev/null; then
      rdma_devices+=("$(basename "$dev")")
      break
    fi
  done
done

# Does this purpose need the SoftRoCE testbed (qemu + the kernel cache)?
case "$purpose" in
  build) testbed=0 testbed_why="not needed to build" ;;
  test) testbed=1 testbed_why="needed: npm test's VM tests boot qemu even on a host with RDMA" ;;
  *)
    if ((${#rdma_devices[@]})); then
      testbed=0 testbed_why="not needed: this host has RDMA (${rdma_devices[*]})"
    else
      testbed=1 testbed_why="needed: this host has no active RDMA device"
    fi
    ;;
esac
# The testbed boots Debian's kernel, fetched from the host's apt sources.
testbed_ok=1 testbed_step=none
if ((testbed)); then
  testbed_step="prepare (kernel cache)"
  if [ "$family" != debian ]; then
    testbed_ok=0
    testbed_step="unavailable on $os_name: the testbed boots Debian's kernel (linux-image-amd64), fetched with apt-get download from Debian's archive; Debian hosts only"
  fi
fi

# Debian package names. Build tools and RDMA user space; for tests and
# benchmarks ibverbs-utils, rdmacm-utils (rstream), perftest, Open MPI
# (mpirun, mpicc) and ucx_perftest; for the testbed qemu and cpio (iproute2's
# ip and rdma run inside the VM from the host's filesystem).
BUILD_PACKAGES=(build-essential python3 pkg-config libibverbs-dev librdmacm-dev ibverbs-providers)
TOOL_PACKAGES=(ibverbs-utils rdmacm-utils perftest iproute2 openmpi-bin libopenmpi-dev ucx-utils)
TESTBED_PACKAGES=(qemu-system-x86 cpio iproute2)
packages=("${BUILD_PACKAGES[@]}")
case "$purpose" in test | bench) packages+=("${TOOL_PACKAGES[@]}") ;; esac
((testbed && testbed_ok)) && packages+=("${TESTBED_PACKAGES[@]}")
# shellcheck disable=SC2207
packages=($(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++'))

# The other distributions' names (from their package indexes; not tested here).
equivalent() { # family debian-package -> that family's package name(s)
  case "$1:$2" in
    fedora:build-essential) echo gcc-c++ make ;;
    fedora:pkg-config) echo pkgconf-pkg-config ;;
    fedora:libibverbs-dev | fedora:librdmacm-dev) echo rdma-core-devel ;;
    fedora:ibverbs-providers) echo libibverbs ;;
    fedora:ibverbs-utils) echo libibverbs-utils ;;
    fedora:rdmacm-utils) echo librdmacm-utils ;;
    fedora:iproute2) echo iproute ;;
    fedora:openmpi-bin) echo openmpi ;;
    fedora:libopenmpi-dev) echo openmpi-devel ;;
    fedora:ucx-utils) echo ucx ;;
    arch:build-essential) echo base-devel ;;
    arch:python3) echo python ;;
    arch:pkg-config) echo pkgconf ;;
    arch:libibverbs-dev | arch:librdmacm-dev | arch:ibverbs-providers | arch:ibverbs-utils | arch:rdmacm-utils) echo rdma-core ;;
    arch:perftest) echo 'perftest(AUR)' ;;
    arch:openmpi-bin | arch:libopenmpi-dev) echo openmpi ;;
    arch:ucx-utils) echo openucx ;;
    suse:build-essential) echo gcc-c++ make ;;
    suse:libibverbs-dev | suse:librdmacm-dev) echo rdma-core-devel ;;
    suse:ibverbs-providers) echo libibverbs ;;
    suse:ibverbs-utils) echo libibverbs-utils ;;
    suse:rdmacm-utils) echo librdmacm-utils ;;
    suse:qemu-system-x86) echo qemu-x86 ;;
    suse:openmpi-bin) echo openmpi4 ;;
    suse:libopenmpi-dev) echo openmpi4-devel ;;
    suse:ucx-utils) echo ucx-tools ;;
    *) echo "$2" ;;
  esac
}
# Without dpkg: is what the package provides here? (commands and headers)
provided() {
  case "$1" in
    build-essential) command -v g++ >/dev/null && command -v make >/dev/null ;;
    python3) command -v python3 >/dev/null ;;
    pkg-config) command -v pkg-config >/dev/null || command -v pkgconf >/dev/null ;;
    libibverbs-dev) [ -e /usr/include/infiniband/verbs.h ] ;;
    librdmacm-dev) [ -e /usr/include/rdma/rdma_cma.h ] ;;
    ibverbs-providers) compgen -G '/usr/lib*/libibverbs/librxe-rdmav*.so' >/dev/null || compgen -G '/usr/lib/*/libibverbs/librxe-rdmav*.so' >/dev/null ;;
    ibverbs-utils) command -v ibv_devinfo >/dev/null ;;
    rdmacm-utils) command -v rping >/dev/null ;;
    perftest) command -v ib_write_bw >/dev/null ;;
    iproute2) command -v ip >/dev/null && command -v rdma >/dev/null ;;
    qemu-system-x86) command -v qemu-system-x86_64 >/dev/null ;;
    cpio) command -v cpio >/dev/null ;;
    openmpi-bin) command -v mpirun >/dev/null ;;
    libopenmpi-dev) command -v mpicc >/dev/null ;;
    ucx-utils) command -v ucx_perftest >/dev/null ;;
    *) return 1 ;;
  esac
}

# What is missing, and how it would be installed.
have_apt=0
if [ "$family" = debian ] || [ "$family" = ubuntu ]; then
  command -v dpkg-query >/dev/null && command -v apt-get >/dev/null && have_apt=1
fi
missing=()
if ((have_apt)); then
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null | awk '/ install ok installed$/ { print $1 }' || true)
  for p in "${packages[@]}"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
  done
else
  for p in "${packages[@]}"; do provided "$p" || missing+=("$p"); done
fi

case "$family" in fedora) pm=dnf ;; arch) pm=pacman ;; suse) pm=zypper ;; *) pm='' ;; esac
names_for() { # the distribution's names for the given Debian packages
  for p in "$@"; do equivalent "$family" "$p"; done | tr ' ' '\n' | awk 'NF && !seen[$0]++' | paste -sd' '
}
if ((!${#missing[@]})); then
  package_step="nothing to install"
elif [ "${RDMAJS_SKIP_APT:-}" = 1 ]; then
  package_step="skipped (RDMAJS_SKIP_APT=1); install yourself: ${missing[*]}"
elif ((have_apt)); then
  package_step="apt-get install --no-install-recommends ${missing[*]}"
elif [ -n "$pm" ]; then
  case "$pm" in
    dnf) cmd="dnf install" ;;
    pacman) cmd="pacman -S --needed" ;;
    zypper) cmd="zypper install" ;;
  esac
  package_step="by hand ($os_name, no apt-get): $cmd $(names_for "${missing[@]}")  [Debian names: ${missing[*]}]"
else
  package_step="by hand ($os_name, no apt-get): the equivalents of these Debian packages: ${missing[*]}"
fi

if ((plan_only)); then
  echo "distribution: $family ($os_name)"
  echo "purpose: $purpose"
  echo "rdma devices: ${rdma_devices[*]:-none}"
  echo "packages: ${packages[*]}"
  [ -n "$pm" ] && echo "packages ($pm names): $(names_for "${packages[@]}")"
  echo "missing: ${missing[*]:-none}"
  echo "package step: $package_step"
  echo "testbed: $testbed_why"
  echo "testbed step: $testbed_step"
  exit 0
fi

# -------------------------------------------------------------- actions ---

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/rdmajs-setup.XXXXXX")
trap 'rm -rf "$log_dir"' EXIT
started=$SECONDS
elapsed() { echo "$((SECONDS - $1))s"; }
# Runs a quiet step; on failure shows the end of its output.
logged() { # name command...
  local name=$1
  shift
  if ! "$@" >"$log_dir/$name.log" 2>&1; then
    say "$name failed; the last lines of its output:"
    tail -n 40 "$log_dir/$name.log" >&2
    return 1
  fi
}

if ((${#missing[@]})); then
  case "$package_step" in
    apt-get*)
      SUDO=()
      if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
          say "need root (or sudo) to apt-get install: ${missing[*]}"
          say "install them yourself and rerun, or set RDMAJS_SKIP_APT=1 to go on without them"
          exit 1
        }
        SUDO=(sudo)
      fi
      export DEBIAN_FRONTEND=noninteractive
      t=$SECONDS
      say "apt-get update"
      logged apt-get-update "${SUDO[@]}" apt-get update -q
      size=$(apt-get install -y -qq --no-install-recommends --print-uris "${missing[@]}" 2>/dev/null |
        awk '{ s += $3 } END { if (s > 0) printf " (%.1f MB to download)", s / 1e6 }' || true)
      n=${#missing[@]}
      say "installing $n system package$( ((n == 1)) || echo s)$size: ${missing[*]}"
      logged apt-get-install "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
      say "system packages installed ($(elapsed "$t"))"
      ;;
    *) warn "missing system packages; $package_step" ;;
  esac
fi

# npm dependencies: (re)install when the lockfile differs from the last install's.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
npm_installed=0
if [ "$(cat node_modules/.rdmajs-lock 2>/dev/null)" != "$lock_hash" ]; then
  t=$SECONDS
  count=$(node -e 'const l = require("./package-lock.json"); console.log(Object.keys(l.packages || {}).filter((k) => k.includes("node_modules/")).length)' 2>/dev/null || echo '?')
  say "installing npm dependencies ($count packages, npm ci)"
  logged npm-ci npm ci --ignore-scripts --no-audit --no-fund
  echo "$lock_hash" >node_modules/.rdmajs-lock
  rm -rf native/build # its Makefile points into the old node_modules
  npm_installed=1
  say "npm dependencies installed ($(elapsed "$t"))"
fi

# The native addon, from source, incrementally (through npx: node-gyp reads
# npm's configuration, e.g. nodedir, from the environment npm gives it).
bin=$PWD/node_modules/.bin
addon_stamp() { stat -c %Y native/build/Release/*.node 2>/dev/null | sort | tail -1; }
native_failed() {
  if ((${#missing[@]})); then
    say "the native addon needs the build packages: missing here: ${missing[*]}"
  fi
  exit 1
}
t=$SECONDS
before=$(addon_stamp || true)
if [ ! -f native/build/Makefile ]; then
  say "building the native addon (node-gyp, $(nproc) jobs)"
  (cd native && logged node-gyp-configure npx --no-install node-gyp configure) || native_failed
else
  # Only for the progress line: how many sources make would compile.
  stale=$(make -n -C native/build BUILDTYPE=Release 2>/dev/null | grep -cE '^[^ ]+ -o [^ ]+\.o ' || true)
  if ((stale > 0)); then say "building the native addon ($stale sources, $(nproc) jobs)"; fi
fi
(cd native && logged node-gyp-build npx --no-install node-gyp build -j "$(nproc)") || native_failed
if [ "$(addon_stamp || true)" != "$before" ]; then
  say "native addon built ($(elapsed "$t"))"
fi

t=$SECONDS
[ -d packages/verbs/dist ] || say "compiling TypeScript (tsc -b)"
logged tsc "$bin/tsc" -b
if ((SECONDS - t > 2)); then say "TypeScript built ($(elapsed "$t"))"; fi

# npm ci ran before dist/ existed, so it linked none of our bins (npx rdmajs-run
# would then ask the registry): link them now that their files exist.
bins_missing=$(node -e '
  const { existsSync, readFileSync } = require("node:fs");
  for (const ws of require("./package.json").workspaces) {
    const pkg = JSON.parse(readFileSync(ws + "/package.json", "utf8"));
    const bins = typeof pkg.bin === "string" ? { [pkg.name.split("/").pop()]: pkg.bin } : pkg.bin || {};
    for (const name of Object.keys(bins)) if (!existsSync("node_modules/.bin/" + name)) { console.log(name); process.exit(0); }
  }' 2>/dev/null || echo unknown)
if ((npm_installed)) || [ -n "$bins_missing" ]; then
  logged npm-rebuild npm rebuild --ignore-scripts --no-audit --no-fund
fi

if ((testbed)); then
  if ((testbed_ok)); then
    # Prints its own progress (package sizes) when it has to fetch anything.
    node packages/testbed/dist/cli.js prepare >/dev/null
  else
    warn "$purpose needs the testbed (${testbed_why#needed: }), but it is $testbed_step"
  fi
fi
if ((testbed && !testbed_ok)); then
  say "ready for $purpose, except the testbed ($(elapsed "$started"))"
else
  say "ready for $purpose ($(elapsed "$started"))"
fi
