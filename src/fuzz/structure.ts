/**
 * Where the length fields of a capture live: the file's units (pcap file header and records,
 * pcapng blocks) and, inside each packet, the IPv4/IPv6/UDP/TCP/GENEVE/ARP length fields the
 * decoder trusts. The mutation engine aims at these offsets: a length set to 0, 0xFFFFFFFF or
 * an odd value is what damaged and hostile files do.
 */
import { CaptureParser } from '../decode/file/parser.js';
import { decodePacket } from '../decode/packet.js';
import { createRegistry } from '../decode/registry.js';

/** A length (or length-like) field at an absolute offset of the file. */
export interface LengthField {
  offset: number;
  /** Bytes: 1, 2 or 4. */
  size: 1 | 2 | 4;
  littleEndian: boolean;
  /** What it is, for the replay log: "pcap caplen", "ipv4 total length", ... */
  name: string;
}

/** A unit of the file: the pcap file header, a pcap record or a pcapng block. */
export interface CaptureUnit {
  offset: number;
  length: number;
  kind: 'pcap-header' | 'pcap-record' | 'pcapng-block';
}

export interface CaptureStructure {
  format: 'pcap' | 'pcapng' | undefined;
  units: CaptureUnit[];
  fields: LengthField[];
}

const registry = createRegistry();

function u32(b: Uint8Array, at: number, le: boolean): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, le);
}

function pcapUnits(bytes: Uint8Array, le: boolean, out: CaptureStructure): void {
  out.units.push({ offset: 0, length: 24, kind: 'pcap-header' });
  out.fields.push(
    { offset: 16, size: 4, littleEndian: le, name: 'pcap snaplen' },
    { offset: 20, size: 4, littleEndian: le, name: 'pcap link type' },
  );
  for (let at = 24; at + 16 <= bytes.length; ) {
    const caplen = u32(bytes, at + 8, le);
    const length = 16 + caplen;
    if (at + length > bytes.length) break;
    out.units.push({ offset: at, length, kind: 'pcap-record' });
    out.fields.push(
      { offset: at + 8, size: 4, littleEndian: le, name: 'pcap caplen' },
      { offset: at + 12, size: 4, littleEndian: le, name: 'pcap original length' },
    );
    at += length;
  }
}

function pcapngUnits(bytes: Uint8Array, out: CaptureStructure): void {
  let le = true;
  for (let at = 0; at + 12 <= bytes.length; ) {
    const typeLe = u32(bytes, at, true);
    if (typeLe === 0x0a0d0d0a) le = u32(bytes, at + 8, true) === 0x1a2b3c4d;
    const type = u32(bytes, at, le);
    const length = u32(bytes, at + 4, le);
    if (length < 12 || length % 4 !== 0 || at + length > bytes.length) break;
    out.units.push({ offset: at, length, kind: 'pcapng-block' });
    const f = (rel: number, size: 1 | 2 | 4, name: string): void => {
      if (rel + size <= length) out.fields.push({ offset: at + rel, size, littleEndian: le, name });
    };
    f(4, 4, 'pcapng block length');
    f(length - 4, 4, 'pcapng trailing block length');
    if (type === 6) {
      f(8, 4, 'pcapng EPB interface id');
      f(20, 4, 'pcapng EPB caplen');
      f(24, 4, 'pcapng EPB original length');
    } else if (type === 1) {
      f(12, 4, 'pcapng IDB snaplen');
      // option lengths: code (2) | length (2) | value padded to 4
      for (let o = 16; o + 4 <= length - 4; ) {
        const olen = new DataView(bytes.buffer, bytes.byteOffset + at + o + 2, 2).getUint16(0, le);
        f(o + 2, 2, 'pcapng option length');
        if (new DataView(bytes.buffer, bytes.byteOffset + at + o, 2).getUint16(0, le) === 0) break;
        o += 4 + ((olen + 3) & ~3);
      }
    } else if (type === 3) {
      f(8, 4, 'pcapng SPB original length');
    } else if (type === 2) {
      f(8, 2, 'pcapng OPB interface id');
      f(20, 4, 'pcapng OPB caplen');
    } else if (type === 0x0a0d0d0a) {
      f(16, 4, 'pcapng section length (low)');
    }
    at += length;
  }
}

/** Adds the protocol length fields of every packet (found by decoding it). */
function packetFields(bytes: Uint8Array, out: CaptureStructure): void {
  const parser = new CaptureParser();
  parser.push(bytes);
  parser.end();
  let n = 0;
  for (let raw = parser.next(); raw !== undefined && n < 4096; raw = parser.next()) {
    const base = raw.data.byteOffset - bytes.byteOffset;
    const p = decodePacket(raw, ++n, { registry });
    const f = (at: number, size: 1 | 2 | 4, name: string): void => {
      if (at + size <= raw.data.length) out.fields.push({ offset: base + at, size, littleEndian: false, name });
    };
    for (const l of p.layers) {
      switch (l.type) {
        case 'ipv4':
          f(l.offset, 1, 'ipv4 version/IHL');
          f(l.offset + 2, 2, 'ipv4 total length');
          f(l.offset + 6, 2, 'ipv4 fragment word');
          break;
        case 'ipv6':
          f(l.offset + 4, 2, 'ipv6 payload length');
          f(l.offset + 6, 1, 'ipv6 next header');
          break;
        case 'udp':
          f(l.offset + 4, 2, 'udp length');
          f(l.offset + 2, 2, 'udp destination port');
          break;
        case 'tcp':
          f(l.offset + 12, 1, 'tcp data offset');
          break;
        case 'geneve':
          f(l.offset, 1, 'geneve options length');
          break;
        case 'arp':
          f(l.offset + 4, 1, 'arp hlen');
          f(l.offset + 5, 1, 'arp plen');
          break;
        case 'eth':
          f(l.offset + 12, 2, 'ethertype');
          break;
        case 'vlan':
          f(l.offset + 2, 2, 'vlan ethertype');
          break;
        case 'vxlan':
          f(l.offset, 1, 'vxlan flags');
          break;
        case 'vxlan-gpe':
          f(l.offset + 3, 1, 'vxlan-gpe next protocol');
          break;
        default:
          break;
      }
    }
  }
}

/** The units and length fields of a capture file (best effort: stops where the file stops making sense). */
export function captureStructure(bytes: Uint8Array): CaptureStructure {
  const out: CaptureStructure = { format: undefined, units: [], fields: [] };
  if (bytes.length < 4) return out;
  const magic = u32(bytes, 0, false);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    out.format = 'pcap';
    pcapUnits(bytes, false, out);
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    out.format = 'pcap';
    pcapUnits(bytes, true, out);
  } else if (magic === 0x0a0d0d0a) {
    out.format = 'pcapng';
    pcapngUnits(bytes, out);
  } else return out;
  packetFields(bytes, out);
  return out;
}

/**
 * The file cut after its last whole unit that ends within `maxBytes` (at least the header and
 * one more unit), so fuzz cases stay small: a mutation of a 100 KiB file costs as much to
 * decode as the whole file, and most of it is never near the mutated bytes.
 */
export function trimCapture(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length <= maxBytes) return bytes;
  const s = captureStructure(bytes.subarray(0, Math.min(bytes.length, maxBytes * 2)));
  let end = 0;
  for (const [i, u] of s.units.entries()) {
    if (u.offset + u.length > maxBytes && i >= 2) break;
    end = u.offset + u.length;
  }
  return end === 0 ? bytes.subarray(0, maxBytes) : bytes.subarray(0, end);
}
