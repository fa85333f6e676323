/**
 * The capture store: the captures a server shows, each indexed once, grouped by node (the
 * underlay interface and the bridge of one machine), with each node's correlation computed
 * when its captures change. Captures are known to the outside by short ids (c1, c2…), never
 * by path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRegistry, type DecoderRegistry } from '../decode/registry.js';
import { isVxiError } from '../errors.js';
import { CaptureFollower, FLAG, NotACaptureError, buildCaptureIndex, type CaptureIndex } from './capture-index.js';
import { analyzeNode, diagnoseNode, type Diagnostic, type NodeAnalysis } from './analysis.js';
import { topologyFromIndexes, type Topology } from './topology.js';
import type { CaptureFileSpec, Role, SessionSpec } from './session.js';
import { specForFile } from './session.js';

export interface StoredCapture {
  id: string;
  name: string;
  node: string;
  role: Exclude<Role, 'unknown'>;
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
  analysis?: NodeAnalysis;
  diagnostics?: Diagnostic[];
}

export interface StoreOptions {
  /** Correlation window (default 100 ms). */
  windowUs?: number;
  /** Extra UDP ports decoded as VXLAN. */
  vxlanPorts?: number[];
}

export interface CaptureSummary {
  id: string;
  name: string;
  node: string;
  role: 'underlay' | 'overlay';
  iface: string | null;
  packets: number;
  bytes: number;
  fileSize: number;
  format: string | null;
  firstTsUs: number;
  lastTsUs: number;
  tunnelled: number;
  uploaded: boolean;
  live: boolean;
  warnings: string[];
  error: string | null;
}

