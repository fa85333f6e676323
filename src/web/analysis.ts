/**
 * What the page shows about a node, read from the node's one analysis (src/analysis/node.ts):
 * matching, direction, floods, latency and reasons from its correlator; counts per VNI and VTEP
 * pair and the overhead from its statistics (the same counter as `stats --json`). Nothing is
 * computed here that another module already owns; this only shapes the figures for the page.
 */
import type { Diagnostic as LibraryDiagnostic } from '../correlate/diagnostics.js';
import type { CorrelationReport } from '../correlate/types.js';
import type { Diagnostic, NodeAnalysis, VniRow, VtepPairRow } from './api-types.js';
import type { NodeFigures } from '../analysis/node.js';
import type { PairRule } from '../analysis/sides.js';
import type { Topology, TopologyVni, TopologyVtep } from '../correlate/topology.js';

// The shapes the page receives are defined once, in api-types.ts (shared with the browser client).
export type { Diagnostic, NodeAnalysis, VniRow, VtepPairRow } from './api-types.js';

const MAX_LISTED = 500;

function tunnelledPackets(f: NodeFigures): number {
  const s = f.stats.underlay;
  return s ? s.overhead.packets : 0;
}

/** The page's view of a node's figures. */
export function nodeAnalysis(f: NodeFigures, pairedBy: PairRule | null): NodeAnalysis {
  const r: CorrelationReport | null = f.correlation;
  const s = f.stats.underlay;
  const byVni: Record<string, VniRow> = {};
  for (const [vni, c] of Object.entries(s?.vxlan.byVni ?? {})) {
    const cv = r?.byVni[vni];
    byVni[vni] = { packets: c.packets, bytes: c.bytes, matched: cv?.matched ?? 0, underlayOnly: cv?.underlayOnly ?? 0 };
  }
  const matchedOf = new Map<string, number>();
  for (const p of r?.byVtepPair ?? []) matchedOf.set(`${p.src}>${p.dst}/${p.vni}`, p.matched);
  const byVtepPair: VtepPairRow[] = (s?.vtepPairs ?? []).map((p) => ({
    src: p.src,
    dst: p.dst,
    vni: p.vni ?? -1,
    packets: p.packets,
    bytes: p.bytes,
    matched: matchedOf.get(`${p.src}>${p.dst}/${p.vni}`) ?? 0,
  }));
  const tunnelled = tunnelledPackets(f);
  const overhead =
    s && s.overhead.packets > 0
      ? {
          packets: s.overhead.packets,
          bytes: s.overhead.bytes,
          perPacket: Math.round((s.overhead.bytes / s.overhead.packets) * 10) / 10,
          percent: s.overhead.percent,
        }
      : null;
  const list = (xs: readonly { n: number; reason: string; code: string }[]): { n: number; reason: string; code: string }[] =>
    xs.slice(0, MAX_LISTED).map((x) => ({ n: x.n, reason: x.reason, code: x.code }));
  return {
    node: f.node,
    pairedBy,
    correlated: r !== null,
    disjoint: f.disjoint,
    matched: r?.matched ?? 0,
    underlayOnly: r?.underlayOnly ?? 0,
    overlayOnly: r?.overlayOnly ?? 0,
    vxlanPackets: s?.vxlan.packets ?? 0,
    underlayNotTunnelled: s ? s.packets - tunnelled : 0,
    floodedFrames: r?.floodedFrames ?? 0,
    latencyUs: r && r.matched > 0 ? { p50: r.latencyUs.p50, p99: r.latencyUs.p99, max: r.latencyUs.max } : null,
    byVni,
    byVtepPair,
    unmatchedUnderlay: list(r?.unmatchedUnderlay ?? []),
    unmatchedOverlay: list(r?.unmatchedOverlay ?? []),
    encapsulated: r?.encap ?? 0,
    decapsulated: r?.decap ?? 0,
    localVtep: r?.localVtep ?? null,
    overhead,
  };
}

/** The node's diagnostics as the page lists them: the library's, plus what the pairing knows. */
export function nodeDiagnostics(f: NodeFigures, a: NodeAnalysis): Diagnostic[] {
  const out: Diagnostic[] = f.diagnostics.map((d: LibraryDiagnostic) => {
    const x: Diagnostic = {
      severity: d.severity,
      title: d.title,
      detail: d.detail,
      code: d.code,
      count: d.count,
      packets: [...new Set(d.packets)],
      node: f.node,
    };
    if (d.side) x.side = d.side;
    return x;
  });
  if (f.disjoint && f.span.underlay && f.span.overlay) {
    const iso = (us: number): string => new Date(us / 1000).toISOString().replace('T', ' ').slice(0, 23);
    out.push({
      severity: 'warning',
      code: 'captures-do-not-overlap',
      node: f.node,
      title: 'the two captures do not overlap in time',
      detail:
        `The underlay capture runs ${iso(f.span.underlay[0])} – ${iso(f.span.underlay[1])} UTC, ` +
        `the bridge capture ${iso(f.span.overlay[0])} – ${iso(f.span.overlay[1])} UTC: ` +
        'no frame can be matched. Capture both at once (vxlan-inspect capture NODE), ' +
        'or give the clock offset in session.json.',
    });
  }
  if (a.correlated && a.matched > 0 && a.underlayOnly === 0 && a.overlayOnly === 0) {
    out.push({
      severity: 'info',
      code: 'all-accounted-for',
      node: f.node,
      title: `all ${a.matched} tunnelled frames accounted for`,
      detail:
        'Every VXLAN packet on the underlay carried a frame seen on the bridge, and every bridge frame that left the node was seen on the underlay.',
    });
  }
  return out;
}

export interface PageTopology extends Topology {
  vteps: (TopologyVtep & { vnis: (TopologyVni & { hosts: { mac: string; ips: string[] }[] })[] })[];
}

/** The session topology with each VNI's hosts (inner MAC and its addresses) taken from the learnt forwarding table. */
export function pageTopology(t: Topology): PageTopology {
  const hosts = new Map<string, { mac: string; ips: string[] }[]>();
  for (const e of t.fdb) {
    const key = `${e.vtep}|${e.vni}`;
    const list = hosts.get(key) ?? [];
    list.push({ mac: e.mac, ips: e.ips });
    hosts.set(key, list);
  }
  return { ...t, vteps: t.vteps.map((v) => ({ ...v, vnis: v.vnis.map((r) => ({ ...r, hosts: hosts.get(`${v.ip}|${r.vni}`) ?? [] })) })) };
}
