/**
 * What an exported packet row says of a decoded packet: its two levels, each read once from the
 * layers the one pass already decoded.
 *
 *  - outer: the underlay's own packet — on the underlay side, the packet as sent on the wire
 *    (for a tunnelled packet, the IP and UDP headers right before the tunnel header: the VTEP
 *    pair, as `stats` counts it); nothing on the bridge side.
 *  - inner: the tenant's frame — what a tunnelled packet carries (the first level inside its
 *    tunnel), or the bridge side's frame itself. An underlay packet that is not tunnelled has
 *    none.
 *
 * Two readers fill the same fields: `fromFacts` from what the pass already read straight from the
 * bytes for the common shapes (stats/fast-decode.ts readFacts: no layer object per packet), and
 * `read` from the full decoder's layers for every other packet. They give the same rows
 * (src/export/exp3-facts-rows.test.ts compares the Parquet of both on the fixtures and on
 * realistic traffic).
 *
 * Addresses stay numbers (IPv4) or byte views (IPv6); text is made once per flow (flows.ts).
 */
import type { DecodedPacket, Layer } from '../decode/types.js';
import type { Side } from '../analysis/sides.js';
import { IP_PROTO_NAMES } from '../decode/format/names.js';
import {
  BIT_ARP,
  BIT_ICMP,
  BIT_ICMPV6,
  TRANSPORT_NONE,
  TRANSPORT_TCP,
  TUNNEL_NONE as FACTS_NONE,
  TUNNEL_VXLAN as FACTS_VXLAN,
  type PacketFacts,
} from '../stats/facts.js';

export const TUNNEL_NONE = 0;
export const TUNNEL_VXLAN = 1;
export const TUNNEL_GENEVE = 2;
export const TUNNEL_GPE = 3;
export const TUNNEL_NAMES = ['', 'vxlan', 'geneve', 'vxlan-gpe'] as const;

/** One level's IP flow and link header, as numbers (-1: absent). */
export class Level {
  /** 0 none, 4 or 6. */
  ipVersion = 0;
  src4 = 0;
  dst4 = 0;
  src6: Uint8Array | undefined = undefined;
  dst6: Uint8Array | undefined = undefined;
  proto = -1;
  /** TCP/UDP ports; ICMP/ICMPv6 type and code (as Zeek's conn.log puts them); -1 when not in the packet. */
  sport = -1;
  dport = -1;
  ethSrc = -1;
  ethDst = -1;
  ethertype = -1;
  /** The protocol of the level's last decoded header, as people name it (TCP, ICMPv6, ARP…). */
  label = '';
  /** Where fromFacts puts an IPv6 flow's addresses (facts keep them as words; flows.ts reads bytes). */
  private readonly own6 = new Uint8Array(32);

  reset(): void {
    this.ipVersion = 0;
    this.src6 = this.dst6 = undefined;
    this.src4 = this.dst4 = 0;
    this.proto = this.sport = this.dport = this.ethSrc = this.ethDst = this.ethertype = -1;
    this.label = '';
  }

