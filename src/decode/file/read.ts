/**
 * Reading a whole capture from a file path ('-' = stdin), a Node stream or any async iterable
 * of byte chunks, through CaptureParser. Damaged input does not throw: the summary's `error`
 * says where it is. I/O failures throw VxiError VXI_IO.
 */
import { open } from 'node:fs/promises';
import { VxiError, type CaptureFormatError } from '../../errors.js';
import type { RawPacket } from '../types.js';
import { CaptureParser } from './parser.js';
import type { ReadSummary } from './types.js';

export type CaptureSource = string | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export interface ReadOptions {
  /** Aborting stops the read: the promise rejects with the signal's reason (a stream source is destroyed). */
  signal?: AbortSignal;
}

/** Bytes per read from a file (1 MiB): each read gets a fresh buffer, so packet views stay valid. */
const FILE_CHUNK = 1024 * 1024;

function describe(source: CaptureSource): string {
  if (source === '-') return 'standard input';
  return typeof source === 'string' ? `capture file ${JSON.stringify(source)}` : 'the capture stream';
}

function ioError(source: CaptureSource, action: string, err: unknown): VxiError {
  const reason = err instanceof Error ? err.message : String(err);
  return new VxiError('VXI_IO', `cannot ${action} ${describe(source)}: ${reason}`, { cause: err });
}

/** Where a file's chunks are read into, and given back when one was never handed out. */
export interface ChunkBuffers {
  /** A buffer to read the next chunk into (its whole length is filled at most). */
  take(): Uint8Array;
  /** A buffer that `take` gave and the reader did not yield (end of file, error, early stop). */
  release(buffer: Uint8Array): void;
}

/** Fresh buffers, never reused: packet views handed out stay valid. */
const FRESH_BUFFERS: ChunkBuffers = {
  take: () => Buffer.allocUnsafeSlow(FILE_CHUNK),
  release: () => undefined,
};

/**
 * A file's bytes, chunk by chunk, with one read ahead: the next read is in flight while the
 * caller decodes the current chunk, so the disk (or page-cache copy) and the decoding overlap.
 * Two chunks in memory at most. Open and read failures throw VxiError VXI_IO naming the path.
 */
export async function* readFileAhead(path: string, buffers: ChunkBuffers = FRESH_BUFFERS): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  const file = fh;
  const readNext = async (): Promise<Uint8Array> => {
    const b = buffers.take();
    try {
      const n = (await file.read(b, 0, b.length, null)).bytesRead;
      if (n === 0) buffers.release(b);
      return b.subarray(0, n);
    } catch (err) {
      buffers.release(b);
      throw ioError(path, 'read', err);
    }
  };
  let next: Promise<Uint8Array> | undefined = readNext();
  try {
    for (;;) {
      const chunk: Uint8Array = await next;
      if (chunk.length === 0) {
        next = undefined;
        return;
      }
      next = readNext();
      yield chunk;
    }
  } finally {
    if (next) {
      const last = await next.catch(() => undefined);
      if (last !== undefined && last.length > 0) buffers.release(last);
    }
    await file.close();
  }
}

async function* streamChunks(source: CaptureSource, stream: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  const it = stream[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<unknown>;
    try {
      r = await it.next();
    } catch (err) {
      throw ioError(source, 'read', err);
    }
    if (r.done) return;
    const c = r.value;
    if (!(c instanceof Uint8Array)) {
      await it.return?.();
      throw new VxiError('VXI_IO', `${describe(source)} delivers ${typeof c} chunks, not bytes: do not set an encoding on it`);
    }
    yield c;
  }
}

/** The source as a sequence of byte chunks. */
export function chunksOf(source: CaptureSource): AsyncGenerator<Uint8Array> {
  if (source === '-') return streamChunks(source, process.stdin);
  if (typeof source === 'string') return readFileAhead(source);
  return streamChunks(source, source as AsyncIterable<unknown>);
}

/**
 * Makes aborting `signal` end a read that waits for input: a stream source (standard input
 * too) is destroyed with the signal's reason, so its pending read rejects at once. Returns
 * how to stop listening.
 */
export function destroyOnAbort(source: CaptureSource, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => {};
  const stream = source === '-' ? process.stdin : source;
  const onAbort = (): void => {
    const d = (stream as { destroy?: (e?: unknown) => void }).destroy;
    if (typeof stream !== 'string' && typeof d === 'function') d.call(stream, signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function summary(parser: CaptureParser): ReadSummary {
  const s: ReadSummary = {
    format: parser.format,
    packets: parser.packetCount,
    bytesRead: parser.bytesIn,
    interfaces: parser.interfaces,
    warnings: parser.warnings,
  };
  if (parser.error !== undefined) s.error = parser.error;
  return s;
}

/**
 * Reads a capture, calling onPacket for each packet in order; onPacket returning false stops early.
 * Resolves with a summary (its `error` set when the input is damaged).
 */
export async function readCapture(
  source: CaptureSource,
  onPacket: (p: RawPacket) => void | boolean,
  opts: ReadOptions = {},
): Promise<ReadSummary> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const parser = new CaptureParser();
  const release = destroyOnAbort(source, signal);
  let stopped = false;
  try {
    reading: for await (const chunk of chunksOf(source)) {
      signal?.throwIfAborted();
      parser.push(chunk);
      for (let p = parser.next(); p !== undefined; p = parser.next()) {
        if (onPacket(p) === false) {
          stopped = true;
          break reading;
        }
      }
      if (parser.error !== undefined) break;
    }
    signal?.throwIfAborted();
    if (!stopped && parser.error === undefined) {
      parser.end();
      for (let p = parser.next(); p !== undefined; p = parser.next()) if (onPacket(p) === false) break;
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    release();
  }
  return summary(parser);
}

/** Every packet of a capture; throws the CaptureFormatError (after the good packets) if it is damaged. */
export async function* packets(source: CaptureSource): AsyncGenerator<RawPacket, void, undefined> {
  const parser = new CaptureParser();
  let error: CaptureFormatError | undefined;
  for await (const chunk of chunksOf(source)) {
    parser.push(chunk);
    for (let p = parser.next(); p !== undefined; p = parser.next()) yield p;
    error = parser.error;
    if (error !== undefined) break;
  }
  if (error === undefined) {
    parser.end();
    for (let p = parser.next(); p !== undefined; p = parser.next()) yield p;
    error = parser.error;
  }
  if (error !== undefined) throw error;
}
