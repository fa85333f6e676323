/**
 * Seeking in a capture file: where each record is and how long it is, from the record and
 * block headers alone (no packet is decoded, no body is read). The web view's index uses it to
 * find a pcapng file's section and interface blocks, and the length of one record it re-reads.
 *
 *   pcap:    | file header (24) | record header (16) + caplen | record ... |
 *   pcapng:  | block: type (4), total length (4), body, total length (4) | block ... |
 *            a section header block (SHB) sets the byte order of the blocks after it.
 *
 * The header fields are read by the same functions the reader (parser.ts) uses, so both agree
 * on every offset. Trailing lengths and block bodies are the reader's business: a walk stops at
 * the first header it cannot use (damaged, or cut by the end of the file), and says which.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { CaptureFormatError, VxiError } from '../../errors.js';
import { detectFormat, PCAPNG_SHB } from './detect.js';
import { PCAP_FILE_HEADER, PCAP_RECORD_HEADER, pcapCaplen } from './pcap.js';
import { BLOCK_HEADER_BYTES, PCAPNG_EPB, PCAPNG_IDB, PCAPNG_OPB, PCAPNG_SPB, readBlockHeader, type BlockHeader } from './pcapng.js';
import type { CaptureFormat } from './types.js';

/** What a record is: the pcap file header, a packet, a pcapng section header or interface description, or another block. */
export type RecordKind = 'file-header' | 'packet' | 'section-header' | 'interface' | 'other';

export interface RecordHeader {
  /** Absolute offset of the record in the file. */
  offset: number;
  /** Bytes of the whole record: 24 (pcap file header), 16 + caplen (pcap record), the block total length (pcapng). */
  length: number;
  kind: RecordKind;
  /** pcapng: the block type. */
  blockType?: number;
  /** Byte order of the record's fields. */
  littleEndian: boolean;
}

/** Why a walk ended: at the end of the file, cut short, damaged, or stopped by the visitor. */
export type RecordWalkEnd =
  | { end: 'eof'; offset: number }
  /** The header at `offset` is incomplete, or the record it describes runs `missingBytes` past the end of the file. */
  | { end: 'truncated'; offset: number; missingBytes: number }
  | { end: 'damaged'; offset: number; error: CaptureFormatError }
  | { end: 'stopped'; offset: number };

/** Most header bytes the walk needs at a record's offset (the pcap file header). */
export const MAX_HEADER_BYTES = PCAP_FILE_HEADER;

/** The format and byte order a capture's first bytes say (pcap file header or pcapng SHB); undefined when they say neither. */
export function captureByteOrder(head: Uint8Array): { format: CaptureFormat; littleEndian: boolean } | undefined {
  if (head.length < 4) return undefined;
  const d = detectFormat(head[0] ?? 0, head[1] ?? 0, head[2] ?? 0, head[3] ?? 0);
  if (typeof d === 'string') return undefined;
  if (d.format === 'pcap') return { format: 'pcap', littleEndian: d.littleEndian };
  if (head.length < BLOCK_HEADER_BYTES) return undefined;
  try {
    const h = readBlockHeader(new DataView(head.buffer, head.byteOffset, head.byteLength), 0, true, 0, {
      type: 0,
      length: 0,
      littleEndian: true,
      parsed: false,
    });
    return { format: 'pcapng', littleEndian: h.littleEndian };
  } catch (err) {
    if (err instanceof CaptureFormatError) return undefined;
    throw err;
  }
}

/**
 * The length of the record whose header starts `head` (16 bytes for a pcap record, 12 for a
 * pcapng block), in a file of `format` and byte order `littleEndian`; undefined when the bytes
 * are too few or the header is damaged.
 */
export function recordLength(format: CaptureFormat, littleEndian: boolean, head: DataView): number | undefined {
  try {
    if (format === 'pcap')
      return head.byteLength < PCAP_RECORD_HEADER ? undefined : PCAP_RECORD_HEADER + pcapCaplen(head, 0, littleEndian, 0);
    return head.byteLength < BLOCK_HEADER_BYTES
      ? undefined
      : readBlockHeader(head, 0, littleEndian, 0, { type: 0, length: 0, littleEndian, parsed: false }).length;
  } catch (err) {
    if (err instanceof CaptureFormatError) return undefined;
    throw err;
  }
}

function blockKind(type: number): RecordKind {
  if (type === PCAPNG_SHB) return 'section-header';
  if (type === PCAPNG_IDB) return 'interface';
  if (type === PCAPNG_EPB || type === PCAPNG_SPB || type === PCAPNG_OPB) return 'packet';
  return 'other';
}

/**
 * The walk's state: the format (from the first record) and the current byte order. `next` is
 * given the bytes at `offset` (up to MAX_HEADER_BYTES, fewer only at the end of the file) and
 * the file's size, and says what record is there or why the walk ends; after a record, `offset`
 * is the next one's.
 */
export class RecordWalker {
  offset = 0;
  private format: CaptureFormat | undefined;
  private le = true;
  private readonly block: BlockHeader = { type: 0, length: 0, littleEndian: true, parsed: false };

