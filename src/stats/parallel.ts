/**
 * Statistics over a capture: on this thread through the counting path (StatsCollector.addRecord),
 * or, when asked (VXI_THREADS or `workers`), on worker threads for big files (see
 * decode/parallel/policy.ts): the workers count batches (and this thread too, while they are
 * busy), this thread merges the counts in input order, which gives exactly the one-thread result.
 */
import type { CaptureSource, ReadSummary } from '../decode/file/index.js';
import { readRecordViews } from '../decode/file/read.js';
import { workersFor } from '../decode/parallel/policy.js';
import { StatsCollector } from './stats.js';
import type { StatsBatchResult, StatsTask } from './count-batch.js';

export type { StatsTask } from './count-batch.js';

/** The compiled worker script (absent when running from the TypeScript sources). */
export const STATS_WORKER = new URL('./stats-worker.js', import.meta.url);

export interface CollectStatsOptions {
  vxlanPorts?: readonly number[];
  /**
   * Threads to count on; default 0 (this thread only) unless VXI_THREADS is set, then as
   * workersFor() decides. N > 0 starts max(1, N - 1) workers, and this thread counts too while
   * they are busy. One thread is the default because the counting path (addRaw) counts a packet
   * in less time than the reading thread takes to hand it to a worker and merge its counts back:
   * on 2 cores, 1M realistic packets took 1.2 CPU s on one thread, 2.4 CPU s and a longer wall
   * time with a worker (see README, Performance).
   */
  workers?: number;
}

/** Reads and counts the whole capture. Damaged input does not throw: see the summary's `error`. */
export async function collectStats(
  source: CaptureSource,
  options: CollectStatsOptions = {},
): Promise<{ collector: StatsCollector; summary: ReadSummary }> {
  const vxlanPorts = [...(options.vxlanPorts ?? [])];
  const collector = new StatsCollector({ vxlanPorts });
  const threads = options.workers ?? (process.env.VXI_THREADS === undefined ? 0 : workersFor(source, STATS_WORKER));
  if (threads <= 0) {
    let n = 0;
    // records, not packets: no object per packet on the reading path (the collector keeps nothing of them)
    return { collector, summary: await readRecordViews(source, (r) => collector.addRecord(r, ++n)) };
  }
  const [{ decodeInParallel }, { batchCounter }] = await Promise.all([import('../decode/parallel/pool.js'), import('./count-batch.js')]);
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
