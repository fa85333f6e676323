/**
 * `vxlan-inspect demo`: the web view of the bundled lab recording (fixtures/lab).
 *
 * `demo --live` (root, Linux): the whole class on one machine. The namespace lab comes up
 * provisioned, its traffic mix runs again and again, kvm1 and kvm2 are captured live (the
 * capture runs inside the lab's frontend namespace: lab addresses exist only there) and served
 * as the files grow. Ctrl-C, SIGTERM or --duration stop the capture and the traffic, take the
 * lab down and close the server; the lab is taken down even when a step fails half-way.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parseDuration } from '../capture/duration.js';
import { PrerequisiteError, UsageError } from '../errors.js';
import { labDown, labPreflight, labTraffic, labUp, type LabHandle } from '../lab/index.js';
import { DEFAULT_PREFIX, checkPrefix } from '../lab/topology.js';
import type { LiveCaptureHandle, StartCapture } from '../web/app.js';
import { netnsCaptureStarter, type LiveErrorEvent } from '../web/live.js';
import { writeSampleSession } from '../web/sample.js';
import { startServer, type RunningServer } from '../web/server.js';
import { sessionFromDir } from '../web/session.js';
import type { CliIo } from './main.js';
import { collectPorts, parseIntInRange } from './options.js';
import { describe, runServer, serveOptions, type ServeFlags } from './serve.js';

const LAB_FILES = ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'];

/** fixtures/lab of the package (from src/cli or dist/cli). */
export function labRecordingDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'lab');
}

export interface DemoFlags extends ServeFlags {
  live?: boolean;
  /** --live: namespace prefix of the lab (default vxi-). */
  prefix?: string;
  /** --live: stop by itself after this long (10s, 2m…). */
  duration?: string;
  /** --live: keep the captures in this folder (default: a temporary folder, removed at the end). */
  out?: string;
}

const LIVE_NODES = ['kvm1', 'kvm2'];

