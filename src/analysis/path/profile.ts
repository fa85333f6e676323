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
 *  - the time span of each capture (what a missing sighting can be blamed on);
 *  - the largest frame each side carried and the ICMP "fragmentation needed" / "packet too big"
 *    messages seen (what an MTU finding rests on).
 *
 * Every table is capped: memory stays bounded whatever the capture's length.
 */
import { analyzeCaptures } from '../run.js';
import { compareFromOf } from '../sides.js';
import { isGroupMac, macAt, outerVxlan, ipText } from '../../correlate/frame.js';
import type { CorrelationReport, Unmatched } from '../../correlate/types.js';
import type { DecoderRegistry } from '../../decode/registry.js';
import type { DecodedPacket } from '../../decode/types.js';
import { tooBigOf, type TooBigSeen } from './too-big.js';
import type { PathNodeInput } from './types.js';

/** MAC addresses remembered at most (the correlator's FDB cap). */
export const MAX_MACS = 100_000;
/** (source VTEP, destination VTEP, VNI, port) tuples counted at most. */
const MAX_SENDS = 4096;
/** ICMP "too big" messages kept per node (all are counted). */
export const MAX_TOO_BIG = 32;

/** The largest frame seen: its wire length, its IP packet's length (what an MTU limits), and its record number. */
export interface Largest {
  len: number;
  ipLen: number;
  frame: number;
}

