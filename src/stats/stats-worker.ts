/** Worker thread for `stats`: counts each batch with a fresh collector and sends its partial counts back. */
import { workerData } from 'node:worker_threads';
import { serveBatches } from '../decode/parallel/worker-loop.js';
import type { StatsPartial } from './stats.js';
import { batchCounter, type StatsTask } from './count-batch.js';

const count = batchCounter(workerData as StatsTask);

serveBatches<{ stats: StatsPartial }>((batch) => ({ result: { stats: count(batch) } }));
