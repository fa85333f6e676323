/**
 * Live capture for the web view: the two implementations of the `StartCapture` seam.
 *
 * - `inProcessCaptureStarter({ inventory, outRoot })`: tcpdump over SSH from this process
 *   (startCapture of src/capture). For real nodes this machine can reach.
 * - `netnsCaptureStarter(frontendNetns, inventoryPath)`: the capture CLI run as a child inside a
 *   network namespace (`ip netns exec NS node bin.js capture NODE --json`). For the namespace lab:
 *   its addresses (10.3.1.x) exist only inside the lab's namespaces, so the process that talks
 *   SSH to them must run there; from this machine's own namespace they would go out to the world.
 *
 * Both write `OUT/<node>-<iface>.pcap` into a new folder under `outRoot`, hand each file to
 * `store.follow()` as soon as it exists (open pages hear `update`), and report through `emit`
 * (server-sent events):
 *
 *   live-start  { id, node, interfaces: [{ iface, role }], outDir, via }
 *   live-stats  { id, node, iface, packets, bytes, vxlanPackets, packetsPerSec, elapsedSec, fileBytes, captureId }
 *   live-error  { id, node, iface | null, message }        (the message names node and interface)
 *   live-end    { id, node, ok, reason, errors, outDir }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureFileName, defaultOutDirName, startCapture, validateCaptureOptions } from '../capture/capture.js';
import { RateMeter } from '../capture/rates.js';
import type { CaptureRunSummary } from '../capture/types.js';
import { PrerequisiteError, VxiError } from '../errors.js';
import { run } from '../lab/run.js';
import { loadInventory, resolveNode, type Inventory, type NodeConfig } from '../remote/inventory.js';
import type { LiveCaptureHandle, LiveCaptureRequest, LiveCaptureStatus, StartCapture } from './app.js';
import { roleOfInterface } from './session.js';
import type { CaptureStore, StoredCapture } from './store.js';

export type Emit = (event: string, data: unknown) => void;

import type { LiveEndEvent, LiveErrorEvent, LiveStartEvent, LiveStatsEvent } from './api-types.js';
export type { LiveEndEvent, LiveErrorEvent, LiveStartEvent, LiveStatsEvent } from './api-types.js';

interface StreamPlan {
  iface: string;
  role: 'underlay' | 'overlay';
  file: string;
  captured?: StoredCapture;
}

/** Smallest pcap: its 24-byte file header (the capture writes the header and whole records only). */
const PCAP_HEADER_BYTES = 24;

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

function roleFor(config: NodeConfig, iface: string): 'underlay' | 'overlay' {
  if (iface === config.overlay.underlay) return 'underlay';
  if (iface === config.overlay.bridge) return 'overlay';
  return roleOfInterface(iface) === 'overlay' ? 'overlay' : 'underlay';
}

let outDirCounter = 0;

/** A new, empty folder for one live capture: OUTROOT/capture-YYYYmmdd-HHMMSS-NODE[-n]. */
function newOutDir(outRoot: string, node: string): string {
  const base = path.join(outRoot, `${defaultOutDirName()}-${node}`);
  let dir = base;
  while (existsSync(dir)) dir = `${base}-${++outDirCounter}`;
  return dir;
}

/**
 * One live capture as the store and the pages see it: follows each file once it exists, says
 * where it stands, settles the files at the end (a last read, then no more following).
 */
