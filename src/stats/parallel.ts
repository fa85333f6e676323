/**
 * Statistics over a capture, on worker threads when the file is big (see
 * decode/parallel/policy.ts): the workers count batches (and this thread too, while they are
 * busy), this thread merges the counts in input order, which gives exactly the one-thread result.
 */
import { decodeCapture } from '../decode/decode-capture.js';
import type { CaptureSource, ReadSummary } from '../decode/file/index.js';
import { decodeInParallel } from '../decode/parallel/pool.js';
import { workersFor } from '../decode/parallel/policy.js';
import { StatsCollector } from './stats.js';
import { batchCounter, type StatsBatchResult, type StatsTask } from './count-batch.js';

export type { StatsTask } from './count-batch.js';

/** The compiled worker script (absent when running from the TypeScript sources). */
export const STATS_WORKER = new URL('./stats-worker.js', import.meta.url);

export interface CollectStatsOptions {
  vxlanPorts?: readonly number[];
  /**
   * Threads to count on; default: decided by workersFor() (0 = this thread only). N > 0 starts
   * max(1, N - 1) workers, and this thread counts too while they are busy.
   */
  workers?: number;
}

/** Reads and counts the whole capture. Damaged input does not throw: see the summary's `error`. */
export async function collectStats(source: CaptureSource, options: CollectStatsOptions = {}): Promise<{ collector: StatsCollector; summary: ReadSummary }> {
  const collector = new StatsCollector();
  const vxlanPorts = [...(options.vxlanPorts ?? [])];
  const threads = options.workers ?? workersFor(source, STATS_WORKER);
  if (threads <= 0) return { collector, summary: await decodeCapture(source, (p) => collector.add(p), { vxlanPorts }) };
  const task: StatsTask = { vxlanPorts };
  const count = batchCounter(task);
  const summary = await decodeInParallel<StatsBatchResult>(source, {
    worker: STATS_WORKER,
    workerData: task,
    workers: Math.max(1, threads - 1),
    local: (batch) => ({ seq: batch.seq, meta: batch.meta, stats: count(batch) }),
    onResult: (r) => collector.merge(r.stats),
  });
  return { collector, summary };
}
