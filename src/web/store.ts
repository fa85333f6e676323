/**
 * The capture store: the captures a server shows, grouped by node (the underlay interface and
 * the bridge of one machine). Each node is analysed by ONE pass over its files
 * (src/analysis/pass.ts): every packet is decoded once and goes to the page's index of its
 * side and to the node's analysis (correlator, statistics, topology, diagnostics:
 * src/analysis/node.ts). A live capture feeds the same pass as its files grow; nothing is read
 * twice. Captures are known to the outside by short ids (c1, c2…), never by path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findCookedSides } from '../analysis/cooked.js';
import { NodeAnalyzer, type NodeFigures } from '../analysis/node.js';
import { NodePass, runPass, type PassPacket } from '../analysis/pass.js';
import { probeCapture } from '../analysis/probe.js';
import {
  compareFromOf,
  pairFiles,
  splitCaptureName,
  roleOfInterface,
  type FileShape,
  type NodePairing,
  type PairRule,
  type Side,
  type SideSource,
} from '../analysis/sides.js';
import { mergeTopologies } from '../analysis/topology.js';
import { readSessionIfindexNames } from '../correlate/session.js';
import type { Topology } from '../correlate/topology.js';
import { createRegistry, type DecoderRegistry } from '../decode/registry.js';
import { isVxiError } from '../errors.js';
import { FLAG, IndexBuilder, MATCH_DIR, NotACaptureError, TooManyPacketsError, type CaptureIndex } from './capture-index.js';
import { nodeAnalysis, nodeDiagnostics, type Diagnostic, type NodeAnalysis } from './analysis.js';
import type { CaptureFileSpec, SessionSpec } from './session.js';
import type { CaptureSummary } from './api-types.js';

export interface StoredCapture {
  id: string;
  name: string;
  node: string;
  role: Side;
  iface?: string;
  path: string;
  index: CaptureIndex;
  uploaded: boolean;
  bytes: number;
  tunnelled: number;
  /** Followed as it grows (a live capture). */
  live: boolean;
}

export interface StoredNode {
  name: string;
  clockOffsetUs: number;
  overlayClockOffsetUs: number;
  underlay?: string;
  overlay?: string;
  /** How its captures were paired. */
  pairedBy?: PairRule;
  analysis?: NodeAnalysis;
  diagnostics?: Diagnostic[];
}

export interface StoreOptions {
  /** Correlation window (default 100 ms). */
  windowUs?: number;
  /** Extra UDP ports decoded as VXLAN. */
  vxlanPorts?: number[];
}

export type { CaptureSummary } from './api-types.js';

/** What a file that is not a capture is reported as: the page is open to anyone who reaches it, nothing of the file is shown. */
const NOT_A_CAPTURE = 'not a pcap or pcapng capture file (what it holds is not shown here; `vxlan-inspect decode FILE` says)';

const CHUNK = 1024 * 1024;
/** A live node whose files have not grown for this long has paused: its correlator decides what its window holds. */
const IDLE_MS = 1500;

/** One node's pass and everything it feeds. */
interface NodeRun {
  node: StoredNode;
  pass: NodePass;
  analyzer: NodeAnalyzer;
  sides: Partial<Record<Side, { source: SideSource; builder: IndexBuilder; capture?: StoredCapture; uploaded: boolean }>>;
  figures?: NodeFigures;
  /** Files followed as they grow: bytes read so far. */
  live: Map<string, { pos: number; settled: boolean }>;
  /** Reads the live files every interval. */
  timer?: NodeJS.Timeout;
  /** One poll at a time. */
  polling?: Promise<void>;
  /** Polls in a row that found nothing new, since when, and whether that pause was flushed. */
  idlePolls?: number;
  quietSince?: number;
  idleFlushed?: boolean;
}

export class CaptureStore {
  readonly registry: DecoderRegistry;
  readonly windowUs: number;
  readonly vxlanPorts: number[];
  readonly dir: string | undefined;
  /** Files that could not be loaded, with the reason (shown on the page). */
  readonly problems: string[] = [];
  /** How files were paired, when that is worth saying (an `any` capture split, two underlays…). */
  readonly notes: string[] = [];
  private readonly byId = new Map<string, StoredCapture>();
  private readonly nodeMap = new Map<string, StoredNode>();
  private readonly runs = new Map<string, NodeRun>();
  /** Changes whenever a capture is added or grows (cached filters over match columns are then stale). */
  generation = 0;
  private nextId = 1;
  private uploadDir: string | undefined;
  private topologyCache: Topology | undefined;
  private readonly listeners = new Set<(c: StoredCapture) => void>();
  /** Bytes of the uploads kept so far. */
  uploadedBytes = 0;
  /** Bytes set aside for uploads being received (see reserveUpload). */
  private reservedBytes = 0;

