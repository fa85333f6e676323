/**
 * CaptureParser: an incremental pcap/pcapng reader. push(chunk) bytes as they come (file, stdin,
 * an SSH channel), drain packets with next(); call end() when the input is over and drain again.
 *
 * Memory: whole records are parsed in place and handed out as views into the pushed chunk, so
 * the caller must not modify a chunk after pushing it. Only a record that straddles chunks is
 * copied, once, into a buffer of exactly its (validated) size. Unknown pcapng blocks are skipped
 * without buffering them. The parser never reuses memory it handed out.
 *
 * nextRecord() is the same walk without a RawPacket: it hands out one RecordView, overwritten by
 * every record (for callers that read a few fields of each record and keep nothing: `stats`).
 * next() and nextRecord() may be mixed; either consumes one packet.
 *
 * Damaged input never throws: next() returns undefined and `error` says what and where.
 */
import { CaptureFormatError } from '../../errors.js';
import type { RawPacket } from '../types.js';
import { NEED_MORE, SKIP, type RecordDecoder } from './decoder.js';
import { detectFormat } from './detect.js';
import { PcapDecoder } from './pcap.js';
import { PcapngDecoder } from './pcapng.js';
import type { RecordView } from './record-view.js';
import { MAX_WARNINGS, type CaptureFormat, type CaptureInterface, type ReadSummary } from './types.js';

const EMPTY = new Uint8Array(0);

export class CaptureParser {
  /** Set once the input is found damaged; no packet is delivered after it. */
  error: CaptureFormatError | undefined = undefined;
  format: CaptureFormat | undefined = undefined;
  /** Non-fatal oddities, at most MAX_WARNINGS (+1 line saying more were dropped). */
  readonly warnings: string[] = [];
  /** All warnings seen, including those not kept. */
  warningCount = 0;
  /** Bytes pushed so far. */
  bytesIn = 0;
  /** Packets returned by next() so far. */
  packetCount = 0;

  private dec: RecordDecoder | undefined = undefined;
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  // the current chunk
  private buf: Uint8Array = EMPTY;
  private dv: DataView = new DataView(EMPTY.buffer);
  private pos = 0;
  private limit = 0;
  private base = 0;
  // a unit that straddles chunks
  private carry: Uint8Array | undefined = undefined;
  private carryLen = 0;
  private carryAt = 0;
  // a pcapng block being skipped: absolute offset of its trailing length, and of the block
  private skipTo = 0;
  private skipBlockAt = -1;

  /** What was read so far: format, counts, interfaces, warnings, and the error if the input is damaged. */
  summary(): ReadSummary {
    const s: ReadSummary = {
      format: this.format,
      packets: this.packetCount,
      bytesRead: this.bytesIn,
      interfaces: this.interfaces,
      warnings: this.warnings,
    };
    if (this.error !== undefined) s.error = this.error;
    return s;
  }

  /** Interfaces seen so far (one for classic pcap, every IDB of every section for pcapng). */
  get interfaces(): CaptureInterface[] {
    return this.dec?.interfaces ?? [];
  }

  /** Adds input. The parser keeps views into `chunk`: do not modify it afterwards. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('CaptureParser.push() called after end()');
    if (this.error !== undefined || chunk.length === 0) return;
    const u8 = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.bytesIn += u8.length;
    if (this.pos === this.limit && this.queue.length === 0) this.setCurrent(u8);
    else this.queue.push(u8);
  }

  /** The input is over: the next next() calls report a truncated last record, if any. */
  end(): void {
    this.ended = true;
  }

  /** The next packet, or undefined when more input is needed, the input is over, or it is damaged. */
  next(): RawPacket | undefined {
    return this.forward() ? (this.dec as RecordDecoder).view.rawPacket() : undefined;
  }

  /**
   * The next packet as the parser's one RecordView (see record-view.ts: read it before the next
   * call, keep neither it nor its bytes), or undefined as next() says.
   */
  nextRecord(): RecordView | undefined {
    return this.forward() ? (this.dec as RecordDecoder).view : undefined;
  }

  /** Reads up to the next packet: true when the decoder's view holds one. */
  private forward(): boolean {
    if (this.error !== undefined) return false;
    try {
      if (!this.advance()) return false;
      this.packetCount++;
      return true;
    } catch (err) {
      if (!(err instanceof CaptureFormatError)) throw err;
      this.fail(err);
      return false;
    }
  }

