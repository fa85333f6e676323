/**
 *   GET /api/path                        the session's path report: every frame followed across the nodes
 *                                        (source bridge → source underlay → destination underlay →
 *                                        destination bridge), per direction and VNI: sent, delivered,
 *                                        lost per hop with reasons, per-hop p50/p99
 *   GET /api/path/frame?node=&side=&n=   one frame's journey: its four sightings with times, the
 *                                        per-hop times and each sighting's bytes as the packet detail
 *                                        draws them (n: the packet number the Packets view shows;
 *                                        side: overlay, the bridge, by default, or underlay)
 *
 * Both run the one path analysis (src/analysis/path.ts, what `vxlan-inspect path` prints) over the
 * files the store serves, each node's underlay and bridge with the clock offsets of its session.
 * The report is computed once per store generation (a capture added or grown makes a new one) and
 * kept; a frame's journey needs a pass of its own (the report keeps only the incomplete branches),
 * so the last FRAME_CACHE answers are kept and one analysis runs at a time: what the server holds
 * is the report (its lists are capped by the analysis) and a few journeys, whatever the traffic.
 * The report carries each node's recorded overlay configuration and its comparison with the
 * traffic (PathReport.config) as the analysis gives it, from the session.json of the folder served.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Router } from 'express';
import type {
  PathBranchView,
  PathFrameBranchView,
  PathFrameResponse,
  PathNodeView,
  PathResponse,
  PathSightingBytes,
  PathSightingView,
  Side,
} from '../api-types.js';
import {
  DEFAULT_PATH_WINDOW_US,
  followPaths,
  type FrameRef,
  type PathBranch,
  type PathNodeInput,
  type PathPoint,
  type PathReport,
  type PathSighting,
} from '../../analysis/path.js';
import { sidesOfOneFile } from '../../analysis/run.js';
import type { SideSource } from '../../analysis/sides.js';
import { SESSION_FILE, overlayConfigOf, parseSessionJson, type OverlayConfigRecord } from '../../capture/session-file.js';
import { summarizeLayers } from '../../decode/format/text.js';
import { decodePacket } from '../../decode/packet.js';
import { UsageError } from '../../errors.js';
import { frameOf, readRecords } from '../capture-index.js';
import { HttpError } from '../errors.js';
import { frameView } from '../packets.js';
import type { CaptureStore, StoredCapture } from '../store.js';
import { intParam, str, wrap } from './common.js';

/** Journeys kept (each a handful of branches). */
const FRAME_CACHE = 64;
/** The node and side each capture point is a sighting on. */
const POINT_SIDE: Record<PathPoint, { end: 'src' | 'dst'; side: Side }> = {
  srcBridge: { end: 'src', side: 'overlay' },
  srcUnderlay: { end: 'src', side: 'underlay' },
  dstUnderlay: { end: 'dst', side: 'underlay' },
  dstBridge: { end: 'dst', side: 'overlay' },
};

interface ServedNode {
  input: PathNodeInput;
  captures: Record<Side, StoredCapture>;
}

export interface Session {
  nodes: ServedNode[];
  /** Why no path can be followed (fewer than two nodes with both sides). */
  missing: string | null;
  /** Why the recorded configuration could not be read (a damaged nodes[].config): the paths are followed without it. */
  configProblem?: string;
}

/**
 * Each node's overlay configuration as `capture` or `check --save` recorded it in the served
 * folder's session.json (nodes[].config), through that file's one reader. Names the file as the
 * page does (session.json), never by its path on the server.
 */
