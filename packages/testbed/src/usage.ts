/**
 * The help texts of `rdmajs-testbed`: the whole usage, and each subcommand's.
 * @module
 */
import { TIMING_ENV } from './timing.js';
import { TESTBED_IP, TESTBED_PAIR_IPS } from './addresses.js';

const OPTIONS = `options (before the command; the command starts at -- or at its first word):
  --memory MiB      memory of each VM (default 3072)
  --cpus N          vCPUs of each VM (default 2; deterministic timing has 1)
  --timeout s       stop the command (and the VMs) after s seconds: exit 124
                    (default 1800 in the VM; no bound on the host)
  --timing threaded|deterministic
                    threaded (default; $${TIMING_ENV}): multi-threaded emulation,
                    fast, but figures follow host load; deterministic: qemu icount
                    on 1 vCPU, guest ns = guest instructions, figures repeat
  --quiet           no progress lines on stderr
  -h, --help        this help`;

const ENVIRONMENT = `environment:
  ${TIMING_ENV}=threaded|deterministic   default --timing
  RDMAJS_TESTBED_ACCEL=kvm|tcg     force hardware virtualisation or emulation
  RDMAJS_TESTBED_CPU=model         qemu CPU model under emulation (default max)
  RDMAJS_TESTBED_CACHE=dir         kernel and initramfs cache (default ~/.cache/rdmajs-testbed)
  RDMAJS_DEBUG=testbed             qemu command lines and boot phases on stderr
                                   (comma-separated channels; passed into the VM)
  In the VM the command sees RDMAJS_TESTBED=1, RDMAJS_DEVICE=rxe0,
  RDMAJS_TESTBED_IP, RDMAJS_TESTBED_TIMING (pair: also RDMAJS_TESTBED_HOST=a|b,
  RDMAJS_TESTBED_PEER_IP); CI, NO_COLOR, FORCE_COLOR, TERM, LANG, TZ,
  NODE_OPTIONS and RDMAJS_DEBUG are passed through.`;

const EXIT_CODES = `exit codes:
  the command's own (pair: A's if it failed, else B's), 0 for prepare, help
  and --version; doctor 1 when essentials are missing; 2 usage error;
  124 --timeout ran out; 125 the testbed itself failed; 127 (auto on this
  host) the command was not found; 141 the reader of the output went away
  (... | head), as a tool SIGPIPE kills: the VMs are stopped`;

// What every help text that runs a command ends with.
const REFERENCE = `${OPTIONS}\n${ENVIRONMENT}\n${EXIT_CODES}\n`;

/** Help of each subcommand, printed by `rdmajs-testbed <command> --help`. */
export const COMMAND_HELP = {
  run: `usage: rdmajs-testbed run [options] [--] <command...>
Runs the command in a SoftRoCE VM (rxe0 at ${TESTBED_IP}), in this directory, with
this machine's filesystem; exits with the command's exit code.
${REFERENCE}`,
  auto: `usage: rdmajs-testbed auto [options] [--] <command...>
Runs the command on this host's RDMA device if it has an active one (then
only --timeout applies), else in the VM as 'run'.
${REFERENCE}`,
  pair: `usage: rdmajs-testbed pair [options] [--] <command for A...> --- <command for B...>
Two VMs joined by a virtual link, A at ${TESTBED_PAIR_IPS.a} and B at ${TESTBED_PAIR_IPS.b} (rxe0 on
each); runs one command in each, concurrently, output prefixed [a] / [b].
${REFERENCE}`,
  prepare: `usage: rdmajs-testbed prepare
Downloads the kernel and busybox packages and builds the initramfs, once
(in $RDMAJS_TESTBED_CACHE, default ~/.cache/rdmajs-testbed). Exit 0 when
ready, 125 when it failed.
`,
  doctor: `usage: rdmajs-testbed doctor
Checks qemu, packages, the cache and this host's RDMA devices. Exit 0 when
everything essential is there, 1 when not.
`,
} as const;

/** The whole usage: `rdmajs-testbed --help`. */
export const USAGE = `usage: rdmajs-testbed <command> [options] [--] ...
  run [options] [--] <command...>      run the command in a SoftRoCE VM
  auto [options] [--] <command...>     on this host's RDMA device if it has one, else as run
  pair [options] [--] <A...> --- <B...>
                                       two VMs on one link, a command in each
  prepare                              download the kernel, build the initramfs (cached)
  doctor                               check qemu, packages, cache and devices
  -h, --help                           this help ('rdmajs-testbed <command> --help': the command's)
  -V, --version                        print the version
${REFERENCE}`;
