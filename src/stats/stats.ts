/**
 * Statistics over a capture: totals, VXLAN per VNI, per VTEP pair (outer IP pair), the inner
 * MACs seen behind each VTEP, top inner flows, encapsulation overhead, malformed count.
 * One pass, memory bounded by the number of distinct VNIs/VTEPs/flows (capped).
 */
import type { DecodedPacket, GeneveLayer, Ipv4Layer, Ipv6Layer, Layer, UdpLayer, VxlanGpeLayer, VxlanLayer } from '../decode/types.js';
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
  /**
   * Encapsulation overhead: outer headers up to and including the tunnel header, over tunnelled
   * packets, with the outer link layer counted as an Ethernet header (see encapsulationOverhead).
   * `tunnelledBytes` are those packets' lengths counted the same way.
   */
  overhead: { packets: number; bytes: number; tunnelledBytes: number; percent: number };
  malformed: number;
  truncated: number;
  withWarnings: number;
}

/** The outer link layer as the overhead counts it: an Ethernet header, whatever the capture's link type. */
export const UNDERLAY_LINK_BYTES = 14;

/**
 * What to add to a packet's captured length (and to the bytes before its inner frame) so that
 * they count as on an Ethernet underlay: the overhead is what the tunnel adds on the wire,
 * 50 bytes per VXLAN packet over IPv4 (Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8), 70 over IPv6,
 * whether the capture is Ethernet, Linux cooked (`tcpdump -i any`: SLL 16 or SLL2 20 bytes in
 * place of the Ethernet header), raw IP (none) or BSD loopback (4). An Ethernet capture counts
 * what it has (with any 802.1Q tags, which are on that wire); a cooked header's VLAN tags too.
 */
export function linkAdjustment(p: DecodedPacket): number {
  if (p.raw.linkType === 1) return 0; // Ethernet: counted as captured
  const first = p.layers[0];
  if (first === undefined) return 0;
  switch (first.type) {
    case 'sll':
    case 'loopback':
      return UNDERLAY_LINK_BYTES - first.length;
    case 'ipv4':
    case 'ipv6':
      return UNDERLAY_LINK_BYTES; // raw IP: no link header captured
    default:
      return 0;
  }
}

/** Encapsulation overhead of one tunnelled packet: every byte before the inner frame of `tunnel`, the link layer counted as Ethernet. */
export function encapsulationOverhead(p: DecodedPacket, tunnel: Layer): number {
  return tunnel.offset + tunnel.length + linkAdjustment(p);
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
function layerBit(type: Layer['type']): number {
  switch (type) {
    case 'eth': return 1 << 0;
    case 'vlan': return 1 << 1;
    case 'sll': return 1 << 2;
    case 'loopback': return 1 << 3;
    case 'arp': return 1 << 4;
    case 'ipv4': return 1 << 5;
    case 'ipv6': return 1 << 6;
    case 'udp': return 1 << 7;
    case 'tcp': return 1 << 8;
    case 'icmp': return 1 << 9;
    case 'icmpv6': return 1 << 10;
    case 'vxlan': return 1 << 11;
    case 'geneve': return 1 << 12;
    case 'vxlan-gpe': return 1 << 13;
  }
}

/** A flow as numbers while counting; its text is made only for the top N. */
interface FlowEntry {
  kind: number; // 0 IPv4 with ports, 1 IPv4 without, 2 other (text key), 3 MACs only (a, b: MACs; ports: what follows, see ethFlowCode)
  a: number;
  b: number;
  ports: number;
  proto: number;
  vni: number; // -1 when not tunnelled
  text: string; // for kind 2 only
  /** Protocol name for the label (kinds 0 and 1), from the flow's first packet. */
  protoName: string;
  packets: number;
  bytes: number;
}

function flowLabel(f: FlowEntry): string {
  if (f.kind === 2) return f.text;
  if (f.kind === 3) return `${formatMac(f.a)} > ${formatMac(f.b)} ${f.protoName}`;
  if (f.kind === 0) return `${formatIPv4(f.a)}:${f.ports >>> 16} > ${formatIPv4(f.b)}:${f.ports & 0xffff} ${f.protoName}`;
  return `${formatIPv4(f.a)} > ${formatIPv4(f.b)} ${f.protoName}`;
}

function flowHash(a: number, b: number, ports: number, proto: number, vni: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ ports, 0x27d4eb2f);
  h = Math.imul(h ^ (proto | (vni << 8)), 0x165667b1);
  return (h ^ (h >>> 15)) | 0;
}

