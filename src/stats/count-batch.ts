/** `stats`' work on one batch of packets: a worker thread's task, also done on the reading thread when the workers are busy. */
import { forEachPacket, type PacketBatch } from '../decode/parallel/batch.js';
import type { BatchResult } from '../decode/parallel/pool.js';
import { threadId } from 'node:worker_threads';
import { flowDictionary, StatsCollector, type StatsPartial } from './stats.js';

export interface StatsTask {
  vxlanPorts: number[];
}

export type StatsBatchResult = BatchResult & { stats: StatsPartial };

/**
 * A counter of batches: counts each with a fresh collector (the counting path, with the task's
 * VXLAN ports), its flows in one dictionary for all the batches it counts, so their counts
 * travel by id (see FlowDictionary). One counter per thread; its partials must all be merged,
 * in order, into one collector.
 */
export function batchCounter(task: StatsTask): (batch: PacketBatch) => StatsPartial {
  const dictionary = flowDictionary(threadId);
  return (batch) => {
    const collector = new StatsCollector({ vxlanPorts: task.vxlanPorts, dictionary });
    forEachPacket(batch, (raw, n) => collector.addRaw(raw, n));
    return collector.partial();
  };
}
