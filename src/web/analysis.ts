/**
 * The web view's one integration point with the correlation library (src/correlate): every
 * number the pages show about matching, topology and diagnostics comes through here.
 *
 * A node's two captures are correlated by the library's `correlateFiles` (streaming, bounded
 * memory); each match is written into the two capture indexes (`onMatch`), so the packet lists
 * can jump from a bridge frame to the underlay packet that carried it. If the library fails on
 * a file, a built-in matcher works on the indexes alone — same rule (same inner-frame bytes,
 * hash and length, nearest in time within the window), linear time — and `engineError` says why.
 * Diagnostics come from the library's Diagnostics (fed by the same pass); topology.ts and
 * diagnostics.ts compute what they can from the indexes alone.
 */
import { Diagnostics, correlateFiles, type CorrelationReport, type Match } from '../correlate/index.js';
import { formatIPv4, formatMac } from '../decode/format/addr.js';
import { FLAG, isGroupMac, type CaptureIndex } from './capture-index.js';
import { allAccountedFor, diagnoseFromIndexes } from './diagnostics.js';

// ---- what the web view shows ----

export interface Diagnostic {
  severity: 'info' | 'warning' | 'error';
  title: string;
  detail: string;
  /** Stable identifier (the library's codes, e.g. 'outer-fragment', 'unmatched-underlay:no-match'). */
  code?: string;
  count?: number;
  packets?: number[];
  /** Which node and side the packets belong to. */
  node?: string;
  side?: 'underlay' | 'overlay';
}

type VtepPairRow = CorrelationReport['byVtepPair'][number];

export interface NodeAnalysis {
  node: string;
  engine: 'correlate library' | 'built-in index matcher';
  engineError?: string;
  matched: number;
  underlayOnly: number;
  overlayOnly: number;
  /** Underlay packets that are not tunnelled (SSH, ARP of the underlay itself…). */
  underlayNotTunnelled: number;
  floodedFrames: number;
  latencyUs: { p50: number; p99: number; max: number };
  byVni: CorrelationReport['byVni'];
  byVtepPair: VtepPairRow[];
  unmatchedUnderlay: { n: number; reason: string }[];
  unmatchedOverlay: { n: number; reason: string }[];
  encapsulated: number;
  decapsulated: number;
  /** This node's VTEP address: the outer source of most of the packets it encapsulated. */
  localVtep: string | null;
  /** The library's diagnostics for this pair of captures (absent with the built-in matcher). */
  diagnostics?: Diagnostic[];
  /** Bytes the tunnel adds, from the matched pairs: outer length − inner length. */
  overhead: { packets: number; outerBytes: number; innerBytes: number; perPacket: number; percent: number };
}

export interface AnalyzeInput {
  node: string;
  underlay?: CaptureIndex;
  overlay?: CaptureIndex;
  windowUs: number;
  vxlanPorts: number[];
  /** Added to the bridge capture's timestamps to line them up with the underlay's (same node: normally 0). */
  overlayClockOffsetUs: number;
}

const MAX_LISTED = 500;

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}


/** Correlates one node's two captures and records each packet's partner in `index.match`. */
export async function analyzeNode(input: AnalyzeInput): Promise<NodeAnalysis> {
  const { underlay, overlay } = input;
  if (underlay && overlay && !useBuiltInMatcher) {
    try {
      return await withLibrary(input, underlay, overlay);
    } catch (err) {
      // a library failure must not take the page down: the built-in matcher still answers
      return { ...builtInMatch(input), engineError: (err as Error).message };
    }
  }
  return builtInMatch(input);
}

/** Tests set this to exercise the built-in matcher. */
let useBuiltInMatcher = false;
export function setBuiltInMatcher(on: boolean): void {
  useBuiltInMatcher = on;
}

