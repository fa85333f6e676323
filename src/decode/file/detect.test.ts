import { describe, expect, it } from 'vitest';
import { detectFormat } from './detect.js';

describe('detectFormat', () => {
  it.each([
    [[0xa1, 0xb2, 0xc3, 0xd4], { format: 'pcap', littleEndian: false, nanosecond: false }],
    [[0xd4, 0xc3, 0xb2, 0xa1], { format: 'pcap', littleEndian: true, nanosecond: false }],
    [[0xa1, 0xb2, 0x3c, 0x4d], { format: 'pcap', littleEndian: false, nanosecond: true }],
    [[0x4d, 0x3c, 0xb2, 0xa1], { format: 'pcap', littleEndian: true, nanosecond: true }],
    [[0x0a, 0x0d, 0x0d, 0x0a], { format: 'pcapng', littleEndian: true, nanosecond: false }],
  ])('%j', (bytes, expected) => {
    expect(detectFormat(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!)).toEqual(expected);
  });

  it('explains what it is not', () => {
    expect(detectFormat(0x1f, 0x8b, 8, 0)).toMatch(/gzip-compressed/);
    expect(detectFormat(0xa1, 0xb2, 0xcd, 0x34)).toMatch(/Kuznetzov/);
    expect(detectFormat(0x47, 0x45, 0x54, 0x20)).toBe('not a pcap or pcapng capture: unknown magic 0x47455420');
  });
});