/** `lab traffic` again and again until stopped; problems are reported once each. */
function trafficLoop(prefix: string, report: (line: string) => void): { stop(): Promise<void>; rounds(): number } {
  let stopped = false;
  let rounds = 0;
  const said = new Set<string>();
  const once = (line: string): void => {
    if (stopped || said.has(line)) return;
    said.add(line);
    report(line);
  };
  const done = (async () => {
    while (!stopped) {
      try {
        const s = await labTraffic({ prefix, durationSec: 5 });
        rounds++;
        for (const st of s.steps) if (!st.ok) once(`traffic: ${st.name} ${st.from} → ${st.to} failed: ${st.detail}`);
      } catch (err) {
        once(`traffic: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    rounds: () => rounds,
    // a round ends within a few seconds (every step has its own time limit); lab down ends the rest
    stop: async () => {
      stopped = true;
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    },
  };
}

/** One line per node: what was captured and how much of it matched. */
async function captureSummary(server: RunningServer): Promise<string[]> {
  const store = server.store;
  const lines: string[] = [];
  for (const n of store.nodes()) {
    const a = await store.analyze(n.name);
    const u = n.underlay ? store.capture(n.underlay) : undefined;
    const o = n.overlay ? store.capture(n.overlay) : undefined;
    const side = (c: typeof u, what: string): string => (c ? `${c.iface ?? c.name} ${c.index.count} ${what}` : `no ${what}`);
    lines.push(
      `  ${n.name}: ${side(u, 'packets')} (${u?.tunnelled ?? 0} VXLAN), ${side(o, 'frames')}${a && u && o ? `; ${a.matched} matched` : ''}`,
    );
  }
  return lines;
}

/** `demo --live`: see the top of this file. Resolves with the exit code once everything is down. */
export async function runDemoLive(flags: DemoFlags, io: CliIo, signal?: AbortSignal): Promise<number> {
  const prefix = checkPrefix(flags.prefix ?? DEFAULT_PREFIX);
  const durationSec = flags.duration === undefined ? undefined : parseDuration(flags.duration);
  const reason = await labPreflight();
  if (reason !== null)
    throw new PrerequisiteError(
      `demo --live brings up the namespace lab: ${reason.replace('vxlan-inspect lab up', 'vxlan-inspect demo --live')}`,
    );

  // from here on Ctrl-C (or TERM, or the caller's signal) means: stop, clean up, exit 0
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) io.stderr.write('demo --live: still stopping (taking the lab down)…\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  signal?.addEventListener('abort', onSignal, { once: true });
  const stopped = new Promise<void>((resolve) => {
    if (stop.signal.aborted) resolve();
    else stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });

  const labDir = mkdtempSync(path.join(tmpdir(), 'vxi-demo-lab-'));
  const outRoot = flags.out === undefined ? mkdtempSync(path.join(tmpdir(), 'vxi-demo-live-')) : path.resolve(flags.out);
  let lab: LabHandle | undefined;
  let traffic: ReturnType<typeof trafficLoop> | undefined;
  let server: RunningServer | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  const handles: LiveCaptureHandle[] = [];
  const problems: string[] = [];

  /** Traffic, capture and server on a lab that is up; resolves when asked to stop. */
  const serveLive = async (up: LabHandle): Promise<void> => {
    traffic = trafficLoop(prefix, (line) => io.stderr.write(`${line}\n`));
    io.stdout.write(`traffic: the classroom mix between vm1 and vm2 (\`lab traffic\`), again and again\n`);
    mkdirSync(outRoot, { recursive: true });
    const starter = netnsCaptureStarter(up.frontendNetns, up.inventoryPath, { outRoot });
    // errors of the capture go to the terminal too (the page hears them as live-error events)
    const startCapture: StartCapture = (req, store, emit) =>
      starter(req, store, (event, data) => {
        if (event === 'live-error') io.stderr.write(`capture: ${(data as LiveErrorEvent).message}\n`);
        emit(event, data);
      });
    const srv = await startServer(undefined, {
      ...serveOptions(flags),
      startCapture,
      liveNodes: LIVE_NODES,
      banner: `Live from the namespace lab '${prefix}': kvm1 and kvm2, eth1 and vxlan_bridge, captured as you watch while vm1 and vm2 talk`,
    });
    server = srv;
    io.stdout.write(`capturing ${LIVE_NODES.join(' and ')} (eth1, vxlan_bridge) from namespace ${up.frontendNetns} into ${outRoot}\n`);
    // one after the other: the page lists the nodes in this order
    for (const node of LIVE_NODES) handles.push(await srv.startLive({ node }));
    if (stop.signal.aborted) return;
    io.stdout.write(describe(srv, 'the live lab').replace(/press Ctrl-C to stop\n$/, ''));
    io.stdout.write(
      durationSec !== undefined
        ? `stopping by itself after ${durationSec} s; Ctrl-C stops it sooner\n`
        : 'press Ctrl-C to stop (the capture stops and the lab is taken down)\n',
    );
    if (durationSec !== undefined) durationTimer = setTimeout(() => stop.abort(), durationSec * 1000);
    await stopped;
  };

  try {
    io.stdout.write(`demo --live: bringing up the namespace lab '${prefix}', provisioned…\n`);
    lab = await labUp({ prefix, dir: path.join(labDir, 'lab'), provisioned: true });
    io.stdout.write(`lab '${prefix}' is up: ${lab.nodes.map((n) => `${n.name} ${n.host}`).join(', ')}, vm1 ↔ vm2 across VXLAN 10\n`);
    if (!stop.signal.aborted) await serveLive(lab);
  } finally {
    clearTimeout(durationTimer);
    if (lab) io.stdout.write('\nstopping: capture, traffic, lab…\n');
    const trafficDone = traffic?.stop();
    for (const h of handles) await h.stop().catch((err: unknown) => problems.push(`stopping capture ${h.id}: ${(err as Error).message}`));
    await trafficDone;
    if (server && handles.length > 0) {
      io.stdout.write(`captured (${traffic?.rounds() ?? 0} rounds of traffic):\n${(await captureSummary(server)).join('\n')}\n`);
      if (flags.out !== undefined) io.stdout.write(`captures kept in ${outRoot}\n`);
    }
    await server?.close().catch((err: unknown) => problems.push(`closing the server: ${(err as Error).message}`));
    if (lab) {
      try {
        await labDown({ prefix, dir: lab.dir });
        io.stdout.write(`lab '${prefix}' is down: namespaces, sshd and tcpdump gone\n`);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    rmSync(labDir, { recursive: true, force: true });
    if (flags.out === undefined) rmSync(outRoot, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signal?.removeEventListener('abort', onSignal);
    for (const p of problems) io.stderr.write(`demo --live: ${p}\n`);
  }
  return problems.length > 0 ? 1 : 0;
}

export async function runDemo(flags: DemoFlags, io: CliIo, signal?: AbortSignal, dir = labRecordingDir()): Promise<number> {
  if (flags.live) return runDemoLive(flags, io, signal);
  const liveOnly = (['prefix', 'duration', 'out'] as const).filter((k) => flags[k] !== undefined);
  if (liveOnly.length > 0)
    throw new UsageError(
      `${liveOnly.map((k) => `--${k}`).join(', ')} ${liveOnly.length === 1 ? 'goes' : 'go'} only with ` +
        '--live (demo --live brings up the namespace lab and captures it)',
    );
  const complete = LAB_FILES.every((f) => existsSync(path.join(dir, f)));
  if (complete) return runServer(sessionFromDir(dir), serveOptions(flags), path.relative(process.cwd(), dir) || dir, io, signal);
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-demo-'));
  try {
    writeSampleSession(tmp);
    io.stderr.write(`note: the lab recording ${dir} is missing: serving a small synthetic sample instead\n`);
    return await runServer(
      sessionFromDir(tmp),
      { ...serveOptions(flags), banner: 'Synthetic sample (the lab recording fixtures/lab is missing)' },
      'a synthetic sample',
      io,
      signal,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('web view of the bundled lab recording (kvm1 and kvm2, eth1 and vxlan_bridge): the quick start')
    .addHelpText(
      'after',
      '\nExamples:\n  vxlan-inspect demo                 # the bundled recording on ' +
        'http://127.0.0.1:8080\n  sudo vxlan-inspect demo --live     # the whole class live: ' +
        'lab up, traffic, capture kvm1 and kvm2, serve\n',
    )
    .option('--port <n>', 'TCP port (0: any free port)', parseIntInRange('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable)', collectPorts)
    .option(
      '--live',
      'root, Linux: bring the namespace lab up, run its traffic, capture kvm1 and kvm2 live and serve it; Ctrl-C takes it all down',
    )
    .option('--prefix <prefix>', `--live: namespace name prefix of the lab (default: "${DEFAULT_PREFIX}")`)
    .option('--duration <time>', '--live: stop by itself after this long (10s, 2m)')
    .option('--out <dir>', '--live: keep the captures in this folder (default: a temporary one, removed at the end)')
    .action(async (flags: DemoFlags) => {
      process.exitCode = await runDemo(flags, io);
    });
}