async function withLibrary(input: AnalyzeInput, u: CaptureIndex, o: CaptureIndex): Promise<NodeAnalysis> {
  u.match.fill(0);
  o.match.fill(0);
  let outerBytes = 0;
  let innerBytes = 0;
  let pairs = 0;
  const votes = new Map<string, number>();
  // every match goes into the indexes (the report's own list is capped)
  const onMatch = (m: Match): void => {
    if (m.direction === 'encap') votes.set(m.vtepSrc, (votes.get(m.vtepSrc) ?? 0) + 1);
    const ui = m.underlay.n - 1;
    const oi = m.overlay.n - 1;
    if (ui < 0 || ui >= u.count || oi < 0 || oi >= o.count) return;
    u.match[ui] = m.overlay.n;
    // a flooded frame has several copies: the bridge frame points at the first
    if (o.match[oi] === 0 || m.underlay.n < (o.match[oi] as number)) o.match[oi] = m.underlay.n;
    outerBytes += u.wireLen[ui] as number;
    innerBytes += o.wireLen[oi] as number;
    pairs++;
  };
  const diag = new Diagnostics();
  const r = await correlateFiles(u.path, o.path, {
    windowUs: input.windowUs,
    vxlanPorts: input.vxlanPorts,
    overlayClockOffsetUs: input.overlayClockOffsetUs,
    maxListed: MAX_LISTED,
    onMatch,
    onPacket: (p, side) => diag.add(p, side),
  });
  diag.addCorrelation(r);
  const diagnostics: Diagnostic[] = diag.result().map((d) => {
    const x: Diagnostic = { severity: d.severity, title: d.title, detail: d.detail, code: d.code, count: d.count, packets: [...new Set(d.packets)] };
    if (d.side) x.side = d.side;
    return x;
  });
  if (r.matched > 0 && r.underlayOnly === 0 && r.overlayOnly === 0) diagnostics.push(allAccountedFor(r.matched));
  let notTunnelled = 0;
  for (let i = 0; i < u.count; i++) if (((u.flags[i] as number) & FLAG.tunnel) === 0) notTunnelled++;
  return {
    node: input.node,
    engine: 'correlate library',
    matched: r.matched,
    underlayOnly: r.underlayOnly,
    overlayOnly: r.overlayOnly,
    underlayNotTunnelled: notTunnelled,
    floodedFrames: r.floodedFrames,
    latencyUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99, max: r.latencyUs.max },
    byVni: r.byVni,
    byVtepPair: r.byVtepPair,
    unmatchedUnderlay: r.unmatchedUnderlay.slice(0, MAX_LISTED).map((x) => ({ n: x.n, reason: x.reason })),
    unmatchedOverlay: r.unmatchedOverlay.slice(0, MAX_LISTED).map((x) => ({ n: x.n, reason: x.reason })),
    encapsulated: r.encap,
    decapsulated: r.decap,
    localVtep: topVote(votes),
    diagnostics,
    overhead: overheadOf(pairs, outerBytes, innerBytes),
  };
}

function topVote(votes: Map<string, number>): string | null {
  let best: string | null = null;
  let most = 0;
  for (const [k, v] of votes) {
    if (v > most) {
      best = k;
      most = v;
    }
  }
  return best;
}

function overheadOf(packets: number, outerBytes: number, innerBytes: number): NodeAnalysis['overhead'] {
  const extra = outerBytes - innerBytes;
  return {
    packets,
    outerBytes,
    innerBytes,
    perPacket: packets ? Math.round((extra / packets) * 10) / 10 : 0,
    percent: outerBytes ? Math.round((extra / outerBytes) * 1000) / 10 : 0,
  };
}