class LiveRun {
  readonly startedAt = new Date();
  readonly errors: string[] = [];
  running = true;
  private watcher: NodeJS.Timeout | undefined;
  private readonly ended: Promise<void>;
  private resolveEnded: () => void = () => undefined;
  private finishing = false;
  private following: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly node: string,
    readonly streams: StreamPlan[],
    readonly outDir: string,
    private readonly store: CaptureStore,
    private readonly emit: Emit,
    private readonly followIntervalMs: number,
  ) {
    this.ended = new Promise((r) => (this.resolveEnded = r));
  }

  /** Says so (`live-start`) and follows the files there are already; the others as they appear. */
  async start(via: string): Promise<void> {
    const ev: LiveStartEvent = {
      id: this.id,
      node: this.node,
      interfaces: this.streams.map((s) => ({ iface: s.iface, role: s.role })),
      outDir: this.outDir,
      via,
    };
    this.emit('live-start', ev);
    this.watcher = setInterval(() => void this.followNew(), Math.min(250, this.followIntervalMs));
    this.watcher.unref();
    await this.followNew();
  }

  /** Files that appeared since the last look are handed to the store. */
  followNew(): Promise<void> {
    this.following = this.following.then(async () => {
      for (const s of this.streams) {
        if (s.captured || sizeOf(s.file) < PCAP_HEADER_BYTES) continue;
        try {
          s.captured = await this.store.follow(
            { path: s.file, name: path.basename(s.file), node: this.node, role: s.role, iface: s.iface },
            this.followIntervalMs,
          );
        } catch (err) {
          this.error(s.iface, `${this.node} ${s.iface}: cannot read ${s.file}: ${(err as Error).message}`);
        }
      }
    });
    return this.following;
  }

  allFollowed(): boolean {
    return this.streams.every((s) => s.captured !== undefined);
  }

  error(iface: string | null, message: string): void {
    this.errors.push(message);
    const ev: LiveErrorEvent = { id: this.id, node: this.node, iface, message };
    this.emit('live-error', ev);
  }

  /** The capture is over: last reads, then `live-end`. Safe to call twice. */
  async finish(ok: boolean, reason: string, beforeEnd?: () => void): Promise<void> {
    if (this.finishing) return this.ended;
    this.finishing = true;
    clearInterval(this.watcher);
    await this.followNew();
    for (const s of this.streams) if (s.captured) await this.store.settle(s.captured.id);
    for (const s of this.streams) if (!s.captured) this.error(s.iface, `${this.node} ${s.iface}: no capture file was written (${s.file})`);
    this.running = false;
    beforeEnd?.();
    const ev: LiveEndEvent = {
      id: this.id,
      node: this.node,
      ok: ok && this.errors.length === 0,
      reason,
      errors: this.errors,
      outDir: this.outDir,
    };
    this.emit('live-end', ev);
    this.resolveEnded();
    return this.ended;
  }

  done(): Promise<void> {
    return this.ended;
  }

  status(): LiveCaptureStatus {
    return {
      id: this.id,
      node: this.node,
      interfaces: this.streams.map((s) => s.iface),
      running: this.running,
      startedAt: this.startedAt.toISOString(),
      outDir: this.outDir,
      errors: [...this.errors],
    };
  }
}

function planStreams(config: NodeConfig, req: LiveCaptureRequest, outDir: string): StreamPlan[] {
  const ifaces = [
    ...new Set(req.interfaces && req.interfaces.length > 0 ? req.interfaces : [config.overlay.underlay, config.overlay.bridge]),
  ];
  return ifaces.map((iface) => ({ iface, role: roleFor(config, iface), file: path.join(outDir, captureFileName(config.name, iface)) }));
}

function makeOutRoot(given: string | undefined): () => string {
  let root = given;
  return () => {
    root ??= mkdtempSync(path.join(tmpdir(), 'vxi-live-'));
    mkdirSync(root, { recursive: true });
    return root;
  };
}

export interface InProcessStarterOptions {
  inventory: Inventory;
  /** Where each capture gets its folder (default: a new temporary folder). */
  outRoot?: string;
  /** Trust and record unknown host keys. */
  acceptNew?: boolean;
  /** How often followed files are read, ms (default 1000). */
  followIntervalMs?: number;
  /** How often `live-stats` is sent, ms (default 1000). */
  statsIntervalMs?: number;
}

/**
 * Live capture from this process: tcpdump over SSH to the node (startCapture). The HTTP request
 * answers once every tcpdump listens, or with the error naming node and interface.
 */
