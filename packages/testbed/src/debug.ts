/**
 * `RDMAJS_DEBUG=channel[,channel...]` (or `*`) prints a few lines about
 * connection set-up and state changes on stderr, as `NODE_DEBUG` does for
 * Node's own modules. Channels across the project: verbs, cm, sdp, mp,
 * testbed (see docs/configuration.md). Read once per channel, at load;
 * callers log only at set-up and state changes, never per operation.
 * @rdmajs/sdp and @rdmajs/mp use this one (`@rdmajs/verbs/debug`);
 * @rdmajs/testbed, which depends on no other package, keeps a copy.
 * @module
 */

/** Logs one line on the channel, when the channel is on. */
export type DebugLog = ((message: string) => void) & { readonly enabled: boolean };

/** Whether `RDMAJS_DEBUG`'s value turns `channel` on. Pure; never throws. */
export function debugEnabled(channel: string, value: string | undefined): boolean {
  const names = (value ?? '').split(',').map((name) => name.trim().toLowerCase());
  return names.includes('*') || names.includes(channel);
}

/** The logger of `channel`: `RDMAJS:<CHANNEL> <pid>: message` on stderr, or a no-op. Never throws. */
export function debuglog(channel: string, env: NodeJS.ProcessEnv = process.env): DebugLog {
  const enabled = debugEnabled(channel, env.RDMAJS_DEBUG);
  const prefix = `RDMAJS:${channel.toUpperCase()} ${process.pid}: `;
  const log = enabled ? (message: string) => void process.stderr.write(prefix + message + '\n') : () => {};
  return Object.assign(log, { enabled });
}
