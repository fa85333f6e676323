/**
 * ICMP "fragmentation needed" (IPv4 type 3 code 4, RFC 1191) and ICMPv6 "packet too big" (type 2,
 * RFC 8201) in a capture: the evidence that a frame did not fit, with the MTU the sender was told
 * and the packet it is about (the quoted header: addresses, length, DF).
 *
 *  ICMPv4:  type 3 | code 4 | checksum (2) | unused (2) | next-hop MTU (2) | quoted IPv4 header + 8 bytes
 *  ICMPv6:  type 2 | code 0 | checksum (2) | MTU (4)                        | as much of the packet as fits
 *
 * The decoder does not decode the quoted packet; these few fields are read here, every read
 * checked against the captured bytes.
 */
import { formatIPv4, formatIPv6 } from '../../decode/format/addr.js';
import type { DecodedPacket } from '../../decode/types.js';

export interface TooBigSeen {
  /** The record number in its capture, and its time on the node's clock, µs. */
  frame: number;
  tsUs: number;
  /** The MTU the ICMP message announces (null when not captured). */
  mtu: number | null;
  /** Who sent the ICMP message, and to whom (the sender of the packet that did not fit). */
  from: string;
  to: string;
  /** The packet it is about, from its quoted header (null when not captured). */
  quoted: { src: string; dst: string; length: number; df: boolean | null } | null;
  /** 0 on the outer packet; 1 inside a VXLAN tunnel (an inner ICMP seen on the underlay). */
  depth: number;
}

function u16(d: Uint8Array, at: number): number | undefined {
  return at + 2 <= d.length ? ((d[at] as number) << 8) | (d[at + 1] as number) : undefined;
}

function u32(d: Uint8Array, at: number): number | undefined {
  const hi = u16(d, at);
  const lo = u16(d, at + 2);
  return hi === undefined || lo === undefined ? undefined : hi * 65536 + lo;
}

/** The "too big" message `p` is, or undefined. */
export function tooBigOf(p: DecodedPacket, frame: number, tsUs: number): TooBigSeen | undefined {
  const d = p.raw.data;
  for (let i = 0; i < p.layers.length; i++) {
    const l = p.layers[i];
    if (!l) continue;
    const v4 = l.type === 'icmp' && l.icmpType === 3 && l.code === 4;
    const v6 = l.type === 'icmpv6' && l.icmpType === 2;
    if (!v4 && !v6) continue;
    const ip = p.layers[i - 1];
    if (!ip || (ip.type !== 'ipv4' && ip.type !== 'ipv6')) return undefined;
    const from = ip.type === 'ipv4' ? formatIPv4(ip.src) : formatIPv6(ip.src);
    const to = ip.type === 'ipv4' ? formatIPv4(ip.dst) : formatIPv6(ip.dst);
    const q = l.offset + 8;
    let quoted: TooBigSeen['quoted'] = null;
    let mtu: number | null;
    if (v4) {
      mtu = u16(d, l.offset + 6) ?? null;
      const len = u16(d, q + 2);
      const flags = q + 6 < d.length ? (d[q + 6] as number) : undefined;
      if (len !== undefined && q + 20 <= d.length && (d[q] as number) >> 4 === 4) {
        quoted = {
          src: formatIPv4(u32(d, q + 12) as number),
          dst: formatIPv4(u32(d, q + 16) as number),
          length: len,
          df: flags === undefined ? null : (flags & 0x40) !== 0,
        };
      }
    } else {
      mtu = u32(d, l.offset + 4) ?? null;
      const plen = u16(d, q + 4);
      if (plen !== undefined && q + 40 <= d.length && (d[q] as number) >> 4 === 6) {
        quoted = { src: formatIPv6(d.subarray(q + 8, q + 24)), dst: formatIPv6(d.subarray(q + 24, q + 40)), length: plen + 40, df: null };
      }
    }
    return { frame, tsUs, mtu, from, to, quoted, depth: l.depth };
  }
  return undefined;
}
