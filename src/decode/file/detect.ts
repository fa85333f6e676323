/** Recognise a capture file from its first four bytes. */
import type { CaptureFormat } from './types.js';

export interface Detected {
  format: CaptureFormat;
  /** Classic pcap only: byte order of the file. */
  littleEndian: boolean;
  /** Classic pcap only: the sub-second field counts nanoseconds (magic a1b23c4d). */
  nanosecond: boolean;
}

/** pcapng Section Header Block type: the same in both byte orders. */
export const PCAPNG_SHB = 0x0a0d0d0a;

/** Returns what the 4 magic bytes say, or a message explaining why they are not a capture. */
export function detectFormat(b0: number, b1: number, b2: number, b3: number): Detected | string {
  const be = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  switch (be) {
    case 0xa1b2c3d4:
      return { format: 'pcap', littleEndian: false, nanosecond: false };
    case 0xd4c3b2a1:
      return { format: 'pcap', littleEndian: true, nanosecond: false };
    case 0xa1b23c4d:
      return { format: 'pcap', littleEndian: false, nanosecond: true };
    case 0x4d3cb2a1:
      return { format: 'pcap', littleEndian: true, nanosecond: true };
    case PCAPNG_SHB:
      return { format: 'pcapng', littleEndian: true, nanosecond: false };
  }
  const hex = be.toString(16).padStart(8, '0');
  if (b0 === 0x1f && b1 === 0x8b) return `input is gzip-compressed (magic 0x${hex}): decompress it first`;
  if (be === 0xa1b2cd34 || be === 0x34cdb2a1)
    return `modified (Kuznetzov) pcap format (magic 0x${hex}) is not supported: convert it with editcap`;
  return `not a pcap or pcapng capture: unknown magic 0x${hex}`;
}
