/**
 * Capture writers: classic pcap and pcapng, little-endian by default. Each method returns the
 * bytes of one header, record or block, so callers write them to a file, a stream or an HTTP
 * response as they like; `file()` assembles a whole capture in memory (fixtures, tests).
 * Data is written as given: snaplen is only what the header declares.
 */
import { PCAPNG_SHB } from './detect.js';
import { toUnits } from './timestamp.js';
import type { PacketToWrite } from './types.js';

const U32 = 0xffffffff;

function checkU32(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > U32) throw new RangeError(`${what} ${v} does not fit an unsigned 32-bit field`);
  return v;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface PcapWriterOptions {
  /** LINKTYPE_* (default 1, Ethernet). */
  linkType?: number;
  /** Default 262144. */
  snaplen?: number;
  /** Nanosecond magic (a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  bigEndian?: boolean;
}

export class PcapWriter {
  private readonly le: boolean;
  private readonly nanosecond: boolean;
  private readonly linkType: number;
  private readonly snaplen: number;

  constructor(opts: PcapWriterOptions = {}) {
    this.le = !opts.bigEndian;
    this.nanosecond = opts.nanosecond ?? false;
    this.linkType = checkU32('link type', opts.linkType ?? 1);
    this.snaplen = checkU32('snaplen', opts.snaplen ?? 262_144);
  }

  /** The 24-byte file header. */
  header(): Uint8Array {
    const out = new Uint8Array(24);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, this.le);
    dv.setUint16(4, 2, this.le);
    dv.setUint16(6, 4, this.le);
    dv.setUint32(16, this.snaplen, this.le);
    dv.setUint32(20, this.linkType, this.le);
    return out;
  }

  /** One record: 16-byte header + data. tsNsec is truncated to µs in a microsecond file. */
  record(p: PacketToWrite): Uint8Array {
    const out = new Uint8Array(16 + p.data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, checkU32('timestamp seconds', p.tsSec), this.le);
    dv.setUint32(4, checkU32('sub-second timestamp', this.nanosecond ? p.tsNsec : Math.floor(p.tsNsec / 1000)), this.le);
    dv.setUint32(8, p.data.length, this.le);
    dv.setUint32(12, checkU32('original length', p.len ?? p.data.length), this.le);
    out.set(p.data, 16);
    return out;
  }

  /** A whole file in memory. */
  file(packets: Iterable<PacketToWrite>): Uint8Array {
    const parts = [this.header()];
    for (const p of packets) parts.push(this.record(p));
    return concat(parts);
  }
}

export interface PcapngInterfaceOptions {
  /** LINKTYPE_* (default 1, Ethernet). */
  linkType?: number;
  /** if_name option. */
  name?: string;
  /** Default 262144 (0 = no limit). */
  snaplen?: number;
  /** Raw if_tsresol byte (e.g. 9 for ns, 0x80|20 for 2^-20). Absent = the option is not written (µs). */
  tsresol?: number;
}

export interface PcapngWriterOptions {
  /** One IDB each; default a single Ethernet interface. */
  interfaces?: PcapngInterfaceOptions[];
  bigEndian?: boolean;
  /** shb_userappl option. */
  userAppl?: string;
}

const utf8 = new TextEncoder();

/** One option: code, length, value padded to 4 bytes. */
function option(code: number, value: Uint8Array, le: boolean): Uint8Array {
  const out = new Uint8Array(4 + ((value.length + 3) & ~3));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, code, le);
  dv.setUint16(2, value.length, le);
  out.set(value, 4);
  return out;
}

export class PcapngWriter {
  private readonly le: boolean;
  private readonly ifaces: PcapngInterfaceOptions[];
  private readonly userAppl: string | undefined;

  constructor(opts: PcapngWriterOptions = {}) {
    this.le = !opts.bigEndian;
    this.ifaces = opts.interfaces ?? [{}];
    this.userAppl = opts.userAppl;
  }

