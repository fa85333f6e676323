/**
 * pcapng (draft-ietf-opsawg-pcapng). Every block:
 *
 *   | block type (4) | block total length (4) | body ... | block total length (4) |
 *
 * Section Header Block (0x0A0D0D0A): byte-order magic 0x1A2B3C4D, version 1.x, section length,
 *   options. Starts a section with its own byte order and its own interface list.
 * Interface Description Block (1): link type (2), reserved (2), snaplen (4), options
 *   (if_name 2, if_fcslen 13, if_tsresol 9, if_tsoffset 14).
 * Enhanced Packet Block (6): interface id (4), timestamp high/low (4+4), captured length,
 *   original length, data padded to 4, options.
 * Simple Packet Block (3): original length, data (interface 0, no timestamp).
 * Obsolete Packet Block (2): interface id (2), drops (2), then as the EPB.
 * Every other block type is skipped by its length.
 */
import { CaptureFormatError } from '../../errors.js';
import { NEED_MORE, SKIP, type RecordDecoder, type Warn } from './decoder.js';
import { PCAPNG_SHB } from './detect.js';
import { RecordView } from './record-view.js';
import { TsConverter, tsresolProblem } from './timestamp.js';
import { MAX_BLOCK, MAX_CAPLEN, MAX_INTERFACES, type CaptureInterface } from './types.js';

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPB = 2;
const SPB = 3;
const IDB = 1;
const EPB = 6;

const OPT_ENDOFOPT = 0;
export { IDB as PCAPNG_IDB, EPB as PCAPNG_EPB, SPB as PCAPNG_SPB, OPB as PCAPNG_OPB };

const IF_NAME = 2;
/**
 * Bytes of an if_name kept (Linux names are at most 15, Windows' \Device\NPF_{GUID} 50): every
 * IDB's name stays in memory for the whole read, so a hostile file of 65,536 IDBs with 64 KiB
 * names would otherwise hold 4 GiB.
 */
const MAX_IF_NAME = 256;
const IF_TSRESOL = 9;
const IF_FCSLEN = 13;
const IF_TSOFFSET = 14;

interface Iface {
  info: CaptureInterface;
  conv: TsConverter;
}

const utf8 = new TextDecoder('utf-8');

/**
 * One text for a block whose trailing length disagrees with its leading one, whether the block was
 * whole in the buffer or skipped across chunks (the message must not depend on chunk boundaries).
 */
function trailingLengthError(type: number, len: number, trailing: number, at: number): CaptureFormatError {
  return new CaptureFormatError(
    'trailing-length-mismatch',
    `pcapng block of type 0x${type.toString(16)} has total length ${len} but its trailing length says ${trailing}`,
    at,
    { blockType: type },
  );
}

/** The 8 (12 for a section header) bytes every pcapng block starts with. */
export interface BlockHeader {
  type: number;
  /** Block total length, checked: at least 12, a multiple of 4. */
  length: number;
  /** Byte order of the block: its own for a section header (by its magic), else its section's. */
  littleEndian: boolean;
  /** A block the reader parses (SHB, IDB, EPB, SPB, OPB): at most MAX_BLOCK bytes. Others are skipped by their length. */
  parsed: boolean;
}

/** Bytes needed to read any block's header (a section header's byte-order magic is at 8). */
export const BLOCK_HEADER_BYTES = 12;

/**
 * Reads the header of the block at `pos` (BLOCK_HEADER_BYTES available) into `out`, for the
 * reader and for the seeking walk (records.ts) alike. `le` is the current section's byte
 * order, `at` the block's absolute offset. Throws CaptureFormatError on a section header's
 * bad byte-order magic, on a total length below 12 or not a multiple of 4, and on a parsed
 * block longer than MAX_BLOCK.
 */
export function readBlockHeader(dv: DataView, pos: number, le: boolean, at: number, out: BlockHeader): BlockHeader {
  const type = dv.getUint32(pos, le);
  const order = type === PCAPNG_SHB ? sectionByteOrder(dv, pos, at) : le;
  const len = dv.getUint32(pos + 4, order);
  if (len < 12 || len % 4 !== 0) {
    throw new CaptureFormatError(
      'bad-block-length',
      `pcapng block of type 0x${type.toString(16)} has total length ${len}, which is ${len < 12 ? 'smaller than 12' : 'not a multiple of 4'}`,
      at,
      { blockType: type },
    );
  }
  const parsed = type === EPB || type === SPB || type === IDB || type === PCAPNG_SHB || type === OPB;
  if (parsed && len > MAX_BLOCK) {
    throw new CaptureFormatError(
      'block-too-large',
      `pcapng block of type 0x${type.toString(16)} claims ${len} bytes, more than the ${MAX_BLOCK}-byte limit: the file is damaged`,
      at,
      { blockType: type },
    );
  }
  out.type = type;
  out.length = len;
  out.littleEndian = order;
  out.parsed = parsed;
  return out;
}

