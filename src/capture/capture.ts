/**
 * startCapture: every node at once, each interface on its own exec channel of the node's one
 * SSH connection, streamed into `OUT/<node>-<iface>.pcap`, decoded live; stopped by duration,
 * count, stop() or a lost connection; `OUT/session.json` written at the end.
 *
 *   const h = await startCapture({ inventory, nodes: ['kvm1'], outDir: 'out', durationSec: 10 });
 *   h.on('stats', (s) => …); h.on('packet', ({ node, iface, packet }) => …);
 *   const summary = await h.done;        // or: await h.stop()
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError, VxiError, isVxiError } from '../errors.js';
import { createRegistry } from '../decode/registry.js';
import { SessionPool, type RemoteSession } from '../remote/connection.js';
import { resolveNode, type NodeConfig } from '../remote/inventory.js';
import { interfaceNameProblem } from '../remote/quote.js';
import type { StreamStats } from './live-stats.js';
import { gatherNodeFacts, recordOverlayConfig, type NodeFacts } from './node.js';
import { sessionJson, writeSessionJson, SESSION_FILE, type OverlayConfigRecord } from './session-file.js';
import { CaptureStream } from './stream.js';
import { checkUserFilter, combineFilters } from './tcpdump.js';
import type { CaptureEvents, CaptureOptions, CaptureRunSummary, NodeSummary, StopReason, StreamRole } from './types.js';

/** `<node>-<iface>.pcap`. */
export function captureFileName(node: string, iface: string): string {
  return `${node}-${iface}.pcap`;
}