export class CaptureStore {
  readonly registry: DecoderRegistry;
  readonly windowUs: number;
  readonly vxlanPorts: number[];
  readonly dir: string | undefined;
  /** Files that could not be loaded, with the reason (shown on the page). */
  readonly problems: string[] = [];
  private readonly byId = new Map<string, StoredCapture>();
  private readonly nodeMap = new Map<string, StoredNode>();
  /** Changes whenever a capture is added (cached filters over match columns are then stale). */
  generation = 0;
  private nextId = 1;
  private uploadDir: string | undefined;
  private topologyCache: Topology | undefined;
  private readonly running = new Map<string, Promise<NodeAnalysis>>();
  private readonly followers = new Map<string, { timer: NodeJS.Timeout; poll: () => Promise<void> }>();
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
    for (const n of spec?.nodes ?? []) this.nodeMap.set(n.name, { name: n.name, clockOffsetUs: n.clockOffsetUs, overlayClockOffsetUs: n.overlayClockOffsetUs });
  }

  /** Indexes every file of the session (a file that is not a capture is reported, not fatal). */
  static async open(spec: SessionSpec | undefined, opts: StoreOptions = {}): Promise<CaptureStore> {
    const store = new CaptureStore(spec, opts);
    store.problems.push(...(spec?.skipped ?? []));
    for (const f of spec?.files ?? []) {
      try {
        await store.add(f, false);
      } catch (err) {
        // the page is open to anyone who reaches it: nothing of a file that is not a capture is shown
        const reason = err instanceof NotACaptureError ? 'not a pcap or pcapng capture file (what it holds is not shown here; `vxlan-inspect decode FILE` says)' : isVxiError(err) ? err.message : (err as Error).message;
        store.problems.push(`${f.name}: ${reason}`);
      }
    }
    await store.analyzeAll();
    return store;
  }

  /** Indexes a file and files it under its node; the node's correlation is recomputed. */
  async add(spec: CaptureFileSpec, uploaded: boolean, maxPackets?: number): Promise<StoredCapture> {
    const index = await buildCaptureIndex(spec.path, { registry: this.registry, ...(maxPackets !== undefined ? { maxPackets } : {}) });
    return this.file(spec, index, uploaded);
  }

  /**
   * Follows a capture file that is still being written (a live capture): it is indexed now and
   * again every `intervalMs`; each time packets were added, the node's correlation is redone
   * and `onChange` listeners hear of it. `role` must be known (the file may still be empty).
   */
  async follow(spec: CaptureFileSpec & { role: 'underlay' | 'overlay' }, intervalMs = 1000): Promise<StoredCapture> {
    const follower = new CaptureFollower(spec.path, { registry: this.registry });
    await follower.poll();
    const c = this.file(spec, follower.index, false);
    c.live = true;
    let running: Promise<void> | undefined;
    const poll = (): Promise<void> => {
      // one read at a time: a poll asked for while one runs waits for it, then reads again
      const next: Promise<void> = (running ?? Promise.resolve()).then(async () => {
        const before = c.index.count;
        try {
          const added = await follower.poll();
          if (added > 0) this.grown(c, before);
        } catch (err) {
          this.problems.push(`${c.name}: live capture stopped: ${(err as Error).message}`);
          this.unfollow(c.id);
        }
      });
      const tracked: Promise<void> = next.finally(() => {
        if (running === tracked) running = undefined;
      });
      running = tracked;
      return next;
    };
    const timer = setInterval(() => {
      if (!running) void poll();
    }, intervalMs);
    timer.unref();
    this.followers.set(c.id, { timer, poll });
    return c;
  }

  /** Reads what a followed capture got since the last poll, then stops following it (its writer is done). */
  async settle(id: string): Promise<void> {
    const f = this.followers.get(id);
    if (!f) return;
    await f.poll();
    this.unfollow(id);
  }

  /** Stops following a live capture (what was indexed stays). */
  unfollow(id: string): void {
    const t = this.followers.get(id);
    if (t) clearInterval(t.timer);
    this.followers.delete(id);
    const c = this.byId.get(id);
    if (c) c.live = false;
  }

  /** Called when a change listener should hear about a capture (added or grown). */
  onChange(listener: (c: StoredCapture) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private grown(c: StoredCapture, before: number): void {
    const ix = c.index;
    for (let i = before; i < ix.count; i++) {
      c.bytes += ix.wireLen[i] as number;
      if (((ix.flags[i] as number) & FLAG.tunnel) !== 0) c.tunnelled++;
    }
    this.changed(c);
  }

  private changed(c: StoredCapture): void {
    this.generation++;
    const node = this.nodeMap.get(c.node);
    if (node) {
      node.analysis = undefined;
      node.diagnostics = undefined;
    }
    this.topologyCache = undefined;
    for (const l of this.listeners) l(c);
  }

  /** Files an indexed capture under its node. */
  private file(spec: CaptureFileSpec, index: CaptureIndex, uploaded: boolean): StoredCapture {
    let role: 'underlay' | 'overlay';
    if (spec.role !== 'unknown') role = spec.role;
    else {
      let tunnelled = 0;
      for (let i = 0; i < index.count; i++) if (((index.flags[i] as number) & FLAG.tunnel) !== 0) tunnelled++;
      role = index.count > 0 && tunnelled * 2 >= index.count ? 'underlay' : 'overlay';
    }
    let nodeName = spec.node;
    let node = this.nodeMap.get(nodeName);
    for (let k = 2; node && node[role] !== undefined; k++) {
      nodeName = `${spec.node}-${k}`;
      node = this.nodeMap.get(nodeName);
    }
    if (!node) {
      node = { name: nodeName, clockOffsetUs: 0, overlayClockOffsetUs: 0 };
      this.nodeMap.set(nodeName, node);
    }
    const id = `c${this.nextId++}`;
    const c: StoredCapture = { id, name: spec.name, node: nodeName, role, path: spec.path, index, uploaded, bytes: 0, tunnelled: 0, live: false };
    if (spec.iface) c.iface = spec.iface;
    this.byId.set(id, c);
    node[role] = id;
    this.grown(c, 0);
    return c;
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

  /** A file written to the upload folder (see uploadPath), under the name the user gave it; at most `maxPackets` are indexed. */
  async addUpload(tempPath: string, originalName: string, maxPackets?: number): Promise<StoredCapture> {
    const c = await this.add(specForFile(tempPath, originalName), true, maxPackets);
    this.uploadedBytes += c.index.fileSize;
    await this.analyze(c.node);
    return c;
  }

  /** A fresh path in the store's private upload folder. */
  uploadPath(): string {
    this.uploadDir ??= mkdtempSync(path.join(tmpdir(), 'vxi-uploads-'));
    return path.join(this.uploadDir, `upload-${this.nextId}-${Date.now()}.bin`);
  }

  async analyzeAll(): Promise<void> {
    for (const n of this.nodeMap.keys()) await this.analyze(n);
  }

  async analyze(nodeName: string): Promise<NodeAnalysis | undefined> {
    const node = this.nodeMap.get(nodeName);
    if (!node) return undefined;
    if (node.analysis) return node.analysis;
    // one correlation per node at a time: concurrent requests wait for the same one
    const running = this.running.get(nodeName);
    if (running) return running;
    const p = this.runAnalysis(node).finally(() => this.running.delete(nodeName));
    this.running.set(nodeName, p);
    return p;
  }

  private async runAnalysis(node: StoredNode): Promise<NodeAnalysis> {
    const nodeName = node.name;
    const u = node.underlay ? this.byId.get(node.underlay)?.index : undefined;
    const o = node.overlay ? this.byId.get(node.overlay)?.index : undefined;
    const ids = `${node.underlay}/${node.overlay}`;
    const a = await analyzeNode({ node: nodeName, underlay: u, overlay: o, windowUs: this.windowUs, vxlanPorts: this.vxlanPorts, overlayClockOffsetUs: node.overlayClockOffsetUs });
    // a capture added to the node meanwhile makes this result stale: keep it only if not
    if (ids === `${node.underlay}/${node.overlay}`) {
      node.analysis = a;
      node.diagnostics = diagnoseNode(a, u, o);
    }
    return a;
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

  topology(): Topology {
    this.topologyCache ??= topologyFromIndexes(this.captures().filter((c) => c.role === 'underlay').map((c) => ({ node: c.node, index: c.index })));
    return this.topologyCache;
  }

  /** Which node each VTEP address belongs to (the outer source of the packets it encapsulated). */
  localVteps(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const n of this.nodes()) if (n.analysis?.localVtep) out[n.analysis.localVtep] = n.name;
    return out;
  }

  diagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const n of this.nodes()) out.push(...(n.diagnostics ?? []));
    for (const p of this.problems) out.push({ severity: 'error', title: 'a file could not be read', detail: p });
    const order = { error: 0, warning: 1, info: 2 } as const;
    return out.sort((a, b) => order[a.severity] - order[b.severity]);
  }

  summary(c: StoredCapture): CaptureSummary {
    const ix = c.index;
    return {
      id: c.id, name: c.name, node: c.node, role: c.role, iface: c.iface ?? null, packets: ix.count, bytes: c.bytes, fileSize: ix.fileSize,
      format: ix.format ?? null, firstTsUs: ix.firstTsUs, lastTsUs: ix.lastTsUs, tunnelled: c.tunnelled, uploaded: c.uploaded, live: c.live,
      warnings: ix.warnings.slice(0, 20), error: ix.error ?? null,
    };
  }

  /** Stops following live captures and deletes the uploaded files. */
  close(): void {
    for (const id of [...this.followers.keys()]) this.unfollow(id);
    this.listeners.clear();
    if (this.uploadDir) rmSync(this.uploadDir, { recursive: true, force: true });
    this.uploadDir = undefined;
  }
}
