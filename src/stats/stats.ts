/**
 * Statistics over a capture: totals, VXLAN per VNI, per VTEP pair (outer IP pair), the inner
 * MACs seen behind each VTEP, top inner flows, encapsulation overhead, malformed count.
 * One pass, memory bounded by the number of distinct VNIs/VTEPs/flows (capped).
 */
import type { DecodedPacket, GeneveLayer, Ipv4Layer, Ipv6Layer, Layer, VxlanGpeLayer, VxlanLayer } from '../decode/types.js';
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';

/** Distinct flows tracked at most; beyond, new flows are counted in `flowsDropped`. */
export const MAX_TRACKED_FLOWS = 100_000;
/** Inner MACs remembered per VTEP at most. */
export const MAX_MACS_PER_VTEP = 4096;

export interface CountBytes {
  packets: number;
  bytes: number;
}

export interface VtepPairStats extends CountBytes {
  src: string;
  dst: string;
  vni: number;
}

export interface FlowStats extends CountBytes {
  /** e.g. "10.220.220.5 > 10.220.220.6 ICMP" or "10.220.220.5:40000 > 10.220.220.6:5201 TCP". */
  flow: string;
  vni: number | null;
}

export interface CaptureStats {
  packets: number;
  /** Bytes on the wire (sum of original lengths). */
  bytes: number;
  capturedBytes: number;
  firstTs: number | null;
  lastTs: number | null;
  durationSec: number;
  linkTypes: Record<string, number>;
  /** Layer type → packets containing it (at any depth). */
  protocols: Record<string, number>;
  vxlan: {
    packets: number;
    bytes: number;
    byVni: Record<string, CountBytes>;
    ports: Record<string, number>;
  };
  geneve: { packets: number; byVni: Record<string, CountBytes> };
  vxlanGpe: { packets: number };
  vtepPairs: VtepPairStats[];
  /** Outer source IP → inner source MACs seen encapsulated by it (the forwarding table, as learned from traffic). */
  macsBehindVtep: Record<string, string[]>;
  topFlows: FlowStats[];
  flowsDropped: number;
  /** Encapsulation overhead: outer headers up to and including the tunnel header, over tunnelled packets. */
  overhead: { bytes: number; tunnelledBytes: number; percent: number };
  malformed: number;
  truncated: number;
  withWarnings: number;
}

function ipText(l: Layer): string {
  if (l.type === 'ipv4') return formatIPv4(l.src);
  if (l.type === 'ipv6') return formatIPv6(l.src);
  return '';
}
function ipDstText(l: Layer): string {
  if (l.type === 'ipv4') return formatIPv4(l.dst);
  if (l.type === 'ipv6') return formatIPv6(l.dst);
  return '';
}

/** Layer type → bit, to count "packets containing protocol X" without a Set per packet. */
const LAYER_TYPES = ['eth', 'vlan', 'sll', 'loopback', 'arp', 'ipv4', 'ipv6', 'udp', 'tcp', 'icmp', 'icmpv6', 'vxlan', 'geneve', 'vxlan-gpe'] as const;
const LAYER_BIT: Record<string, number> = Object.fromEntries(LAYER_TYPES.map((t, i) => [t, 1 << i]));

/** A flow as numbers while counting; its text is made only for the top N. */
interface FlowEntry {
  kind: number; // 0 IPv4 with ports, 1 IPv4 without, 2 other (text key)
  a: number;
  b: number;
  ports: number;
  proto: number;
  vni: number; // -1 when not tunnelled
  text: string; // for kind 2 only
  packets: number;
  bytes: number;
  label: () => string;
}

function flowHash(a: number, b: number, ports: number, proto: number, vni: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ ports, 0x27d4eb2f);
  h = Math.imul(h ^ (proto | (vni << 8)), 0x165667b1);
  return (h ^ (h >>> 15)) | 0;
}

export class StatsCollector {
  private packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private readonly linkTypes = new Map<number, number>();
  private readonly protocolCounts = new Array<number>(LAYER_TYPES.length).fill(0);
  private vxlanPackets = 0;
  private vxlanBytes = 0;
  private readonly vxlanByVni = new Map<number, CountBytes>();
  private readonly vxlanPorts = new Map<number, number>();
  private genevePackets = 0;
  private readonly genevByVni = new Map<number, CountBytes>();
  private gpePackets = 0;
  /** Keyed by outer source, then destination, then VNI (IPv4 as numbers, IPv6 as text). */
  private readonly vtepPairs = new Map<number | string, Map<number | string, Map<number, VtepPairStats>>>();
  private readonly macs = new Map<number | string, Set<number>>();
  private readonly flows = new Map<number, FlowEntry[]>();
  private flowCount = 0;
  private flowsDropped = 0;
  private overheadBytes = 0;
  private tunnelledBytes = 0;
  private malformed = 0;
  private truncated = 0;
  private withWarnings = 0;