function sectionByteOrder(dv: DataView, pos: number, at: number): boolean {
  const bom = dv.getUint32(pos + 8, true);
  if (bom === BYTE_ORDER_MAGIC) return true;
  if (bom === 0x4d3c2b1a) return false;
  throw new CaptureFormatError(
    'bad-byte-order-magic',
    `pcapng section header has byte-order magic 0x${dv
      .getUint32(pos + 8, false)
      .toString(16)
      .padStart(8, '0')}, expected 0x1a2b3c4d in either byte order`,
    at,
  );
}

export class PcapngDecoder implements RecordDecoder {
  hasRecord = false;
  readonly view = new RecordView();
  need = 0;
  skipLength = 0;
  readonly interfaces: CaptureInterface[] = [];
  private le = true;
  private section = -1;
  private ifaces: Iface[] = [];
  /** Set after a SKIP: the trailing length still to check, the skipped block's offset and type. */
  private trailer = -1;
  private trailerBlock = 0;
  private trailerType = 0;
  /** Filled by readBlockHeader for each block (one object: this runs per block). */
  private readonly header: BlockHeader = { type: 0, length: 0, littleEndian: true, parsed: false };

  constructor(private readonly warn: Warn) {
    this.view.pcapng = true;
  }

  step(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number): number {
    const avail = end - pos;
    if (this.trailer >= 0) return this.checkSkippedTrailer(dv, pos, avail);
    if (avail < BLOCK_HEADER_BYTES) {
      this.need = BLOCK_HEADER_BYTES;
      return NEED_MORE;
    }
    const at = base + pos;
    const header = readBlockHeader(dv, pos, this.le, at, this.header);
    const type = header.type;
    const le = header.littleEndian;
    const len = header.length;
    const parsed = header.parsed;
    if (avail < len) {
      if (parsed) {
        this.need = len;
        return NEED_MORE;
      }
      this.skipLength = len;
      this.trailer = len;
      this.trailerBlock = at;
      this.trailerType = type;
      return SKIP;
    }
    const trailing = dv.getUint32(pos + len - 4, le);
    if (trailing !== len) throw trailingLengthError(type, len, trailing, at);
    this.hasRecord = false;
    switch (type) {
      case EPB:
        this.packetBlock(buf, dv, pos, len, at, 28, dv.getUint32(pos + 8, le), 'enhanced');
        break;
      case OPB:
        this.packetBlock(buf, dv, pos, len, at, 28, dv.getUint16(pos + 8, le), 'obsolete');
        break;
      case SPB:
        this.simplePacket(buf, dv, pos, len, at);
        break;
      case IDB:
        this.interfaceBlock(buf, dv, pos, len, at);
        break;
      case PCAPNG_SHB:
        this.sectionHeader(dv, pos, len, at, le);
        break;
    }
    return len;
  }

  private checkSkippedTrailer(dv: DataView, pos: number, avail: number): number {
    if (avail < 4) {
      this.need = 4;
      return NEED_MORE;
    }
    const trailing = dv.getUint32(pos, this.le);
    if (trailing !== this.trailer) throw trailingLengthError(this.trailerType, this.trailer, trailing, this.trailerBlock);
    this.trailer = -1;
    this.hasRecord = false;
    return 4;
  }

  private sectionHeader(dv: DataView, pos: number, len: number, at: number, le: boolean): void {
    if (len < 28)
      throw new CaptureFormatError('block-too-short', `pcapng section header block is ${len} bytes, shorter than the 28-byte minimum`, at);
    const major = dv.getUint16(pos + 12, le);
    const minor = dv.getUint16(pos + 14, le);
    if (major !== 1)
      throw new CaptureFormatError(
        'unsupported-version',
        `pcapng section header says version ${major}.${minor}; only version 1.x is defined`,
        at,
      );
    this.le = le;
    this.section++;
    this.ifaces = [];
  }