/** An outer address as a key: IPv4 as its number, IPv6 as text. */
type VtepKey = number | string;

/**
 * What a collector counted, as plain data (it crosses threads): a worker counts one batch,
 * the reading thread merges the batches in input order (StatsCollector.merge). Every list is
 * in order of first appearance, so the merged result is exactly what one collector over the
 * whole input gives — including which flows and MACs the caps keep.
 */
export interface StatsPartial {
  packets: number;
  bytes: number;
  capturedBytes: number;
  firstTs: number | null;
  lastTs: number | null;
  linkTypes: [number, number][];
  protocolCounts: number[];
  vxlanPackets: number;
  vxlanBytes: number;
  /** [vni, packets, bytes] */
  vxlanByVni: [number, number, number][];
  vxlanPorts: [number, number][];
  genevePackets: number;
  geneveByVni: [number, number, number][];
  gpePackets: number;
  vtepPairs: { srcKey: VtepKey; dstKey: VtepKey; pair: VtepPairStats }[];
  macs: [VtepKey, number[]][];
  flows: FlowEntry[];
  flowsDropped: number;
  overheadPackets: number;
  overheadBytes: number;
  tunnelledBytes: number;
  malformed: number;
  truncated: number;
  withWarnings: number;
}

/**
 * Counts by a number key, where most packets repeat the last key (one link type, one VXLAN
 * port): those are added up before the map is touched. The output's order does not depend on
 * the map's (results are objects with integer keys, which list in ascending order).
 */
class Tally {
  private readonly map = new Map<number, number>();
  private lastKey = 0;
  private pending = 0;

  add(key: number, n = 1): void {
    if (key !== this.lastKey) {
      this.flush();
      this.lastKey = key;
    }
    this.pending += n;
  }

  entries(): [number, number][] {
    this.flush();
    return [...this.map];
  }

  private flush(): void {
    if (this.pending === 0) return;
    this.map.set(this.lastKey, (this.map.get(this.lastKey) ?? 0) + this.pending);
    this.pending = 0;
  }
}

/** Slots of the small caches in front of the VTEP-pair and MAC maps (most packets repeat a recent pair). */
const CACHE_SLOTS = 256;

export class StatsCollector {
  private packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private readonly linkTypes = new Tally();
  private readonly protocolCounts = new Array<number>(LAYER_TYPES.length).fill(0);
  private vxlanPackets = 0;
  private vxlanBytes = 0;
  private readonly vxlanByVni = new Map<number, CountBytes>();
  private readonly vxlanPorts = new Tally();
  private genevePackets = 0;
  private readonly genevByVni = new Map<number, CountBytes>();
  private gpePackets = 0;
  /** Keyed by outer source, then destination, then VNI (IPv4 as numbers, IPv6 as text). */
  private readonly vtepPairs = new Map<VtepKey, Map<VtepKey, Map<number, VtepPairStats>>>();
  private readonly macs = new Map<VtepKey, Set<number>>();
  /** Flows by hash (a bucket per hash value), and in order of first appearance. */
  private readonly flows = new Map<number, FlowEntry[]>();
  private readonly flowOrder: FlowEntry[] = [];
  private flowsDropped = 0;
  private overheadPackets = 0;
  private overheadBytes = 0;
  private tunnelledBytes = 0;
  private malformed = 0;
  private truncated = 0;
  private withWarnings = 0;
  // Caches: the last VNI counter, and direct-mapped slots for VTEP pairs and (VTEP, MAC) seen.
  private lastVni = -1;
  private lastVniCount: CountBytes | undefined;
  private readonly pairCache = new Array<VtepPairStats | undefined>(CACHE_SLOTS).fill(undefined);
  private readonly pairCacheKeys = new Array<VtepKey>(CACHE_SLOTS * 2).fill(-1);
  private readonly macCacheVtep = new Array<VtepKey>(CACHE_SLOTS).fill(-1);
  private readonly macCacheMac = new Array<number>(CACHE_SLOTS).fill(-1);