  /**
   * The level of the facts' flow (stats/facts.ts: the first IP, transport and Ethernet header
   * of the level it is counted at), as readLevel reads it from the layers. False when the facts
   * do not say it all (the level is then read from the layers): the EtherType behind VLAN tags
   * or a cooked header of a frame that carries neither IP nor ARP.
   */
  fromFactsFlow(f: PacketFacts): boolean {
    this.reset();
    if (f.hasEth) {
      this.ethSrc = f.ethSrc;
      this.ethDst = f.ethDst;
    }
    // the EtherType the level's payload was dispatched on (after any VLAN tag), as readLevel keeps it
    let et = f.hasEth && !isVlanTpid(f.ethType) ? f.ethType : -1;
    if (f.ipVersion === 4) et = 0x0800;
    else if (f.ipVersion === 6) et = 0x86dd;
    else if (f.other === BIT_ARP) et = 0x0806;
    if (et < 0) return false;
    this.ethertype = et;
    if (f.ipVersion === 0) {
      this.label = f.other === BIT_ARP ? 'ARP' : etherName(et);
      return true;
    }
    this.ipVersion = f.ipVersion;
    this.proto = f.ipProto;
    if (f.ipVersion === 4) {
      this.src4 = f.ipSrc;
      this.dst4 = f.ipDst;
    } else {
      const b = this.own6;
      for (let w = 0; w < 8; w++) {
        const v = f.ip6[w] as number;
        b[4 * w] = v >>> 24;
        b[4 * w + 1] = (v >>> 16) & 0xff;
        b[4 * w + 2] = (v >>> 8) & 0xff;
        b[4 * w + 3] = v & 0xff;
      }
      this.src6 = b.subarray(0, 16);
      this.dst6 = b.subarray(16, 32);
    }
    if (f.other === BIT_ICMP || f.other === BIT_ICMPV6) {
      // ICMP's type and code where a flow's ports go (as conn.log puts them)
      this.sport = f.icmpType;
      this.dport = f.icmpCode;
      this.label = f.other === BIT_ICMP ? 'ICMP' : 'ICMPv6';
    } else if (f.transport === TRANSPORT_NONE) {
      this.label = ipProtoName(f.ipProto);
    } else {
      this.sport = f.srcPort;
      this.dport = f.dstPort;
      this.label = f.transport === TRANSPORT_TCP ? 'TCP' : 'UDP';
    }
    return true;
  }

  /**
   * A tunnelled packet's outer level from the facts: the VTEPs and the UDP header before the
   * tunnel (its link header is in no row: left unset).
   */
  fromFactsOuter(f: PacketFacts): void {
    this.reset();
    this.ipVersion = f.outerVersion;
    if (f.outerVersion === 4) {
      this.src4 = f.outerSrc;
      this.dst4 = f.outerDst;
    } else {
      this.src6 = f.outerSrc6;
      this.dst6 = f.outerDst6;
    }
    this.proto = 17;
    this.sport = f.udpSrc;
    this.dport = f.udpDst;
    this.label = 'UDP';
  }
}

function isVlanTpid(et: number): boolean {
  return et === 0x8100 || et === 0x88a8 || et === 0x9100 || et === 0x9200;
}

export function ipProtoName(proto: number): string {
  return IP_PROTO_NAMES[proto] ?? `IP proto ${proto}`;
}

function etherName(type: number): string {
  switch (type) {
    case 0x0800:
      return 'IPv4';
    case 0x86dd:
      return 'IPv6';
    case 0x0806:
      return 'ARP';
    case 0x88cc:
      return 'LLDP';
    case 0x8809:
      return 'LACP';
    default:
      return `EtherType 0x${type.toString(16).padStart(4, '0')}`;
  }
}

/**
 * Reads one level: the layers from `from` at `depth`. `lastIp`: the IP header nearest the
 * tunnel (an outer level that ends in one: the VTEPs), else the first. Returns the index of the
 * tunnel layer that ends the level, or -1.
 */
function readLevel(layers: readonly Layer[], from: number, depth: number, out: Level, lastIp: boolean): number {
  out.reset();
  let ipSet = false;
  let transportSet = false;
  for (let i = from; i < layers.length; i++) {
    const l = layers[i] as Layer;
    if (l.depth !== depth) break;
    switch (l.type) {
      case 'eth':
        if (out.ethSrc < 0) {
          out.ethSrc = l.src;
          out.ethDst = l.dst;
          out.ethertype = l.ethertype;
          out.label = etherName(l.ethertype);
        }
        break;
      case 'vlan':
        out.ethertype = l.ethertype;
        out.label = etherName(l.ethertype);
        break;
      case 'sll':
        if (out.ethertype < 0) {
          out.ethertype = l.protocol;
          out.label = etherName(l.protocol);
        }
        break;
      case 'arp':
        out.label = 'ARP';
        break;
      case 'ipv4':
      case 'ipv6':
        if (ipSet && !lastIp) break;
        ipSet = true;
        transportSet = false;
        out.sport = out.dport = -1;
        out.proto = l.proto;
        out.label = ipProtoName(l.proto);
        if (l.type === 'ipv4') {
          out.ipVersion = 4;
          out.src4 = l.src;
          out.dst4 = l.dst;
          out.src6 = out.dst6 = undefined;
        } else {
          out.ipVersion = 6;
          out.src6 = l.src;
          out.dst6 = l.dst;
        }
        break;
      case 'tcp':
      case 'udp':
        if (transportSet) break;
        transportSet = true;
        out.sport = l.srcPort;
        out.dport = l.dstPort;
        out.label = l.type === 'tcp' ? 'TCP' : 'UDP';
        break;
      case 'icmp':
      case 'icmpv6':
        if (transportSet) break;
        transportSet = true;
        out.sport = l.icmpType;
        out.dport = l.code;
        out.label = l.type === 'icmp' ? 'ICMP' : 'ICMPv6';
        break;
      case 'vxlan':
      case 'geneve':
      case 'vxlan-gpe':
        return i;
      case 'loopback':
        break;
    }
  }
  return -1;
}

