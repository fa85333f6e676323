/**
 * When to decode on worker threads. Threads pay off on big files: starting one costs tens of
 * milliseconds, a 16 MiB capture decodes in about as long. Standard input and streams stay
 * on one thread (simple, and their producer is usually the slower side).
 *
 * Environment overrides (for tests and benchmarks):
 *   VXI_THREADS=N             worker threads to use (0 = decode on the calling thread)
 *   VXI_PARALLEL_MIN_BYTES=B  smallest file decoded in parallel
 *   VXI_BATCH_PACKETS=N       packets per batch at most (small batches exercise the merging)
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CaptureSource } from '../file/read.js';

export const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** More workers than this gains nothing: the reading thread becomes the limit. */
export const MAX_WORKERS = 4;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** How many worker threads to decode `source` with (0: decode on this thread). */
export function workersFor(source: CaptureSource, workerScript: URL): number {
  if (typeof source !== 'string' || source === '-') return 0;
  const wanted = envInt('VXI_THREADS') ?? Math.min(MAX_WORKERS, availableParallelism());
  if (wanted < 1 || (envInt('VXI_THREADS') === undefined && wanted < 2)) return 0;
  // Run from the TypeScript sources (tests), the compiled worker does not exist: one thread.
  if (!existsSync(fileURLToPath(workerScript))) return 0;
  try {
    const st = statSync(source);
    if (!st.isFile() || st.size < (envInt('VXI_PARALLEL_MIN_BYTES') ?? PARALLEL_MIN_BYTES)) return 0;
  } catch {
    return 0; // the reader reports a missing or unreadable file with its usual message
  }
  return wanted;
}

/** Packets per batch the environment asks for (VXI_BATCH_PACKETS), if any. */
export function batchPacketsFromEnv(): number | undefined {
  const n = envInt('VXI_BATCH_PACKETS');
  return n === undefined || n < 1 ? undefined : n;
}
