/**
 * Statistics over a capture: totals, VXLAN per VNI, per VTEP pair (outer IP pair), the inner
 * MACs seen behind each VTEP, top inner flows, encapsulation overhead, malformed count.
 * One pass, memory bounded by the number of distinct VNIs/VTEPs/flows (capped).
 */
import type { DecodedPacket, GeneveLayer, Layer, VxlanGpeLayer, VxlanLayer } from '../decode/types.js';
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';
import { tsSeconds } from '../decode/format/time.js';

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

export class StatsCollector {
  private packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private readonly linkTypes = new Map<number, number>();
  private readonly protocols = new Map<string, number>();
  private vxlanPackets = 0;
  private vxlanBytes = 0;
  private readonly vxlanByVni = new Map<number, CountBytes>();
  private readonly vxlanPorts = new Map<number, number>();
  private genevePackets = 0;
  private readonly genevByVni = new Map<number, CountBytes>();
  private gpePackets = 0;
  private readonly vtepPairs = new Map<string, VtepPairStats>();
  private readonly macs = new Map<string, Set<number>>();
  private readonly flows = new Map<string, FlowStats>();
  private flowsDropped = 0;
  private overheadBytes = 0;
  private tunnelledBytes = 0;
  private malformed = 0;
  private truncated = 0;
  private withWarnings = 0;
  private readonly seen = new Set<string>();

