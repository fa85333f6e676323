/**
 * Classic libpcap format (draft-ietf-opsawg-pcap):
 *
 *   file header (24 bytes)            record header (16 bytes), then caplen bytes of data
 *   +---------------------------+     +---------------------------+
 *   | magic a1b2c3d4 / a1b23c4d |     | timestamp seconds         |
 *   | major 2 | minor 4         |     | µs or ns (by the magic)   |
 *   | reserved (thiszone)       |     | captured length           |
 *   | reserved (sigfigs)        |     | original length           |
 *   | snaplen                   |     +---------------------------+
 *   | FCS bits | link type      |
 *   +---------------------------+
 * Link type: low 26 bits (libpcap's LT_LINKTYPE); 0x04000000 = FCS length present, in
 * 16-bit words in the top 4 bits.
 */
import { CaptureFormatError } from '../../errors.js';
import { NEED_MORE, type RecordDecoder, type Warn } from './decoder.js';
import { RecordView } from './record-view.js';
import { MAX_CAPLEN, type CaptureInterface } from './types.js';

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

export const PCAP_FILE_HEADER = FILE_HEADER;
export const PCAP_RECORD_HEADER = RECORD_HEADER;

/**
 * The captured length of the record whose 16-byte header is at `pos`, checked against
 * MAX_CAPLEN (the record is then 16 + caplen bytes). `at` is the record's absolute offset.
 */
export function pcapCaplen(dv: DataView, pos: number, le: boolean, at: number): number {
  const caplen = dv.getUint32(pos + 8, le);
  if (caplen > MAX_CAPLEN) {
    throw new CaptureFormatError(
      'caplen-too-large',
      `pcap record claims a captured length of ${caplen} bytes, more than the ${MAX_CAPLEN}-byte maximum: the file is damaged`,
      at,
    );
  }
  return caplen;
}

export class PcapDecoder implements RecordDecoder {
  hasRecord = false;
  readonly view = new RecordView();
  need = 0;
  skipLength = 0;
  readonly interfaces: CaptureInterface[] = [];
  private readonly le: boolean;
  private readonly nsMul: number;
  private readonly tsDigits: number;
  private linkType = 0;
  private snaplen = 0;
  private haveHeader = false;

  constructor(
    littleEndian: boolean,
    nanosecond: boolean,
    private readonly warn: Warn,
  ) {
    this.le = littleEndian;
    this.nsMul = nanosecond ? 1 : 1000;
    this.tsDigits = nanosecond ? 9 : 6;
  }

  step(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number): number {
    if (!this.haveHeader) return this.fileHeader(dv, pos, end);
    const avail = end - pos;
    if (avail < RECORD_HEADER) {
      this.need = RECORD_HEADER;
      return NEED_MORE;
    }
    const le = this.le;
    const caplen = pcapCaplen(dv, pos, le, base + pos);
    const total = RECORD_HEADER + caplen;
    if (avail < total) {
      this.need = total;
      return NEED_MORE;
    }
    if (caplen > this.snaplen && this.snaplen !== 0) {
      this.warn(() => `record at byte offset ${base + pos}: captured length ${caplen} exceeds the file's snaplen ${this.snaplen}`);
    }
    const v = this.view;
    if (v.bytes !== buf) {
      // once per chunk: storing a new chunk into the long-lived view costs a write barrier
      v.bytes = buf;
      v.dv = dv;
    }
    v.dataAt = pos + RECORD_HEADER;
    v.caplen = caplen;
    v.len = dv.getUint32(pos + 12, le);
    v.tsSec = dv.getUint32(pos, le);
    v.tsNsec = dv.getUint32(pos + 4, le) * this.nsMul;
    v.fileOffset = base + pos;
    this.hasRecord = true;
    return total;
  }

  private fileHeader(dv: DataView, pos: number, end: number): number {
    if (end - pos < FILE_HEADER) {
      this.need = FILE_HEADER;
      return NEED_MORE;
    }
    const le = this.le;
    const major = dv.getUint16(pos + 4, le);
    const minor = dv.getUint16(pos + 6, le);
    if (major !== 2 || minor !== 4) this.warn(() => `pcap file header says version ${major}.${minor}; reading it as 2.4`);
    this.snaplen = dv.getUint32(pos + 16, le);
    const rawLinkType = dv.getUint32(pos + 20, le);
    this.linkType = rawLinkType & 0x03ffffff;
    const iface: CaptureInterface = { id: 0, linkType: this.linkType, snaplen: this.snaplen, tsDigits: this.tsDigits, section: 0 };
    if (rawLinkType & 0x04000000) iface.fcsBytes = ((rawLinkType >>> 28) & 0xf) * 2;
    this.interfaces.push(iface);
    this.haveHeader = true;
    this.hasRecord = false;
    // the same for every record of the file
    this.view.tsDigits = this.tsDigits;
    this.view.linkType = this.linkType;
    return FILE_HEADER;
  }
}
