/**
 * One capture stream → one local pcap file, as the bytes arrive.
 *
 * The stream (`tcpdump -U -w -` over SSH) comes in chunks cut anywhere. CaptureParser takes them
 * apart into whole records; only whole records are written, re-encoded by PcapWriter behind the
 * file header, each chunk's records in one write. So the file is a valid pcap at every moment:
 * when the stream is cut mid-record (connection lost, tcpdump killed) the partial record is
 * simply never written. If a write fails (disk full), the file is truncated back to its last
 * whole record before the error is raised.
 *
 * The file is created when the stream's file header arrives: a tcpdump that never started
 * leaves no file behind.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { CaptureFormatError, VxiError } from '../errors.js';
import { CaptureParser } from '../decode/file/parser.js';
import { PcapWriter, concatBytes } from '../decode/file/writer.js';
import type { RawPacket } from '../decode/types.js';

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

export class PcapFileSink {
  private readonly parser = new CaptureParser();
  private writer: PcapWriter | undefined;
  private fd: number | undefined;
  private fileBytes = 0;
  private packets = 0;
  private closed = false;
  private writeError: VxiError | undefined;

  /**
   * @param path where to write (created with O_EXCL: an existing file is never overwritten)
   * @param onPacket called for each whole record, in order, after it was written
   */
  constructor(
    readonly path: string,
    private readonly onPacket?: (raw: RawPacket, n: number) => void,
  ) {}

  /** Bytes of the stream. The sink keeps views into `chunk`: pass a chunk nobody will modify. */
  push(chunk: Uint8Array): void {
    if (this.closed || this.writeError) return;
    this.parser.push(chunk);
    this.drain();
  }

  /** The stream is over: whatever is left of a record is dropped, the file closed. */
  end(): PcapSinkResult {
    if (!this.closed) {
      this.parser.end();
      if (!this.writeError) this.drain();
      this.close();
    }
    return this.result();
  }

  /** A write failed (ENOSPC…); set once, after the file was truncated to its last whole record. */
  get error(): VxiError | undefined {
    return this.writeError;
  }

  get packetCount(): number {
    return this.packets;
  }

  get bytesWritten(): number {
    return this.fileBytes;
  }

  result(): PcapSinkResult {
    const r: PcapSinkResult = {
      file: this.writer ? this.path : null,
      packets: this.packets,
      fileBytes: this.fileBytes,
      streamBytes: this.parser.bytesIn,
      droppedTailBytes: 0,
    };
    const e = this.parser.error;
    if (e) {
      // a cut last record is what a dropped connection looks like: expected, not damage
      if (e.kind === 'truncated-record') r.droppedTailBytes = e.tailBytes ?? 0;
      else r.formatError = e;
    }
    return r;
  }

  private drain(): void {
    const parts: Uint8Array[] = [];
    const got: RawPacket[] = [];
    if (!this.writer) {
      // the file header: as soon as the parser has read it (a record may follow in the same chunk)
      const first = this.parser.next();
      const iface = this.parser.interfaces[0];
      if (!iface) return;
      this.writer = new PcapWriter({ linkType: iface.linkType, snaplen: iface.snaplen || 262_144, nanosecond: iface.tsDigits === 9 });
      try {
        this.fd = openSync(this.path, 'wx', 0o644);
      } catch (err) {
        this.fail(new VxiError('VXI_IO', `cannot create ${this.path}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      parts.push(this.writer.header());
      if (first) {
        parts.push(this.writer.record(first));
        got.push(first);
      }
    }
    const w = this.writer;
    for (let p = this.parser.next(); p !== undefined; p = this.parser.next()) {
      parts.push(w.record(p));
      got.push(p);
    }
    if (parts.length === 0) return;
    if (!this.write(parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts))) return;
    // counted before the callbacks run: a throwing listener cannot make the counts lie
    const first = this.packets + 1;
    this.packets += got.length;
    got.forEach((p, i) => this.onPacket?.(p, first + i));
  }

  private write(bytes: Uint8Array): boolean {
    const fd = this.fd;
    if (fd === undefined) return false;
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      this.fileBytes += bytes.length;
      return true;
    } catch (err) {
      try {
        ftruncateSync(fd, this.fileBytes);
      } catch {
        /* the file keeps what the OS wrote; nothing better to do */
      }
      this.fail(new VxiError('VXI_IO', `cannot write ${this.path}: ${(err as Error).message}; the file keeps its ${this.packets} whole packet(s)`, { cause: err }));
      return false;
    }
  }

  private fail(err: VxiError): void {
    if (!this.writeError) this.writeError = err;
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* already reported through write() */
      }
    }
  }
}