  private advance(): boolean {
    for (;;) {
      const dec = this.dec;
      if (dec === undefined) {
        if (!this.detect()) return this.starved();
        continue;
      }
      if (this.carry !== undefined) {
        if (!this.fillCarry(this.carry)) return this.starved();
        const c = this.carry;
        const r = dec.step(c, new DataView(c.buffer, c.byteOffset, c.length), 0, c.length, this.carryAt);
        if (r === NEED_MORE) {
          if (dec.need <= c.length) throw new Error(`internal: decoder asked for ${dec.need} bytes with ${c.length} available`);
          const grown = new Uint8Array(dec.need);
          grown.set(c);
          this.carry = grown;
          continue;
        }
        this.carry = undefined;
        if (r === SKIP) {
          this.startSkip(this.carryAt, dec.skipLength);
          continue;
        }
        if (r !== c.length) throw new Error(`internal: decoder consumed ${r} of a ${c.length}-byte unit`);
        this.skipBlockAt = -1;
        if (dec.hasRecord) return true;
        continue;
      }
      if (this.skipTo > this.base + this.pos) {
        const skipEnd = this.skipTo - this.base;
        if (skipEnd <= this.limit) this.pos = skipEnd;
        else {
          this.pos = this.limit;
          if (!this.nextChunk()) return this.starved();
        }
        continue;
      }
      const avail = this.limit - this.pos;
      if (avail === 0) {
        if (!this.nextChunk()) return this.starved();
        continue;
      }
      const r = dec.step(this.buf, this.dv, this.pos, this.limit, this.base);
      if (r > 0) {
        this.pos += r;
        this.skipBlockAt = -1;
        if (dec.hasRecord) return true;
      } else if (r === NEED_MORE) {
        const c = new Uint8Array(dec.need);
        c.set(this.buf.subarray(this.pos, this.limit));
        this.carry = c;
        this.carryLen = avail;
        this.carryAt = this.base + this.pos;
        this.pos = this.limit;
      } else {
        this.startSkip(this.base + this.pos, dec.skipLength);
      }
    }
  }

  private startSkip(blockAt: number, length: number): void {
    this.skipBlockAt = blockAt;
    this.skipTo = blockAt + length - 4;
  }

  /** Copies input into the carry buffer until it is full; false when the input ran out first. */
  private fillCarry(c: Uint8Array): boolean {
    while (this.carryLen < c.length) {
      if (this.pos === this.limit) {
        if (!this.nextChunk()) return false;
        continue;
      }
      const n = Math.min(c.length - this.carryLen, this.limit - this.pos);
      c.set(this.buf.subarray(this.pos, this.pos + n), this.carryLen);
      this.carryLen += n;
      this.pos += n;
    }
    return true;
  }

  private nextChunk(): boolean {
    const next = this.queue.shift();
    if (next === undefined) return false;
    this.setCurrent(next);
    return true;
  }

  private setCurrent(u8: Uint8Array): void {
    this.base += this.limit;
    this.buf = u8;
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    this.pos = 0;
    this.limit = u8.length;
  }

  /** Reads the magic without consuming it; false while fewer than 4 bytes are in. */
  private detect(): boolean {
    const magic: number[] = [];
    for (const part of [this.buf.subarray(this.pos, this.limit), ...this.queue]) {
      for (let i = 0; i < part.length && magic.length < 4; i++) magic.push(part[i] ?? 0);
    }
    if (magic.length < 4) return false;
    const d = detectFormat(magic[0] ?? 0, magic[1] ?? 0, magic[2] ?? 0, magic[3] ?? 0);
    if (typeof d === 'string') throw new CaptureFormatError('bad-magic', d, 0);
    this.format = d.format;
    const warn = (m: () => string): void => this.warn(m);
    this.dec = d.format === 'pcap' ? new PcapDecoder(d.littleEndian, d.nanosecond, warn) : new PcapngDecoder(warn);
    return true;
  }

  /** No more input for now (false): fine unless end() was called in the middle of something. */
  private starved(): false {
    if (!this.ended) return false;
    const total = this.bytesIn;
    if (this.dec === undefined) {
      if (total === 0) throw new CaptureFormatError('empty-input', 'empty input: no capture file header', 0);
      throw new CaptureFormatError('truncated-header', `input is only ${total} byte(s) long: too short for a capture file header`, 0, {
        tailBytes: total,
        missingBytes: 4 - total,
      });
    }
    const noun = this.format === 'pcap' ? 'pcap record' : 'pcapng block';
    if (this.carry !== undefined) {
      const what = this.format === 'pcap' && this.carryAt === 0 ? 'pcap file header' : noun;
      const fields = { tailBytes: this.carryLen, missingBytes: this.carry.length - this.carryLen };
      throw new CaptureFormatError(
        this.carryAt === 0 ? 'truncated-header' : 'truncated-record',
        `truncated ${what}: the input ends ${this.carryLen} byte(s) into it, ${this.carry.length} needed`,
        this.carryAt,
        fields,
      );
    }
    if (this.skipBlockAt >= 0) {
      const fields = { tailBytes: total - this.skipBlockAt, missingBytes: this.skipTo + 4 - total };
      throw new CaptureFormatError(
        'truncated-record',
        `truncated ${noun}: its length runs past the end of the input (${total} bytes)`,
        this.skipBlockAt,
        fields,
      );
    }
    return false;
  }

  private fail(err: CaptureFormatError): void {
    this.error = err;
    this.queue.length = 0;
    this.carry = undefined;
    this.buf = EMPTY;
    this.pos = 0;
    this.limit = 0;
  }

  private warn(message: () => string): void {
    this.warningCount++;
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message());
    else if (this.warnings.length === MAX_WARNINGS) this.warnings.push('(further warnings not kept)');
  }
}