  private interfaceBlock(buf: Uint8Array, dv: DataView, pos: number, len: number, at: number): void {
    if (len < 20)
      throw new CaptureFormatError(
        'block-too-short',
        `pcapng interface description block is ${len} bytes, shorter than the 20-byte minimum`,
        at,
      );
    if (this.interfaces.length >= MAX_INTERFACES)
      throw new CaptureFormatError('too-many-interfaces', `more than ${MAX_INTERFACES} interface description blocks in one input`, at);
    const le = this.le;
    const info: CaptureInterface = {
      id: this.ifaces.length,
      linkType: dv.getUint16(pos + 8, le),
      snaplen: dv.getUint32(pos + 12, le),
      tsDigits: 6,
      section: this.section,
    };
    let tsresol = 6;
    let tsoffset = 0;
    const optEnd = pos + len - 4;
    for (let o = pos + 16; o + 4 <= optEnd; ) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      const v = o + 4;
      if (code === OPT_ENDOFOPT) break;
      if (v + olen > optEnd) {
        this.warn(
          () =>
            `interface description block at byte offset ${at}: option ${code} runs past the end of the block; ignoring the rest of its options`,
        );
        break;
      }
      if (code === IF_NAME) {
        info.name = utf8.decode(buf.subarray(v, v + Math.min(olen, MAX_IF_NAME))).replace(/\0+$/, '');
        if (olen > MAX_IF_NAME)
          this.warn(() => `interface description block at byte offset ${at}: if_name of ${olen} bytes cut to its first ${MAX_IF_NAME}`);
      } else if (code === IF_TSRESOL && olen >= 1) tsresol = buf[v] ?? 6;
      else if (code === IF_FCSLEN && olen >= 1) info.fcsBytes = buf[v] ?? 0;
      else if (code === IF_TSOFFSET && olen >= 8) tsoffset = Number(dv.getBigInt64(v, le));
      o = v + ((olen + 3) & ~3);
    }
    const problem = tsresolProblem(tsresol);
    if (problem)
      throw new CaptureFormatError('bad-timestamp-resolution', `pcapng interface ${info.id} of section ${this.section}: ${problem}`, at);
    const conv = new TsConverter(tsresol, tsoffset);
    info.tsDigits = conv.tsDigits;
    this.ifaces.push({ info, conv });
    this.interfaces.push(info);
  }

  private iface(id: number, at: number, what: string): Iface {
    const f = this.ifaces[id];
    if (f === undefined) {
      throw new CaptureFormatError(
        'unknown-interface',
        `pcapng ${what} packet block refers to interface ${id}, but section ${this.section} declares ${this.ifaces.length} interface(s)`,
        at,
      );
    }
    return f;
  }

  private packetBlock(buf: Uint8Array, dv: DataView, pos: number, len: number, at: number, dataAt: number, id: number, what: string): void {
    if (len < 32)
      throw new CaptureFormatError('block-too-short', `pcapng ${what} packet block is ${len} bytes, shorter than the 32-byte minimum`, at);
    const f = this.iface(id, at, what);
    const le = this.le;
    const caplen = dv.getUint32(pos + 20, le);
    if (caplen > MAX_CAPLEN) {
      throw new CaptureFormatError(
        'caplen-too-large',
        `pcapng ${what} packet block claims a captured length of ${caplen} bytes, more than the ${MAX_CAPLEN}-byte maximum`,
        at,
      );
    }
    if (dataAt + caplen > len - 4) {
      throw new CaptureFormatError(
        'caplen-past-block',
        `pcapng ${what} packet block's captured length ${caplen} runs past the end of its ${len}-byte block`,
        at,
      );
    }
    const info = f.info;
    if (caplen > info.snaplen && info.snaplen !== 0) {
      this.warn(() => `packet block at byte offset ${at}: captured length ${caplen} exceeds interface ${id}'s snaplen ${info.snaplen}`);
    }
    const conv = f.conv;
    conv.convert(dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le));
    this.record(buf, dv, pos + dataAt, caplen, dv.getUint32(pos + 24, le), conv.sec, conv.nsec, info, id, at);
  }

  /** Writes a packet block's record into the view. */
  private record(
    buf: Uint8Array,
    dv: DataView,
    dataAt: number,
    caplen: number,
    len: number,
    tsSec: number,
    tsNsec: number,
    info: CaptureInterface,
    id: number,
    at: number,
  ): void {
    const v = this.view;
    v.bytes = buf;
    v.dv = dv;
    v.dataAt = dataAt;
    v.caplen = caplen;
    v.len = len;
    v.tsSec = tsSec;
    v.tsNsec = tsNsec;
    v.tsDigits = info.tsDigits;
    v.linkType = info.linkType;
    v.interfaceId = id;
    v.interfaceName = info.name;
    v.interfaceCount = this.ifaces.length > 1 ? this.ifaces.length : undefined; // only said when several: the text output then names each packet's interface
    v.fileOffset = at;
    this.hasRecord = true;
  }

  private simplePacket(buf: Uint8Array, dv: DataView, pos: number, len: number, at: number): void {
    if (len < 16)
      throw new CaptureFormatError('block-too-short', `pcapng simple packet block is ${len} bytes, shorter than the 16-byte minimum`, at);
    const info = this.iface(0, at, 'simple').info;
    const origLen = dv.getUint32(pos + 8, this.le);
    let caplen = Math.min(origLen, len - 16);
    if (info.snaplen !== 0 && caplen > info.snaplen) caplen = info.snaplen;
    if (caplen > MAX_CAPLEN) {
      throw new CaptureFormatError(
        'caplen-too-large',
        `pcapng simple packet block holds ${caplen} bytes, more than the ${MAX_CAPLEN}-byte maximum`,
        at,
      );
    }
    this.record(buf, dv, pos + 12, caplen, origLen, 0, 0, info, 0, at);
  }
}