async function recordedConfigs(dir: string | undefined): Promise<Map<string, OverlayConfigRecord>> {
  const out = new Map<string, OverlayConfigRecord>();
  if (dir === undefined) return out;
  let text: string;
  try {
    text = await readFile(path.join(dir, SESSION_FILE), 'utf8');
  } catch (err) {
    // no session.json: files paired by name, nothing recorded
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw new UsageError(`${SESSION_FILE} could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const json = parseSessionJson(text, SESSION_FILE);
  for (const [i, n] of json.nodes.entries()) {
    if (typeof n.name !== 'string') continue;
    const c = overlayConfigOf(n.config, `${SESSION_FILE}: nodes[${i}] (${n.name})`);
    if (c) out.set(n.name, c);
  }
  return out;
}

/** Packet n of a capture whose record number in its file is `frame` (the index keeps record numbers in order). */
function packetOfFrame(c: StoredCapture, frame: number): number | null {
  const col = c.index.frame;
  // no column: every packet's record number is its n
  if (!col) return Number.isInteger(frame) && frame >= 1 && frame <= c.index.count ? frame : null;
  let lo = 0;
  let hi = Math.min(c.index.count, col.length) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = col[mid] as number;
    if (v === frame) return mid + 1;
    if (v < frame) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

export class PathService {
  private report: { generation: number; body: Promise<PathResponse> } | undefined;
  private readonly frames = new Map<string, PathFrameResponse>();
  /** One analysis at a time: each reads every node's files. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: CaptureStore) {}

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The nodes the store serves with both sides, as the path analysis takes them. */
  private async session(): Promise<Session> {
    const nodes: ServedNode[] = [];
    let configs = new Map<string, OverlayConfigRecord>();
    let configProblem: string | undefined;
    try {
      configs = await recordedConfigs(this.store.dir);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      configProblem = `the recorded configuration is left out: ${err.message}`;
    }
    const partial: string[] = [];
    for (const n of this.store.nodes()) {
      const u = n.underlay ? this.store.capture(n.underlay) : undefined;
      const o = n.overlay ? this.store.capture(n.overlay) : undefined;
      if (!u || !o) {
        partial.push(`${n.name} (${u ? 'no bridge capture' : 'no underlay capture'})`);
        continue;
      }
      let underlay: SideSource;
      let overlay: SideSource;
      if (u.path === o.path) {
        // one file holding both sides (pcapng of two interfaces, tcpdump -i any): split as the store split it
        const one = await sidesOfOneFile(u.path, this.store.registry);
        underlay = { ...(one.pairing.underlay as SideSource), name: fileName(u) };
        overlay = { ...(one.pairing.overlay as SideSource), name: fileName(o) };
      } else {
        underlay = { path: u.path, name: u.name, select: { kind: 'all' }, ...(u.iface !== undefined ? { iface: u.iface } : {}) };
        overlay = { path: o.path, name: o.name, select: { kind: 'all' }, ...(o.iface !== undefined ? { iface: o.iface } : {}) };
      }
      const config = configs.get(n.name);
      nodes.push({
        input: {
          name: n.name,
          underlay,
          overlay,
          clockOffsetUs: n.clockOffsetUs,
          overlayClockOffsetUs: n.overlayClockOffsetUs,
          ...(config ? { config } : {}),
        },
        captures: { underlay: u, overlay: o },
      });
    }
    let missing: string | null = null;
    if (nodes.length < 2) {
      const have = nodes.length === 0 ? 'no node has' : `only ${nodes[0]?.input.name} has`;
      missing =
        'A path needs two or more nodes, each with its underlay (eth1) and bridge (vxlan_bridge) ' +
        `captured: ${have} both${partial.length ? `; ${partial.join(', ')}` : ''}. Capture both nodes ` +
        `(vxlan-inspect capture kvm1 kvm2) or upload each node's two files.`;
    }
    return { nodes, missing, ...(configProblem !== undefined ? { configProblem } : {}) };
  }

  private async run(s: Session, follow?: FrameRef): Promise<PathReport> {
    return followPaths(
      s.nodes.map((n) => n.input),
      {
        registry: this.store.registry,
        vxlanPorts: this.store.vxlanPorts,
        windowUs: DEFAULT_PATH_WINDOW_US,
        ...(follow ? { follow } : {}),
      },
    );
  }

  /** The session's report, computed once per store generation. */
  summary(): Promise<PathResponse> {
    const generation = this.store.generation;
    if (this.report?.generation !== generation) {
      const body = this.serialized(async () => {
        const s = await this.session();
        if (s.missing !== null) return unavailable(s.missing);
        try {
          return pathResponse(await this.run(s), s);
        } catch (err) {
          if (err instanceof UsageError) return unavailable(scrub(err.message, s));
          throw err;
        }
      });
      this.report = { generation, body };
      // a failure is not kept: the next request tries again
      body.catch(() => {
        if (this.report?.body === body) this.report = undefined;
      });
    }
    return this.report.body;
  }

  /** The journey of packet n of a node's side. */
  async frame(node: string, side: Side, n: number): Promise<PathFrameResponse> {
    const stored = this.store.node(node);
    const id = stored?.[side];
    const c = id ? this.store.capture(id) : undefined;
    if (!stored || !c)
      throw new HttpError(
        'VXI_WEB_NOT_FOUND',
        `no ${side === 'overlay' ? 'bridge' : 'underlay'} capture of node ${JSON.stringify(node)} (GET /api/session lists the nodes and their captures)`,
      );
    if (n > c.index.count) throw new HttpError('VXI_WEB_NOT_FOUND', `${c.name} has ${c.index.count} packets: there is no packet ${n}`);
    const frame = frameOf(c.index, n - 1);
    const key = `${this.store.generation}\u0000${node}\u0000${side}\u0000${frame}`;
    const hit = this.frames.get(key);
    if (hit) {
      this.frames.delete(key);
      this.frames.set(key, hit);
      return hit;
    }
    const body = await this.serialized(async (): Promise<PathFrameResponse> => {
      const s = await this.session();
      if (s.missing !== null) throw new HttpError('VXI_WEB_NOT_FOUND', s.missing);
      let r: PathReport;
      try {
        r = await this.run(s, { node, side, frame });
      } catch (err) {
        if (err instanceof UsageError) throw new HttpError('VXI_WEB_BAD_REQUEST', scrub(err.message, s));
        throw err;
      }
      const followed = r.followed;
      const branches: PathFrameBranchView[] = [];
      // a flooded frame's branches share its source sightings: each record is read once
      const read = new Map<string, Promise<PathSightingBytes | null>>();
      for (const b of followed?.branches ?? []) {
        const v = branchView(b, s);
        const bytes: PathFrameBranchView['bytes'] = {};
        for (const [p, at] of Object.entries(v.sightings) as [PathPoint, PathSightingView][]) {
          const pk = at.packet;
          const stored = pk ? this.store.capture(pk.captureId) : undefined;
          if (!pk || !stored) continue;
          const key = `${pk.captureId}\u0000${pk.n}`;
          let got = read.get(key);
          if (!got) read.set(key, (got = this.sightingBytes(stored, pk.n)));
          const one = await got;
          if (one) bytes[p] = one;
        }
        branches.push({ ...v, bytes });
      }
      return {
        ref: { node, side, n, frame },
        file: c.name,
        branches,
        note: followed?.note !== undefined ? scrub(followed.note, s) : null,
      };
    });
    this.frames.set(key, body);
    while (this.frames.size > FRAME_CACHE) {
      const oldest = this.frames.keys().next().value as string;
      this.frames.delete(oldest);
    }
    return body;
  }

  /**
   * Packet n of a capture as the packet detail draws it (its layers' fields with their bytes:
   * src/web/packets.ts frameView), for the byte view at each hop; null if it cannot be re-read.
   */
  private async sightingBytes(c: StoredCapture, n: number): Promise<PathSightingBytes | null> {
    const raw = (await readRecords(c.index, [n - 1])).get(n - 1);
    if (!raw) return null;
    const p = decodePacket(raw, n, { registry: this.store.registry });
    return {
      summary: summarizeLayers(p.layers),
      frame: frameView(p),
      hex: Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength).toString('hex'),
    };
  }
}

