/**
 * What `stats` needs to know about one packet, as numbers in one reused object (gopacket's
 * DecodingLayerParser idea: no object per layer per packet on a counting path).
 *
 * Two ways fill it: `factsFromLayers` reads a fully decoded packet (the layer objects that
 * `decode`, the web detail and the one analysis use), `readFacts` (fast-decode.ts) reads the
 * bytes directly for the common shapes and says when it cannot. StatsCollector counts from the
 * facts only, so both give the same figures; the property test in stats-fast.test.ts checks it
 * on every fixture and the public corpus.
 */
import type { DecodedPacket, Layer } from '../decode/types.js';

/** Layer types in the order of their bit (and of `protocols` before sorting by count). */
export const LAYER_TYPES = [
  'eth',
  'vlan',
  'sll',
  'loopback',
  'arp',
  'ipv4',
  'ipv6',
  'udp',
  'tcp',
  'icmp',
  'icmpv6',
  'vxlan',
  'geneve',
  'vxlan-gpe',
] as const;

export const BIT_ETH = 1 << 0;
export const BIT_VLAN = 1 << 1;
export const BIT_SLL = 1 << 2;
export const BIT_LOOPBACK = 1 << 3;
export const BIT_ARP = 1 << 4;
export const BIT_IPV4 = 1 << 5;
export const BIT_IPV6 = 1 << 6;
export const BIT_UDP = 1 << 7;
export const BIT_TCP = 1 << 8;
export const BIT_ICMP = 1 << 9;
export const BIT_ICMPV6 = 1 << 10;
export const BIT_VXLAN = 1 << 11;
export const BIT_GENEVE = 1 << 12;
export const BIT_GPE = 1 << 13;

/** Layer type → bit, to count "packets containing protocol X" without a Set per packet. */
export function layerBit(type: Layer['type']): number {
  switch (type) {
    case 'eth':
      return BIT_ETH;
    case 'vlan':
      return BIT_VLAN;
    case 'sll':
      return BIT_SLL;
    case 'loopback':
      return BIT_LOOPBACK;
    case 'arp':
      return BIT_ARP;
    case 'ipv4':
      return BIT_IPV4;
    case 'ipv6':
      return BIT_IPV6;
    case 'udp':
      return BIT_UDP;
    case 'tcp':
      return BIT_TCP;
    case 'icmp':
      return BIT_ICMP;
    case 'icmpv6':
      return BIT_ICMPV6;
    case 'vxlan':
      return BIT_VXLAN;
    case 'geneve':
      return BIT_GENEVE;
    case 'vxlan-gpe':
      return BIT_GPE;
  }
}

export const TUNNEL_NONE = 0;
export const TUNNEL_VXLAN = 1;
export const TUNNEL_GENEVE = 2;
export const TUNNEL_GPE = 3;

export const TRANSPORT_NONE = 0;
export const TRANSPORT_UDP = 1;
export const TRANSPORT_TCP = 2;

/** The outer link layer as the overhead counts it: an Ethernet header, whatever the capture's link type. */
export const UNDERLAY_LINK_BYTES = 14;

/**
 * One packet's facts. Fields are numbers (and two byte views for IPv6 VTEPs), set by reset()
 * and then by one of the readers; the object's shape never changes.
 */
export class PacketFacts {
  len = 0;
  caplen = 0;
  ts = 0;
  linkType = 0;
  malformed = false;
  truncated = false;
  warnings = false;
  /** Bits (BIT_*) of the layer types present, at any depth. */
  seen = 0;
  tunnel = TUNNEL_NONE;
  vni = 0;
  /** Bytes before the first tunnel's inner frame, the link layer counted as Ethernet. */
  overhead = 0;
  /** What the link layer adds to count as Ethernet (see linkAdjustment in stats.ts). */
  linkAdjust = 0;
  /** The last IP header before the tunnel: 0 none, 4 or 6. */
  outerVersion = 0;
  outerSrc = 0;
  outerDst = 0;
  outerSrc6: Uint8Array | undefined = undefined;
  outerDst6: Uint8Array | undefined = undefined;
  /** Ports of the last UDP header before the tunnel. */
  udpSrc = 0;
  udpDst = 0;
  /** Source MAC of the Ethernet frame right inside the tunnel, -1 when none. */
  innerEthSrc = -1;
  // The flow: first IP / transport / Ethernet / ICMP-ICMPv6-ARP header of the level it is counted at
  // (inside the first tunnel when there is one, else the outer level).
  ipVersion = 0;
  ipSrc = 0;
  ipDst = 0;
  /** IPv6 source words 0-3, destination 4-7 (big-endian 32-bit words, as int32). */
  readonly ip6 = new Int32Array(8);
  ipProto = 0;
  transport = TRANSPORT_NONE;
  srcPort = 0;
  dstPort = 0;
  hasEth = false;
  ethSrc = 0;
  ethDst = 0;
  ethType = 0;
  /** BIT_ICMP, BIT_ICMPV6 or BIT_ARP of the flow's level, 0 when none. */
  other = 0;
  /** With `other` BIT_ICMP or BIT_ICMPV6: its type and code (what conn.log puts in the ports). */
  icmpType = 0;
  icmpCode = 0;