  add(p: DecodedPacket): void {
    const raw = p.raw;
    this.packets++;
    this.bytes += raw.len;
    this.capturedBytes += raw.caplen;
    const ts = raw.tsSec + raw.tsNsec / 1e9;
    if (this.firstTs === null || ts < this.firstTs) this.firstTs = ts;
    if (this.lastTs === null || ts > this.lastTs) this.lastTs = ts;
    this.linkTypes.set(raw.linkType, (this.linkTypes.get(raw.linkType) ?? 0) + 1);
    if (p.error) this.malformed++;
    if (p.truncated) this.truncated++;
    if (p.warnings) this.withWarnings++;

    const layers = p.layers;
    let seen = 0;
    let outerIp: Ipv4Layer | Ipv6Layer | undefined;
    let tunnel: VxlanLayer | GeneveLayer | VxlanGpeLayer | undefined;
    let tunnelIndex = -1;
    let udpDst = 0;
    let udpSrc = 0;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i] as Layer;
      seen |= LAYER_BIT[l.type] as number;
      if (tunnel) continue;
      if (l.type === 'ipv4' || l.type === 'ipv6') outerIp = l;
      else if (l.type === 'udp') {
        udpDst = l.dstPort;
        udpSrc = l.srcPort;
      } else if (l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe') {
        tunnel = l;
        tunnelIndex = i;
      }
    }
    for (let i = 0; seen !== 0; i++, seen >>>= 1) if (seen & 1) (this.protocolCounts[i] as number)++;
    if (!tunnel) {
      this.addFlow(layers, 0, 0, -1, raw.len);
      return;
    }
    const vni = tunnel.vni;
    this.overheadBytes += tunnel.offset + tunnel.length;
    this.tunnelledBytes += raw.len;
    if (tunnel.type === 'vxlan') {
      this.vxlanPackets++;
      this.vxlanBytes += raw.len;
      bump(this.vxlanByVni, vni, raw.len);
      const port = udpDst === 4789 || udpDst === 8472 ? udpDst : udpSrc === 4789 || udpSrc === 8472 ? udpSrc : udpDst;
      this.vxlanPorts.set(port, (this.vxlanPorts.get(port) ?? 0) + 1);
    } else if (tunnel.type === 'geneve') {
      this.genevePackets++;
      bump(this.genevByVni, vni, raw.len);
    } else {
      this.gpePackets++;
    }
    if (outerIp) {
      const src = outerIp.type === 'ipv4' ? outerIp.src : formatIPv6(outerIp.src);
      const dst = outerIp.type === 'ipv4' ? outerIp.dst : formatIPv6(outerIp.dst);
      let byDst = this.vtepPairs.get(src);
      if (!byDst) this.vtepPairs.set(src, (byDst = new Map()));
      let byVni = byDst.get(dst);
      if (!byVni) byDst.set(dst, (byVni = new Map()));
      let pair = byVni.get(vni);
      if (!pair) {
        pair = { src: ipText(outerIp), dst: ipDstText(outerIp), vni, packets: 0, bytes: 0 };
        byVni.set(vni, pair);
      }
      pair.packets++;
      pair.bytes += raw.len;
      const inner = layers[tunnelIndex + 1];
      if (inner && inner.type === 'eth') {
        let set = this.macs.get(src);
        if (!set) this.macs.set(src, (set = new Set()));
        if (set.size < MAX_MACS_PER_VTEP) set.add(inner.src);
      }
    }
    this.addFlow(layers, tunnelIndex + 1, tunnel.depth + 1, vni, raw.len);
  }

  /** The flow of the innermost level (inner IP + transport, or inner MACs + ethertype). */
  private addFlow(layers: Layer[], from: number, depth: number, vni: number, bytes: number): void {
    let ip: Layer | undefined;
    let transport: Layer | undefined;
    let eth: Layer | undefined;
    let other: Layer | undefined;
    for (let i = from; i < layers.length; i++) {
      const l = layers[i] as Layer;
      if (l.depth !== depth) break;
      if (l.type === 'ipv4' || l.type === 'ipv6') ip ??= l;
      else if (l.type === 'udp' || l.type === 'tcp') transport ??= l;
      else if (l.type === 'eth') eth ??= l;
      else if (l.type === 'icmp' || l.type === 'icmpv6' || l.type === 'arp') other ??= l;
    }
    let kind: number;
    let a = 0;
    let b = 0;
    let ports = 0;
    let proto = 0;
    let text = '';
    if (ip && ip.type === 'ipv4') {
      a = ip.src;
      b = ip.dst;
      proto = ip.proto;
      if (transport && (transport.type === 'udp' || transport.type === 'tcp')) {
        kind = 0;
        ports = ((transport.srcPort << 16) | transport.dstPort) | 0;
      } else kind = 1;
    } else if (ip && ip.type === 'ipv6') {
      kind = 2;
      text = transport && (transport.type === 'udp' || transport.type === 'tcp')
        ? `${ipText(ip)}:${transport.srcPort} > ${ipDstText(ip)}:${transport.dstPort} ${transport.type.toUpperCase()}`
        : `${ipText(ip)} > ${ipDstText(ip)} ${other ? other.type.toUpperCase() : `proto ${ip.proto}`}`;
    } else if (eth && eth.type === 'eth') {
      kind = 2;
      text = `${formatMac(eth.src)} > ${formatMac(eth.dst)} ${other ? other.type.toUpperCase() : `0x${eth.ethertype.toString(16).padStart(4, '0')}`}`;
    } else {
      return;
    }
    const textHash = kind === 2 ? stringHash(text) : 0;
    const h = flowHash(a, b, ports ^ textHash, proto | (kind << 8), vni);
    let bucket = this.flows.get(h);
    if (bucket) {
      for (const f of bucket) {
        if (f.kind === kind && f.a === a && f.b === b && f.ports === ports && f.proto === proto && f.vni === vni && f.text === text) {
          f.packets++;
          f.bytes += bytes;
          return;
        }
      }
    }
    if (this.flowCount >= MAX_TRACKED_FLOWS) {
      this.flowsDropped++;
      return;
    }
    const protoName = kind === 0 ? (proto === 6 ? 'TCP' : 'UDP') : other ? other.type.toUpperCase() : `proto ${proto}`;
    const entry: FlowEntry = {
      kind, a, b, ports, proto, vni, text, packets: 1, bytes,
      label: () => kind === 2 ? text
        : kind === 0 ? `${formatIPv4(a)}:${ports >>> 16} > ${formatIPv4(b)}:${ports & 0xffff} ${protoName}`
        : `${formatIPv4(a)} > ${formatIPv4(b)} ${protoName}`,
    };
    if (!bucket) this.flows.set(h, (bucket = []));
    bucket.push(entry);
    this.flowCount++;
  }

  result(topN = 10): CaptureStats {
    const byVni = (m: Map<number, CountBytes>): Record<string, CountBytes> => {
      const o: Record<string, CountBytes> = {};
      for (const [k, v] of [...m].sort((x, y) => x[0] - y[0])) o[String(k)] = { ...v };
      return o;
    };
    const macsBehindVtep: Record<string, string[]> = {};
    const vtepText = (k: number | string) => (typeof k === 'number' ? formatIPv4(k) : k);
    for (const [vtep, set] of [...this.macs].map(([k, v]) => [vtepText(k), v] as const).sort((x, y) => x[0].localeCompare(y[0]))) {
      macsBehindVtep[vtep] = [...set].sort((x, y) => x - y).map(formatMac);
    }
    const pairs: VtepPairStats[] = [];
    for (const byDst of this.vtepPairs.values()) for (const byVni of byDst.values()) for (const pair of byVni.values()) pairs.push({ ...pair });
    const flows: FlowEntry[] = [];
    for (const bucket of this.flows.values()) flows.push(...bucket);
    flows.sort((x, y) => y.bytes - x.bytes || y.packets - x.packets);
    const protocols: Record<string, number> = {};
    LAYER_TYPES.map((t, i) => [t, this.protocolCounts[i] as number] as const)
      .filter(([, c]) => c > 0)
      .sort((x, y) => y[1] - x[1])
      .forEach(([t, c]) => (protocols[t] = c));
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      durationSec: this.firstTs === null || this.lastTs === null ? 0 : this.lastTs - this.firstTs,
      linkTypes: Object.fromEntries([...this.linkTypes].map(([k, v]) => [String(k), v])),
      protocols,
      vxlan: {
        packets: this.vxlanPackets,
        bytes: this.vxlanBytes,
        byVni: byVni(this.vxlanByVni),
        ports: Object.fromEntries([...this.vxlanPorts].map(([k, v]) => [String(k), v])),
      },
      geneve: { packets: this.genevePackets, byVni: byVni(this.genevByVni) },
      vxlanGpe: { packets: this.gpePackets },
      vtepPairs: pairs.sort((x, y) => y.packets - x.packets),
      macsBehindVtep,
      topFlows: flows.slice(0, topN).map((f) => ({ flow: f.label(), vni: f.vni < 0 ? null : f.vni, packets: f.packets, bytes: f.bytes })),
      flowsDropped: this.flowsDropped,
      overhead: {
        bytes: this.overheadBytes,
        tunnelledBytes: this.tunnelledBytes,
        percent: this.tunnelledBytes ? Math.round((this.overheadBytes / this.tunnelledBytes) * 10000) / 100 : 0,
      },
      malformed: this.malformed,
      truncated: this.truncated,
      withWarnings: this.withWarnings,
    };
  }
}

function stringHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
}

function bump(m: Map<number, CountBytes>, key: number, bytes: number): void {
  let c = m.get(key);
  if (!c) m.set(key, (c = { packets: 0, bytes: 0 }));
  c.packets++;
  c.bytes += bytes;
}
