/**
 * Builders for frames whose every byte is explained: used by the unit tests, the fixture
 * generator (scripts/make-fixtures.mjs) and the benchmark. Checksums are computed, lengths
 * are filled in, nothing is random unless asked.
 */

import { concatBytes } from '../decode/file/writer.js';

export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ipv4Addr(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

export function ipv6Addr(text: string): Uint8Array {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':').filter(Boolean) : [];
  const t = tail ? tail.split(':').filter(Boolean) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}
function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** RFC 1071 Internet checksum over `bytes` (plus an optional initial sum). */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (bytes.length % 2) sum += (bytes[bytes.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ethernet(dst: string, src: string, ethertype: number, payload: Uint8Array): Uint8Array {
  return concat(mac(dst), mac(src), Uint8Array.from(u16(ethertype)), payload);
}

export function vlanTag(vid: number, ethertype: number, payload: Uint8Array, pcp = 0): Uint8Array {
  return concat(Uint8Array.from([...u16((pcp << 13) | vid), ...u16(ethertype)]), payload);
}

export interface Ipv4Options {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  id?: number;
  /** Flags bits (0..7: reserved, DF=2, MF=1) */
  flags?: number;
  fragOffset?: number;
  /** Override the total length field (0 for BIG TCP). */
  totalLength?: number;
  options?: Uint8Array;
}

export function ipv4(o: Ipv4Options, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const ihl = 20 + opts.length;
  const total = o.totalLength ?? ihl + payload.length;
  const h = Uint8Array.from([
    0x40 | (ihl / 4),
    0,
    ...u16(total),
    ...u16(o.id ?? 1),
    ...u16(((o.flags ?? 2) << 13) | ((o.fragOffset ?? 0) / 8)),
    o.ttl ?? 64,
    o.proto,
    0,
    0,
    ...ipv4Addr(o.src),
    ...ipv4Addr(o.dst),
  ]);
  const header = concat(h, opts);
  const ck = internetChecksum(header);
  header[10] = ck >> 8;
  header[11] = ck & 0xff;
  return concat(header, payload);
}

export function ipv6(
  o: { src: string; dst: string; nextHeader: number; hopLimit?: number; payloadLength?: number },
  payload: Uint8Array,
): Uint8Array {
  const h = Uint8Array.from([0x60, 0, 0, 0, ...u16(o.payloadLength ?? payload.length), o.nextHeader, o.hopLimit ?? 64]);
  return concat(h, ipv6Addr(o.src), ipv6Addr(o.dst), payload);
}

export function udp(srcPort: number, dstPort: number, payload: Uint8Array, length?: number): Uint8Array {
  // Checksum 0: "no checksum" is valid for UDP over IPv4, and what Linux VXLAN sends by default.
  return concat(Uint8Array.from([...u16(srcPort), ...u16(dstPort), ...u16(length ?? 8 + payload.length), 0, 0]), payload);
}

export function tcp(
  o: { srcPort: number; dstPort: number; seq?: number; ack?: number; flags?: number; window?: number; options?: Uint8Array },
  payload: Uint8Array,
): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const doff = (20 + opts.length) / 4;
  return concat(
    Uint8Array.from([
      ...u16(o.srcPort),
      ...u16(o.dstPort),
      ...u32(o.seq ?? 0),
      ...u32(o.ack ?? 0),
      (doff << 4) | (((o.flags ?? 0x02) >> 8) & 1),
      (o.flags ?? 0x02) & 0xff,
      ...u16(o.window ?? 64240),
      0,
      0,
      0,
      0,
    ]),
    opts,
    payload,
  );
}

export function icmpEcho(type: 8 | 0, id: number, seq: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const m = concat(Uint8Array.from([type, 0, 0, 0, ...u16(id), ...u16(seq)]), data);
  const ck = internetChecksum(m);
  m[2] = ck >> 8;
  m[3] = ck & 0xff;
  return m;
}

export function arpRequest(senderMac: string, senderIp: string, targetIp: string, op = 1, targetMac = '00:00:00:00:00:00'): Uint8Array {
  return Uint8Array.from([
    0,
    1,
    8,
    0,
    6,
    4,
    ...u16(op),
    ...mac(senderMac),
    ...ipv4Addr(senderIp),
    ...mac(targetMac),
    ...ipv4Addr(targetIp),
  ]);
}

/** The 8-byte VXLAN header: flags (0x08 = I), reserved, VNI, reserved. */
export function vxlanHeader(vni: number, flags = 0x08): Uint8Array {
  return Uint8Array.from([flags, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0]);
}

export interface VxlanFrameOptions {
  outerSrcMac?: string;
  outerDstMac?: string;
  outerSrc?: string;
  outerDst?: string;
  srcPort?: number;
  dstPort?: number;
  vni?: number;
  flags?: number;
}

/**
 * An outer Ethernet/IP/UDP/VXLAN packet around `inner` (an Ethernet frame): 50 bytes of overhead
 * over IPv4, 70 over IPv6 (an outer address with a colon).
 */
export function vxlanPacket(inner: Uint8Array, o: VxlanFrameOptions = {}): Uint8Array {
  const src = o.outerSrc ?? '10.3.1.156';
  const dst = o.outerDst ?? '10.3.1.174';
  const datagram = udp(o.srcPort ?? 53394, o.dstPort ?? 4789, concat(vxlanHeader(o.vni ?? 10, o.flags ?? 0x08), inner));
  const v6 = src.includes(':');
  return ethernet(
    o.outerDstMac ?? '52:54:00:00:01:74',
    o.outerSrcMac ?? '52:54:00:00:01:56',
    v6 ? 0x86dd : 0x0800,
    v6 ? ipv6({ src, dst, nextHeader: 17 }, datagram) : ipv4({ src, dst, proto: 17, flags: 0 }, datagram),
  );
}

/** Linux packet types (<linux/if_packet.h>): received for this host, sent by it. */
export const PACKET_HOST = 0;
export const PACKET_OUTGOING = 4;

/**
 * An Ethernet frame as `tcpdump -i any` records it (LINKTYPE_LINUX_SLL2, 276): the 14-byte
 * Ethernet header replaced by the 20-byte cooked header
 *   protocol (the EtherType) | reserved 0 (2) | interface index (4) | ARPHRD_ETHER 1 (2) |
 *   packet type (1) | address length 6 (1) | the source MAC, padded to 8
 * (the kernel's sockaddr_ll: the address is the sender's, in both directions).
 */
export function sll2FromEthernet(frame: Uint8Array, ifindex: number, packetType: number): Uint8Array {
  const header = Uint8Array.from([
    frame[12] as number,
    frame[13] as number,
    0,
    0,
    ...u32(ifindex),
    ...u16(1),
    packetType,
    6,
    ...frame.subarray(6, 12),
    0,
    0,
  ]);
  return concat(header, frame.subarray(14));
}
