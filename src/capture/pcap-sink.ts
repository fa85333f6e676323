/**
 * One capture stream → one local pcap file, as the bytes arrive.
 *
 * The stream (`tcpdump -U -w -` over SSH) is already a classic pcap file, cut into chunks
 * anywhere. The sink checks its 24-byte file header once, then only frames the records (16-byte
 * header, captured length checked as every reader checks it) and passes their bytes through
 * untouched: the file is what tcpdump wrote, byte for byte, microsecond or nanosecond magic and
 * byte order included. Whole records of a chunk go out as one view into it (no copy); only a
 * record that straddles chunks is copied, once.
 *
 * Writes are gathered: pending whole records go out in one writev once FLUSH_BYTES are waiting,
 * after FLUSH_MS at most, and on end() (a stop, SIGINT, the stream's end all come through end()).
 * The file header is written as soon as it arrives. So the file is a valid pcap at every moment:
 * it only ever grows by whole records. When the stream is cut mid-record (connection lost,
 * tcpdump killed) the partial record is never written and `droppedTailBytes` says how much of it
 * came. If a write fails (disk full), the file is truncated back to its last whole record before
 * the error is raised.
 *
 * The file is created when the stream's file header arrives: a tcpdump that never started
 * leaves no file behind.
 */
import { closeSync, ftruncateSync, openSync, writevSync } from 'node:fs';
import { detectFormat } from '../decode/file/detect.js';
import { PCAP_FILE_HEADER, PCAP_RECORD_HEADER, pcapCaplen } from '../decode/file/pcap.js';
import type { RawPacket } from '../decode/types.js';
import { CaptureFormatError, VxiError } from '../errors.js';

export interface PcapSinkResult {
  /** The file written, or null when no file header ever arrived. */
  file: string | null;
  packets: number;
  /** Bytes in the file. */
  fileBytes: number;
  /** Bytes received from the stream. */
  streamBytes: number;
  /** Bytes of a last record the stream cut short (not written). */
  droppedTailBytes: number;
  /** The stream was not a capture, or was damaged: nothing after this point was written. */
  formatError?: CaptureFormatError;
}

/** Pending bytes that trigger a write: few large writes instead of one per ≤ 32 KiB chunk. */
export const FLUSH_BYTES = 256 * 1024;
/** The longest whole records wait before they are written when the stream is slow. */
export const FLUSH_MS = 50;

interface FileHeader {
  le: boolean;
  nsMul: number;
  tsDigits: number;
  linkType: number;
}

export class PcapFileSink {
  private header: FileHeader | undefined;
  private fd: number | undefined;
  /** A file header or record that straddles chunks: `carryLen` of `carry.length` bytes are in. */
  private carry: Uint8Array | undefined;
  private carryLen = 0;
  /** Whole records received, not yet written (views into the chunks, or carried records). */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingPackets = 0;
  /** Offsets of the whole records of the chunk being framed (reused: no array per chunk). */
  private readonly recordsAt: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private streamBytes = 0;
  private fileBytes = 0;
  private packets = 0;
  /** Records handed to the listener (received whole), written or pending. */
  private received = 0;
  private closed = false;
  private ended = false;
  private formatError: CaptureFormatError | undefined;
  private writeError: VxiError | undefined;

  /**
   * @param path where to write (created with O_EXCL: an existing file is never overwritten)
   * @param onPacket called for each whole record, in order, as it arrives (it reaches the file
   *   within FLUSH_MS); `raw.data` is a view into the stream's bytes, valid as long as it is kept
   * @param onWriteError called once when a write fails (also one made by the flush timer)
   */
  constructor(
    readonly path: string,
    private readonly onPacket?: (raw: RawPacket, n: number) => void,
    private readonly onWriteError?: (err: VxiError) => void,
  ) {}