/** `capture-YYYYmmdd-HHMMSS` (local time). */
export function defaultOutDirName(d: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `capture-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function roleOf(node: NodeConfig, iface: string): StreamRole {
  if (iface === node.overlay.underlay) return 'underlay';
  if (iface === node.overlay.bridge) return 'bridge';
  return 'other';
}

interface NodeRun {
  config: NodeConfig;
  session: RemoteSession;
  facts: NodeFacts;
  /** The node's overlay configuration at capture start (session.json nodes[].config). */
  recorded: OverlayConfigRecord;
  streams: CaptureStream[];
}

/** Checks the options that need no network; throws UsageError. */
export function validateCaptureOptions(o: CaptureOptions): void {
  if (o.nodes.length === 0) throw new UsageError('name at least one node to capture on (e.g. capture kvm1 kvm2)');
  const dup = o.nodes.find((n, i) => o.nodes.indexOf(n) !== i);
  if (dup) throw new UsageError(`node ${dup} is named twice`);
  for (const i of o.ifaces ?? []) {
    const p = interfaceNameProblem(i);
    if (p) throw new UsageError(`--iface ${JSON.stringify(i)} ${p}`);
  }
  if (o.filter !== undefined) checkUserFilter(o.filter);
  if (o.durationSec !== undefined && !(o.durationSec > 0)) throw new UsageError('--duration must be more than 0 seconds');
  if (o.count !== undefined && (!Number.isInteger(o.count) || o.count < 1))
    throw new UsageError('--count must be a whole number of packets, at least 1');
  if (o.snaplen !== undefined && (!Number.isInteger(o.snaplen) || o.snaplen < 0 || o.snaplen > 262_144))
    throw new UsageError('--snaplen must be between 0 (whole packets) and 262144');
  if (o.tcpdumpPath !== undefined && !/^[A-Za-z0-9_./+-]+$/.test(o.tcpdumpPath))
    throw new UsageError(
      `--tcpdump must be a program name or path (letters, digits, "_", ".", "/", "+", "-"), not ${JSON.stringify(o.tcpdumpPath)}`,
    );
}

export class CaptureHandle extends EventEmitter<CaptureEvents> {
  readonly startedAt = new Date();
  /** Resolves with the summary once every stream is over and session.json is written. */
  readonly done: Promise<CaptureRunSummary>;
  private resolveDone: (s: CaptureRunSummary) => void = () => undefined;
  private nodes: NodeRun[] = [];
  private reason: StopReason | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private finishing = false;

  /** @internal use startCapture */
  constructor(
    readonly outDir: string,
    private readonly opts: CaptureOptions,
    private readonly vxlanPorts: number[],
    private readonly ownPool: SessionPool | undefined,
  ) {
    super();
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** The streams: node, interface, local file. */
  get streams(): { node: string; iface: string; file: string }[] {
    return this.nodes.flatMap((n) => n.streams.map((s) => ({ node: s.node, iface: s.spec.iface, file: s.spec.file })));
  }

  /** The live numbers of every stream (rates over the last stats interval). */
  stats(): StreamStats[] {
    return this.nodes.flatMap((n) => n.streams.map((s) => s.snapshot(false)));
  }

  /** Stops every tcpdump (by PID), waits for the files to be complete, writes session.json. */
  async stop(reason: StopReason = 'stopped'): Promise<CaptureRunSummary> {
    this.reason ??= reason;
    await Promise.all(this.nodes.flatMap((n) => n.streams.map((s) => s.stop())));
    return this.done;
  }

  /** @internal */
  attach(nodes: NodeRun[]): void {
    this.nodes = nodes;
  }

  /** @internal the streams run: timers, and the end when the last one is over. */
  run(): void {
    const all = this.nodes.flatMap((n) => n.streams);
    const now = Date.now();
    for (const s of all) s.markStarted(now);
    const interval = this.opts.statsIntervalMs ?? 1000;
    this.ticker = setInterval(() => {
      for (const s of all) if (!s.isOver) this.emit('stats', s.snapshot(true));
    }, interval);
    if (this.opts.durationSec !== undefined) this.timer = setTimeout(() => void this.stop('duration'), this.opts.durationSec * 1000);
    for (const s of all) {
      void s.ended.then((sum) => {
        if (sum.error) {
          if (this.listenerCount('stream-error') > 0)
            this.emit('stream-error', { node: sum.node, iface: sum.iface, error: new VxiError('VXI_CAPTURE', sum.error) });
        }
        this.emit('stats', s.snapshot(true));
      });
    }
    void Promise.all(all.map((s) => s.ended)).then(() => this.finish());
  }

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    clearInterval(this.ticker);
    clearTimeout(this.timer);
    const nodes: NodeSummary[] = [];
    for (const n of this.nodes) {
      const streams = await Promise.all(n.streams.map((s) => s.ended));
      nodes.push({
        node: n.config.name,
        host: n.config.host,
        sshPort: n.config.sshPort,
        user: n.config.user,
        sudo: n.config.sudo,
        ssh: n.facts.ssh,
        exclusionFilter: n.facts.exclusionFilter,
        tcpdumpVersion: n.facts.tcpdumpVersion,
        libpcapVersion: n.facts.libpcapVersion,
        clock: n.facts.clock,
        ...(n.facts.ifindexNames ? { ifindexNames: n.facts.ifindexNames } : {}),
        config: n.recorded,
        streams,
      });
    }
    const errors = nodes.flatMap((n) => n.streams.flatMap((s) => (s.error ? [s.error] : [])));
    const all = nodes.flatMap((n) => n.streams);
    let reason = this.reason ?? (all.every((s) => s.end === 'count') ? 'count' : 'stopped');
    if (errors.length > 0 && this.reason === undefined) reason = 'error';
    const stoppedAt = new Date();
    const summary: CaptureRunSummary = {
      ok: errors.length === 0,
      outDir: this.outDir,
      sessionFile: path.join(this.outDir, SESSION_FILE),
      startedAt: this.startedAt.toISOString(),
      stoppedAt: stoppedAt.toISOString(),
      durationSec: (stoppedAt.getTime() - this.startedAt.getTime()) / 1000,
      reason,
      filter: this.opts.filter ?? null,
      nodes,
      errors,
    };
    try {
      writeSessionJson(this.outDir, sessionJson(summary, this.vxlanPorts));
    } catch (err) {
      summary.ok = false;
      summary.sessionError = (err as Error).message;
      summary.errors.push(`cannot write ${summary.sessionFile}: ${summary.sessionError}`);
    }
    if (this.ownPool) await this.ownPool.closeAll();
    this.emit('end', summary);
    this.resolveDone(summary);
  }
}

/**
 * Connects to every node, checks tcpdump, the interfaces and the clock, and starts every stream;
 * resolves once every tcpdump listens. On any failure nothing is left running and the files
 * this call created are removed; the error names the node and the interface.
 */
export async function startCapture(opts: CaptureOptions): Promise<CaptureHandle> {
  validateCaptureOptions(opts);
  const configs = opts.nodes.map((n) => resolveNode(opts.inventory, n));
  const program = opts.tcpdumpPath ?? 'tcpdump';
  const plan = configs.map((c) => {
    const ifaces = [...new Set(opts.ifaces ?? [c.overlay.underlay, c.overlay.bridge])];
    return { config: c, ifaces };
  });
  const outDir = path.resolve(opts.outDir);
  const files = plan.flatMap((p) => p.ifaces.map((i) => path.join(outDir, captureFileName(p.config.name, i))));
  for (const f of files)
    if (existsSync(f)) throw new UsageError(`${f} already exists: pick another --out folder (captures are never overwritten)`);
  const ports = [...new Set([...(opts.vxlanPorts ?? []), ...configs.map((c) => c.overlay.port)])].sort((a, b) => a - b);
  const registry = createRegistry({ vxlanPorts: ports });

  const createdDir = !existsSync(outDir);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new VxiError('VXI_IO', `cannot create the capture folder ${outDir}: ${(err as Error).message}`, { cause: err });
  }
  const ownPool = opts.pool
    ? undefined
    : new SessionPool({
        acceptNew: Boolean(opts.acceptNew),
        timeoutMs: opts.connectTimeoutMs ?? 10_000,
        keepaliveMs: opts.keepaliveMs ?? 5_000,
      });
  const pool = opts.pool ?? (ownPool as SessionPool);
  const handle = new CaptureHandle(outDir, opts, ports, ownPool);
  const runs: NodeRun[] = [];

  const cleanUp = async (): Promise<void> => {
    await Promise.all(runs.flatMap((r) => r.streams.map((s) => s.stop())));
    for (const f of files) rmSync(f, { force: true });
    if (createdDir && existsSync(outDir) && readdirSync(outDir).length === 0) rmdirSync(outDir);
    if (ownPool) await ownPool.closeAll();
  };

  try {
    // connect and check every node at once
    const prepared = await Promise.allSettled(
      plan.map(async (p) => {
        const session = await pool.get(p.config).catch((err: unknown) => {
          throw naming(err, p.config, p.ifaces);
        });
        const facts = await gatherNodeFacts(session, p.ifaces, program);
        // after the clock is measured (other commands on the connection would skew its round trips);
        // read-only, and a failure is recorded in session.json rather than stopping the capture
        const config = await recordOverlayConfig(session, p.config, 'capture');
        return { p, session, facts, config };
      }),
    );
    const failed = prepared.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) throw combine(failed);
    for (const r of prepared) {
      if (r.status !== 'fulfilled') continue;
      const { p, session, facts, config } = r.value;
      const filter = combineFilters(facts.exclusionFilter, opts.filter);
      const run: NodeRun = { config: p.config, session, facts, recorded: config, streams: [] };
      for (const iface of p.ifaces) {
        const spec: ConstructorParameters<typeof CaptureStream>[1] = {
          iface,
          role: roleOf(p.config, iface),
          file: path.join(outDir, captureFileName(p.config.name, iface)),
          filter,
          program,
          registry,
        };
        if (opts.snaplen !== undefined) spec.snaplen = opts.snaplen;
        if (opts.count !== undefined) spec.count = opts.count;
        // the live counts come from the fast reader; whole decoded packets only when someone listens (live serve)
        spec.wantsPackets = () => handle.listenerCount('packet') > 0;
        const stream = new CaptureStream(session, spec, (packet) => {
          if (handle.listenerCount('packet') > 0) handle.emit('packet', { node: p.config.name, iface, packet });
        });
        run.streams.push(stream);
      }
      session.on('close', (info: { requested: boolean; error?: VxiError }) => {
        if (info.error) for (const s of run.streams) s.connectionError = info.error.message.replace(`${session.label}: `, '');
      });
      runs.push(run);
    }
    const started = await Promise.allSettled(runs.flatMap((r) => r.streams.map((s) => s.start())));
    const startFailed = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (startFailed.length > 0) throw combine(startFailed);
  } catch (err) {
    await cleanUp();
    throw err;
  }
  handle.attach(runs);
  handle.run();
  return handle;
}

/** A connection error (it names the node) made to name the interfaces too: `kvm1 (10.3.1.156) eth1, vxlan_bridge: …`. */
function naming(err: unknown, node: NodeConfig, ifaces: readonly string[]): unknown {
  if (!isVxiError(err)) return err;
  const list = ifaces.join(', ');
  const m = /^([^\s:]+ \([^)]*\)): ([\s\S]*)$/.exec(err.message);
  const message = m?.[1]?.startsWith(`${node.name} (`)
    ? `${m[1]} ${list}: ${m[2] ?? ''}`
    : `${node.name} (${node.host}) ${list}: ${err.message}`;
  return new VxiError(err.code, message, { exitCode: err.exitCode, cause: err });
}

/** One error from several (each already names its node and interface). */
function combine(errors: unknown[]): Error {
  const first = errors[0];
  if (errors.length === 1) return first instanceof Error ? first : new Error(String(first));
  const vxi = errors.filter(isVxiError);
  const code = vxi[0]?.code ?? 'VXI_CAPTURE';
  const messages = [...new Set(errors.map((e) => (e instanceof Error ? e.message : String(e))))];
  const allUsage = vxi.length === errors.length && vxi.every((e) => e.exitCode === 2);
  return new VxiError(code, messages.join('\n'), { exitCode: allUsage ? 2 : 1, cause: first });
}
