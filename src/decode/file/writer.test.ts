import { describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter } from './writer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('PcapWriter', () => {
  it('writes the 24-byte header: magic, version 2.4, zeros, snaplen, link type', () => {
    expect(hex(new PcapWriter().header())).toBe('d4c3b2a1' + '02000400' + '00000000' + '00000000' + '00000400' + '01000000');
    expect(hex(new PcapWriter({ bigEndian: true, nanosecond: true, snaplen: 96, linkType: 113 }).header())).toBe(
      'a1b23c4d' + '00020004' + '00000000' + '00000000' + '00000060' + '00000071',
    );
  });

  it('writes a record: seconds, µs (truncated from ns), caplen, len, data', () => {
    const r = new PcapWriter().record({ tsSec: 1, tsNsec: 2_999, data: Uint8Array.of(0xaa, 0xbb), len: 60 });
    expect(hex(r)).toBe('01000000' + '02000000' + '02000000' + '3c000000' + 'aabb');
    const ns = new PcapWriter({ nanosecond: true, bigEndian: true }).record({ tsSec: 1, tsNsec: 2_999, data: Uint8Array.of(1) });
    expect(hex(ns)).toBe('00000001' + '00000bb7' + '00000001' + '00000001' + '01');
  });

  it('refuses values that do not fit the 32-bit fields', () => {
    const w = new PcapWriter();
    expect(() => w.record({ tsSec: 2 ** 32, tsNsec: 0, data: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => w.record({ tsSec: -1, tsNsec: 0, data: new Uint8Array(0) })).toThrow(/timestamp seconds -1/);
  });
});

describe('PcapngWriter', () => {
  it('writes a section header and an interface description with if_name', () => {
    const h = new PcapngWriter({ interfaces: [{ name: 'eth1' }] }).header();
    expect(hex(h)).toBe(
      // SHB: type, length 28, byte-order magic, version 1.0, section length -1, length
      '0a0d0d0a' +
        '1c000000' +
        '4d3c2b1a' +
        '0100' +
        '0000' +
        'ffffffffffffffff' +
        '1c000000' +
        // IDB: type 1, length 32, link type 1, reserved, snaplen 262144, if_name (2) "eth1", opt_endofopt, length
        '01000000' +
        '20000000' +
        '0100' +
        '0000' +
        '00000400' +
        '0200' +
        '0400' +
        '65746831' +
        '00000000' +
        '20000000',
    );
  });

  it('writes an enhanced packet block with the timestamp in the interface resolution, data padded to 4', () => {
    const w = new PcapngWriter({ bigEndian: true, interfaces: [{}, { tsresol: 9 }] });
    const b = w.record({ interfaceId: 1, tsSec: 1, tsNsec: 5, data: Uint8Array.of(1, 2, 3), len: 64 });
    expect(hex(b)).toBe('00000006' + '00000024' + '00000001' + '00000000' + '3b9aca05' + '00000003' + '00000040' + '01020300' + '00000024');
  });

  it('refuses a packet on an interface it did not declare', () => {
    expect(() => new PcapngWriter().record({ interfaceId: 1, tsSec: 0, tsNsec: 0, data: new Uint8Array(0) })).toThrow(
      /interface 1 was not declared/,
    );
  });
});