/** The report as the page takes it: each sighting with where the Packets view shows it, messages naming files as the page does. */
export function pathResponse(r: PathReport, s: Session): PathResponse {
  const nodes: PathNodeView[] = r.nodes.map((n) => {
    const served = s.nodes.find((x) => x.input.name === n.name);
    return { ...n, captures: { underlay: served?.captures.underlay.id ?? null, overlay: served?.captures.overlay.id ?? null } };
  });
  return {
    available: true,
    reason: null,
    windowUs: r.windowUs,
    nodes,
    paths: r.paths,
    totals: r.totals,
    incomplete: r.incomplete.map((b) => branchView(b, s)),
    listsCapped: r.listsCapped,
    notes: [...r.notes, ...(s.configProblem !== undefined ? [s.configProblem] : [])].map((x) => scrub(x, s)),
    inputErrors: r.inputErrors.map((e) => ({ ...e, message: scrub(e.message, s) })),
    config: {
      nodes: r.config.nodes,
      findings: r.config.findings.map((f) => ({
        ...f,
        message: scrub(f.message, s),
        evidence: { config: f.evidence.config.map((x) => scrub(x, s)), traffic: f.evidence.traffic.map((x) => scrub(x, s)) },
      })),
    },
  };
}

function branchView(b: PathBranch, s: Session): PathBranchView {
  const sightings: PathBranchView['sightings'] = {};
  for (const [p, at] of Object.entries(b.sightings) as [PathPoint, PathSighting][]) {
    const { side } = POINT_SIDE[p];
    const c = s.nodes.find((x) => x.input.name === at.node)?.captures[side];
    const n = c ? packetOfFrame(c, at.frame) : null;
    const v: PathSightingView = { ...at, packet: c && n !== null ? { captureId: c.id, side, n } : null };
    sightings[p] = v;
  }
  return { ...b, sightings };
}

