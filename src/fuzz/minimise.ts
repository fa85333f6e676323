/**
 * Shrinks a crashing input while it still crashes the same way (delta debugging, bounded):
 * first whole records/blocks are dropped, then the shortest prefix is found, then ever smaller
 * chunks are removed. The result is what goes to
 * fixtures/malformed/ as a regression file.
 */
import { captureStructure } from './structure.js';

export type StillFails = (bytes: Uint8Array) => Promise<boolean>;

export async function minimise(input: Uint8Array, stillFails: StillFails, maxTries = 3000): Promise<Uint8Array> {
  let best = input;
  let tries = 0;
  const attempt = async (candidate: Uint8Array): Promise<boolean> => {
    if (tries >= maxTries) return false;
    tries++;
    if (await stillFails(candidate)) {
      best = candidate;
      return true;
    }
    return false;
  };
  // 1. drop whole records or blocks (the file stays readable up to the one that matters)
  const units = captureStructure(best).units.filter((u) => u.offset > 0 && !(u.kind === 'pcapng-block' && u.offset === 0));
  for (const u of units.reverse()) {
    const candidate = new Uint8Array(best.length - u.length);
    candidate.set(best.subarray(0, u.offset));
    candidate.set(best.subarray(u.offset + u.length), u.offset);
    if (u.offset + u.length <= best.length) await attempt(candidate);
  }
  // 2. the shortest failing prefix (binary search; not exact when failing is not monotone)
  let lo = 0;
  let hi = best.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (await attempt(best.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  // 3. remove chunks, halving their size down to 1 byte
  for (let size = Math.max(1, best.length >>> 1); size >= 1 && tries < maxTries; size >>>= 1) {
    for (let at = 0; at < best.length && tries < maxTries; ) {
      const candidate = new Uint8Array(best.length - Math.min(size, best.length - at));
      candidate.set(best.subarray(0, at));
      candidate.set(best.subarray(at + size), at);
      if (!(await attempt(candidate))) at += size;
    }
    if (size === 1) break;
  }
  return best;
}