  /**
   * Bytes of the stream. The sink keeps views into `chunk` until they are written, and the
   * listener may keep them longer: pass a chunk nobody will modify.
   */
  push(chunk: Uint8Array): void {
    if (this.closed || this.formatError || chunk.length === 0) return;
    this.streamBytes += chunk.length;
    try {
      this.frame(chunk);
    } catch (err) {
      if (!(err instanceof CaptureFormatError)) throw err;
      this.formatError = err;
      this.carry = undefined;
    }
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.pendingBytes > 0 && this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, FLUSH_MS);
      // a capture always ends through end(), which flushes: the timer must not hold the process
      this.timer.unref();
    }
  }

  /** The stream is over: whatever is left of a record is dropped, pending records written, the file closed. */
  end(): PcapSinkResult {
    if (!this.ended) {
      this.ended = true;
      if (!this.closed) {
        this.flush();
        this.close();
      }
      if (!this.formatError) this.formatError = this.cutShort();
    }
    return this.result();
  }

  /** A write failed (ENOSPC…); set once, after the file was truncated to its last whole record. */
  get error(): VxiError | undefined {
    return this.writeError;
  }

  /** Packets in the file (records still pending are not counted). */
  get packetCount(): number {
    return this.packets;
  }

  get bytesWritten(): number {
    return this.fileBytes;
  }

  result(): PcapSinkResult {
    const r: PcapSinkResult = {
      file: this.header !== undefined ? this.path : null,
      packets: this.packets,
      fileBytes: this.fileBytes,
      streamBytes: this.streamBytes,
      droppedTailBytes: 0,
    };
    const e = this.formatError;
    if (e) {
      // a cut last record is what a dropped connection looks like: expected, not damage
      if (e.kind === 'truncated-record') r.droppedTailBytes = e.tailBytes ?? 0;
      else r.formatError = e;
    }
    return r;
  }

  /** Takes whole records out of `chunk` (completing a carried one first); keeps a cut last one. */
  private frame(chunk: Uint8Array): void {
    let pos = 0;
    if (this.carry !== undefined) {
      pos = this.fillCarry(chunk);
      if (this.carry !== undefined || this.closed) return;
    }
    const h = this.header;
    if (h === undefined) return this.frameHeader(chunk.subarray(pos));
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = chunk.length;
    // the offset of `chunk` in the stream (and in the file, which is the stream)
    const base = this.streamBytes - end;
    const start = pos;
    const at = this.recordsAt;
    at.length = 0;
    try {
      while (end - pos >= PCAP_RECORD_HEADER) {
        const total = PCAP_RECORD_HEADER + pcapCaplen(dv, pos, h.le, base + pos);
        if (end - pos < total) {
          this.startCarry(chunk.subarray(pos), total);
          break;
        }
        at.push(pos);
        pos += total;
      }
      if (pos < end && this.carry === undefined) this.startCarry(chunk.subarray(pos), PCAP_RECORD_HEADER);
    } finally {
      // the records before a damaged one are kept
      if (pos > start) this.queue(chunk.subarray(start, pos), at.length);
    }
    // listeners last: one that throws cannot leave the framing or the counts behind
    for (let i = 0; i < at.length; i++) this.deliver(chunk, dv, at[i] as number, base, h);
  }

  /** Copies the start of `chunk` into the carried unit; returns where the chunk's rest begins. */
  private fillCarry(chunk: Uint8Array): number {
    let pos = 0;
    for (;;) {
      const c = this.carry as Uint8Array;
      const n = Math.min(c.length - this.carryLen, chunk.length - pos);
      c.set(chunk.subarray(pos, pos + n), this.carryLen);
      this.carryLen += n;
      pos += n;
      if (this.carryLen < c.length) return pos;
      // where the carried unit began in the stream
      const cAt = this.streamBytes - chunk.length + pos - c.length;
      const h = this.header;
      this.carry = undefined;
      if (h === undefined) {
        this.frameHeader(c);
        if (this.carry !== undefined) continue; // only the magic was in: now the whole header is needed
        return pos;
      }
      const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
      if (c.length === PCAP_RECORD_HEADER) {
        // only the record header was known: now its length is
        const caplen = pcapCaplen(dv, 0, h.le, cAt);
        if (caplen > 0) {
          this.carry = new Uint8Array(PCAP_RECORD_HEADER + caplen);
          this.carry.set(c);
          continue;
        }
      }
      this.queue(c, 1);
      this.deliver(c, dv, 0, cAt, h);
      return pos;
    }
  }

  private startCarry(rest: Uint8Array, need: number): void {
    const c = new Uint8Array(need);
    c.set(rest);
    this.carry = c;
    this.carryLen = rest.length;
  }

  /** The 24-byte file header (at the start of `bytes`), checked once, then the records after it. */
  private frameHeader(bytes: Uint8Array): void {
    if (bytes.length < 4) {
      if (bytes.length > 0) this.startCarry(bytes, 4);
      return;
    }
    const d = detectFormat(bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0);
    if (typeof d === 'string') throw new CaptureFormatError('bad-magic', d, 0);
    if (d.format !== 'pcap') {
      throw new CaptureFormatError('bad-magic', 'the stream is pcapng: capture takes the classic pcap that `tcpdump -w -` writes', 0);
    }
    if (bytes.length < PCAP_FILE_HEADER) return this.startCarry(bytes, PCAP_FILE_HEADER);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const linkType = dv.getUint32(20, d.littleEndian) & 0x03ffffff;
    try {
      this.fd = openSync(this.path, 'wx', 0o644);
    } catch (err) {
      this.fail(new VxiError('VXI_IO', `cannot create ${this.path}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    this.header = { le: d.littleEndian, nsMul: d.nanosecond ? 1 : 1000, tsDigits: d.nanosecond ? 9 : 6, linkType };
    // at once: the file is a valid (empty) capture from the moment it exists
    this.queue(bytes.subarray(0, PCAP_FILE_HEADER), 0);
    this.flush();
    if (this.closed) return;
    if (bytes.length > PCAP_FILE_HEADER) this.frame(bytes.subarray(PCAP_FILE_HEADER));
  }

  /** Hands the record at `pos` of `buf` (which starts at stream offset `base`) to the listener. */
  private deliver(buf: Uint8Array, dv: DataView, pos: number, base: number, h: FileHeader): void {
    const n = ++this.received;
    const onPacket = this.onPacket;
    if (onPacket === undefined) return;
    const caplen = dv.getUint32(pos + 8, h.le);
    const start = pos + PCAP_RECORD_HEADER;
    onPacket(
      {
        tsSec: dv.getUint32(pos, h.le),
        tsNsec: dv.getUint32(pos + 4, h.le) * h.nsMul,
        tsDigits: h.tsDigits,
        caplen,
        len: dv.getUint32(pos + 12, h.le),
        linkType: h.linkType,
        interfaceId: undefined,
        interfaceName: undefined,
        fileOffset: base + pos,
        data: buf.subarray(start, start + caplen),
      },
      n,
    );
  }

  /** Whole records (`packets` of them; 0 for the file header) waiting for the next write. */
  private queue(bytes: Uint8Array, packets: number): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.pendingPackets += packets;
  }

  /** Writes every pending record; on failure truncates the file back to its last whole record. */
  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const fd = this.fd;
    if (fd === undefined || this.pendingBytes === 0 || this.closed) return;
    const batch = this.pending;
    let parts = batch;
    const total = this.pendingBytes;
    const packets = this.pendingPackets;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingPackets = 0;
    let done = 0;
    try {
      while (done < total) {
        let n = writevSync(fd, parts);
        done += n;
        if (done >= total) break;
        // a short write: drop what went out, resume inside the part it stopped in
        let i = 0;
        while (n >= (parts[i] as Uint8Array).length) n -= (parts[i++] as Uint8Array).length;
        parts = [(parts[i] as Uint8Array).subarray(n), ...parts.slice(i + 1)];
      }
      this.fileBytes += total;
      this.packets += packets;
    } catch (err) {
      // keep the whole records that made it (a disk fills mid-batch), cut the partial one off
      const kept = this.wholeRecords(batch, done);
      this.fileBytes += kept.bytes;
      this.packets += kept.packets;
      try {
        ftruncateSync(fd, this.fileBytes);
      } catch {
        /* the file keeps what the OS wrote; nothing better to do */
      }
      this.fail(
        new VxiError('VXI_IO', `cannot write ${this.path}: ${(err as Error).message}; the file keeps its ${this.packets} whole packet(s)`, {
          cause: err,
        }),
      );
    }
  }

  /** The whole records among the first `written` bytes of a batch (spans of whole records, or the file header alone). */
  private wholeRecords(batch: Uint8Array[], written: number): { bytes: number; packets: number } {
    const h = this.header;
    let bytes = 0;
    let packets = 0;
    if (h === undefined || this.fileBytes === 0) return { bytes, packets }; // the file header's own batch
    for (const part of batch) {
      const dv = new DataView(part.buffer, part.byteOffset, part.byteLength);
      for (let pos = 0; pos + PCAP_RECORD_HEADER <= part.length; ) {
        const size = PCAP_RECORD_HEADER + dv.getUint32(pos + 8, h.le);
        if (bytes + size > written) return { bytes, packets };
        bytes += size;
        packets++;
        pos += size;
      }
    }
    return { bytes, packets };
  }

  /** At the end of the stream: the unit it cut short, if any, as the file parser reports it. */
  private cutShort(): CaptureFormatError | undefined {
    const total = this.streamBytes;
    if (total === 0) return new CaptureFormatError('empty-input', 'empty input: no capture file header', 0);
    const c = this.carry;
    if (c === undefined) return undefined;
    const fields = { tailBytes: this.carryLen, missingBytes: c.length - this.carryLen };
    if (this.header === undefined) {
      return new CaptureFormatError(
        'truncated-header',
        `truncated pcap file header: the input ends ${this.carryLen} byte(s) into it, ${PCAP_FILE_HEADER} needed`,
        0,
        fields,
      );
    }
    const at = total - this.carryLen;
    return new CaptureFormatError(
      'truncated-record',
      `truncated pcap record: the input ends ${this.carryLen} byte(s) into it, ${c.length} needed`,
      at,
      fields,
    );
  }

  private fail(err: VxiError): void {
    const first = !this.writeError;
    if (first) this.writeError = err;
    this.close();
    if (first) this.onWriteError?.(err);
  }

  private close(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingPackets = 0;
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* already reported through flush() */
      }
    }
  }
}