  add(p: DecodedPacket): void {
    const raw = p.raw;
    this.packets++;
    this.bytes += raw.len;
    this.capturedBytes += raw.caplen;
    const ts = raw.tsSec + raw.tsNsec / 1e9;
    if (this.firstTs === null || ts < this.firstTs) this.firstTs = ts;
    if (this.lastTs === null || ts > this.lastTs) this.lastTs = ts;
    this.linkTypes.add(raw.linkType);
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
    // Each layer type has its own object shape: its `type` is read once (such reads are slow).
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i] as Layer;
      const type = l.type;
      seen |= layerBit(type);
      if (tunnel) continue;
      if (type === 'ipv4' || type === 'ipv6') outerIp = l as Ipv4Layer | Ipv6Layer;
      else if (type === 'udp') {
        udpDst = (l as UdpLayer).dstPort;
        udpSrc = (l as UdpLayer).srcPort;
      } else if (type === 'vxlan' || type === 'geneve' || type === 'vxlan-gpe') {
        tunnel = l as VxlanLayer | GeneveLayer | VxlanGpeLayer;
        tunnelIndex = i;
      }
    }
    for (let i = 0; seen !== 0; i++, seen >>>= 1) if (seen & 1) (this.protocolCounts[i] as number)++;
    if (!tunnel) {
      this.addFlow(layers, 0, 0, -1, raw.len);
      return;
    }
    const vni = tunnel.vni;
    const link = linkAdjustment(p);
    this.overheadPackets++;
    this.overheadBytes += tunnel.offset + tunnel.length + link;
    this.tunnelledBytes += raw.len + link;
    if (tunnel.type === 'vxlan') {
      this.vxlanPackets++;
      this.vxlanBytes += raw.len;
      let c = this.lastVniCount;
      if (vni !== this.lastVni || c === undefined) {
        c = counter(this.vxlanByVni, vni);
        this.lastVni = vni;
        this.lastVniCount = c;
      }
      c.packets++;
      c.bytes += raw.len;
      const port = udpDst === 4789 || udpDst === 8472 ? udpDst : udpSrc === 4789 || udpSrc === 8472 ? udpSrc : udpDst;
      this.vxlanPorts.add(port);
    } else if (tunnel.type === 'geneve') {
      this.genevePackets++;
      const c = counter(this.genevByVni, vni);
      c.packets++;
      c.bytes += raw.len;
    } else {
      this.gpePackets++;
    }
    if (outerIp) {
      const src = outerIp.type === 'ipv4' ? outerIp.src : formatIPv6(outerIp.src);
      const dst = outerIp.type === 'ipv4' ? outerIp.dst : formatIPv6(outerIp.dst);
      const pair = this.pair(src, dst, vni, outerIp);
      pair.packets++;
      pair.bytes += raw.len;
      const inner = layers[tunnelIndex + 1];
      if (inner && inner.type === 'eth') this.addMac(src, inner.src);
    }
    this.addFlow(layers, tunnelIndex + 1, tunnel.depth + 1, vni, raw.len);
  }

  /** The counter of a VTEP pair and VNI (created on first sight). */
  private pair(src: VtepKey, dst: VtepKey, vni: number, outerIp: Ipv4Layer | Ipv6Layer | undefined): VtepPairStats {
    const slot = typeof src === 'number' && typeof dst === 'number' ? (Math.imul(src ^ Math.imul(dst, 0x9e3779b1), 0x85ebca6b) ^ vni) >>> 24 : 0;
    const cached = this.pairCache[slot];
    if (cached !== undefined && cached.vni === vni && this.pairCacheKeys[slot * 2] === src && this.pairCacheKeys[slot * 2 + 1] === dst) return cached;
    let byDst = this.vtepPairs.get(src);
    if (!byDst) this.vtepPairs.set(src, (byDst = new Map()));
    let byVni = byDst.get(dst);
    if (!byVni) byDst.set(dst, (byVni = new Map()));
    let pair = byVni.get(vni);
    if (!pair) {
      pair = outerIp ? { src: ipText(outerIp), dst: ipDstText(outerIp), vni, packets: 0, bytes: 0 } : { src: vtepText(src), dst: vtepText(dst), vni, packets: 0, bytes: 0 };
      byVni.set(vni, pair);
    }
    this.pairCache[slot] = pair;
    this.pairCacheKeys[slot * 2] = src;
    this.pairCacheKeys[slot * 2 + 1] = dst;
    return pair;
  }

  /** Remembers an inner source MAC behind a VTEP (up to MAX_MACS_PER_VTEP each). */
  private addMac(vtep: VtepKey, mac: number): void {
    const slot = (mac ^ (mac / 0x1000000)) & (CACHE_SLOTS - 1);
    if (this.macCacheMac[slot] === mac && this.macCacheVtep[slot] === vtep) return; // already in the set
    let set = this.macs.get(vtep);
    if (!set) this.macs.set(vtep, (set = new Set()));
    if (set.size < MAX_MACS_PER_VTEP) set.add(mac);
    if (set.has(mac)) {
      this.macCacheMac[slot] = mac;
      this.macCacheVtep[slot] = vtep;
    }
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
      const type = l.type;
      if (type === 'ipv4' || type === 'ipv6') ip ??= l;
      else if (type === 'udp' || type === 'tcp') transport ??= l;
      else if (type === 'eth') eth ??= l;
      else if (type === 'icmp' || type === 'icmpv6' || type === 'arp') other ??= l;
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
        : `${ipText(ip)} > ${ipDstText(ip)} ${other ? protocolLabel(other.type) : `proto ${ip.proto}`}`;
    } else if (eth && eth.type === 'eth') {
      kind = 3;
      a = eth.src;
      b = eth.dst;
      ports = other ? 0x10000 + layerBit(other.type) : eth.ethertype;
    } else {
      return;
    }
    const f = this.findFlow(kind, a, b, ports, proto, vni, text);
    if (f) {
      f.packets++;
      f.bytes += bytes;
      return;
    }
    const protoName = kind === 0
      ? (proto === 6 ? 'TCP' : 'UDP')
      : other ? protocolLabel(other.type) : kind === 3 ? `0x${ports.toString(16).padStart(4, '0')}` : `proto ${proto}`;
    this.newFlow({ kind, a, b, ports, proto, vni, text, protoName, packets: 1, bytes });
  }

  private findFlow(kind: number, a: number, b: number, ports: number, proto: number, vni: number, text: string): FlowEntry | undefined {
    const bucket = this.flows.get(flowKey(kind, a, b, ports, proto, vni, text));
    if (bucket) {
      for (const f of bucket) {
        if (f.kind === kind && f.a === a && f.b === b && f.ports === ports && f.proto === proto && f.vni === vni && f.text === text) return f;
      }
    }
    return undefined;
  }

  /** Tracks a flow not seen before, or counts its packets as dropped once MAX_TRACKED_FLOWS are tracked. */
  private newFlow(f: FlowEntry): void {
    if (this.flowOrder.length >= MAX_TRACKED_FLOWS) {
      this.flowsDropped += f.packets;
      return;
    }
    const h = flowKey(f.kind, f.a, f.b, f.ports, f.proto, f.vni, f.text);
    const bucket = this.flows.get(h);
    if (bucket) bucket.push(f);
    else this.flows.set(h, [f]);
    this.flowOrder.push(f);
  }

  /** Everything counted so far, as plain data (see StatsPartial). */
  partial(): StatsPartial {
    const vtepPairs: StatsPartial['vtepPairs'] = [];
    for (const [srcKey, byDst] of this.vtepPairs) for (const [dstKey, byVni] of byDst) for (const pair of byVni.values()) vtepPairs.push({ srcKey, dstKey, pair });
    const byVni = (m: Map<number, CountBytes>): [number, number, number][] => [...m].map(([k, c]) => [k, c.packets, c.bytes]);
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      linkTypes: this.linkTypes.entries(),
      protocolCounts: [...this.protocolCounts],
      vxlanPackets: this.vxlanPackets,
      vxlanBytes: this.vxlanBytes,
      vxlanByVni: byVni(this.vxlanByVni),
      vxlanPorts: this.vxlanPorts.entries(),
      genevePackets: this.genevePackets,
      geneveByVni: byVni(this.genevByVni),
      gpePackets: this.gpePackets,
      vtepPairs,
      macs: [...this.macs].map(([k, set]) => [k, [...set]]),
      flows: this.flowOrder,
      flowsDropped: this.flowsDropped,
      overheadPackets: this.overheadPackets,
      overheadBytes: this.overheadBytes,
      tunnelledBytes: this.tunnelledBytes,
      malformed: this.malformed,
      truncated: this.truncated,
      withWarnings: this.withWarnings,
    };
  }

  /**
   * Adds what another collector counted over the input that follows this one's (batches must
   * be merged in input order): the result is the same as one collector adding every packet.
   */
  merge(s: StatsPartial): void {
    this.packets += s.packets;
    this.bytes += s.bytes;
    this.capturedBytes += s.capturedBytes;
    if (s.firstTs !== null && (this.firstTs === null || s.firstTs < this.firstTs)) this.firstTs = s.firstTs;
    if (s.lastTs !== null && (this.lastTs === null || s.lastTs > this.lastTs)) this.lastTs = s.lastTs;
    for (const [k, v] of s.linkTypes) this.linkTypes.add(k, v);
    s.protocolCounts.forEach((c, i) => (this.protocolCounts[i] = (this.protocolCounts[i] as number) + c));
    this.vxlanPackets += s.vxlanPackets;
    this.vxlanBytes += s.vxlanBytes;
    for (const [vni, packets, bytes] of s.vxlanByVni) {
      const c = counter(this.vxlanByVni, vni);
      c.packets += packets;
      c.bytes += bytes;
    }
    for (const [k, v] of s.vxlanPorts) this.vxlanPorts.add(k, v);
    this.genevePackets += s.genevePackets;
    for (const [vni, packets, bytes] of s.geneveByVni) {
      const c = counter(this.genevByVni, vni);
      c.packets += packets;
      c.bytes += bytes;
    }
    this.gpePackets += s.gpePackets;
    for (const { srcKey, dstKey, pair } of s.vtepPairs) {
      const mine = this.pair(srcKey, dstKey, pair.vni, undefined);
      mine.packets += pair.packets;
      mine.bytes += pair.bytes;
    }
    for (const [vtep, macs] of s.macs) for (const mac of macs) this.addMac(vtep, mac);
    for (const f of s.flows) {
      const mine = this.findFlow(f.kind, f.a, f.b, f.ports, f.proto, f.vni, f.text);
      if (mine) {
        mine.packets += f.packets;
        mine.bytes += f.bytes;
      } else this.newFlow({ ...f });
    }
    this.flowsDropped += s.flowsDropped;
    this.overheadPackets += s.overheadPackets;
    this.overheadBytes += s.overheadBytes;
    this.tunnelledBytes += s.tunnelledBytes;
    this.malformed += s.malformed;
    this.truncated += s.truncated;
    this.withWarnings += s.withWarnings;
  }

  result(topN = 10): CaptureStats {
    const byVni = (m: Map<number, CountBytes>): Record<string, CountBytes> => {
      const o: Record<string, CountBytes> = {};
      for (const [k, v] of [...m].sort((x, y) => x[0] - y[0])) o[String(k)] = { ...v };
      return o;
    };
    const macsBehindVtep: Record<string, string[]> = {};
    for (const [vtep, set] of [...this.macs].map(([k, v]) => [vtepText(k), v] as const).sort((x, y) => x[0].localeCompare(y[0]))) {
      macsBehindVtep[vtep] = [...set].sort((x, y) => x - y).map(formatMac);
    }
    const pairs: VtepPairStats[] = [];
    for (const byDst of this.vtepPairs.values()) for (const byVni of byDst.values()) for (const pair of byVni.values()) pairs.push({ ...pair });
    const flows = [...this.flowOrder].sort((x, y) => y.bytes - x.bytes || y.packets - x.packets);
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
      linkTypes: Object.fromEntries(this.linkTypes.entries().map(([k, v]) => [String(k), v])),
      protocols,
      vxlan: {
        packets: this.vxlanPackets,
        bytes: this.vxlanBytes,
        byVni: byVni(this.vxlanByVni),
        ports: Object.fromEntries(this.vxlanPorts.entries().map(([k, v]) => [String(k), v])),
      },
      geneve: { packets: this.genevePackets, byVni: byVni(this.genevByVni) },
      vxlanGpe: { packets: this.gpePackets },
      vtepPairs: pairs.sort((x, y) => y.packets - x.packets),
      macsBehindVtep,
      topFlows: flows.slice(0, topN).map((f) => ({ flow: flowLabel(f), vni: f.vni < 0 ? null : f.vni, packets: f.packets, bytes: f.bytes })),
      flowsDropped: this.flowsDropped,
      overhead: {
        packets: this.overheadPackets,
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

function vtepText(k: VtepKey): string {
  return typeof k === 'number' ? formatIPv4(k) : k;
}

function flowKey(kind: number, a: number, b: number, ports: number, proto: number, vni: number, text: string): number {
  // MACs are 48-bit: their top 16 bits are folded in.
  if (kind === 3) return flowHash(a ^ Math.floor(a / 0x100000000), b ^ Math.imul(Math.floor(b / 0x100000000), 0x9e3779b1), ports, proto | (kind << 8), vni);
  return flowHash(a, b, ports ^ (kind === 2 ? stringHash(text) : 0), proto | (kind << 8), vni);
}

function counter(m: Map<number, CountBytes>, key: number): CountBytes {
  let c = m.get(key);
  if (!c) m.set(key, (c = { packets: 0, bytes: 0 }));
  return c;
}

function stringHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
}

/** A protocol's name as people write it in a flow label: TCP, UDP, ICMP, ICMPv6, ARP. */
function protocolLabel(type: string): string {
  return type === 'icmpv6' ? 'ICMPv6' : type.toUpperCase();
}
