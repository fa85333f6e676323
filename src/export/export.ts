/**
 * `export`: a capture folder's analysis as Parquet, for engines people already run (DuckDB,
 * ClickHouse, Spark; Zeek, Arkime and Malcolm data joined by Community ID).
 *
 * The captures are read through the one analysis: the session's nodes and sides (nodes.ts: the
 * pairing rules of sides.ts and session.ts), then per node ONE pass (analysis/run.ts
 * analyzeCaptures) whose onPacket hook gives every packet of both sides and whose onMatch hook
 * gives the correlator's matches. A row is filled from the facts the pass read from the bytes
 * (x.facts, what `stats` counts from) and from the full decode (x.p) only for a packet the facts
 * do not describe, as node.ts counts. Nothing is decoded twice, nothing is matched but by the
 * correlator. What a packet hook does runs two million times for a 1M + 1M pair:
 * it writes numbers only (flow numbers from typed hash tables, no string, no object), and rows
 * stream into DuckDB (stage.ts) in chunks: memory is bounded by the correlator's window, the
 * flow tables' cap and DuckDB's memory limit, never by the capture's length. With `path`, the
 * rows' path columns come from `path`'s own run over the same nodes, before this pass (path-rows.ts).
 *
 *   OUTDIR/packets.parquet  one row per packet of every side of every node
 *   OUTDIR/flows.parquet    one row per flow (node, side, tunnel, VNI, outer and inner 5-tuple)
 *   OUTDIR/export.json      what was read, how it was paired, the correlator's counts
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeCaptures } from '../analysis/run.js';
import type { Side } from '../analysis/sides.js';
import type { Match } from '../correlate/types.js';
import { createRegistry } from '../decode/registry.js';
import type { PassPacket } from '../analysis/pass.js';
import { UsageError, VxiError } from '../errors.js';
import { sessionFromArgs } from '../web/session.js';
import { PacketFields } from './fields.js';
import { FlowTable, LinkTable } from './flows.js';
import { fileOf, interfaceOf, nodesOfSession } from './nodes.js';
import { type PathColumnsSummary, stagePathRows } from './path-rows.js';
import { CODE_LABEL_SHIFT, CODE_MALFORMED, CODE_TRUNCATED, MT, PK, Stage, type SourceRow, type StageOptions } from './stage.js';

/** Version of the files' schema (README "Export"); changes when a column changes meaning. */
export const EXPORT_SCHEMA_VERSION = 2;

export interface ExportOptions extends StageOptions {
  /** Folder the files are written to (made if missing; files of an earlier export there are replaced). */
  outDir: string;
  /** What every row's `capture` column says (default: the capture folder's name). */
  capture?: string;
  /** Largest time between a frame's two sightings, µs (default 1 s, as `correlate`). */
  windowUs?: number;
  /** Extra UDP ports decoded as VXLAN (beside session.json's, 4789 and 8472). */
  vxlanPorts?: number[];
  /** Community ID seed (default 0, what Zeek, Suricata and Arkime use unless told). */
  seed?: number;
  /**
   * Every row from the full decoder's layers, none from the facts read from the bytes: the
   * reference the fast way is checked against (src/export/exp3-facts-rows.test.ts); slower.
   */
  fullDecode?: boolean;
  /**
   * Fill the rows' path columns (path_hop, path_status, loss_reason) from `path`'s own run over
   * the folder (path-rows.ts): a second analysis of every node, off unless asked (README "Export": its cost).
   */
  path?: boolean;
}

export interface ExportedNode {
  node: string;
  rule: string;
  underlay: { file: string; interface: string; packets: number } | null;
  overlay: { file: string; interface: string; packets: number } | null;
  /** The correlator's counts (null: the node lacks a side). */
  correlation: { matched: number; underlayOnly: number; overlayOnly: number; encap: number; decap: number; floodedFrames: number } | null;
}

