import { describe, expect, it } from 'vitest';
import { CaptureParser } from './parser.js';
import { MAX_INTERFACES, MAX_WARNINGS } from './types.js';
import { PcapWriter, PcapngWriter, concatBytes } from './writer.js';

const pkt = (i: number, n = 20): { tsSec: number; tsNsec: number; data: Uint8Array } => ({
  tsSec: i,
  tsNsec: 0,
  data: new Uint8Array(n).fill(i & 0xff),
});

describe('CaptureParser', () => {
  it('waits quietly for more input, and knows the format once 4 bytes are in', () => {
    const p = new CaptureParser();
    expect(p.next()).toBeUndefined();
    const file = new PcapWriter({ nanosecond: true }).file([pkt(1)]);
    p.push(file.subarray(0, 3));
    expect(p.next()).toBeUndefined();
    expect(p.format).toBeUndefined();
    p.push(file.subarray(3, 30));
    expect(p.next()).toBeUndefined();
    expect(p.format).toBe('pcap');
    expect(p.interfaces).toEqual([{ id: 0, linkType: 1, snaplen: 262_144, tsDigits: 9, section: 0 }]);
    expect(p.error).toBeUndefined();
    p.push(file.subarray(30));
    expect(p.next()?.tsSec).toBe(1);
    p.end();
    expect(p.next()).toBeUndefined();
    expect(p.error).toBeUndefined();
    expect(p.packetCount).toBe(1);
    expect(p.bytesIn).toBe(file.length);
  });

  it('accepts several pushes before draining', () => {
    const file = new PcapWriter().file([pkt(1), pkt(2), pkt(3)]);
    const p = new CaptureParser();
    for (let o = 0; o < file.length; o += 5) p.push(file.subarray(o, o + 5));
    p.end();
    const got = [p.next(), p.next(), p.next(), p.next()].map((x) => x?.tsSec);
    expect(got).toEqual([1, 2, 3, undefined]);
  });

  it('hands out views of the pushed chunk without copying whole records', () => {
    const file = new PcapWriter().file([pkt(1), pkt(2)]);
    const p = new CaptureParser();
    p.push(file);
    const a = p.next();
    expect(a?.data.buffer).toBe(file.buffer);
    expect(a?.data.byteOffset).toBe(24 + 16);
  });

  it('keeps at most MAX_WARNINGS warnings and counts the rest', () => {
    const file = new PcapWriter({ snaplen: 10 }).file(Array.from({ length: 150 }, (_, i) => pkt(i)));
    const p = new CaptureParser();
    p.push(file);
    let n = 0;
    while (p.next()) n++;
    expect(n).toBe(150);
    expect(p.warnings).toHaveLength(MAX_WARNINGS + 1);
    expect(p.warnings.at(-1)).toBe('(further warnings not kept)');
    expect(p.warningCount).toBe(150);
  });

  it('ignores input after an error and refuses push() after end()', () => {
    const p = new CaptureParser();
    p.push(Uint8Array.of(1, 2, 3, 4, 5));
    expect(p.next()).toBeUndefined();
    expect(p.error?.offset).toBe(0);
    p.push(new PcapWriter().file([pkt(1)]));
    expect(p.next()).toBeUndefined();
    p.end();
    expect(() => p.push(Uint8Array.of(0))).toThrow(/after end/);
  });

  it(`refuses more than ${MAX_INTERFACES} interfaces (the interface list is the one thing that grows)`, () => {
    const w = new PcapngWriter({ interfaces: Array.from({ length: MAX_INTERFACES + 1 }, () => ({})) });
    const file = concatBytes([w.header(), w.record({ tsSec: 1, tsNsec: 0, data: new Uint8Array(4) })]);
    const p = new CaptureParser();
    p.push(file);
    expect(p.next()).toBeUndefined();
    expect(p.error?.message).toMatch(/more than 65536 interface description blocks/);
    expect(p.error?.offset).toBe(28 + MAX_INTERFACES * 20);
  });
});
