/**
 * The input in shared chunks (SharedArrayBuffer) that worker threads read in place. A file is
 * read straight into them, one read ahead; any other source is copied in. Chunks come from a
 * pool the caller refills (`release`) once nothing reads a chunk any more, so a long file
 * needs only as many chunks as are in flight.
 */
import { chunksOf, readFileAhead, type CaptureSource } from '../file/read.js';

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

/** Reads a file straight into the pool's shared chunks. */
function fileSharedChunks(path: string, pool: SharedChunkPool): AsyncGenerator<Uint8Array> {
  return readFileAhead(path, {
    take: () => new Uint8Array(pool.take(), 0, pool.chunkBytes),
    release: (view) => pool.release(view.buffer as SharedArrayBuffer),
  });
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
