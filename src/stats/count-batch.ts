/** `stats`' work on one batch of packets: a worker thread's task, also done on the reading thread when the workers are busy. */
import { decodePacket, type DecodeOptions } from '../decode/packet.js';
import { createRegistry } from '../decode/registry.js';
import { forEachPacket, type PacketBatch } from '../decode/parallel/batch.js';
import type { BatchResult } from '../decode/parallel/pool.js';
import { StatsCollector, type StatsPartial } from './stats.js';

export interface StatsTask {
  vxlanPorts: number[];
}

export type StatsBatchResult = BatchResult & { stats: StatsPartial };

/** A counter of batches: decodes each with the task's ports and counts it with a fresh collector. */
export function batchCounter(task: StatsTask): (batch: PacketBatch) => StatsPartial {
  const options: DecodeOptions = { registry: createRegistry({ vxlanPorts: task.vxlanPorts }) };
  return (batch) => {
    const collector = new StatsCollector();
    forEachPacket(batch, (raw, n) => collector.add(decodePacket(raw, n, options)));
    return collector.partial();
  };
}