export interface ExportSummary {
  schemaVersion: number;
  capture: string;
  files: { packets: string; flows: string; manifest: string };
  packetRows: number;
  flowRows: number;
  nodes: ExportedNode[];
  notes: string[];
  /** Files left out, with why. */
  problems: string[];
  /** Whether `path` filled the rows' path columns, or why not. */
  path: PathColumnsSummary;
  /** A damaged capture: what was read before the damage is exported. */
  inputErrors: string[];
  /**
   * Seconds of the two phases — the pass over the captures (rows staged), then DuckDB's joins
   * and Parquet writing — on the clock, and of CPU time (every thread of the process).
   */
  seconds: { analysis: number; parquet: number; analysisCpu: number; parquetCpu: number };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** CPU seconds between two process.cpuUsage() readings. */
function cpuSeconds(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return round3((to.user - from.user + to.system - from.system) / 1e6);
}

/** The capture folder's name, or the folder of the first file given. */
function defaultCapture(args: readonly string[], dir: string | undefined): string {
  return path.basename(dir ?? path.dirname(path.resolve(args[0] ?? '.'))) || 'capture';
}

/** Exports the captures of `args` (a folder, or files and folders) to `opts.outDir`. */
export async function exportCaptures(args: readonly string[], opts: ExportOptions): Promise<ExportSummary> {
  if (args.length === 0) throw new UsageError('export needs a capture folder or capture files: export DIR --out OUTDIR');
  const spec = sessionFromArgs(args);
  const ports = [...new Set([...spec.vxlanPorts, ...(opts.vxlanPorts ?? [])])];
  const registry = createRegistry({ vxlanPorts: ports });
  const { nodes, notes, problems } = await nodesOfSession(spec, registry);
  if (nodes.length === 0) {
    const why = problems.length ? `: ${problems.join('; ')}` : '';
    throw new UsageError(
      `no capture to export in ${args.join(' ')} (pcap or pcapng files, named <node>-<interface>.pcap or listed in session.json)${why}`,
    );
  }
  const outDir = path.resolve(opts.outDir);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new VxiError('VXI_IO', `cannot make the output folder ${outDir}: ${(err as Error).message}`, { cause: err });
  }
  const capture = opts.capture ?? defaultCapture(args, spec.dir);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const stage = await Stage.open(mkdtempSync(path.join(outDir, '.vxi-export-')), opts);
  try {
    const labels = new Map<string, number>();
    const labelId = (name: string): number => {
      let id = labels.get(name);
      if (id === undefined) labels.set(name, (id = labels.size));
      return id;
    };
    const flows = new FlowTable((f) => stage.addFlow(f), opts.seed ?? 0);
    const links = new LinkTable((l) => stage.addLink(l));
    const fields = new PacketFields();
    const fullDecode = opts.fullDecode === true;
    const sources: SourceRow[] = [];
    const exported: ExportedNode[] = [];
    const inputErrors: string[] = [];
    const P = stage.packets;
    const M = stage.matches;
    // the columns, once (the hooks run for every packet)
    const cSrc = P.col(PK.src),
      cN = P.col(PK.n),
      cFrame = P.col(PK.frame),
      cSec = P.col(PK.sec),
      cUsec = P.col(PK.usec),
      cWire = P.col(PK.wireLen),
      cCap = P.col(PK.capLen);
    const cVni = P.col(PK.vni),
      cCodes = P.col(PK.codes),
      cOuter = P.col(PK.outerFlow),
      cInner = P.col(PK.innerFlow),
      cLink = P.col(PK.link),
      cType = P.col(PK.ethertype);
    const mSrc = M.col(MT.src),
      mN = M.col(MT.n),
      mPsrc = M.col(MT.psrc),
      mPn = M.col(MT.pn);
    const mDir = M.col(MT.dir),
      mDelta = M.col(MT.delta),
      mFlood = M.col(MT.flood),
      mCopies = M.col(MT.copies),
      mVni = M.col(MT.vni);
    const matchRow = (src: number, n: number, psrc: number, pn: number, m: Match, copies: number): void => {
      const i = M.at;
      mSrc[i] = src;
      mN[i] = n;
      mPsrc[i] = psrc;
      mPn[i] = pn;
      mDir[i] = m.direction === 'encap' ? 0 : 1;
      mDelta[i] = m.deltaUs;
      mFlood[i] = m.flood ? 1 : 0;
      mCopies[i] = copies;
      mVni[i] = m.vni;
      M.next();
    };
    // Some packet has two match rows: the correlator gives a bridge frame's matches one after the
    // other, in the order of the bridge frames; should they ever come apart, the rows are folded.
    let dedupe = false;
    let lastLabel = '';
    let lastLabelId = -1;

    // path first: while it runs, DuckDB holds only its sightings (four numbers each), not the packet rows
    const pathCodes = new Map<string, number>();
    const pathColumns: PathColumnsSummary =
      opts.path === true
        ? await stagePathRows({
            dir: spec.dir,
            nodes,
            registry,
            vxlanPorts: ports,
            windowUs: opts.windowUs ?? 1_000_000,
            table: stage.pathSightings,
            codeId: (code) => {
              let id = pathCodes.get(code);
              if (id === undefined) pathCodes.set(code, (id = pathCodes.size));
              return id;
            },
          })
        : { followed: false, why: 'not asked for (export --path)' };

    for (const [k, node] of nodes.entries()) {
      const { pairing } = node;
      const paired = pairing.underlay !== undefined && pairing.overlay !== undefined;
      const srcId = { underlay: 2 * k, overlay: 2 * k + 1 };
      for (const side of ['underlay', 'overlay'] as const) {
        const s = pairing[side];
        if (s)
          sources.push({
            id: srcId[side],
            node: pairing.node,
            side,
            interface: interfaceOf(s, side),
            file: fileOf(s),
            paired,
            split: s.select.kind !== 'all',
          });
      }
      const clock = node.clockOffsetUs;
      const counts = { underlay: 0, overlay: 0 };
      const onPacket = (x: PassPacket): void => {
        const side = x.side;
        // the facts the pass read from the bytes when they say it all, else the full decode (as node.ts counts)
        const facts = fullDecode ? undefined : x.facts;
        let bad = 0;
        if (facts === undefined || !fields.fromFacts(facts, side)) {
          const p = x.p;
          fields.read(p, side);
          bad = (p.error ? CODE_MALFORMED : 0) | (p.truncated ? CODE_TRUNCATED : 0);
        }
        const f = fields;
        if (f.protocol !== lastLabel) {
          lastLabel = f.protocol;
          lastLabelId = labelId(f.protocol);
        }
        counts[side]++;
        const i = P.at;
        cSrc[i] = srcId[side];
        cN[i] = x.n;
        cFrame[i] = x.frame;
        const us = x.tsUs - clock;
        const sec = Math.floor(us / 1e6);
        cSec[i] = sec;
        cUsec[i] = Math.round(us - sec * 1e6);
        cWire[i] = x.raw.len;
        cCap[i] = x.raw.caplen;
        cVni[i] = f.vni;
        cCodes[i] = f.tunnel | bad | (lastLabelId << CODE_LABEL_SHIFT);
        cOuter[i] = f.hasOuter ? flows.idOf(f.outer) : -1;
        cInner[i] = f.hasInner ? flows.idOf(f.inner) : -1;
        cLink[i] = f.hasInner ? links.idOf(f.inner) : -1;
        cType[i] = f.hasInner ? f.inner.ethertype : -1;
        P.next();
      };
      // a bridge frame's row waits for its last copy (matches of one frame come one after another)
      let pending: { m: Match; copies: number } | undefined;
      let lastOverlayN = 0;
      const flushPending = (): void => {
        if (!pending) return;
        const { m, copies } = pending;
        if (m.overlay.n <= lastOverlayN) dedupe = true;
        lastOverlayN = m.overlay.n;
        matchRow(srcId.overlay, m.overlay.n, srcId.underlay, m.underlay.n, m, copies);
        pending = undefined;
      };
      const onMatch = (m: Match): void => {
        matchRow(srcId.underlay, m.underlay.n, srcId.overlay, m.overlay.n, m, 0);
        if (pending && pending.m.overlay.n === m.overlay.n) {
          pending.copies++;
          if (m.deltaUs < pending.m.deltaUs) pending.m = { ...pending.m, deltaUs: m.deltaUs };
        } else {
          flushPending();
          pending = { m, copies: 1 };
        }
      };
      const run = await analyzeCaptures(pairing, {
        registry,
        node: pairing.node,
        correlationOnly: true,
        windowUs: opts.windowUs ?? 1_000_000,
        vxlanPorts: ports,
        overlayClockOffsetUs: node.overlayClockOffsetUs,
        // the export keeps its own rows: the report's lists stay short
        maxListed: 0,
        // the pass's packet, undecoded: the hook asks x.p itself where the facts do not do
        onPass: onPacket,
        onMatch,
      });
      flushPending();
      for (const e of run.inputErrors) inputErrors.push(`node ${pairing.node}: ${e.message}`);
      const c = run.figures.correlation;
      const sideOf = (side: Side): ExportedNode['underlay'] => {
        const s = pairing[side];
        if (!s) return null;
        return { file: fileOf(s), interface: interfaceOf(s, side), packets: counts[side] };
      };
      exported.push({
        node: pairing.node,
        rule: pairing.rule,
        underlay: sideOf('underlay'),
        overlay: sideOf('overlay'),
        correlation: c
          ? {
              matched: c.matched,
              underlayOnly: c.underlayOnly,
              overlayOnly: c.overlayOnly,
              encap: c.encap,
              decap: c.decap,
              floodedFrames: c.floodedFrames,
            }
          : null,
      });
    }

    const t1 = performance.now();
    const c1 = process.cpuUsage();
    await stage.addSources(sources);
    await stage.addLabels(labels);
    await stage.addLabels(pathCodes, 'pcode');
    const written = await stage.write(outDir, {
      capture,
      anySplit: sources.some((s) => s.split),
      dedupe,
      renumbered: flows.restarted || links.restarted,
      pathRows: pathColumns.followed,
    });
    notes.push(...stage.notes);
    const manifest = path.join(outDir, 'export.json');
    const summary: ExportSummary = {
      schemaVersion: EXPORT_SCHEMA_VERSION,
      capture,
      files: { packets: written.packets, flows: written.flows, manifest },
      packetRows: written.packetRows,
      flowRows: written.flowRows,
      nodes: exported,
      notes,
      problems,
      path: pathColumns,
      inputErrors,
      seconds: {
        analysis: round3((t1 - t0) / 1000),
        parquet: round3((performance.now() - t1) / 1000),
        analysisCpu: cpuSeconds(c0, c1),
        parquetCpu: cpuSeconds(c1, process.cpuUsage()),
      },
    };
    writeFileSync(manifest, `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    stage.close();
  }
}