export interface NodeProfile {
  input: PathNodeInput;
  report: CorrelationReport;
  vtep: string | undefined;
  vtepFrom: 'given' | 'inferred' | 'deduced' | 'unknown';
  /** Underlay VXLAN packets by source VTEP, destination VTEP, VNI and port: "src|dst|vni|port" → packets. */
  sendsByVtep: Map<string, number>;
  /**
   * The largest non-TCP frame on the bridge, and the largest non-TCP inner frame this node's VTEP sent into the
   * tunnel (TCP super-frames are GSO/GRO: carriesTcp).
   */
  largest: { bridge: Largest | null; encapsulated: Largest | null };
  /** ICMP "fragmentation needed" / "packet too big" seen on the node's captures (first MAX_TOO_BIG), and how many. */
  tooBig: (TooBigSeen & { side: 'underlay' | 'overlay' })[];
  tooBigCount: number;
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
export async function profileNode(
  input: PathNodeInput,
  index: number,
  homes: MacHomes,
  opts: { registry: DecoderRegistry; windowUs: number; vxlanPorts: number[]; signal?: AbortSignal },
): Promise<NodeProfile> {
  opts.signal?.throwIfAborted();
  const sendsByVtep = new Map<string, number>();
  const largest: NodeProfile['largest'] = { bridge: null, encapsulated: null };
  let encapsulated: { big: Largest; src: string } | null = null;
  const tooBig: NodeProfile['tooBig'] = [];
  let tooBigCount = 0;
  const compareFrom = compareFromOf(input.overlay);
  const run = await analyzeCaptures(
    { underlay: input.underlay, overlay: input.overlay },
    {
      registry: opts.registry,
      correlationOnly: true,
      node: input.name,
      windowUs: opts.windowUs,
      vxlanPorts: opts.vxlanPorts,
      compareFrom,
      ...(input.overlayClockOffsetUs ? { overlayClockOffsetUs: input.overlayClockOffsetUs } : {}),
      ...(input.vtep !== undefined ? { localVtep: input.vtep } : {}),
      onPacket: (p, side, x) => {
        const big = tooBigOf(p, x.frame, x.tsUs);
        if (big) {
          tooBigCount += 1;
          if (tooBig.length < MAX_TOO_BIG) tooBig.push({ ...big, side });
        }
        if (side === 'overlay') {
          // a Linux cooked bridge side has no Ethernet header: its source MAC is in the cooked header, not learnt here
          if (compareFrom === 'ethernet') homes.learnBridge(macAt(p.raw.data, 6), index);
          if (!carriesTcp(p, 0) && (largest.bridge === null || p.raw.len > largest.bridge.len))
            largest.bridge = { len: p.raw.len, ipLen: ipLenOf(p, 0, p.raw.len - 14), frame: x.frame };
          return;
        }
        const outer = outerVxlan(p);
        if (!outer) return;
        const src = ipText(outer.ip, 'src');
        const k = `${src}|${ipText(outer.ip, 'dst')}|${outer.vxlan.vni}|${outer.udp.dstPort}`;
        const n = sendsByVtep.get(k);
        if (n !== undefined || sendsByVtep.size < MAX_SENDS) sendsByVtep.set(k, (n ?? 0) + 1);
        const at = outer.vxlan.offset + outer.vxlan.length;
        const inner = p.raw.data.subarray(at);
        homes.learnTunnel(macAt(inner, 6), src);
        if (input.vtep === undefined || src === input.vtep) {
          // the inner frame's wire length: what is left of the packet after the VXLAN header
          const innerLen = Math.max(0, p.raw.len - at);
          if (!carriesTcp(p, 1) && (encapsulated === null || innerLen > encapsulated.big.len))
            encapsulated = { big: { len: innerLen, ipLen: ipLenOf(p, 1, innerLen - 14), frame: x.frame }, src };
        }
      },
    },
  );
  const report = run.figures.correlation as CorrelationReport;
  const underlayReasons = new Map<number, Unmatched>();
  for (const u of report.unmatchedUnderlay) underlayReasons.set(u.n, u);
  const overlayReasons = new Map<number, Unmatched>();
  for (const o of report.unmatchedOverlay) overlayReasons.set(o.n, o);
  const vtep = input.vtep ?? report.localVtep;
  // the largest encapsulated frame is this node's only if its VTEP sent it (known only now)
  const enc = encapsulated as { big: Largest; src: string } | null;
  if (enc && (vtep === undefined || enc.src === vtep)) largest.encapsulated = enc.big;
  return {
    input,
    report,
    vtep,
    vtepFrom: input.vtep !== undefined ? 'given' : vtep !== undefined ? 'inferred' : 'unknown',
    sendsByVtep,
    largest,
    tooBig,
    tooBigCount,
    underlayReasons,
    overlayReasons,
    span: {
      underlay: widenSpan(run.figures.span.underlay, input.captureWindowUs?.underlay),
      overlay: widenSpan(run.figures.span.overlay, input.captureWindowUs?.overlay),
    },
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

/**
 * The packet carries TCP at tunnel depth `depth`. A capture on a host with TSO/GSO on the sender
 * or GRO on the receiver shows TCP super-frames far over the MTU (14046 bytes in fixtures/lab)
 * that the NIC or the stack cuts or merged: no evidence of an MTU problem, so the largest frame an
 * MTU finding rests on leaves TCP out. Fragments after the first carry no TCP header: they count
 * (a fragment is cut to the MTU, never merged).
 */
function carriesTcp(p: DecodedPacket, depth: number): boolean {
  return p.layers.some((l) => l.depth === depth && l.type === 'tcp');
}

/** The IP packet's length at tunnel depth `depth` (IPv4 total length, IPv6 payload + 40), else `fallback`. */
function ipLenOf(p: DecodedPacket, depth: number, fallback: number): number {
  for (const l of p.layers) {
    if (l.depth !== depth) continue;
    if (l.type === 'ipv4') return l.totalLength;
    if (l.type === 'ipv6') return l.payloadLength + 40;
  }
  return Math.max(0, fallback);
}

/** One row of the underlay's VXLAN packets: who sent to whom, on which VNI and port, how many. */
export interface VxlanFlow {
  src: string;
  dst: string;
  vni: number;
  port: number;
  packets: number;
}

/** Every (source VTEP, destination VTEP, VNI, port) the node's underlay capture carried. */
export function flowsOf(p: NodeProfile): VxlanFlow[] {
  const out: VxlanFlow[] = [];
  for (const [k, packets] of p.sendsByVtep) {
    const [src, dst, vni, port] = k.split('|');
    out.push({ src: src as string, dst: dst as string, vni: Number(vni), port: Number(port), packets });
  }
  return out;
}

/** What a node's VXLAN device sends with, from its own traffic: [vni, port, packets], most used first. */
export function sendsOf(p: NodeProfile): { vni: number; port: number; packets: number }[] {
  if (p.vtep === undefined) return [];
  const by = new Map<string, { vni: number; port: number; packets: number }>();
  for (const f of flowsOf(p)) {
    if (f.src !== p.vtep) continue;
    const k = `${f.vni}|${f.port}`;
    const row = by.get(k);
    if (row) row.packets += f.packets;
    else by.set(k, { vni: f.vni, port: f.port, packets: f.packets });
  }
  return [...by.values()].sort((a, b) => b.packets - a.packets);
}

/** VNIs the node decapsulated onto its bridge (matched packets to its VTEP). */
export function decapsulatesOf(p: NodeProfile): number[] {
  if (p.vtep === undefined) return [];
  const vnis = new Set<number>();
  for (const row of p.report.byVtepPair) if (row.dst === p.vtep && row.matched > 0) vnis.add(row.vni);
  return [...vnis].sort((a, b) => a - b);
}

/** A capture's span: its first and last frames, widened to the time it is known to have run. */
export function widenSpan(frames: [number, number] | null, ran: [number, number] | undefined): [number, number] | null {
  if (!ran || !(ran[0] <= ran[1])) return frames;
  if (!frames) return [ran[0], ran[1]];
  return [Math.min(frames[0], ran[0]), Math.max(frames[1], ran[1])];
}
