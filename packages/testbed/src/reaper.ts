/**
 * The reaper: VMs still running when this process is interrupted (SIGINT,
 * SIGTERM, SIGHUP) or exits are killed and their scratch directories
 * removed, so no qemu outlives its caller. Signal handlers are installed
 * only while a VM runs.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** What the reaper needs of a running VM. */
export interface Reapable {
  /** The qemu process. */
  child: ChildProcess;
  /** Its scratch directory (the job script). */
  dir: string;
}

const live = new Set<Reapable>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killLive(): void {
  for (const vm of live) {
    vm.child.kill('SIGKILL');
    rmSync(vm.dir, { recursive: true, force: true });
  }
  live.clear();
  listen(false);
}

function onSignal(signal: NodeJS.Signals): void {
  killLive();
  // Nobody else handles it: die of it, as this process would have without us.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function listen(on: boolean): void {
  const method = on ? 'on' : 'off';
  for (const s of SIGNALS) process[method](s, onSignal);
  process[method]('exit', killLive);
}

/** Kills `vm` if this process is interrupted or exits before {@link release}. */
export function track(vm: Reapable): void {
  if (live.size === 0) listen(true);
  live.add(vm);
}

/** `vm` has exited: the reaper forgets it. */
export function release(vm: Reapable): void {
  if (live.delete(vm) && live.size === 0) listen(false);
}
