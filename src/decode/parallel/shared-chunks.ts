/**
 * The input in shared chunks (SharedArrayBuffer) that worker threads read in place. A file is
 * read straight into them, one read ahead; any other source is copied in. Chunks come from a
 * pool the caller refills (`release`) once nothing reads a chunk any more, so a long file
 * needs only as many chunks as are in flight.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { VxiError } from '../../errors.js';
import { chunksOf, type CaptureSource } from '../file/read.js';

/** Bytes per chunk (1 MiB): as many as a file read takes at once. */
export const SHARED_CHUNK_BYTES = 1024 * 1024;

export class SharedChunkPool {
  private readonly free: SharedArrayBuffer[] = [];
  constructor(readonly chunkBytes = SHARED_CHUNK_BYTES) {}

  /** A chunk of at least `bytes`: a free one when it is big enough, else a new one. */
  take(bytes = this.chunkBytes): SharedArrayBuffer {
    const c = this.free.pop();
    if (c !== undefined && c.byteLength >= bytes) return c;
    return new SharedArrayBuffer(Math.max(bytes, this.chunkBytes));
  }

  /** Gives back a chunk nothing reads any more. */
  release(chunk: SharedArrayBuffer): void {
    if (chunk.byteLength === this.chunkBytes) this.free.push(chunk);
  }
}

function ioError(path: string, action: string, err: unknown): VxiError {
  const reason = err instanceof Error ? err.message : String(err);
  return new VxiError('VXI_IO', `cannot ${action} capture file ${JSON.stringify(path)}: ${reason}`, { cause: err });
}

async function* fileSharedChunks(path: string, pool: SharedChunkPool): AsyncGenerator<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  const readNext = async (): Promise<Uint8Array> => {
    const sab = pool.take();
    const view = new Uint8Array(sab, 0, pool.chunkBytes);
    try {
      const n = (await fh.read(view, 0, view.length, null)).bytesRead;
      if (n === 0) pool.release(sab);
      return view.subarray(0, n);
    } catch (err) {
      pool.release(sab);
      throw ioError(path, 'read', err);
    }
  };
  // One read ahead: the next chunk is read while the current one is parsed.
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
      if (last !== undefined && last.length > 0) pool.release(last.buffer as SharedArrayBuffer);
    }
    await fh.close();
  }
}

async function* copiedSharedChunks(source: CaptureSource, pool: SharedChunkPool): AsyncGenerator<Uint8Array> {
  for await (const c of chunksOf(source)) {
    if (c.length === 0) continue;
    const view = new Uint8Array(pool.take(c.length), 0, c.length);
    view.set(c);
    yield view;
  }
}

/**
 * The source as views into shared chunks, in order. The consumer owns each chunk it gets
 * (view.buffer) and gives it back to `pool` when nothing reads it any more.
 */
export function sharedChunksOf(source: CaptureSource, pool: SharedChunkPool): AsyncGenerator<Uint8Array> {
  return typeof source === 'string' && source !== '-' ? fileSharedChunks(source, pool) : copiedSharedChunks(source, pool);
}