export function inProcessCaptureStarter(opts: InProcessStarterOptions): StartCapture {
  const outRoot = makeOutRoot(opts.outRoot);
  let n = 0;
  return async (req, store, emit): Promise<LiveCaptureHandle> => {
    const config = resolveNode(opts.inventory, req.node);
    const outDir = newOutDir(outRoot(), req.node);
    const streams = planStreams(config, req, outDir);
    const handle = await startCapture({
      inventory: opts.inventory,
      nodes: [req.node],
      ifaces: streams.map((s) => s.iface),
      outDir,
      acceptNew: Boolean(opts.acceptNew),
      statsIntervalMs: opts.statsIntervalMs ?? 1000,
      ...(req.durationSec !== undefined ? { durationSec: req.durationSec } : {}),
    });
    const id = `live${++n}`;
    const liveRun = new LiveRun(id, req.node, streams, outDir, store, emit, opts.followIntervalMs ?? 1000);
    handle.on('stats', (s) => {
      const captured = streams.find((p) => p.iface === s.iface)?.captured;
      const ev: LiveStatsEvent = {
        id,
        node: req.node,
        iface: s.iface,
        packets: s.packets,
        bytes: s.bytes,
        vxlanPackets: s.vxlanPackets,
        packetsPerSec: s.packetsPerSec,
        elapsedSec: s.elapsedSec,
        fileBytes: s.fileBytes,
        captureId: captured?.id ?? null,
      };
      emit('live-stats', ev);
    });
    handle.on('stream-error', (e) => liveRun.error(e.iface, e.error.message));
    handle.on('end', (summary: CaptureRunSummary) => void liveRun.finish(summary.ok, summary.reason));
    await liveRun.start('ssh');
    return {
      id,
      status: () => liveRun.status(),
      stop: async () => {
        await handle.stop('stopped');
        await liveRun.done();
      },
    };
  };
}

/** Whether `ip netns list` names this namespace (asks the kernel nothing else, sends nothing). */
export async function netnsExists(name: string): Promise<boolean> {
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  if (r.code !== 0) return false;
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === name);
}

/** dist/cli/bin.js of this package (from dist/web or, under a test runner, from src/web). */
export function defaultCliPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sibling = path.resolve(here, '..', 'cli', 'bin.js');
  return existsSync(sibling) ? sibling : path.resolve(here, '..', '..', 'dist', 'cli', 'bin.js');
}