  next(head: DataView, fileSize: number): RecordHeader | RecordWalkEnd {
    const at = this.offset;
    const avail = Math.min(head.byteLength, fileSize - at);
    try {
      if (this.format === undefined) return this.first(head, avail, fileSize);
      if (avail <= 0) return { end: 'eof', offset: at };
      if (this.format === 'pcap') {
        if (avail < PCAP_RECORD_HEADER) return { end: 'truncated', offset: at, missingBytes: PCAP_RECORD_HEADER - avail };
        return this.record(
          { offset: at, length: PCAP_RECORD_HEADER + pcapCaplen(head, 0, this.le, at), kind: 'packet', littleEndian: this.le },
          fileSize,
        );
      }
      if (avail < BLOCK_HEADER_BYTES) return { end: 'truncated', offset: at, missingBytes: BLOCK_HEADER_BYTES - avail };
      const b = readBlockHeader(head, 0, this.le, at, this.block);
      const r = this.record(
        { offset: at, length: b.length, kind: blockKind(b.type), blockType: b.type, littleEndian: b.littleEndian },
        fileSize,
      );
      if (b.type === PCAPNG_SHB && !('end' in r)) this.le = b.littleEndian;
      return r;
    } catch (err) {
      if (err instanceof CaptureFormatError) return { end: 'damaged', offset: at, error: err };
      throw err;
    }
  }

  private first(head: DataView, avail: number, fileSize: number): RecordHeader | RecordWalkEnd {
    if (avail < 4) {
      if (avail <= 0)
        return { end: 'damaged', offset: 0, error: new CaptureFormatError('empty-input', 'empty input: no capture file header', 0) };
      return { end: 'truncated', offset: 0, missingBytes: 4 - avail };
    }
    const d = detectFormat(head.getUint8(0), head.getUint8(1), head.getUint8(2), head.getUint8(3));
    if (typeof d === 'string') throw new CaptureFormatError('bad-magic', d, 0);
    if (d.format === 'pcapng') {
      this.format = 'pcapng';
      return this.next(head, fileSize);
    }
    if (avail < PCAP_FILE_HEADER) return { end: 'truncated', offset: 0, missingBytes: PCAP_FILE_HEADER - avail };
    this.format = 'pcap';
    this.le = d.littleEndian;
    return this.record({ offset: 0, length: PCAP_FILE_HEADER, kind: 'file-header', littleEndian: d.littleEndian }, fileSize);
  }

  private record(r: RecordHeader, fileSize: number): RecordHeader | RecordWalkEnd {
    const end = r.offset + r.length;
    if (end > fileSize) return { end: 'truncated', offset: r.offset, missingBytes: end - fileSize };
    this.offset = end;
    return r;
  }
}

/** Returning false stops the walk. */
export type RecordVisitor = (record: RecordHeader) => void | boolean;

/** Walks the records of a capture held in memory. */
export function walkRecordBytes(bytes: Uint8Array, visit: RecordVisitor): RecordWalkEnd {
  const walker = new RecordWalker();
  for (;;) {
    const at = walker.offset;
    const r = walker.next(new DataView(bytes.buffer, bytes.byteOffset + at, Math.min(MAX_HEADER_BYTES, bytes.length - at)), bytes.length);
    if ('end' in r) return r;
    if (visit(r) === false) return { end: 'stopped', offset: at };
  }
}

/** Bytes read from the file at a time: many small records' headers in one read. */
const WINDOW = 64 * 1024;

/**
 * Walks the records of a capture file by their headers: reads the file in 64 KiB windows,
 * jumping over records that end beyond the window. I/O failures throw VxiError VXI_IO.
 */
export async function walkRecordFile(path: string, visit: RecordVisitor): Promise<RecordWalkEnd> {
  const io = (action: string, err: unknown): VxiError =>
    new VxiError('VXI_IO', `cannot ${action} capture file ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw io('open', err);
  }
  try {
    const size = (await fh.stat()).size;
    const window = Buffer.allocUnsafe(WINDOW);
    let windowAt = 0;
    let windowLen = 0;
    const walker = new RecordWalker();
    for (;;) {
      const at = walker.offset;
      // a header not wholly in the window (while the file has more): the window moves to it
      if ((at < windowAt || at + MAX_HEADER_BYTES > windowAt + windowLen) && windowAt + windowLen < size) {
        windowAt = at;
        try {
          windowLen = (await fh.read(window, 0, Math.min(WINDOW, Math.max(0, size - at)), at)).bytesRead;
        } catch (err) {
          throw io('read', err);
        }
      }
      const from = Math.max(0, at - windowAt);
      const have = Math.max(0, Math.min(MAX_HEADER_BYTES, windowLen - from));
      const r = walker.next(new DataView(window.buffer, window.byteOffset + Math.min(from, windowLen), have), size);
      if ('end' in r) return r;
      if (visit(r) === false) return { end: 'stopped', offset: at };
    }
  } finally {
    await fh.close();
  }
}
