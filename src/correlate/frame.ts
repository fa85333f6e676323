/**
 * What the correlator needs from a decoded packet: for the underlay, the inner frame a VXLAN
 * packet carries (from the inner Ethernet header to the end of the UDP payload, as far as it
 * was captured) and its outer addresses; for the overlay (bridge), the whole captured frame.
 */
import type { DecodedPacket, Ipv4Layer, Ipv6Layer, Layer, UdpLayer, VxlanLayer } from '../decode/types.js';
import { formatIPv4, formatIPv6 } from '../decode/format/addr.js';
import { frameKey } from './bytes.js';

/** LINKTYPE_ETHERNET: the only bridge capture whose frames can be compared with inner frames. */
export const LINKTYPE_ETHERNET = 1;

interface FrameBase {
  /** Packet number in its file (1-based). */
  n: number;
  /** Time in µs (the overlay's with the clock offset added). */
  tsUs: number;
  /** The captured bytes that are compared: the Ethernet frame, or what follows its EtherType (see CompareFrom). */
  bytes: Uint8Array;
  /** The whole captured frame, its link header included (what reasons look at). */
  frame: Uint8Array;
  /** Length of the compared part on the wire (>= bytes.length when the snaplen cut it). */
  wireLen: number;
  /** Length of the frame on the wire, counted as an Ethernet frame (14-byte header). */
  frameLen: number;
  /** Offset in `bytes` of the TCP/UDP checksum, or -1. */
  checksumAt: number;
  key: number;
  /** Destination and source MACs as 48-bit numbers; NaN when the capture does not hold them (Linux cooked). */
  dstMac: number;
  srcMac: number;
  /** Sent to a broadcast or multicast address (from the MAC, or a cooked header's packet type). */
  groupDst: boolean;
}

/**
 * Where the compared bytes start. 'ethernet': the whole frame (a bridge captured on its own,
 * `tcpdump -i vxlan_bridge`). 'network': after the EtherType, for a bridge side captured with
 * `tcpdump -i any` (Linux cooked, SLL/SLL2), whose records hold no Ethernet header: the inner
 * frame is then compared from its 15th byte.
 */
export type CompareFrom = 'ethernet' | 'network';

/** LINKTYPE_LINUX_SLL and LINKTYPE_LINUX_SLL2 (`tcpdump -i any`). */
export const LINKTYPE_SLL = 113;
export const LINKTYPE_SLL2 = 276;
const ETHERNET_HEADER = 14;

export interface UnderlayFrame extends FrameBase {
  vni: number;
  /** "vtepSrc>vtepDst": one string per pair (cached), a cheap map key. */
  pair: string;
  vxlanFlags: number;
  vtepSrc: string;
  vtepDst: string;
  udpDstPort: number;
  /** Size of the whole outer packet on the wire. */
  outerLen: number;
  /** The outer IP packet is a first fragment: the inner frame continues in later fragments. */
  outerFragment: boolean;
}

export type OverlayFrame = FrameBase;

export function tsUsOf(p: DecodedPacket): number {
  return p.raw.tsSec * 1e6 + p.raw.tsNsec / 1e3;
}

/** The MAC at `at` in a frame as a 48-bit number (NaN when not captured): 0 destination, 6 source. */
export function macAt(bytes: Uint8Array, at: number): number {
  if (bytes.length < at + 6) return NaN;
  let v = 0;
  for (let i = at; i < at + 6; i++) v = v * 256 + (bytes[i] as number);
  return v;
}

/** True for broadcast and multicast MACs (the I/G bit): BUM traffic. */
export function isGroupMac(mac: number): boolean {
  return Number.isFinite(mac) && Math.floor(mac / 0x10000000000) % 2 === 1;
}

/** Offset (from `base`) of the first TCP/UDP checksum at `depth`, unless in an IP fragment. */
function checksumOffset(layers: Layer[], depth: number, base: number): number {
  for (const l of layers) {
    if (l.depth !== depth) continue;
    if (l.type === 'ipv4' && ((l.flags & 1) !== 0 || l.fragOffset !== 0)) return -1;
    if (l.type === 'ipv6' && l.fragment) return -1;
    if (l.type === 'tcp') return l.offset + 16 - base;
    if (l.type === 'udp') return l.offset + 6 - base;
  }
  return -1;
}

/** The VXLAN tunnel at depth 0 and the outer IP and UDP layers in front of it. */
export function outerVxlan(p: DecodedPacket): { vxlan: VxlanLayer; ip: Ipv4Layer | Ipv6Layer; udp: UdpLayer } | undefined {
  let ip: Ipv4Layer | Ipv6Layer | undefined;
  let udp: UdpLayer | undefined;
  for (const l of p.layers) {
    if (l.depth !== 0) break;
    if (l.type === 'ipv4' || l.type === 'ipv6') ip = l;
    else if (l.type === 'udp') udp = l;
    else if (l.type === 'vxlan') return ip && udp ? { vxlan: l, ip, udp } : undefined;
  }
  return undefined;
}

/** Text of VTEP addresses and pairs, made once per address (a capture has few VTEPs). */
const ipv4Texts = new Map<number, string>();
const pairText = new Map<string, Map<string, string>>();
const TEXT_CACHE = 4096;

/** The text of an IPv4 address (a number), made once per address. */
export function ipv4Text(ip: number): string {
  let t = ipv4Texts.get(ip);
  if (t === undefined) {
    if (ipv4Texts.size >= TEXT_CACHE) ipv4Texts.clear();
    ipv4Texts.set(ip, (t = formatIPv4(ip)));
  }
  return t;
}