function unavailable(reason: string): PathResponse {
  return {
    available: false,
    reason,
    windowUs: DEFAULT_PATH_WINDOW_US,
    nodes: [],
    paths: [],
    totals: { sent: 0, delivered: 0, lost: 0, notCaptured: 0, checksumOffload: 0 },
    incomplete: [],
    listsCapped: false,
    notes: [],
    inputErrors: [],
    config: { nodes: [], findings: [] },
  };
}

/** The file's name without the side a split file adds to the capture's name ("x.pcapng (eth1)"). */
function fileName(c: StoredCapture): string {
  return c.iface !== undefined && c.name.endsWith(` (${c.iface})`) ? c.name.slice(0, -(c.iface.length + 3)) : c.name;
}

/** Messages name files by the names the page shows, never by their path on the server. */
function scrub(message: string, s: Session): string {
  let out = message;
  for (const n of s.nodes) {
    for (const side of ['underlay', 'overlay'] as const) {
      const src = n.input[side];
      out = out.split(JSON.stringify(src.path)).join(JSON.stringify(src.name)).split(src.path).join(src.name);
    }
  }
  return out;
}

export function pathRoutes(store: CaptureStore): Router {
  const r = Router();
  const service = new PathService(store);

  r.get(
    '/api/path',
    wrap(async (_req, res) => {
      await store.analyzeAll();
      res.json(await service.summary());
    }),
  );

  r.get(
    '/api/path/frame',
    wrap(async (req, res) => {
      await store.analyzeAll();
      const node = str(req.query.node);
      if (!node)
        throw new HttpError(
          'VXI_WEB_BAD_REQUEST',
          'node= is required: the node whose capture holds the frame (GET /api/session lists them)',
        );
      const sideText = str(req.query.side) || 'overlay';
      if (sideText !== 'overlay' && sideText !== 'underlay')
        throw new HttpError('VXI_WEB_BAD_REQUEST', `side must be overlay (the bridge) or underlay, not ${JSON.stringify(sideText)}`);
      if (req.query.n === undefined || req.query.n === '')
        throw new HttpError('VXI_WEB_BAD_REQUEST', 'n= is required: the packet number as the Packets view shows it');
      const n = intParam(req.query.n, 'n', 1, 1, 0xffffffff);
      res.json(await service.frame(node, sideText, n));
    }),
  );

  return r;
}