  /** Any block: type, total length, body padded to 4, total length. */
  block(type: number, body: Uint8Array): Uint8Array {
    const len = 12 + ((body.length + 3) & ~3);
    const out = new Uint8Array(len);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, type, this.le);
    dv.setUint32(4, len, this.le);
    out.set(body, 8);
    dv.setUint32(len - 4, len, this.le);
    return out;
  }

  private options(list: Uint8Array[]): Uint8Array {
    return list.length === 0 ? new Uint8Array(0) : concat([...list, new Uint8Array(4)]);
  }

  /** Section Header Block followed by one Interface Description Block per interface. */
  header(): Uint8Array {
    const le = this.le;
    const shbOpts = this.userAppl === undefined ? [] : [option(4, utf8.encode(this.userAppl), le)];
    const shb = new Uint8Array(16);
    const sdv = new DataView(shb.buffer);
    sdv.setUint32(0, 0x1a2b3c4d, le);
    sdv.setUint16(4, 1, le);
    sdv.setUint16(6, 0, le);
    sdv.setInt32(8, -1, le); // section length unknown (-1 as 64 bits)
    sdv.setInt32(12, -1, le);
    const parts = [this.block(PCAPNG_SHB, concat([shb, this.options(shbOpts)]))];
    for (const f of this.ifaces) {
      const fixed = new Uint8Array(8);
      const fdv = new DataView(fixed.buffer);
      fdv.setUint16(0, f.linkType ?? 1, le);
      fdv.setUint32(4, checkU32('snaplen', f.snaplen ?? 262_144), le);
      const opts: Uint8Array[] = [];
      if (f.name !== undefined) opts.push(option(2, utf8.encode(f.name), le));
      if (f.tsresol !== undefined) opts.push(option(9, Uint8Array.of(f.tsresol), le));
      parts.push(this.block(1, concat([fixed, this.options(opts)])));
    }
    return concat(parts);
  }

  private tsresol(interfaceId: number): number {
    const f = this.ifaces[interfaceId];
    if (f === undefined) throw new RangeError(`interface ${interfaceId} was not declared (${this.ifaces.length} interface(s))`);
    return f.tsresol ?? 6;
  }

  /** The 20 bytes after the interface id of an EPB/OPB: timestamp high, low, caplen, original length. */
  private packetFields(out: DataView, at: number, p: PacketToWrite, tsresol: number): void {
    const units = toUnits(p.tsSec, p.tsNsec, tsresol);
    out.setUint32(at, Number((units >> 32n) & 0xffffffffn), this.le);
    out.setUint32(at + 4, Number(units & 0xffffffffn), this.le);
    out.setUint32(at + 8, p.data.length, this.le);
    out.setUint32(at + 12, checkU32('original length', p.len ?? p.data.length), this.le);
  }

  /** Enhanced Packet Block. */
  record(p: PacketToWrite): Uint8Array {
    const id = p.interfaceId ?? 0;
    const body = new Uint8Array(20 + p.data.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, id, this.le);
    this.packetFields(dv, 4, p, this.tsresol(id));
    body.set(p.data, 20);
    return this.block(6, body);
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drops count, then as the EPB. */
  obsoletePacket(p: PacketToWrite): Uint8Array {
    const id = p.interfaceId ?? 0;
    const body = new Uint8Array(20 + p.data.length);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, id, this.le);
    this.packetFields(dv, 4, p, this.tsresol(id));
    body.set(p.data, 20);
    return this.block(2, body);
  }

  /**
   * Simple Packet Block (type 3): original length and data, interface 0, no timestamp. The data is
   * cut to interface 0's snaplen, as the format requires (readers derive the captured length from it).
   */
  simplePacket(data: Uint8Array, len = data.length): Uint8Array {
    const snaplen = this.ifaces[0]?.snaplen ?? 262_144;
    const kept = snaplen !== 0 && data.length > snaplen ? data.subarray(0, snaplen) : data;
    const body = new Uint8Array(4 + kept.length);
    new DataView(body.buffer).setUint32(0, checkU32('original length', len), this.le);
    body.set(kept, 4);
    return this.block(3, body);
  }

  /** A whole section (header + EPBs) in memory. */
  file(packets: Iterable<PacketToWrite>): Uint8Array {
    const parts = [this.header()];
    for (const p of packets) parts.push(this.record(p));
    return concat(parts);
  }
}

export { concat as concatBytes };
