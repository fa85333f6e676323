/**
 * Decoding on worker threads, results in input order.
 *
 * The calling thread reads the source into shared chunks (shared-chunks.ts), finds the
 * records (CaptureParser does ~10M records/s) and hands each chunk with a table of its
 * records (batch.ts) round-robin to the workers, without copying the packets. The workers
 * decode and turn each batch into a small result: output bytes for `decode`,
 * partial counts for `stats`. Results come back in any order and are passed on in batch
 * order, so output is exactly what one thread would write.
 *
 * Memory is bounded: at most `inFlight` batches exist at once (read but not yet consumed),
 * and the next batch is only read when one is done. A consumer that returns a promise
 * (stdout is full) holds its batch until the promise settles: back-pressure reaches the reader.
 */
import { Worker } from 'node:worker_threads';
import { CaptureParser } from '../file/parser.js';
import { parseChunks, type CaptureSource } from '../file/read.js';
import type { ReadSummary } from '../file/types.js';
import { BatchBuilder, type PacketBatch } from './batch.js';
import { SharedChunkPool, sharedChunksOf } from './shared-chunks.js';
import { batchPacketsFromEnv } from './policy.js';

/** What every worker sends back for a batch: its number, and its packet table for reuse. */
export interface BatchResult {
  seq: number;
  meta: Float64Array;
}

/** Messages to a worker: a batch, or an output buffer handed back for reuse. */
export type ToWorker = PacketBatch | { recycle: ArrayBuffer };

export interface ParallelOptions<R extends BatchResult> {
  /** The worker script (it calls serveBatches). */
  worker: URL;
  /** Handed to each worker as `workerData`. */
  workerData: unknown;
  workers: number;
  /**
   * Called once per batch, in input order. false stops reading; a promise delays the next
   * batch. `giveBack` returns a buffer of the result to the worker that made it, for reuse,
   * once nothing refers to it any more.
   */
  onResult: (result: R, giveBack: (buffer: ArrayBuffer) => void) => boolean | void | Promise<boolean | void>;
  /** Packets per batch at most (default 8192; a batch never spans two input chunks of 1 MiB). */
  batchPackets?: number;
  /** Batches read but not yet consumed, at most (default 2 per worker, plus one; plus two with `local`). */
  inFlight?: number;
  /**
   * The workers' task, run on this thread (the result must be what a worker would send): when
   * given, this thread also takes a batch whenever every worker already has
   * LOCAL_WHEN_QUEUED batches waiting, instead of idling between reads.
   */
  local?: (batch: PacketBatch) => R;
}

/** Batches queued at a worker before the calling thread takes the next one itself. */
export const LOCAL_WHEN_QUEUED = 2;

export const DEFAULT_BATCH_PACKETS = 8192;
/**
 * A worker's young generation, in MB: decoding makes short-lived objects only, and a small
 * nursery keeps each thread's resident memory low (peak RSS of `decode --json` on two
 * workers, 1M packets: about 270 MB with V8's default, about 180 MB with 4 MB) at no
 * measurable cost in CPU time (measured 4 to 32 MB).
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * Reads `source`, decodes its packets on `workers` threads and hands each batch's result to
 * `onResult` in order. Resolves with the read summary; like decodeCapture, damaged input does
 * not throw (summary.error), every packet before the fault is delivered first.
 */
