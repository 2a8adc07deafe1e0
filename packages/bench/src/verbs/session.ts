/**
 * One run, client or server: control connection, parameter and endpoint
 * exchange, QP connection, then per message size a warm-up phase and a
 * measured phase, each preceded by a barrier, and the results.
 *
 *   client                                server
 *   hello {params}            ------->    creates its resources
 *   endpoint {qp, buffer}     ------->    connects its QP
 *   connects its QP           <-------    endpoint {qp, buffer}
 *   per size:  barrier warm-up <------>   (warm-up phase on both sides)
 *              barrier run     <------>   (measured phase on both sides)
 *              result {figures, memory} ->
 *                            <-------     result-ack {server memory}
 *   bye                       ------->
 * @module
 */
import { Session } from 'node:inspector/promises';

import { checkEndpoint } from '@rdmajs/verbs';

import { BwSink } from './bw-sink.js';
import { BwStream, type BwRun } from './bw-stream.js';
import type { Phase } from './phase.js';
import { Control, fromWire, toWire } from './control.js';
import type { LatRun } from './pingpong.js';
import { ReadPingPong } from './read-lat.js';
import { SendPingPong } from './send-lat.js';
import { WritePingPong } from './write-lat.js';
import { MemoryProbe, type MemoryReport } from '../diagnostics/memory.js';
import type { Options } from '../options.js';
import { TEST_KINDS, checkRunParams, runParams, type RunParams } from './params.js';
import { LINE, formatRow, header, tableHead, type Report, type Row } from './output.js';
import { summarise, type CpuProfile } from '../diagnostics/profile.js';
import { Resources } from './resources.js';
import { bandwidth, latency } from './stats.js';
import { Watchdog } from './watchdog.js';

/** What each test does on each side, behind one interface. */
interface Driver {
  setSize(size: number): void;
  client(phase: Phase): Promise<BwRun | LatRun>;
  /** Resolves with the operations served; passive servers resolve at once. */
  server(phase: Phase): Promise<number>;
  /** Whether the server side runs a loop worth probing. */
  readonly activeServer: boolean;
}

function driverFor(params: RunParams, res: Resources, role: 'client' | 'server', events: boolean): Driver {
  const kind = TEST_KINDS[params.test];
  const unsupported = (): never => {
    throw new Error(`${params.test}: no ${role === 'client' ? 'server' : 'client'} loop on this side`);
  };
  if (kind.kind === 'bw') {
    if (role === 'client') {
      const stream = new BwStream(res, params, events);
      return { activeServer: kind.activeServer, setSize: (s) => stream.setSize(s, params.inlineSize), client: (p) => stream.run(p), server: unsupported };
    }
    const sink = kind.activeServer ? new BwSink(res, params, events) : null;
    return {
      activeServer: kind.activeServer,
      setSize: () => {},
      client: unsupported,
      server: (p) => (sink ? sink.run(p) : Promise.resolve(0)),
    };
  }
  const pp =
    params.test === 'send_lat'
      ? new SendPingPong(res, params, events)
      : params.test === 'write_lat'
        ? new WritePingPong(res, params, events)
        : new ReadPingPong(res, params, events);
  return { activeServer: kind.activeServer, setSize: (s) => pp.setSize(s, params.inlineSize), client: (p) => pp.client(p), server: (p) => pp.server(p) };
}

function out(o: Options, text: string): void {
  if (!o.json) process.stdout.write(text + '\n');
}

function baseReport(o: Options, params: RunParams, res: Resources, role: 'client' | 'server'): Report {
  return {
    tool: 'rdmajs-bench',
    test: params.test,
    role,
    device: res.ctx.name,
    gid: res.gid,
    mtu: res.endpoint.mtu,
    completions: o.events ? 'events' : 'busy-poll',
    params,
    maxInline: res.maxInline,
    node: process.version,
    results: [],
  };
}

function phases(params: RunParams, o: Options, size: number): { warmup: Phase; run: Phase } {
  const label = `${params.test} ${size} B`;
  const stallMs = o.stallS * 1000;
  const durationMs = params.durationS * 1000;
  return {
    warmup: { total: params.warmup, durationMs: 0, watchdog: new Watchdog(`${label} warm-up`, params.warmup, 0, stallMs) },
    run: { total: params.iterations, durationMs, watchdog: new Watchdog(label, durationMs > 0 ? Infinity : params.iterations, durationMs, stallMs) },
  };
}

/**
 * Sets the message size and runs the warm-up phase (both sides start it
 * together); returns the measured phase once both sides are ready for it.
 */