  private constructor(spec: SessionSpec | undefined, opts: StoreOptions) {
    this.vxlanPorts = [...new Set([...(spec?.vxlanPorts ?? []), ...(opts.vxlanPorts ?? [])])];
    this.registry = createRegistry({ vxlanPorts: this.vxlanPorts });
    this.windowUs = opts.windowUs ?? 100_000;
    this.dir = spec?.dir;
    for (const n of spec?.nodes ?? [])
      this.nodeMap.set(n.name, { name: n.name, clockOffsetUs: n.clockOffsetUs, overlayClockOffsetUs: n.overlayClockOffsetUs });
  }

  /** Pairs and analyses every file of the session (a file that is not a capture is reported, not fatal). */
  static async open(spec: SessionSpec | undefined, opts: StoreOptions = {}): Promise<CaptureStore> {
    const store = new CaptureStore(spec, opts);
    store.problems.push(...(spec?.skipped ?? []));
    const files = spec?.files ?? [];
    const pairings: NodePairing[] = [];
    // session.json names each node's files: taken as they are
    const explicit = new Map<string, NodePairing>();
    for (const f of files.filter((x) => x.explicit && x.role !== 'unknown')) {
      const p: NodePairing = explicit.get(f.node) ?? { node: f.node, rule: f.explicit === 'explicit' ? 'explicit' : 'session.json' };
      p[f.role as Side] = sourceOf(f);
      explicit.set(f.node, p);
    }
    pairings.push(...explicit.values());
    const shapes: FileShape[] = [];
    for (const f of files.filter((x) => !x.explicit || x.role === 'unknown')) {
      const shape = await store.shapeOf(f.path, f.name);
      if (shape) shapes.push(shape);
    }
    const paired = pairFiles(shapes);
    pairings.push(...paired.nodes);
    store.notes.push(...paired.notes);
    for (const p of pairings) {
      try {
        await store.openNode(p, false);
      } catch (err) {
        store.problems.push(`node ${p.node}: ${isVxiError(err) ? err.message : (err as Error).message}`);
      }
    }
    return store;
  }

  /** The shape of a file for the pairing rules; undefined (with a problem noted) when it cannot be used. */
  private async shapeOf(file: string, name: string): Promise<FileShape | undefined> {
    try {
      const probed = await probeCapture(file, name, this.registry);
      if (probed.error && probed.packets === 0 && probed.error.offset === 0) {
        this.problems.push(`${name}: ${NOT_A_CAPTURE}`);
        return undefined;
      }
      const shape: FileShape = { path: file, name, interfaces: probed.interfaces };
      if (probed.packets > 0) shape.tunnelledShare = probed.tunnelled / probed.packets;
      return shape;
    } catch (err) {
      this.problems.push(`${name}: ${isVxiError(err) ? err.message : (err as Error).message}`);
      return undefined;
    }
  }

