/**
 * What the path analysis needs to know of each node before it follows frames: a first run of the
 * one analysis (run.ts, the correlator only) over the node's two captures gives
 *
 *  - the node's VTEP (given, or inferred by the correlator from timing, or deduced from the others'),
 *    so the second run's correlator never holds matches back and every direction is known;
 *  - the correlator's reason for each unmatched frame (its first lists, bounded);
 *  - what the node's VXLAN device is configured with, as its traffic shows: the VNIs and UDP
 *    ports it sends with, the VNIs it decapsulates;
 *  - where MAC addresses live: behind the VTEP that sends them as inner source (the tunnel
 *    teaches it), else on the one node whose bridge alone shows them;
 *  - the time span of each capture (what a missing sighting can be blamed on).
 *
 * Every table is capped: memory stays bounded whatever the capture's length.
 */
import { analyzeCaptures } from '../run.js';
import { compareFromOf } from '../sides.js';
import { isGroupMac, macAt, outerVxlan, ipText } from '../../correlate/frame.js';
import type { CorrelationReport, Unmatched } from '../../correlate/types.js';
import type { DecoderRegistry } from '../../decode/registry.js';
import type { PathNodeInput } from './types.js';

/** MAC addresses remembered at most (the correlator's FDB cap). */
export const MAX_MACS = 100_000;
/** (VTEP, VNI, port) triples counted at most. */
const MAX_SENDS = 1024;

export interface NodeProfile {
  input: PathNodeInput;
  report: CorrelationReport;
  vtep: string | undefined;
  vtepFrom: 'given' | 'inferred' | 'deduced' | 'unknown';
  /** Underlay VXLAN packets by source VTEP, VNI and port: "vtep|vni|port" → packets. */
  sendsByVtep: Map<string, number>;
  /** The correlator's reason for unmatched frames, by packet number on their side (its first lists). */
  underlayReasons: Map<number, Unmatched>;
  overlayReasons: Map<number, Unmatched>;
  span: { underlay: [number, number] | null; overlay: [number, number] | null };
  inputErrors: { side: 'underlay' | 'overlay'; message: string }[];
}

/** Where MACs live, learnt from every node's captures. */
export class MacHomes {
  /** MAC → the VTEP last seen sending it as an inner source. */
  readonly byVtep = new Map<number, string>();
  /** MAC → bit mask of the nodes whose bridge showed it as a source. */
  readonly onBridge = new Map<number, number>();

  learnTunnel(mac: number, vtep: string): void {
    if (!Number.isFinite(mac) || isGroupMac(mac)) return;
    if (this.byVtep.size >= MAX_MACS && !this.byVtep.has(mac)) return;
    this.byVtep.set(mac, vtep);
  }

  learnBridge(mac: number, node: number): void {
    if (!Number.isFinite(mac) || isGroupMac(mac) || node > 30) return;
    const m = this.onBridge.get(mac);
    if (m === undefined && this.onBridge.size >= MAX_MACS) return;
    this.onBridge.set(mac, (m ?? 0) | (1 << node));
  }

  /**
   * Where a MAC lives: behind a VTEP (the tunnel says), or on one node (seen on that node's
   * bridge only, never in the tunnel: it never left), or unknown.
   */
  home(mac: number): { vtep: string } | { node: number } | undefined {
    const v = this.byVtep.get(mac);
    if (v !== undefined) return { vtep: v };
    const m = this.onBridge.get(mac);
    if (m !== undefined && (m & (m - 1)) === 0) return { node: Math.log2(m) };
    return undefined;
  }
}

/** An IPv4 (224/4) or IPv6 (ff00::/8) multicast address: a VXLAN group. */
export function isMulticastIp(ip: string): boolean {
  if (ip.includes(':')) return ip.toLowerCase().startsWith('ff');
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return first >= 224 && first <= 239;
}

