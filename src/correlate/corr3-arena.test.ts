/**
 * The frame ring's arena (frame-ring.ts: frames' bytes copied, the reader's chunks let go) and the
 * fingerprint that rules out comparisons (bytes.ts): frames read back byte for byte after the
 * arena wrapped and doubled with frames held, chunks overwritten after the write change nothing,
 * and fingerprints never tell apart two frames compareAt finds equal.
 */
import { describe, expect, it } from 'vitest';
import { EQUAL, FINGERPRINT_SPAN, HASH_PREFIX, compareAt, fingerprintAt } from './bytes.js';
import { FrameRing } from './frame-ring.js';

/** A frame of `n` bytes whose content depends on `seed`. */
function frameOf(seed: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (seed * 131 + k * 7) & 0xff;
  return b;
}

/** Writes a frame into the ring the way FrameWriter does (store, then the offsets). */
function write(r: FrameRing, chunk: Uint8Array, from: number, n: number, skip: number): number {
  const id = r.alloc();
  const i = id & r.mask;
  const at = r.store(id, chunk, from, n);
  r.off[i] = at + skip;
  r.len[i] = n - skip;
  r.frameOff[i] = at;
  r.frameCap[i] = n;
  return id;
}

/** The compared bytes of frame `id` are `want` (memcmp: frames up to 700 kB). */
function holds(r: FrameRing, id: number, want: Uint8Array): boolean {
  const i = id & r.mask;
  const at = r.off[i] as number;
  return Buffer.from(want).equals((r.buf[i] as Uint8Array).subarray(at, at + (r.len[i] as number)));
}

describe('the frame ring arena', () => {
  it('holds every frame byte for byte while it wraps and doubles, whatever the chunk becomes', () => {
    const r = new FrameRing(4);
    const held: { id: number; bytes: Uint8Array; skip: number }[] = [];
    let seed = 0;
    // sizes from empty to jumbo, so frames wrap at the arena's end and make it double with frames held
    const sizes = [0, 60, 1514, 9000, 64, 65, 300_000, 1434, 42, 700_000, 90];
    for (let round = 0; round < 40; round++) {
      const n = sizes[round % sizes.length] as number;
      const chunk = new Uint8Array(n + 100);
      const bytes = frameOf(seed++, n);
      chunk.set(bytes, 37);
      const skip = n >= 14 && round % 3 === 0 ? 14 : 0;
      held.push({ id: write(r, chunk, 37, n, skip), bytes, skip });
      chunk.fill(0xee); // the reader may reuse or drop its chunk: the ring has its own copy
      // the oldest frames leave in order, as the correlator's window lets them go
      while (held.length > 5) {
        const h = held.shift() as (typeof held)[number];
        expect(holds(r, h.id, h.bytes.subarray(h.skip))).toBe(true);
        expect(Buffer.from(h.bytes).equals(r.frameBytes(h.id))).toBe(true);
        r.release(h.id);
        r.head += 1;
      }
      for (const h of held) expect(holds(r, h.id, h.bytes.subarray(h.skip))).toBe(true);
    }
  });
});

describe('fingerprints', () => {
  it('are equal for frames compareAt finds equal (same length and checksum offset), the checksum apart', () => {
    for (const n of [0, 20, 42, 43, 50, 74, 75, 200]) {
      for (const checksumAt of [-1, 0, 40, 41, 42, 50, 72, 73, 74, 100]) {
        const a = frameOf(n, n);
        const b = a.slice();
        if (checksumAt >= 0 && checksumAt < n) b[checksumAt] = ((b[checksumAt] as number) + 1) & 0xff;
        if (checksumAt + 1 >= 0 && checksumAt + 1 < n) b[checksumAt + 1] = ((b[checksumAt + 1] as number) + 3) & 0xff;
        const equal = (compareAt(a, 0, n, b, 0, n, checksumAt) & EQUAL) !== 0;
        if (equal) expect(fingerprintAt(b, 0, n, checksumAt)).toBe(fingerprintAt(a, 0, n, checksumAt));
      }
    }
  });

  it('tell apart frames that differ just after the key prefix', () => {
    const a = frameOf(1, 200);
    let apart = 0;
    for (let k = HASH_PREFIX; k < HASH_PREFIX + FINGERPRINT_SPAN; k++) {
      const b = a.slice();
      b[k] = ((b[k] as number) ^ 0x5a) & 0xff;
      expect(compareAt(a, 0, 200, b, 0, 200, 40) & EQUAL).toBe(0);
      if (fingerprintAt(a, 0, 200, 40) !== fingerprintAt(b, 0, 200, 40)) apart += 1;
    }
    expect(apart).toBe(FINGERPRINT_SPAN);
  });
});