/** Same inner bytes (hash + length), nearest in time within the window. */
function builtInMatch(input: AnalyzeInput): NodeAnalysis {
  const u = input.underlay;
  const o = input.overlay;
  const offset = input.overlayClockOffsetUs;
  const result: NodeAnalysis = {
    node: input.node, engine: 'built-in index matcher', matched: 0, underlayOnly: 0, overlayOnly: 0, underlayNotTunnelled: 0,
    floodedFrames: 0, latencyUs: { p50: 0, p99: 0, max: 0 }, byVni: {}, byVtepPair: [], unmatchedUnderlay: [], unmatchedOverlay: [],
    encapsulated: 0, decapsulated: 0, localVtep: null, overhead: overheadOf(0, 0, 0),
  };
  const votes = new Map<string, number>();
  u?.match.fill(0);
  o?.match.fill(0);
  const byHash = new Map<number, number[]>();
  if (o) {
    for (let i = 0; i < o.count; i++) {
      const h = o.hash[i] as number;
      let list = byHash.get(h);
      if (!list) byHash.set(h, (list = []));
      list.push(i);
    }
  }
  const timesMatched = o ? new Uint16Array(o.count) : new Uint16Array(0);
  const deltas: number[] = [];
  const pairs = new Map<string, VtepPairRow>();
  let outerBytes = 0;
  let innerBytes = 0;
  if (u) {
    for (let i = 0; i < u.count; i++) {
      const flags = u.flags[i] as number;
      if ((flags & FLAG.tunnel) === 0) {
        result.underlayNotTunnelled++;
        continue;
      }
      const vni = u.vni[i] as number;
      const t = u.tsUs[i] as number;
      let best = -1;
      let bestAbs = Infinity;
      for (const j of byHash.get(u.hash[i] as number) ?? []) {
        if (o!.hashLen[j] !== u.hashLen[i]) continue;
        const d = Math.abs(t - ((o!.tsUs[j] as number) + offset));
        if (d <= input.windowUs && d < bestAbs) {
          best = j;
          bestAbs = d;
        }
      }
      const vniRow = (result.byVni[String(vni)] ??= { matched: 0, underlayOnly: 0, packets: 0, bytes: 0 });
      vniRow.packets++;
      vniRow.bytes += u.wireLen[i] as number;
      const src = formatIPv4(u.outerSrc[i] as number);
      const dst = formatIPv4(u.outerDst[i] as number);
      const key = `${src}>${dst}/${vni}`;
      let pair = pairs.get(key);
      if (!pair) pairs.set(key, (pair = { src, dst, vni, packets: 0, bytes: 0, matched: 0 }));
      pair.packets++;
      pair.bytes += u.wireLen[i] as number;
      if (best < 0 || !o) {
        result.underlayOnly++;
        vniRow.underlayOnly++;
        if (result.unmatchedUnderlay.length < MAX_LISTED) {
          const reason = (flags & FLAG.outerFragment) !== 0
            ? 'outer IP fragment: the inner frame is split across packets'
            : (flags & (FLAG.truncated | FLAG.malformed)) !== 0
              ? 'truncated or malformed: the inner frame is not complete'
              : o ? `no bridge frame with the same bytes within ±${input.windowUs / 1000} ms (another VNI or bridge, or dropped before the bridge)` : 'no bridge capture for this node';
          result.unmatchedUnderlay.push({ n: i + 1, reason });
        }
        continue;
      }
      result.matched++;
      vniRow.matched++;
      pair.matched++;
      u.match[i] = best + 1;
      if (o.match[best] === 0) o.match[best] = i + 1;
      timesMatched[best] = Math.min(65535, (timesMatched[best] as number) + 1);
      const delta = t - ((o.tsUs[best] as number) + offset);
      deltas.push(Math.abs(delta));
      if (delta >= 0) result.encapsulated++;
      else result.decapsulated++;
      if (delta > 0) votes.set(src, (votes.get(src) ?? 0) + 1);
      outerBytes += u.wireLen[i] as number;
      innerBytes += o.wireLen[best] as number;
    }
  }
  if (o) {
    for (let j = 0; j < o.count; j++) {
      if ((timesMatched[j] as number) > 1) result.floodedFrames++;
      if (o.match[j] !== 0) continue;
      result.overlayOnly++;
      if (result.unmatchedOverlay.length < MAX_LISTED) {
        const dst = o.macDst[j] as number;
        const reason = !u
          ? 'no underlay capture for this node'
          : isGroupMac(dst)
            ? `${formatMac(dst)} is a broadcast/multicast address that no VXLAN packet carried: flooding stayed on this node (no remote VTEP in the forwarding table?)`
            : 'never left the node: no VXLAN packet carried it (guest ↔ bridge or local guests)';
        result.unmatchedOverlay.push({ n: j + 1, reason });
      }
    }
  }
  const sorted = Float64Array.from(deltas).sort();
  result.latencyUs = { p50: round1(percentile(sorted, 0.5)), p99: round1(percentile(sorted, 0.99)), max: round1(sorted.length ? (sorted[sorted.length - 1] as number) : 0) };
  result.byVtepPair = [...pairs.values()].sort((a, b) => b.packets - a.packets);
  result.overhead = overheadOf(result.matched, outerBytes, innerBytes);
  result.localVtep = topVote(votes);
  return result;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** The library's diagnostics when it correlated the node; otherwise computed from the indexes. */
export function diagnoseNode(a: NodeAnalysis, underlay: CaptureIndex | undefined, overlay: CaptureIndex | undefined): Diagnostic[] {
  if (a.diagnostics) return a.diagnostics.map((d) => ({ ...d, node: a.node }));
  return diagnoseFromIndexes(a, underlay, overlay);
}
