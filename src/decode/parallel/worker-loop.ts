/**
 * The worker side of pool.ts: receive batches, answer each with a result that carries the
 * batch's packet table back (it is reused for later batches); the answer also tells the
 * reading thread that the batch's shared chunk is no longer read here. Output buffers the
 * reading thread is done with come back too (`recycle`): the next batch writes into one of them.
 */
import { parentPort } from 'node:worker_threads';
import type { PacketBatch } from './batch.js';
import type { BatchResult, ToWorker } from './pool.js';

/** Spare output buffers kept at most. */
const MAX_SPARE = 4;

/**
 * Runs `handle` for every batch (see forEachPacket in batch.ts) with a spare output buffer
 * when there is one; it returns the task-specific part of the result and any extra buffers
 * to transfer with it.
 */
export function serveBatches<T extends object>(
  handle: (batch: PacketBatch, spare: ArrayBuffer | undefined) => { result: T; transfer?: ArrayBuffer[] },
): void {
  const port = parentPort;
  if (port === null) throw new Error('serveBatches() runs in a worker thread');
  const spares: ArrayBuffer[] = [];
  port.on('message', (message: ToWorker) => {
    if ('recycle' in message) {
      if (spares.length < MAX_SPARE) spares.push(message.recycle);
      return;
    }
    const batch = message;
    const { result, transfer = [] } = handle(batch, spares.pop());
    const reply: BatchResult & T = { ...result, seq: batch.seq, meta: batch.meta };
    transfer.push(batch.meta.buffer as ArrayBuffer);
    port.postMessage(reply, transfer);
  });
}
