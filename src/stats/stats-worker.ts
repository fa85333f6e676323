/** Worker thread for `stats`: counts each batch with a fresh collector and sends its partial counts back. */
import { workerData } from 'node:worker_threads';
import { decodePacket, type DecodeOptions } from '../decode/packet.js';
import { createRegistry } from '../decode/registry.js';
import { forEachPacket } from '../decode/parallel/batch.js';
import { serveBatches } from '../decode/parallel/worker-loop.js';
import { StatsCollector, type StatsPartial } from './stats.js';
import type { StatsTask } from './parallel.js';

const task = workerData as StatsTask;
const options: DecodeOptions = { registry: createRegistry({ vxlanPorts: task.vxlanPorts }) };

serveBatches<{ stats: StatsPartial }>((batch) => {
  const collector = new StatsCollector();
  forEachPacket(batch, (raw, n) => collector.add(decodePacket(raw, n, options)));
  return { result: { stats: collector.partial() } };
});