  /** Runs a node's pass over its files (complete files), or sets it up to follow growing ones. */
  private async openNode(
    p: NodePairing,
    live: boolean,
    uploaded: Partial<Record<Side, boolean>> = {},
    maxPackets?: number,
  ): Promise<NodeRun> {
    const node = this.nodeFor(p.node);
    node.pairedBy = p.rule;
    for (const side of ['underlay', 'overlay'] as const) {
      const s = p[side];
      if (s?.select.kind === 'ifindex' && s.select.ifindexes.length === 0) {
        // the interface names capture recorded for this node (session.json beside the file), if any
        const names = await namesBeside(s.path);
        const found = await findCookedSides(s.path, { registry: this.registry, ...(names ? { names } : {}) });
        if (!found)
          throw new Error(
            `${s.name}: a capture of every interface (tcpdump -i any) ` +
              'in which no interface carries both VXLAN and the frames it tunnels: its sides cannot be told apart; ' +
              'capture the underlay and the bridge apart',
          );
        s.select = found[side];
        s.iface = found[side].names.join(',');
        if (side === 'underlay') this.notes.push(`${s.name}: ${found.note}`);
      }
    }
    const pass = new NodePass(p, { registry: this.registry, overlayClockOffsetUs: node.overlayClockOffsetUs });
    const run: NodeRun = {
      node,
      pass,
      analyzer: undefined as unknown as NodeAnalyzer,
      sides: {},
      live: new Map(),
    };
    for (const side of ['underlay', 'overlay'] as const) {
      const s = p[side];
      if (!s) continue;
      const feed = pass.feed(s.path);
      const opts = { registry: this.registry, ...(maxPackets !== undefined && uploaded[side] ? { maxPackets } : {}) };
      run.sides[side] = { source: s, builder: new IndexBuilder(opts, feed?.parser), uploaded: uploaded[side] ?? false };
    }
    run.analyzer = new NodeAnalyzer({
      node: node.name,
      // a live node's second side joins a moment after the first: both are expected from the start
      sides: live ? { underlay: true, overlay: true } : { underlay: p.underlay !== undefined, overlay: p.overlay !== undefined },
      windowUs: this.windowUs,
      vxlanPorts: this.vxlanPorts,
      compareFrom: compareFromOf(p.overlay),
      // live: the files grow at their own pace; the correlator lines them up within this much
      ...(live ? { maxSkewUs: Math.max(this.windowUs, 5_000_000) } : {}),
      onMatch: (m) => {
        const dir = m.direction === 'encap' ? MATCH_DIR.encap : MATCH_DIR.decap;
        run.sides.underlay?.builder.setMatch(m.underlay.n, m.overlay.n, dir);
        // a flooded frame has several copies: the bridge frame points at the first
        run.sides.overlay?.builder.setMatch(m.overlay.n, m.underlay.n, dir, true, m.vni);
      },
    });
    pass.listen((x: PassPacket) => run.sides[x.side]?.builder.addPass(x));
    pass.listen(run.analyzer.listener);
    this.runs.set(node.name, run);
    if (!live) {
      await runPass(pass);
      for (const side of ['underlay', 'overlay'] as const) {
        const f = run.sides[side] && pass.feed(run.sides[side].source.path);
        if (f?.parser.error && f.records === 0 && f.parser.error.offset === 0) {
          this.runs.delete(node.name);
          throw new NotACaptureError(f.parser.error);
        }
      }
      run.figures = run.analyzer.finish();
      await this.publish(run, true);
    }
    return run;
  }

  /** Makes (or refreshes) the node's StoredCaptures from its builders, and its page figures. */
  private async publish(run: NodeRun, final: boolean): Promise<void> {
    for (const side of ['underlay', 'overlay'] as const) {
      const s = run.sides[side];
      if (!s) continue;
      const size = await fileSize(s.source.path);
      const index = await s.builder.index(s.source.path, size, final);
      if (!s.capture) {
        const id = `c${this.nextId++}`;
        const name = s.source.select.kind === 'all' ? s.source.name : `${s.source.name} (${s.source.iface ?? side})`;
        const c: StoredCapture = {
          id,
          name,
          node: run.node.name,
          role: side,
          path: s.source.path,
          index,
          uploaded: s.uploaded,
          bytes: 0,
          tunnelled: 0,
          live: run.live.size > 0,
        };
        if (s.source.iface !== undefined) c.iface = s.source.iface;
        s.capture = c;
        this.byId.set(id, c);
        run.node[side] = id;
        this.grown(c, index, 0);
      } else {
        const before = s.capture.index.count;
        Object.assign(s.capture.index, index);
        this.grown(s.capture, s.capture.index, before);
      }
    }
    this.refreshFigures(run);
  }

  private refreshFigures(run: NodeRun): void {
    const f = run.figures ?? run.analyzer.snapshot();
    run.node.analysis = nodeAnalysis(f, run.node.pairedBy ?? null);
    run.node.diagnostics = nodeDiagnostics(f, run.node.analysis);
    this.topologyCache = undefined;
  }

  private nodeFor(name: string): StoredNode {
    let node = this.nodeMap.get(name);
    if (!node) {
      node = { name, clockOffsetUs: 0, overlayClockOffsetUs: 0 };
      this.nodeMap.set(name, node);
    }
    return node;
  }