async function warmUp(ctrl: Control, driver: Driver, role: 'client' | 'server', params: RunParams, o: Options, size: number): Promise<Phase> {
  driver.setSize(size);
  const { warmup, run } = phases(params, o, size);
  if (params.warmup > 0) {
    await ctrl.barrier(`warm-up ${size}`, role);
    await (role === 'client' ? driver.client(warmup) : driver.server(warmup));
  }
  await ctrl.barrier(`run ${size}`, role);
  return run;
}

/**
 * Samples the CPU (V8's profiler, through the inspector) while `body` runs:
 * the measured phase only, without start-up and set-up. The profiler is
 * started and stopped outside the measured loop.
 */
async function profiled<T>(intervalUs: number, body: () => Promise<T>): Promise<{ value: T; profile: CpuProfile | null }> {
  if (intervalUs <= 0) return { value: await body(), profile: null };
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    const value = await body();
    const { profile } = await session.post('Profiler.stop');
    return { value, profile: profile as unknown as CpuProfile };
  } finally {
    session.disconnect();
  }
}

/** The client side: connects to the server, runs the phases, measures. */
export async function runClient(o: Options): Promise<Report> {
  const params = runParams(o);
  const kind = TEST_KINDS[params.test];
  const ctrl = await Control.connect(o.host!, o.port, o.connectS);
  try {
    ctrl.send({ type: 'hello', version: 1, params });
    const res = new Resources(params, o);
    try {
      ctrl.send({ type: 'endpoint', endpoint: res.endpoint, remote: toWire(res.localTarget()) });
      const peer = await ctrl.expect('endpoint');
      res.connect(checkEndpoint('peer endpoint', peer.endpoint), fromWire(peer.remote));
      const driver = driverFor(params, res, 'client', o.events);
      const report = baseReport(o, params, res, 'client');
      out(o, header(report, o));
      out(o, tableHead(kind.kind));
      const probe = new MemoryProbe();
      for (const size of params.sizes) {
        const run = await warmUp(ctrl, driver, 'client', params, o, size);
        const { value, profile } = await profiled(o.profileUs, async () => {
          probe.start();
          const ran = await driver.client(run);
          return { ran, memory: await probe.stop() };
        });
        const { ran: done, memory } = value;
        if (profile) process.stderr.write(`CPU profile of the measured phase (${size} B):\n${summarise(profile, 15)}\n`);
        const figures =
          'ms' in done ? bandwidth(size, done.iterations, done.ms) : latency(size, done.stamps, done.count, kind.latencyFactor);
        ctrl.send({ type: 'result', figures, memory });
        const ack = await ctrl.expect('result-ack');
        const row: Row = { ...figures, memory, ...(ack.memory ? { serverMemory: ack.memory as MemoryReport } : {}) };
        report.results.push(row);
        out(o, formatRow(row));
      }
      out(o, LINE);
      ctrl.send({ type: 'bye' });
      return report;
    } finally {
      res.close();
    }
  } catch (err) {
    ctrl.abort((err as Error).message);
    throw err;
  } finally {
    await ctrl.close();
  }
}

/** The server side: waits for one client and follows its parameters. */
export async function runServer(o: Options): Promise<Report> {
  if (!o.json) process.stdout.write(`\n waiting for a client on port ${o.port} ...\n`);
  const ctrl = await Control.accept(o.port);
  try {
    const hello = await ctrl.expect('hello');
    const params = checkRunParams(hello.params);
    if (params.test !== o.test) throw new Error(`the client runs ${params.test}, this server ${o.test}`);
    const kind = TEST_KINDS[params.test];
    const res = new Resources(params, o);
    try {
      const peer = await ctrl.expect('endpoint');
      res.connect(checkEndpoint('peer endpoint', peer.endpoint), fromWire(peer.remote));
      const driver = driverFor(params, res, 'server', o.events);
      ctrl.send({ type: 'endpoint', endpoint: res.endpoint, remote: toWire(res.localTarget()) });
      const report = baseReport(o, params, res, 'server');
      out(o, header(report, o));
      out(o, tableHead(kind.kind));
      const probe = new MemoryProbe();
      for (const size of params.sizes) {
        const run = await warmUp(ctrl, driver, 'server', params, o, size);
        let memory: MemoryReport | undefined;
        if (driver.activeServer) {
          probe.start();
          await driver.server(run);
          memory = await probe.stop();
        }
        const result = await ctrl.expect('result');
        ctrl.send({ type: 'result-ack', ...(memory ? { memory } : {}) });
        const row = { ...(result.figures as Row), memory: result.memory as MemoryReport, ...(memory ? { serverMemory: memory } : {}) } as Row;
        report.results.push(row);
        out(o, formatRow(row));
      }
      out(o, LINE);
      await ctrl.expect('bye');
      return report;
    } finally {
      res.close();
    }
  } catch (err) {
    ctrl.abort((err as Error).message);
    throw err;
  } finally {
    await ctrl.close();
  }
}
