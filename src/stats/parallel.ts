/**
 * Statistics over a capture, on worker threads when the file is big (see
 * decode/parallel/policy.ts): each worker counts batches, this thread merges the counts in
 * input order, which gives exactly the one-thread result.
 */
import { decodeCapture } from '../decode/decode-capture.js';
import type { CaptureSource, ReadSummary } from '../decode/file/index.js';
import { decodeInParallel, type BatchResult } from '../decode/parallel/pool.js';
import { workersFor } from '../decode/parallel/policy.js';
import { StatsCollector, type StatsPartial } from './stats.js';

export interface StatsTask {
  vxlanPorts: number[];
}

/** The compiled worker script (absent when running from the TypeScript sources). */
export const STATS_WORKER = new URL('./stats-worker.js', import.meta.url);

export interface CollectStatsOptions {
  vxlanPorts?: readonly number[];
  /** Worker threads; default: decided by workersFor() (0 = this thread). */
  workers?: number;
}

/** Reads and counts the whole capture. Damaged input does not throw: see the summary's `error`. */
export async function collectStats(source: CaptureSource, options: CollectStatsOptions = {}): Promise<{ collector: StatsCollector; summary: ReadSummary }> {
  const collector = new StatsCollector();
  const vxlanPorts = [...(options.vxlanPorts ?? [])];
  const workers = options.workers ?? workersFor(source, STATS_WORKER);
  const summary = workers > 0
    ? await decodeInParallel<BatchResult & { stats: StatsPartial }>(source, {
      worker: STATS_WORKER,
      workerData: { vxlanPorts } satisfies StatsTask,
      workers,
      onResult: (r) => collector.merge(r.stats),
    })
    : await decodeCapture(source, (p) => collector.add(p), { vxlanPorts });
  return { collector, summary };
}