/** The fields of one packet, refilled for each (no allocation per packet). */
export class PacketFields {
  readonly outer = new Level();
  readonly inner = new Level();
  hasOuter = false;
  hasInner = false;
  tunnel = TUNNEL_NONE;
  vni = -1;
  /** What the row's `protocol` says: the inner level's, or the outer's when there is no inner. */
  protocol = '';

  read(p: DecodedPacket, side: Side): this {
    const layers = p.layers;
    this.tunnel = TUNNEL_NONE;
    this.vni = -1;
    if (side === 'overlay') {
      this.hasOuter = false;
      this.outer.reset();
      readLevel(layers, 0, 0, this.inner, false);
      this.hasInner = true;
      this.protocol = this.inner.label || (p.raw.caplen === 0 ? 'empty' : 'unknown');
      return this;
    }
    // the outer level to the tunnel (the VTEPs: the IP header nearest it), or the whole packet
    const t = readLevel(layers, 0, 0, this.outer, true);
    this.hasOuter = true;
    if (t < 0) {
      // not tunnelled: the same level read again, this time the first IP header (the packet's own)
      readLevel(layers, 0, 0, this.outer, false);
      this.hasInner = false;
      this.inner.reset();
      this.protocol = this.outer.label || 'unknown';
      return this;
    }
    const tl = layers[t] as Layer & { vni: number };
    this.tunnel = tl.type === 'vxlan' ? TUNNEL_VXLAN : tl.type === 'geneve' ? TUNNEL_GENEVE : TUNNEL_GPE;
    this.vni = tl.vni;
    readLevel(layers, t + 1, tl.depth + 1, this.inner, false);
    this.hasInner = true;
    this.protocol = this.inner.label || (tl.type === 'vxlan' ? 'VXLAN' : tl.type === 'geneve' ? 'GENEVE' : 'VXLAN-GPE');
    return this;
  }

  /**
   * The same fields from the facts the pass read from the bytes (x.facts); false when they do
   * not say it all (then `read` the packet's layers). A packet the facts describe has no
   * decoding error and is not truncated (readFacts leaves such packets to the full decoder).
   */
  fromFacts(f: PacketFacts, side: Side): boolean {
    if (side === 'overlay') {
      // a tunnel inside a bridge frame: the facts' flow is the one inside it, the row's is the frame's own
      if (f.tunnel !== FACTS_NONE || !this.inner.fromFactsFlow(f)) return false;
      this.tunnel = TUNNEL_NONE;
      this.vni = -1;
      this.hasOuter = false;
      this.outer.reset();
      this.hasInner = true;
      this.protocol = this.inner.label;
      return true;
    }
    if (f.tunnel === FACTS_NONE) {
      if (!this.outer.fromFactsFlow(f)) return false;
      this.tunnel = TUNNEL_NONE;
      this.vni = -1;
      this.hasOuter = true;
      this.hasInner = false;
      this.inner.reset();
      this.protocol = this.outer.label;
      return true;
    }
    // readFacts describes one VXLAN tunnel (GENEVE, VXLAN-GPE and nested tunnels go to the full decoder)
    if (f.tunnel !== FACTS_VXLAN || !this.inner.fromFactsFlow(f)) return false;
    this.outer.fromFactsOuter(f);
    this.tunnel = TUNNEL_VXLAN;
    this.vni = f.vni;
    this.hasOuter = true;
    this.hasInner = true;
    this.protocol = this.inner.label;
    return true;
  }
}