export interface NetnsStarterOptions {
  /** Where each capture gets its folder (default: a new temporary folder). */
  outRoot?: string;
  /** The CLI to run (default: this package's dist/cli/bin.js). */
  cliPath?: string;
  /** How often followed files are read, ms (default 1000). */
  followIntervalMs?: number;
  /** How often `live-stats` is sent, ms (default 1000). */
  statsIntervalMs?: number;
  /** How long to wait for the files to appear before answering anyway, ms (default 20 s). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGINT before SIGKILL, ms (default 15 s). */
  stopTimeoutMs?: number;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The last lines of a CLI's stderr, without its `vxlan-inspect: ` prefix. */
function stderrText(s: string): string {
  return s
    .split('\n')
    .map((l) => l.replace(/^vxlan-inspect: /, '').trim())
    .filter(Boolean)
    .slice(-6)
    .join('\n');
}

function parseSummary(stdout: string): CaptureRunSummary | undefined {
  const line = stdout.trim().split('\n').pop();
  if (!line) return undefined;
  try {
    const s = JSON.parse(line) as Partial<CaptureRunSummary>;
    return typeof s.ok === 'boolean' && Array.isArray(s.nodes) ? (s as CaptureRunSummary) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Live capture through a network namespace: `ip netns exec NS node bin.js capture NODE
 * --inventory F --out DIR [--iface I]… [--duration …] --json` as a child process. The
 * namespace must exist (checked before anything is started); stop() sends the child SIGINT (the
 * CLI stops its tcpdumps by PID and writes session.json). Its exit and stderr become events.
 */
export function netnsCaptureStarter(frontendNetns: string, inventoryPath: string, opts: NetnsStarterOptions = {}): StartCapture {
  const outRoot = makeOutRoot(opts.outRoot);
  const cli = opts.cliPath ?? defaultCliPath();
  const followMs = opts.followIntervalMs ?? 1000;
  let n = 0;
  return async (req, store, emit): Promise<LiveCaptureHandle> => {
    const inventory = await loadInventory(inventoryPath);
    const config = resolveNode(inventory, req.node);
    if (!existsSync(cli)) throw new PrerequisiteError(`live capture needs the built CLI ${cli}: run \`npm run build\``);
    if (!(await netnsExists(frontendNetns))) {
      throw new PrerequisiteError(
        `namespace ${frontendNetns} does not exist, so ${req.node} (${config.host}) ` +
          'cannot be reached from it: bring the lab up (vxlan-inspect lab up --provisioned); nothing was sent',
      );
    }
    const outDir = newOutDir(outRoot(), req.node);
    const streams = planStreams(config, req, outDir);
    validateCaptureOptions({
      inventory,
      nodes: [req.node],
      ifaces: streams.map((s) => s.iface),
      outDir,
      ...(req.durationSec !== undefined ? { durationSec: req.durationSec } : {}),
    });

    const argv = [
      'netns',
      'exec',
      frontendNetns,
      process.execPath,
      cli,
      'capture',
      req.node,
      '--inventory',
      path.resolve(inventoryPath),
      '--out',
      outDir,
    ];
    for (const s of streams) argv.push('--iface', s.iface);
    if (req.durationSec !== undefined) argv.push('--duration', `${Math.max(1, Math.round(req.durationSec * 1000))}ms`);
    argv.push('--json');
    const child: ChildProcess = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<ChildResult>((resolve) => {
      child.on('error', (err) => {
        stderr += `cannot start \`ip netns exec\`: ${err.message}\n`;
        resolve({ code: null, signal: null });
      });
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    let exit: ChildResult | undefined;
    void exited.then((r) => (exit = r));

    const id = `live${++n}`;
    const liveRun = new LiveRun(id, req.node, streams, outDir, store, emit, followMs);

    // wait for every file (each tcpdump listens and has sent its header) or for the child to give up
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    while (!exit && Date.now() < deadline) {
      if (streams.every((s) => sizeOf(s.file) >= PCAP_HEADER_BYTES)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (exit && streams.every((s) => sizeOf(s.file) < PCAP_HEADER_BYTES)) {
      // it failed before capturing anything: the request fails with the CLI's own words
      const why = stderrText(stderr) || parseSummary(stdout)?.errors.join('\n') || `exit ${exit.code ?? exit.signal}`;
      throw new VxiError('VXI_CAPTURE', `capture of ${req.node} (through namespace ${frontendNetns}) failed: ${why}`, {
        exitCode: exit.code === 2 ? 2 : 1,
      });
    }

    await liveRun.start(`netns ${frontendNetns}`);
    if (!exit && !streams.every((s) => sizeOf(s.file) >= PCAP_HEADER_BYTES)) {
      const missing = streams.filter((s) => sizeOf(s.file) < PCAP_HEADER_BYTES).map((s) => s.iface);
      liveRun.error(
        missing.length === 1 ? (missing[0] ?? null) : null,
        `${req.node} ${missing.join(', ')}: no capture file yet after ${Math.round((opts.startTimeoutMs ?? 20_000) / 1000)} s; still waiting`,
      );
    }

    // progress from the files as the store reads them
    const rates = new Map<string, RateMeter>();
    const started = Date.now();
    const sendStats = (): void => {
      const now = Date.now();
      for (const s of streams) {
        const c = s.captured;
        if (!c) continue;
        let meter = rates.get(s.iface);
        if (meter === undefined) rates.set(s.iface, (meter = new RateMeter(started)));
        const ev: LiveStatsEvent = {
          id,
          node: req.node,
          iface: s.iface,
          packets: c.index.count,
          bytes: c.bytes,
          vxlanPackets: c.tunnelled,
          packetsPerSec: meter.sample(now, c.index.count, c.bytes).packetsPerSec,
          elapsedSec: Math.round((now - started) / 100) / 10,
          fileBytes: c.index.fileSize,
          captureId: c.id,
        };
        emit('live-stats', ev);
      }
    };
    const ticker = setInterval(sendStats, opts.statsIntervalMs ?? 1000);
    ticker.unref();

    void exited.then(async (r) => {
      clearInterval(ticker);
      const summary = parseSummary(stdout);
      if (summary) {
        for (const node of summary.nodes) for (const st of node.streams) if (st.error) liveRun.error(st.iface, st.error);
        for (const e of summary.errors) if (!liveRun.errors.includes(e)) liveRun.error(null, e);
      } else if (r.code !== 0 || stderr.trim()) {
        const text = stderrText(stderr);
        liveRun.error(
          null,
          `capture of ${req.node} (through namespace ${frontendNetns}) ` +
            `ended with ${r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`}${text ? `: ${text}` : ''}`,
        );
      }
      await liveRun.finish(r.code === 0 && (summary?.ok ?? false), summary?.reason ?? (r.code === 0 ? 'stopped' : 'error'), sendStats);
    });

    return {
      id,
      status: () => liveRun.status(),
      stop: async () => {
        if (!exit && child.pid !== undefined) {
          child.kill('SIGINT');
          const timer = setTimeout(() => child.kill('SIGKILL'), opts.stopTimeoutMs ?? 15_000);
          await exited;
          clearTimeout(timer);
        }
        await liveRun.done();
      },
    };
  };
}