/** The first run over one node's captures. */
export async function profileNode(input: PathNodeInput, index: number, homes: MacHomes, opts: { registry: DecoderRegistry; windowUs: number; vxlanPorts: number[]; signal?: AbortSignal }): Promise<NodeProfile> {
  opts.signal?.throwIfAborted();
  const sendsByVtep = new Map<string, number>();
  const compareFrom = compareFromOf(input.overlay);
  const run = await analyzeCaptures({ underlay: input.underlay, overlay: input.overlay }, {
    registry: opts.registry,
    correlationOnly: true,
    node: input.name,
    windowUs: opts.windowUs,
    vxlanPorts: opts.vxlanPorts,
    compareFrom,
    ...(input.overlayClockOffsetUs ? { overlayClockOffsetUs: input.overlayClockOffsetUs } : {}),
    ...(input.vtep !== undefined ? { localVtep: input.vtep } : {}),
    onPacket: (p, side) => {
      if (side === 'overlay') {
        // a Linux cooked bridge side has no Ethernet header: its source MAC is in the cooked header, not learnt here
        if (compareFrom === 'ethernet') homes.learnBridge(macAt(p.raw.data, 6), index);
        return;
      }
      const outer = outerVxlan(p);
      if (!outer) return;
      const src = ipText(outer.ip, 'src');
      const k = `${src}|${outer.vxlan.vni}|${outer.udp.dstPort}`;
      const n = sendsByVtep.get(k);
      if (n !== undefined || sendsByVtep.size < MAX_SENDS) sendsByVtep.set(k, (n ?? 0) + 1);
      const inner = p.raw.data.subarray(outer.vxlan.offset + outer.vxlan.length);
      homes.learnTunnel(macAt(inner, 6), src);
    },
  });
  const report = run.figures.correlation as CorrelationReport;
  const underlayReasons = new Map<number, Unmatched>();
  for (const u of report.unmatchedUnderlay) underlayReasons.set(u.n, u);
  const overlayReasons = new Map<number, Unmatched>();
  for (const o of report.unmatchedOverlay) overlayReasons.set(o.n, o);
  const vtep = input.vtep ?? report.localVtep;
  return {
    input,
    report,
    vtep,
    vtepFrom: input.vtep !== undefined ? 'given' : vtep !== undefined ? 'inferred' : 'unknown',
    sendsByVtep,
    underlayReasons,
    overlayReasons,
    span: run.figures.span,
    inputErrors: run.inputErrors,
  };
}

/**
 * A node whose VTEP the correlator could not infer (it sent nothing across its own bridge, say):
 * the one VTEP its matched traffic involves that no other node owns.
 */
export function deduceVteps(profiles: NodeProfile[]): void {
  const owned = (): Set<string> => new Set(profiles.flatMap((p) => (p.vtep !== undefined ? [p.vtep] : [])));
  for (const p of profiles) {
    if (p.vtep !== undefined) continue;
    const taken = owned();
    const cands = new Set<string>();
    for (const row of p.report.byVtepPair) {
      if (row.matched === 0) continue;
      for (const v of [row.src, row.dst]) if (!taken.has(v) && !isMulticastIp(v)) cands.add(v);
    }
    if (cands.size === 1) {
      p.vtep = [...cands][0];
      p.vtepFrom = 'deduced';
    }
  }
}

/** What a node's VXLAN device sends with, from its own traffic: [vni, port, packets], most used first. */
export function sendsOf(p: NodeProfile): { vni: number; port: number; packets: number }[] {
  if (p.vtep === undefined) return [];
  const out: { vni: number; port: number; packets: number }[] = [];
  for (const [k, packets] of p.sendsByVtep) {
    const [vtep, vni, port] = k.split('|');
    if (vtep === p.vtep) out.push({ vni: Number(vni), port: Number(port), packets });
  }
  return out.sort((a, b) => b.packets - a.packets);
}

/** VNIs the node decapsulated onto its bridge (matched packets to its VTEP). */
export function decapsulatesOf(p: NodeProfile): number[] {
  if (p.vtep === undefined) return [];
  const vnis = new Set<number>();
  for (const row of p.report.byVtepPair) if (row.dst === p.vtep && row.matched > 0) vnis.add(row.vni);
  return [...vnis].sort((a, b) => a - b);
}
