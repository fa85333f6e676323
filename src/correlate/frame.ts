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
  /** The captured bytes of the Ethernet frame. */
  bytes: Uint8Array;
  /** Length of the frame on the wire (>= bytes.length when the snaplen cut it). */
  wireLen: number;
  /** Offset in `bytes` of the TCP/UDP checksum, or -1. */
  checksumAt: number;
  key: number;
}

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
const ipv4Text = new Map<number, string>();
const pairText = new Map<string, Map<string, string>>();
const TEXT_CACHE = 4096;

function cachedIPv4(ip: number): string {
  let t = ipv4Text.get(ip);
  if (t === undefined) {
    if (ipv4Text.size >= TEXT_CACHE) ipv4Text.clear();
    ipv4Text.set(ip, (t = formatIPv4(ip)));
  }
  return t;
}

function pairOf(src: string, dst: string): string {
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
  return ip.type === 'ipv4' ? cachedIPv4(ip[which]) : formatIPv6(ip[which]);
}

/** The inner frame of a VXLAN packet, or undefined when the packet is not VXLAN. */
export function underlayFrame(p: DecodedPacket): UnderlayFrame | undefined {
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
  const bytes = data.subarray(Math.min(start, end), end);
  const wireLen = Math.max(bytes.length, wireEnd - start);
  const checksumAt = checksumOffset(p.layers, vxlan.depth + 1, start);
  const vtepSrc = ipText(ip, 'src');
  const vtepDst = ipText(ip, 'dst');
  return {
    n: p.n,
    tsUs: tsUsOf(p),
    bytes,
    wireLen,
    checksumAt,
    key: frameKey(bytes, wireLen, checksumAt),
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

/** The whole frame of a bridge capture, or undefined when the capture is not Ethernet. */
export function overlayFrame(p: DecodedPacket, clockOffsetUs = 0): OverlayFrame | undefined {
  if (p.raw.linkType !== LINKTYPE_ETHERNET) return undefined;
  const bytes = p.raw.data;
  const wireLen = Math.max(p.raw.len, bytes.length);
  const checksumAt = checksumOffset(p.layers, 0, 0);
  return {
    n: p.n,
    tsUs: tsUsOf(p) + clockOffsetUs,
    bytes,
    wireLen,
    checksumAt,
    key: frameKey(bytes, wireLen, checksumAt),
  };
}
