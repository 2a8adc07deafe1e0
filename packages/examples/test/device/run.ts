// Running the built examples as processes, as a user would: a server that
// says where it listens, and a client that runs to the end. Every wait is
// bounded; a server left running is killed by stopAll() (call it in afterEach).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Bound of one example process under emulation. */
export const RUN_TIMEOUT_MS = 120_000;

const running = new Set<ChildProcess>();

/** The path of a built example. */
export function example(name: string): string {
  return fileURLToPath(new URL(`../../dist/${name}.js`, import.meta.url));
}

export interface Started {
  child: ChildProcess;
  /** The match of `ready` in the server's output. */
  ready: RegExpMatchArray;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  /** Resolves with its exit code once it ends. */
  exited: Promise<number | null>;
}

/** Starts `example` and resolves when its output matches `ready`. */
export function start(name: string, args: string[], ready: RegExp): Promise<Started> {
  const child = spawn(process.execPath, [example(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => (running.delete(child), resolve(code))));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not print ${ready} in time:\n${out}`)), RUN_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, ready: m, output: () => out, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before printing ${ready}:\n${out}`));
    });
  });
}

/** Runs `example` to its end (killed after RUN_TIMEOUT_MS); resolves with its exit code and output (stdout + stderr). */
export function run(name: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [example(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, out });
    }),
  );
}

/** Kills what is still running. */
export function stopAll(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}