  add(p: DecodedPacket): void {
    const raw = p.raw;
    this.packets++;
    this.bytes += raw.len;
    this.capturedBytes += raw.caplen;
    const ts = tsSeconds(raw);
    if (this.firstTs === null || ts < this.firstTs) this.firstTs = ts;
    if (this.lastTs === null || ts > this.lastTs) this.lastTs = ts;
    this.linkTypes.set(raw.linkType, (this.linkTypes.get(raw.linkType) ?? 0) + 1);
    if (p.error) this.malformed++;
    if (p.truncated) this.truncated++;
    if (p.warnings) this.withWarnings++;

    const layers = p.layers;
    const seen = this.seen;
    seen.clear();
    let outerIp: Layer | undefined;
    let tunnel: VxlanLayer | GeneveLayer | VxlanGpeLayer | undefined;
    let tunnelPort = 0;
    let udpDst = 0;
    let udpSrc = 0;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i] as Layer;
      if (!seen.has(l.type)) {
        seen.add(l.type);
        this.protocols.set(l.type, (this.protocols.get(l.type) ?? 0) + 1);
      }
      if (tunnel) continue;
      if (l.type === 'ipv4' || l.type === 'ipv6') outerIp = l;
      else if (l.type === 'udp') {
        udpDst = l.dstPort;
        udpSrc = l.srcPort;
      } else if (l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe') {
        tunnel = l;
        tunnelPort = udpDst;
      }
    }
    if (!tunnel) {
      this.addFlow(layers, 0, null, raw.len);
      return;
    }
    const vni = tunnel.vni;
    this.overheadBytes += tunnel.offset + tunnel.length;
    this.tunnelledBytes += raw.len;
    if (tunnel.type === 'vxlan') {
      this.vxlanPackets++;
      this.vxlanBytes += raw.len;
      bump(this.vxlanByVni, vni, raw.len);
      const port = this.vxlanPortOf(tunnelPort, udpSrc);
      this.vxlanPorts.set(port, (this.vxlanPorts.get(port) ?? 0) + 1);
    } else if (tunnel.type === 'geneve') {
      this.genevePackets++;
      bump(this.genevByVni, vni, raw.len);
    } else {
      this.gpePackets++;
    }
    if (outerIp) {
      const src = ipText(outerIp);
      const dst = ipDstText(outerIp);
      const key = `${src}|${dst}|${vni}`;
      let pair = this.vtepPairs.get(key);
      if (!pair) {
        pair = { src, dst, vni, packets: 0, bytes: 0 };
        this.vtepPairs.set(key, pair);
      }
      pair.packets++;
      pair.bytes += raw.len;
      const innerEth = layers.find((l) => l.depth === tunnel.depth + 1 && l.type === 'eth');
      if (innerEth && innerEth.type === 'eth') {
        let set = this.macs.get(src);
        if (!set) this.macs.set(src, (set = new Set()));
        if (set.size < MAX_MACS_PER_VTEP) set.add(innerEth.src);
      }
    }
    this.addFlow(layers, tunnel.depth + 1, vni, raw.len);
  }

  private vxlanPortOf(dst: number, src: number): number {
    return dst === 4789 || dst === 8472 ? dst : src === 4789 || src === 8472 ? src : dst;
  }

  /** The flow of the innermost level (inner IP + transport, or inner MACs + ethertype). */
  private addFlow(layers: Layer[], depth: number, vni: number | null, bytes: number): void {
    let ip: Layer | undefined;
    let transport: Layer | undefined;
    let eth: Layer | undefined;
    let other: Layer | undefined;
    for (const l of layers) {
      if (l.depth !== depth) continue;
      if (l.type === 'ipv4' || l.type === 'ipv6') ip ??= l;
      else if (l.type === 'udp' || l.type === 'tcp') transport ??= l;
      else if (l.type === 'eth') eth ??= l;
      else if (l.type === 'icmp' || l.type === 'icmpv6' || l.type === 'arp') other ??= l;
    }
    let flow: string;
    if (ip && transport && (transport.type === 'udp' || transport.type === 'tcp')) {
      flow = `${ipText(ip)}:${transport.srcPort} > ${ipDstText(ip)}:${transport.dstPort} ${transport.type.toUpperCase()}`;
    } else if (ip && (ip.type === 'ipv4' || ip.type === 'ipv6')) {
      flow = `${ipText(ip)} > ${ipDstText(ip)} ${other ? other.type.toUpperCase() : `proto ${ip.proto}`}`;
    } else if (eth && eth.type === 'eth') {
      flow = `${formatMac(eth.src)} > ${formatMac(eth.dst)} ${other ? other.type.toUpperCase() : `0x${eth.ethertype.toString(16).padStart(4, '0')}`}`;
    } else {
      return;
    }
    const key = vni === null ? flow : `${vni} ${flow}`;
    let f = this.flows.get(key);
    if (!f) {
      if (this.flows.size >= MAX_TRACKED_FLOWS) {
        this.flowsDropped++;
        return;
      }
      f = { flow, vni, packets: 0, bytes: 0 };
      this.flows.set(key, f);
    }
    f.packets++;
    f.bytes += bytes;
  }

  result(topN = 10): CaptureStats {
    const byVni = (m: Map<number, CountBytes>): Record<string, CountBytes> => {
      const o: Record<string, CountBytes> = {};
      for (const [k, v] of [...m].sort((a, b) => a[0] - b[0])) o[String(k)] = { ...v };
      return o;
    };
    const macsBehindVtep: Record<string, string[]> = {};
    for (const [vtep, set] of [...this.macs].sort()) macsBehindVtep[vtep] = [...set].sort((a, b) => a - b).map(formatMac);
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      durationSec: this.firstTs === null || this.lastTs === null ? 0 : this.lastTs - this.firstTs,
      linkTypes: Object.fromEntries([...this.linkTypes].map(([k, v]) => [String(k), v])),
      protocols: Object.fromEntries([...this.protocols].sort((a, b) => b[1] - a[1])),
      vxlan: {
        packets: this.vxlanPackets,
        bytes: this.vxlanBytes,
        byVni: byVni(this.vxlanByVni),
        ports: Object.fromEntries([...this.vxlanPorts].map(([k, v]) => [String(k), v])),
      },
      geneve: { packets: this.genevePackets, byVni: byVni(this.genevByVni) },
      vxlanGpe: { packets: this.gpePackets },
      vtepPairs: [...this.vtepPairs.values()].sort((a, b) => b.packets - a.packets),
      macsBehindVtep,
      topFlows: [...this.flows.values()].sort((a, b) => b.bytes - a.bytes || b.packets - a.packets).slice(0, topN),
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

function bump(m: Map<number, CountBytes>, key: number, bytes: number): void {
  let c = m.get(key);
  if (!c) m.set(key, (c = { packets: 0, bytes: 0 }));
  c.packets++;
  c.bytes += bytes;
}
