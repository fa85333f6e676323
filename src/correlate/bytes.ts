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
  return Math.min(wireLen, 0x1fffff) * 0x100000000 + fnv1a(bytes, HASH_PREFIX, checksumAt);
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
  const n = Math.min(a.length, b.length);
  let checksumDiffers = false;
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      if (i === checksumAt || i === checksumAt + 1) checksumDiffers = true;
      else return { equal: false, compared: n, checksumDiffers };
    }
  }
  return { equal: true, compared: n, checksumDiffers };
}