  private grown(c: StoredCapture, ix: CaptureIndex, before: number): void {
    for (let i = before; i < ix.count; i++) {
      c.bytes += ix.wireLen[i] as number;
      if (((ix.flags[i] as number) & FLAG.tunnel) !== 0) c.tunnelled++;
    }
    this.generation++;
    for (const l of this.listeners) l(c);
  }

  /**
   * Follows a capture file that is still being written (a live capture) as one side of its
   * node: what it holds is read now, and what is appended every `intervalMs`; the node's one
   * pass takes the new packets (index and analysis grow; nothing is read again) and
   * `onChange` listeners hear of it. The node's other side joins the same pass when it is
   * followed in turn.
   */
  async follow(spec: CaptureFileSpec & { role: Side }, intervalMs = 1000): Promise<StoredCapture> {
    const source = sourceOf(spec);
    let run = this.runs.get(spec.node);
    if (run && run.timer !== undefined && !run.sides[spec.role]) {
      run.pass.addSide(spec.role, source);
      const feed = run.pass.feed(source.path);
      run.sides[spec.role] = { source, builder: new IndexBuilder({ registry: this.registry }, feed?.parser), uploaded: false };
    } else {
      if (run) this.retire(run);
      const pairing: NodePairing = { node: spec.node, rule: 'explicit' };
      pairing[spec.role] = source;
      run = await this.openNode(pairing, true);
      const r = run;
      r.timer = setInterval(() => {
        if (!r.polling) void this.poll(r);
      }, intervalMs);
      r.timer.unref();
    }
    run.live.set(source.path, { pos: 0, settled: false });
    await this.poll(run);
    const c = run.sides[spec.role]?.capture;
    if (!c) throw new Error(`follow: ${spec.name} was not indexed`);
    c.live = true;
    return c;
  }

  /** A node's earlier run gives way to a new one (its captures leave the store). */
  private retire(run: NodeRun): void {
    if (run.timer) clearInterval(run.timer);
    for (const s of Object.values(run.sides)) if (s?.capture) this.byId.delete(s.capture.id);
    delete run.node.underlay;
    delete run.node.overlay;
    this.runs.delete(run.node.name);
  }

  /** Reads what the node's live files got since the last poll and feeds it to the pass. */
  private poll(run: NodeRun): Promise<void> {
    const next = (run.polling ?? Promise.resolve()).then(async () => {
      let added = 0;
      for (const [file, st] of run.live) {
        if (st.settled) continue;
        try {
          const size = await fileSize(file);
          if (size <= st.pos) continue;
          const fh = await open(file, 'r');
          try {
            while (st.pos < size) {
              const want = Math.min(CHUNK, size - st.pos);
              const b = new Uint8Array(want);
              const got = (await fh.read(b, 0, want, st.pos)).bytesRead;
              if (got === 0) break;
              st.pos += got;
              run.pass.push(file, b.subarray(0, got));
            }
          } finally {
            await fh.close();
          }
        } catch (err) {
          this.problems.push(`${path.basename(file)}: live capture stopped: ${(err as Error).message}`);
          st.settled = true;
        }
      }
      added += run.pass.drain(false);
      // no new packet on either side for two polls and IDLE_MS: the capture paused (tcpdump -U
      // writes each packet as it comes), nothing older can still come
      const now = Date.now();
      const grew = added > 0;
      if (grew || run.quietSince === undefined) run.quietSince = now;
      if (grew) run.idleFlushed = false;
      run.idlePolls = grew ? 0 : (run.idlePolls ?? 0) + 1;
      if (run.idlePolls >= 2 && now - run.quietSince >= IDLE_MS && !run.idleFlushed && !run.figures) {
        run.idleFlushed = true;
        run.analyzer.idle();
        added = 1;
      }
      const unpublished = Object.values(run.sides).some((x) => x !== undefined && x.capture === undefined);
      if (added > 0 || unpublished || run.figures) await this.publish(run, run.figures !== undefined);
    });
    const tracked: Promise<void> = next.finally(() => {
      if (run.polling === tracked) run.polling = undefined;
    });
    run.polling = tracked;
    return next;
  }

