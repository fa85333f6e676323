/**
 * Hashing and comparing frames for matching. A frame is hashed over its wire length and its
 * first HASH_PREFIX captured bytes (FNV-1a, 32 bits): enough to tell packets apart (MACs, IP
 * header with id and checksum, ports and TCP sequence or ICMP id/seq) while still working
 * when one capture's snaplen cut the frame short. Equal hashes are then compared byte for
 * byte over the common captured length.
 *
 * The 2-byte TCP/UDP checksum is left out of both: with checksum offload a frame captured
 * before the NIC carries a partial checksum, the same frame seen elsewhere a complete one.
 */

/** Bytes of the frame's start that go into the hash (Ethernet 14 + IPv4 20 + 8 of the transport header). */
export const HASH_PREFIX = 42;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over bytes[0, end), skipping bytes[skip, skip + 2) when skip >= 0. */
export function fnv1a(bytes: Uint8Array, end: number, skip = -1): number {
  let h = FNV_OFFSET;
  const stop = Math.min(end, bytes.length);
  for (let i = 0; i < stop; i++) {
    if (i === skip || i === skip + 1) continue;
    h ^= bytes[i] as number;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * The index key of a frame: its wire length and the hash of its prefix, as one exact number
 * (wire length < 2^21, hash < 2^32: the sum stays below 2^53).
 */
export function frameKey(bytes: Uint8Array, wireLen: number, checksumAt: number): number {
  return frameKeyAt(bytes, 0, bytes.length, wireLen, checksumAt);
}

/** frameKey of the `len` bytes at `off` in `buf` (no view made); skips what fnv1a skips. */
export function frameKeyAt(buf: Uint8Array, off: number, len: number, wireLen: number, checksumAt: number): number {
  let h = FNV_OFFSET;
  const stop = Math.min(HASH_PREFIX, len);
  for (let i = 0; i < stop; i++) {
    if (i === checksumAt || i === checksumAt + 1) continue;
    h ^= buf[off + i] as number;
    h = Math.imul(h, FNV_PRIME);
  }
  return Math.min(wireLen, 0x1fffff) * 0x100000000 + (h >>> 0);
}

/** Bytes after HASH_PREFIX that go into a frame's fingerprint. */
export const FINGERPRINT_SPAN = 32;

/**
 * A second hash, over the FINGERPRINT_SPAN bytes after the key's prefix (the checksum at
 * `checksumAt` skipped), to tell apart frames of one key without comparing them: frames of one
 * flow with the same length and the same first 42 bytes (a constant IP id, UDP) share a key and
 * differ just after it. Two frames of the same captured length and the same checksum offset
 * whose fingerprints differ are not equal (compareAt skips the same bytes); the converse says
 * nothing, and a snaplen cut changes the fingerprint, so it only rules out, never matches.
 */
export function fingerprintAt(buf: Uint8Array, off: number, len: number, checksumAt: number): number {
  let h = FNV_OFFSET;
  const stop = Math.min(HASH_PREFIX + FINGERPRINT_SPAN, len);
  for (let i = HASH_PREFIX; i < stop; i++) {
    if (i === checksumAt || i === checksumAt + 1) continue;
    h ^= buf[off + i] as number;
    h = Math.imul(h, FNV_PRIME);
  }
  return h | 0;
}

export interface Comparison {
  equal: boolean;
  /** Bytes compared: the shorter of the two captured lengths. */
  compared: number;
  /** The transport checksums differ (checksum offload on one side). */
  checksumDiffers: boolean;
}

/**
 * Compares two captures of what should be the same frame over their common captured length,
 * the checksum at `checksumAt` (same position in both, or -1) compared apart.
 */
export function compareFrames(a: Uint8Array, b: Uint8Array, checksumAt: number): Comparison {
  const r = compareAt(a, 0, a.length, b, 0, b.length, checksumAt);
  return { equal: (r & EQUAL) !== 0, compared: r >>> 2, checksumDiffers: (r & CHECKSUM_DIFFERS) !== 0 };
}

/** compareAt's result: bit 0 equal, bit 1 the checksums differ, the bytes compared from bit 2 on. */
export const EQUAL = 1;
export const CHECKSUM_DIFFERS = 2;

const bufferCompare = Buffer.prototype.compare;

/** a[aOff + from, aOff + to) and b[bOff + from, bOff + to) hold the same bytes (memcmp, no view made). */
function same(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, from: number, to: number): boolean {
  return from >= to || bufferCompare.call(a, b, bOff + from, bOff + to, aOff + from, aOff + to) === 0;
}

/**
 * compareFrames over a[aOff, aOff + aLen) and b[bOff, bOff + bLen), the result packed in one
 * number (no object). Equal frames, nearly every comparison, are compared by memcmp around the
 * two bytes at `checksumAt` (as in compareFrames, -1 leaves out byte 0); others byte by byte.
 */
export function compareAt(
  a: Uint8Array,
  aOff: number,
  aLen: number,
  b: Uint8Array,
  bOff: number,
  bLen: number,
  checksumAt: number,
): number {
  const n = Math.min(aLen, bLen);
  // nearly every comparison: the same bytes, checksum included (one memcmp rather than two around it)
  if (same(a, aOff, b, bOff, 0, n)) return n * 4 + EQUAL;
  const lo = Math.min(Math.max(checksumAt, 0), n);
  const hi = Math.min(Math.max(checksumAt + 2, 0), n);
  if (same(a, aOff, b, bOff, 0, lo) && same(a, aOff, b, bOff, hi, n)) {
    let differs = 0;
    for (let i = lo; i < hi; i++) if (a[aOff + i] !== b[bOff + i]) differs = CHECKSUM_DIFFERS;
    return n * 4 + EQUAL + differs;
  }
  let differs = 0;
  for (let i = 0; i < n; i++) {
    if (a[aOff + i] !== b[bOff + i]) {
      if (i === checksumAt || i === checksumAt + 1) differs = CHECKSUM_DIFFERS;
      else return n * 4 + differs;
    }
  }
  return n * 4 + EQUAL + differs;
}