/** "src>dst", one string per pair (cached): a cheap map key. */
export function pairOf(src: string, dst: string): string {
  let bySrc = pairText.get(src);
  if (bySrc === undefined) {
    if (pairText.size >= TEXT_CACHE) pairText.clear();
    pairText.set(src, (bySrc = new Map()));
  }
  let t = bySrc.get(dst);
  if (t === undefined) bySrc.set(dst, (t = `${src}>${dst}`));
  return t;
}

export function ipText(ip: Ipv4Layer | Ipv6Layer, which: 'src' | 'dst'): string {
  return ip.type === 'ipv4' ? ipv4Text(ip[which]) : formatIPv6(ip[which]);
}

/** The inner frame of a VXLAN packet, or undefined when the packet is not VXLAN. */
export function underlayFrame(p: DecodedPacket, from: CompareFrom = 'ethernet'): UnderlayFrame | undefined {
  const outer = outerVxlan(p);
  if (!outer) return undefined;
  const { vxlan, ip, udp } = outer;
  const data = p.raw.data;
  const start = vxlan.offset + vxlan.length;
  const wireTotal = Math.max(p.raw.len, data.length);
  let end = data.length;
  let wireEnd = wireTotal;
  if (ip.type === 'ipv4' && ip.totalLength > 0) end = Math.min(end, ip.offset + ip.totalLength);
  const outerFragment = ip.type === 'ipv4' ? (ip.flags & 1) !== 0 : ip.fragment !== undefined;
  if (udp.udpLength >= 8) {
    end = Math.min(end, udp.offset + udp.udpLength);
    wireEnd = udp.offset + udp.udpLength;
  }
  const frame = data.subarray(Math.min(start, end), end);
  const frameLen = Math.max(frame.length, wireEnd - start);
  const skip = from === 'network' ? Math.min(ETHERNET_HEADER, frame.length) : 0;
  const bytes = frame.subarray(skip);
  const wireLen = Math.max(bytes.length, frameLen - skip);
  const at = checksumOffset(p.layers, vxlan.depth + 1, start);
  const checksumAt = at >= skip ? at - skip : -1;
  const vtepSrc = ipText(ip, 'src');
  const vtepDst = ipText(ip, 'dst');
  const dstMac = macAt(frame, 0);
  return {
    n: p.n,
    tsUs: tsUsOf(p),
    bytes,
    frame,
    wireLen,
    frameLen,
    checksumAt,
    key: frameKey(bytes, wireLen, checksumAt),
    dstMac,
    srcMac: macAt(frame, 6),
    groupDst: isGroupMac(dstMac),
    vni: vxlan.vni,
    vxlanFlags: vxlan.flags,
    pair: pairOf(vtepSrc, vtepDst),
    vtepSrc,
    vtepDst,
    udpDstPort: udp.dstPort,
    outerLen: wireTotal,
    outerFragment,
  };
}

/**
 * A frame of a bridge capture, or undefined when it cannot be compared with inner frames: an
 * Ethernet frame; with `from` 'network', also a Linux cooked record (its bytes after the
 * cooked header are what follows the EtherType).
 */
export function overlayFrame(p: DecodedPacket, clockOffsetUs = 0, from: CompareFrom = 'ethernet'): OverlayFrame | undefined {
  const lt = p.raw.linkType;
  const data = p.raw.data;
  const onWire = Math.max(p.raw.len, data.length);
  if (lt === LINKTYPE_ETHERNET) {
    const skip = from === 'network' ? Math.min(ETHERNET_HEADER, data.length) : 0;
    const bytes = data.subarray(skip);
    const at = checksumOffset(p.layers, 0, 0);
    const checksumAt = at >= skip ? at - skip : -1;
    const wireLen = Math.max(bytes.length, onWire - skip);
    const dstMac = macAt(data, 0);
    return {
      n: p.n,
      tsUs: tsUsOf(p) + clockOffsetUs,
      bytes,
      frame: data,
      wireLen,
      frameLen: onWire,
      checksumAt,
      key: frameKey(bytes, wireLen, checksumAt),
      dstMac,
      srcMac: macAt(data, 6),
      groupDst: isGroupMac(dstMac),
    };
  }
  if (from !== 'network' || (lt !== LINKTYPE_SLL && lt !== LINKTYPE_SLL2)) return undefined;
  const sll = p.layers[0];
  if (sll === undefined || sll.type !== 'sll') return undefined;
  const skip = Math.min(sll.length, data.length);
  const bytes = data.subarray(skip);
  const at = checksumOffset(p.layers, 0, 0);
  const checksumAt = at >= skip ? at - skip : -1;
  const wireLen = Math.max(bytes.length, onWire - skip);
  // the cooked header keeps the link-layer source address (6 bytes for Ethernet) and the packet
  // type: 1 broadcast, 2 multicast (PACKET_BROADCAST, PACKET_MULTICAST)
  const srcMac = sll.addr.length === 6 ? macAt(sll.addr, 0) : NaN;
  return {
    n: p.n,
    tsUs: tsUsOf(p) + clockOffsetUs,
    bytes,
    frame: bytes,
    wireLen,
    frameLen: wireLen + ETHERNET_HEADER,
    checksumAt,
    key: frameKey(bytes, wireLen, checksumAt),
    dstMac: NaN,
    srcMac,
    groupDst: sll.packetType === 1 || sll.packetType === 2,
  };
}