  /** Reads what a followed capture got since the last poll, then stops following it (its writer is done). */
  async settle(id: string): Promise<void> {
    const c = this.byId.get(id);
    const run = c ? this.runs.get(c.node) : undefined;
    if (!c || !run) return;
    await this.poll(run);
    const st = run.live.get(c.path);
    if (st) {
      st.settled = true;
      run.pass.end(c.path);
    }
    c.live = false;
    if ([...run.live.values()].every((x) => x.settled)) {
      if (run.timer) clearInterval(run.timer);
      run.pass.drain(false);
      run.figures = run.analyzer.finish();
      await this.publish(run, true);
    }
  }

  /** Stops following a live capture (what was indexed stays). */
  unfollow(id: string): void {
    const c = this.byId.get(id);
    const run = c ? this.runs.get(c.node) : undefined;
    const st = c && run?.live.get(c.path);
    if (st) st.settled = true;
    if (run && [...run.live.values()].every((x) => x.settled) && run.timer) clearInterval(run.timer);
    if (c) c.live = false;
  }

  /** Called when a change listener should hear about a capture (added or grown). */
  onChange(listener: (c: StoredCapture) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sets aside `bytes` of the `limit` all uploads share, before the first byte of an upload is
   * accepted, so uploads running side by side cannot together pass it. False when they do not
   * fit; each true is followed by one releaseUpload(bytes) once the upload is kept or dropped.
   */
  reserveUpload(bytes: number, limit: number): boolean {
    if (this.uploadedBytes + this.reservedBytes + bytes > limit) return false;
    this.reservedBytes += bytes;
    return true;
  }

  releaseUpload(bytes: number): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - bytes);
  }

  /**
   * A file written to the upload folder (see uploadPath), under the name the user gave it; at
   * most `maxPackets` are indexed. It joins the node its name gives when that node lacks its
   * side (the node is analysed again, both files in one pass), else it is a node of its own.
   */
  async addUpload(tempPath: string, originalName: string, maxPackets?: number): Promise<StoredCapture> {
    const probed = await probeCapture(tempPath, originalName, this.registry);
    // the uploader is told what is wrong with the file (its own bytes); a served folder's files are not echoed
    if (probed.error && probed.packets === 0 && probed.error.offset === 0) throw probed.error;
    const shape: FileShape = { path: tempPath, name: originalName, interfaces: probed.interfaces };
    if (probed.packets > 0) shape.tunnelledShare = probed.tunnelled / probed.packets;
    const [pairing] = pairFiles([shape]).nodes;
    if (!pairing) throw new Error(`${originalName}: cannot tell which side of a node it is`);
    const uploaded: Partial<Record<Side, boolean>> = { underlay: pairing.underlay !== undefined, overlay: pairing.overlay !== undefined };
    const one = pairing.underlay && pairing.overlay ? undefined : pairing.underlay ? 'underlay' : 'overlay';
    const existing = one ? this.runs.get(pairing.node) : undefined;
    let target: NodePairing = pairing;
    if (one && existing && existing.live.size === 0 && !existing.sides[one]) {
      const other: Side = one === 'underlay' ? 'overlay' : 'underlay';
      const o = existing.sides[other];
      target = { node: pairing.node, rule: pairing.rule, [one]: pairing[one], ...(o ? { [other]: o.source } : {}) };
      if (o) uploaded[other] = o.uploaded;
      for (const s of Object.values(existing.sides)) if (s?.capture) this.byId.delete(s.capture.id);
    } else if (this.nodeMap.has(pairing.node) && this.nodeMap.get(pairing.node)?.[one ?? 'underlay'] !== undefined) {
      let k = 2;
      while (this.nodeMap.has(`${pairing.node}-${k}`)) k++;
      target = { ...pairing, node: `${pairing.node}-${k}` };
    }
    let run: NodeRun;
    try {
      run = await this.openNode(target, false, uploaded, maxPackets);
    } catch (err) {
      if (err instanceof TooManyPacketsError) this.runs.delete(target.node);
      throw err;
    }
    const size = (await stat(tempPath)).size; // read first: `x += await y` would lose concurrent uploads' bytes
    this.uploadedBytes += size;
    const c = run.sides[one ?? 'underlay']?.capture ?? run.sides.overlay?.capture;
    if (!c) throw new Error(`${originalName}: nothing was indexed`);
    return c;
  }

  /** A fresh path in the store's private upload folder. */
  uploadPath(): string {
    this.uploadDir ??= mkdtempSync(path.join(tmpdir(), 'vxi-uploads-'));
    return path.join(this.uploadDir, `upload-${this.nextId}-${Date.now()}.bin`);
  }

  /** Every node's figures are up to date (kept for callers that awaited the old lazy analysis). */
  async analyzeAll(): Promise<void> {
    await Promise.all([...this.runs.values()].map((r) => r.polling));
  }

  async analyze(nodeName: string): Promise<NodeAnalysis | undefined> {
    const run = this.runs.get(nodeName);
    if (run?.polling) await run.polling;
    return this.nodeMap.get(nodeName)?.analysis;
  }

  capture(id: string): StoredCapture | undefined {
    return this.byId.get(id);
  }

  captures(): StoredCapture[] {
    return [...this.byId.values()];
  }

  node(name: string): StoredNode | undefined {
    return this.nodeMap.get(name);
  }

  nodes(): StoredNode[] {
    return [...this.nodeMap.values()].filter((n) => n.underlay !== undefined || n.overlay !== undefined);
  }

  /** The capture on the other side of the same node. */
  partner(c: StoredCapture): StoredCapture | undefined {
    const node = this.nodeMap.get(c.node);
    const id = c.role === 'underlay' ? node?.overlay : node?.underlay;
    return id ? this.byId.get(id) : undefined;
  }

  /** The session's topology: each node's, learnt from its underlay capture, put together. */
  topology(): Topology {
    this.topologyCache ??= mergeTopologies(
      [...this.runs.values()].filter((r) => r.sides.underlay).map((r) => r.analyzer.topology.result()),
    );
    return this.topologyCache;
  }

  /** Which node each VTEP address belongs to (the correlator's local VTEP of each node). */
  localVteps(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const n of this.nodes()) if (n.analysis?.localVtep) out[n.analysis.localVtep] = n.name;
    return out;
  }

  diagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const n of this.nodes()) out.push(...(n.diagnostics ?? []));
    for (const p of this.problems) out.push({ severity: 'error', title: 'a file could not be read', detail: p });
    for (const note of this.notes) out.push({ severity: 'info', code: 'pairing', title: 'how the captures were paired', detail: note });
    const order = { error: 0, warning: 1, info: 2 } as const;
    return out.sort((a, b) => order[a.severity] - order[b.severity]);
  }

  summary(c: StoredCapture): CaptureSummary {
    const ix = c.index;
    return {
      id: c.id,
      name: c.name,
      node: c.node,
      role: c.role,
      iface: c.iface ?? null,
      packets: ix.count,
      bytes: c.bytes,
      fileSize: ix.fileSize,
      format: ix.format ?? null,
      firstTsUs: ix.firstTsUs,
      lastTsUs: ix.lastTsUs,
      tunnelled: c.tunnelled,
      uploaded: c.uploaded,
      live: c.live,
      warnings: ix.warnings.slice(0, 20),
      error: ix.error ?? null,
    };
  }

  /** Stops following live captures and deletes the uploaded files. */
  close(): void {
    for (const run of this.runs.values()) if (run.timer) clearInterval(run.timer);
    for (const c of this.byId.values()) c.live = false;
    this.listeners.clear();
    if (this.uploadDir) rmSync(this.uploadDir, { recursive: true, force: true });
    this.uploadDir = undefined;
  }
}

function sourceOf(f: CaptureFileSpec): SideSource {
  const s: SideSource = { path: f.path, name: f.name, select: { kind: 'all' } };
  const iface = f.iface ?? splitCaptureName(f.name).iface;
  if (iface !== undefined && roleOfInterface(iface) !== 'any') s.iface = iface;
  return s;
}

/** The ifindex → name map that a session.json beside a `tcpdump -i any` capture records for it, if any. */
async function namesBeside(file: string): Promise<Map<number, string> | undefined> {
  const session = path.join(path.dirname(file), 'session.json');
  try {
    await stat(session);
  } catch {
    return undefined;
  }
  try {
    return (await readSessionIfindexNames(session, file)).names;
  } catch {
    return undefined; // a damaged session.json is reported where the session is read; names are a nicety here
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
