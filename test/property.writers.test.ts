/**
 * Property tests (fast-check): what our PcapWriter and PcapngWriter write, the reader reads
 * back identically — any packets (0..1600 bytes, original length >= captured), any timestamps
 * the format can hold, both byte orders, microsecond and nanosecond resolution, several
 * pcapng interfaces with their own link types and names — whatever the chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureParser, PcapWriter, PcapngWriter, type PacketToWrite, type RawPacket } from '../src/decode/index.js';

function readAll(bytes: Uint8Array, chunk: number): { packets: RawPacket[]; error?: string } {
  const parser = new CaptureParser();
  const packets: RawPacket[] = [];
  for (let o = 0; o < bytes.length; o += chunk) {
    parser.push(bytes.subarray(o, o + chunk));
    for (let p = parser.next(); p; p = parser.next()) packets.push(p);
  }
  parser.end();
  for (let p = parser.next(); p; p = parser.next()) packets.push(p);
  return parser.error ? { packets, error: parser.error.message } : { packets };
}

const packetArb = (maxInterface: number): fc.Arbitrary<PacketToWrite> =>
  fc
    .record({
      tsSec: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 1, 1_764_140_000, 2 ** 31, 2 ** 32 - 1)),
      tsNsec: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 999, 1000, 999_999_999)),
      data: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1400, maxLength: 1600 })),
      extra: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 65_535 })),
      interfaceId: fc.integer({ min: 0, max: maxInterface }),
    })
    .map(({ extra, ...p }) => ({ ...p, len: p.data.length + extra }));

const chunkArb = fc.oneof(fc.constant(1 << 30), fc.integer({ min: 1, max: 97 }));

/** The sub-second part after writing at 10^-digits resolution: truncated, never rounded up. */
const atDigits = (ns: number, digits: number): number => Math.floor(ns / 10 ** (9 - digits)) * 10 ** (9 - digits);

describe('PcapWriter → CaptureParser', () => {
  it('reads back every packet identically (both byte orders, µs and ns)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 300 }),
        fc.array(packetArb(0), { maxLength: 20 }),
        chunkArb,
        (bigEndian, nanosecond, linkType, packets, chunk) => {
          const file = new PcapWriter({ bigEndian, nanosecond, linkType, snaplen: 65_535 }).file(packets);
          const got = readAll(file, chunk);
          expect(got.error).toBeUndefined();
          expect(got.packets).toHaveLength(packets.length);
          let offset = 24;
          got.packets.forEach((r, i) => {
            const p = packets[i] as PacketToWrite;
            expect(r.tsSec).toBe(p.tsSec);
            expect(r.tsNsec).toBe(atDigits(p.tsNsec, nanosecond ? 9 : 6));
            expect(r.tsDigits).toBe(nanosecond ? 9 : 6);
            expect(r.caplen).toBe(p.data.length);
            expect(r.len).toBe(p.len);
            expect(r.linkType).toBe(linkType);
            expect(r.fileOffset).toBe(offset);
            expect(Buffer.from(r.data).equals(Buffer.from(p.data))).toBe(true);
            offset += 16 + p.data.length;
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('PcapngWriter → CaptureParser', () => {
  const ifaceArb = fc.record({
    linkType: fc.constantFrom(1, 113, 276, 101, 0, 228),
    name: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    tsresol: fc.constantFrom(undefined, 6, 9, 3, 0),
  });

  it('reads back every packet identically (both byte orders, any interface, resolutions 10^-0..10^-9)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(ifaceArb, { minLength: 1, maxLength: 4 }),
        fc.array(packetArb(3), { maxLength: 20 }),
        chunkArb,
        (bigEndian, ifaces, rawPackets, chunk) => {
          const interfaces = ifaces.map((i) => Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined)));
          const packets = rawPackets.map((p) => ({ ...p, interfaceId: (p.interfaceId ?? 0) % ifaces.length }));
          const file = new PcapngWriter({ bigEndian, interfaces }).file(packets);
          const got = readAll(file, chunk);
          expect(got.error).toBeUndefined();
          expect(got.packets).toHaveLength(packets.length);
          got.packets.forEach((r, i) => {
            const p = packets[i] as PacketToWrite & { interfaceId: number };
            const iface = ifaces[p.interfaceId] as (typeof ifaces)[number];
            const digits = iface.tsresol ?? 6;
            expect(r.tsSec).toBe(p.tsSec);
            expect(r.tsNsec).toBe(atDigits(p.tsNsec, digits));
            expect(r.tsDigits).toBe(digits);
            expect(r.caplen).toBe(p.data.length);
            expect(r.len).toBe(p.len);
            expect(r.interfaceId).toBe(p.interfaceId);
            expect(r.linkType).toBe(iface.linkType);
            expect(r.interfaceName).toBe(iface.name?.replace(/\0+$/, ''));
            expect(Buffer.from(r.data).equals(Buffer.from(p.data))).toBe(true);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a binary resolution (2^-30) keeps the time to within one unit', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(packetArb(0), { minLength: 1, maxLength: 10 }), (bigEndian, packets) => {
        const file = new PcapngWriter({ bigEndian, interfaces: [{ tsresol: 0x80 | 30 }] }).file(packets);
        const got = readAll(file, 1 << 30);
        expect(got.error).toBeUndefined();
        got.packets.forEach((r, i) => {
          const p = packets[i] as PacketToWrite;
          // one unit is 0.93 ns: the writer truncates, so the time read is at most 1 ns earlier
          expect(r.tsSec).toBe(p.tsSec);
          expect(p.tsNsec - r.tsNsec).toBeGreaterThanOrEqual(0);
          expect(p.tsNsec - r.tsNsec).toBeLessThanOrEqual(1);
          expect(Buffer.from(r.data).equals(Buffer.from(p.data))).toBe(true);
        });
      }),
      { numRuns: 100 },
    );
  });
});