  reset(): void {
    this.malformed = false;
    this.truncated = false;
    this.warnings = false;
    this.seen = 0;
    this.tunnel = TUNNEL_NONE;
    this.vni = 0;
    this.overhead = 0;
    this.linkAdjust = 0;
    this.outerVersion = 0;
    this.outerSrc6 = undefined;
    this.outerDst6 = undefined;
    this.udpSrc = 0;
    this.udpDst = 0;
    this.innerEthSrc = -1;
    this.resetFlow();
  }

  resetFlow(): void {
    this.ipVersion = 0;
    this.transport = TRANSPORT_NONE;
    this.hasEth = false;
    this.other = 0;
  }
}

/** Big-endian 32-bit word of `b` at `at`, as an int32. */
export function word32(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number);
}

/** What the link layer adds to a packet to count as Ethernet (0 for Ethernet itself). */
export function linkAdjustmentOf(linkType: number, first: Layer | undefined): number {
  if (linkType === 1 || first === undefined) return 0; // Ethernet: counted as captured
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

/** Fills `f` from a fully decoded packet. */
export function factsFromLayers(p: DecodedPacket, f: PacketFacts): void {
  const raw = p.raw;
  f.reset();
  f.len = raw.len;
  f.caplen = raw.caplen;
  f.ts = raw.tsSec + raw.tsNsec / 1e9;
  f.linkType = raw.linkType;
  f.malformed = p.error !== undefined;
  f.truncated = p.truncated === true;
  f.warnings = p.warnings !== undefined;
  const layers = p.layers;
  let seen = 0;
  let outerIp: Layer | undefined;
  let tunnel: Layer | undefined;
  let tunnelIndex = -1;
  // Each layer type has its own object shape: its `type` is read once (such reads are slow).
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i] as Layer;
    const type = l.type;
    seen |= layerBit(type);
    if (tunnel) continue;
    if (type === 'ipv4' || type === 'ipv6') outerIp = l;
    else if (type === 'udp') {
      f.udpDst = l.dstPort;
      f.udpSrc = l.srcPort;
    } else if (type === 'vxlan' || type === 'geneve' || type === 'vxlan-gpe') {
      tunnel = l;
      tunnelIndex = i;
    }
  }
  f.seen = seen;
  if (tunnel === undefined || (tunnel.type !== 'vxlan' && tunnel.type !== 'geneve' && tunnel.type !== 'vxlan-gpe')) {
    flowFromLayers(layers, 0, 0, f);
    return;
  }
  f.tunnel = tunnel.type === 'vxlan' ? TUNNEL_VXLAN : tunnel.type === 'geneve' ? TUNNEL_GENEVE : TUNNEL_GPE;
  f.vni = tunnel.vni;
  f.linkAdjust = linkAdjustmentOf(raw.linkType, layers[0]);
  f.overhead = tunnel.offset + tunnel.length + f.linkAdjust;
  if (outerIp?.type === 'ipv4') {
    f.outerVersion = 4;
    f.outerSrc = outerIp.src;
    f.outerDst = outerIp.dst;
  } else if (outerIp?.type === 'ipv6') {
    f.outerVersion = 6;
    f.outerSrc6 = outerIp.src;
    f.outerDst6 = outerIp.dst;
  }
  const inner = layers[tunnelIndex + 1];
  if (inner?.type === 'eth') f.innerEthSrc = inner.src;
  flowFromLayers(layers, tunnelIndex + 1, tunnel.depth + 1, f);
}

/** The flow's headers: the first of each kind from `from` on, while the depth stays `depth`. */
function flowFromLayers(layers: Layer[], from: number, depth: number, f: PacketFacts): void {
  for (let i = from; i < layers.length; i++) {
    const l = layers[i] as Layer;
    if (l.depth !== depth) break;
    const type = l.type;
    if (type === 'ipv4') {
      if (f.ipVersion !== 0) continue;
      f.ipVersion = 4;
      f.ipSrc = l.src;
      f.ipDst = l.dst;
      f.ipProto = l.proto;
    } else if (type === 'ipv6') {
      if (f.ipVersion !== 0) continue;
      f.ipVersion = 6;
      for (let w = 0; w < 4; w++) {
        f.ip6[w] = word32(l.src, w * 4);
        f.ip6[w + 4] = word32(l.dst, w * 4);
      }
      f.ipProto = l.proto;
    } else if (type === 'udp' || type === 'tcp') {
      if (f.transport !== TRANSPORT_NONE) continue;
      f.transport = type === 'udp' ? TRANSPORT_UDP : TRANSPORT_TCP;
      f.srcPort = l.srcPort;
      f.dstPort = l.dstPort;
    } else if (type === 'eth') {
      if (f.hasEth) continue;
      f.hasEth = true;
      f.ethSrc = l.src;
      f.ethDst = l.dst;
      f.ethType = l.ethertype;
    } else if (type === 'icmp' || type === 'icmpv6') {
      if (f.other !== 0) continue;
      f.other = layerBit(type);
      f.icmpType = l.icmpType;
      f.icmpCode = l.code;
    } else if (type === 'arp') {
      if (f.other === 0) f.other = layerBit(type);
    }
  }
}