export async function decodeInParallel<R extends BatchResult>(source: CaptureSource, options: ParallelOptions<R>): Promise<ReadSummary> {
  const workerCount = Math.max(1, options.workers);
  // Batches done here wait for the workers' earlier ones: a few more may be in flight.
  const limit = Math.max(2, options.inFlight ?? workerCount * 2 + 1 + (options.local !== undefined ? 2 : 0));
  const spareMeta: Float64Array[] = [];
  const builder = new BatchBuilder(options.batchPackets ?? batchPacketsFromEnv() ?? DEFAULT_BATCH_PACKETS, spareMeta);
  const parser = new CaptureParser();
  // A chunk is read by the parser (one reference while it is current) and by the workers (one per batch in flight).
  const chunkPool = new SharedChunkPool();
  const chunkRefs = new Map<SharedArrayBuffer, number>();
  const chunkOfBatch = new Map<number, SharedArrayBuffer>();
  const unref = (chunk: SharedArrayBuffer | undefined): void => {
    if (chunk === undefined) return;
    const refs = (chunkRefs.get(chunk) ?? 1) - 1;
    if (refs > 0) chunkRefs.set(chunk, refs);
    else {
      chunkRefs.delete(chunk);
      chunkPool.release(chunk);
    }
  };

  let failure: unknown;
  let stopped = false;
  let closing = false;
  let sent = 0;
  let consumed = 0;
  const ready = new Map<number, R>();
  /** Resolved whenever a batch is consumed or something fails: the reader re-checks its condition. */
  let wake: (() => void) | undefined;
  const signalReader = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: unknown): void => {
    failure ??= err;
    signalReader();
  };

  // Consumes ready results in batch order, one at a time (onResult may wait for stdout).
  let consuming = false;
  const consume = async (): Promise<void> => {
    if (consuming) return;
    consuming = true;
    try {
      for (let r = ready.get(consumed); r !== undefined && failure === undefined; r = ready.get(consumed)) {
        ready.delete(consumed);
        spareMeta.push(r.meta);
        const worker = ownerOf.get(r.seq);
        ownerOf.delete(r.seq);
        if (!stopped) {
          const giveBack = (buffer: ArrayBuffer): void => {
            if (!closing && worker !== undefined) worker.postMessage({ recycle: buffer } satisfies ToWorker, [buffer]);
          };
          let verdict = options.onResult(r, giveBack);
          if (verdict instanceof Promise) verdict = await verdict;
          if (verdict === false) stopped = true;
        }
        consumed++;
        signalReader();
      }
    } catch (err) {
      fail(err);
    } finally {
      consuming = false;
    }
  };

  /** The worker each batch went to (none: done on this thread), and how many each has queued. */
  const ownerOf = new Map<number, Worker>();
  const queued = new Map<Worker, number>();
  const workers = Array.from({ length: workerCount }, () => {
    const w = new Worker(options.worker, {
      workerData: options.workerData,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    queued.set(w, 0);
    w.on('message', (r: R) => {
      queued.set(w, (queued.get(w) ?? 1) - 1);
      // The worker is done reading the batch's chunk.
      unref(chunkOfBatch.get(r.seq));
      chunkOfBatch.delete(r.seq);
      ready.set(r.seq, r);
      void consume();
    });
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!closing) fail(new Error(`a decode worker thread stopped unexpectedly (exit code ${code})`));
    });
    return w;
  });

  const waitUntil = async (done: () => boolean): Promise<void> => {
    while (!done() && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
  };
  const send = async (batch: PacketBatch | undefined): Promise<void> => {
    if (batch === undefined) return;
    await waitUntil(() => sent - consumed < limit || stopped);
    if (failure !== undefined || stopped) return;
    const worker = workers[batch.seq % workerCount] as Worker;
    if (options.local !== undefined && workers.every((w) => (queued.get(w) ?? 0) >= LOCAL_WHEN_QUEUED)) {
      sent++;
      try {
        ready.set(batch.seq, options.local(batch));
      } catch (err) {
        fail(err);
        return;
      }
      void consume();
      return;
    }
    const transfer: ArrayBuffer[] = [batch.meta.buffer as ArrayBuffer];
    if (batch.extra !== undefined) transfer.push(batch.extra);
    if (batch.chunk !== undefined) {
      chunkRefs.set(batch.chunk, (chunkRefs.get(batch.chunk) ?? 1) + 1);
      chunkOfBatch.set(batch.seq, batch.chunk);
    }
    ownerOf.set(batch.seq, worker);
    queued.set(worker, (queued.get(worker) ?? 0) + 1);
    worker.postMessage(batch, transfer);
    sent++;
  };
  const drain = async (): Promise<void> => {
    for (let raw = parser.next(); raw !== undefined; raw = parser.next()) {
      if (builder.add(raw, parser.packetCount)) continue;
      await send(builder.take());
      if (stopped || failure !== undefined) return;
      builder.add(raw, parser.packetCount);
    }
  };

  try {
    for await (const chunk of parseChunks(parser, source, { chunks: sharedChunksOf(source, chunkPool) })) {
      if (chunk === undefined) {
        // the input is over: a record the parser held back is a copy, in no chunk
        builder.setChunk(undefined);
        await drain();
        break;
      }
      const shared = chunk.buffer as SharedArrayBuffer;
      builder.setChunk(shared);
      await drain();
      // The parser is done with this chunk (a record running on is copied): the batch goes now.
      if (!stopped && failure === undefined) await send(builder.take());
      unref(shared);
      if (stopped || failure !== undefined) break;
    }
    if (!stopped && failure === undefined) await send(builder.take());
    await waitUntil(() => consumed === sent);
  } finally {
    closing = true;
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
  const summary = parser.summary();
  // Stopped by the consumer (-c N): like the one-thread path, a fault further on was never reached.
  if (stopped) delete summary.error;
  return summary;
}
