/**
 * Decoding on worker threads, results in input order.
 *
 * The calling thread reads the source and finds the records (CaptureParser does ~10M
 * records/s), copies them into batches (batch.ts) and hands the batches round-robin to the
 * workers, which decode and turn each batch into a small result: output bytes for `decode`,
 * partial counts for `stats`. Results come back in any order and are passed on in batch
 * order, so output is exactly what one thread would write.
 *
 * Memory is bounded: at most `inFlight` batches exist at once (read but not yet consumed),
 * and the next batch is only read when one is done. A consumer that returns a promise
 * (stdout is full) holds its batch until the promise settles: back-pressure reaches the reader.
 */
import { Worker } from 'node:worker_threads';
import { CaptureParser } from '../file/parser.js';
import { chunksOf, type CaptureSource } from '../file/read.js';
import type { ReadSummary } from '../file/types.js';
import { BatchBuilder, type PacketBatch } from './batch.js';

/** What every worker sends back for a batch: its number, and the input buffers for reuse. */
export interface BatchResult {
  seq: number;
  bytes: ArrayBuffer;
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
  /** Packets per batch at most (default 4096). */
  batchPackets?: number;
  /** Bytes per batch at most (default 2 MiB; a larger single packet gets a batch of its own). */
  batchBytes?: number;
  /** Batches read but not yet consumed, at most (default 2 per worker, plus one). */
  inFlight?: number;
}

export const DEFAULT_BATCH_PACKETS = 4096;
export const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;
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
  const limit = Math.max(2, options.inFlight ?? workerCount * 2 + 1);
  const spare = { bytes: [] as ArrayBuffer[], meta: [] as Float64Array[] };
  const builder = new BatchBuilder(options.batchPackets ?? DEFAULT_BATCH_PACKETS, options.batchBytes ?? DEFAULT_BATCH_BYTES, spare);
  const parser = new CaptureParser();

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
        spare.bytes.push(r.bytes);
        spare.meta.push(r.meta);
        if (!stopped) {
          const worker = workers[r.seq % workerCount] as Worker;
          const giveBack = (buffer: ArrayBuffer): void => {
            if (!closing) worker.postMessage({ recycle: buffer } satisfies ToWorker, [buffer]);
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

  const workers = Array.from({ length: workerCount }, () => {
    const w = new Worker(options.worker, { workerData: options.workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    w.on('message', (r: R) => {
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
    const transfer: ArrayBuffer[] = [batch.bytes];
    if (batch.meta.buffer !== batch.bytes) transfer.push(batch.meta.buffer as ArrayBuffer);
    (workers[batch.seq % workerCount] as Worker).postMessage(batch, transfer);
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

  const chunks = chunksOf(source);
  try {
    for await (const chunk of chunks) {
      parser.push(chunk);
      await drain();
      if (stopped || failure !== undefined || parser.error !== undefined) break;
    }
    if (!stopped && failure === undefined && parser.error === undefined) {
      parser.end();
      await drain();
    }
    if (!stopped && failure === undefined) await send(builder.take());
    await waitUntil(() => consumed === sent);
  } finally {
    await chunks.return(undefined);
    closing = true;
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
  const summary: ReadSummary = {
    format: parser.format,
    packets: parser.packetCount,
    bytesRead: parser.bytesIn,
    interfaces: parser.interfaces,
    warnings: parser.warnings,
  };
  // Stopped by the consumer (-c N): like the one-thread path, a fault further on was never reached.
  if (parser.error !== undefined && !stopped) summary.error = parser.error;
  return summary;
}
