/**
 * Property tests (fast-check) on damaged input: any truncation or overwrite of a valid file
 *  - never throws past the parser and always ends;
 *  - gives the same packets and the same error whatever the chunk sizes;
 *  - still delivers, unchanged, every packet whose record ends before the damage.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureParser, PcapWriter, PcapngWriter, type RawPacket } from '../src/index.js';

interface Result {
  packets: string[];
  offsets: number[];
  error?: string;
}

function show(p: RawPacket): string {
  return `${p.fileOffset} ${p.tsSec}.${p.tsNsec} ${p.caplen}/${p.len} if${p.interfaceId ?? '-'} ${Buffer.from(p.data).toString('hex')}`;
}

function parse(bytes: Uint8Array, sizes: number[]): Result {
  const parser = new CaptureParser();
  const out: Result = { packets: [], offsets: [] };
  const take = (): void => {
    for (let p = parser.next(); p; p = parser.next()) {
      out.packets.push(show(p));
      out.offsets.push(p.fileOffset);
    }
  };
  let i = 0;
  for (let o = 0; o < bytes.length; ) {
    const n = sizes.length === 0 ? bytes.length : sizes[i++ % sizes.length]!;
    parser.push(bytes.subarray(o, o + n));
    o += n;
    take();
  }
  parser.end();
  take();
  if (parser.error) out.error = parser.error.message;
  return out;
}

const packetArb = fc.record({
  tsSec: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
  data: fc.uint8Array({ maxLength: 300 }),
  interfaceId: fc.integer({ min: 0, max: 2 }),
});

const fileArb = fc
  .record({
    ng: fc.boolean(),
    bigEndian: fc.boolean(),
    nanosecond: fc.boolean(),
    packets: fc.array(packetArb, { minLength: 1, maxLength: 12 }),
  })
  .map(({ ng, bigEndian, nanosecond, packets }) =>
    ng
      ? new PcapngWriter({ bigEndian, interfaces: [{ name: 'a' }, { tsresol: 9 }, { tsresol: 0x80 | 24, snaplen: 100 }] }).file(packets)
      : new PcapWriter({ bigEndian, nanosecond, snaplen: 200 }).file(packets),
  );

const damageArb = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 8, 12, 13, 0x7fffffff, 0xffffffff, 262_145)),
  }),
);

type Damage = { kind: 'truncate' | 'byte' | 'u32'; at: number; value: number };

function damaged(file: Uint8Array, d: Damage): { bytes: Uint8Array; at: number } {
  const at = d.at % file.length;
  if (d.kind === 'truncate') return { bytes: file.subarray(0, at), at };
  const b = file.slice();
  if (d.kind === 'byte') b[at] = d.value;
  else for (let k = 0; k < 4 && at + k < b.length; k++) b[at + k] = (d.value >>> (8 * k)) & 0xff;
  return { bytes: b, at };
}

const sizesArb = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });

/** The property behind "same outcome for any chunking"; `params.seed` replays one run of it. */
function sameOutcomeForAnyChunking(params: fc.Parameters<[Uint8Array, Damage, number[]]>): void {
  fc.assert(
    fc.property(fileArb, damageArb, sizesArb, (file, d, sizes) => {
      const original = parse(file, []);
      expect(original.error).toBeUndefined();
      const { bytes, at } = damaged(file, d);
      const whole = parse(bytes, []);
      expect(parse(bytes, sizes)).toEqual(whole);
      expect(parse(bytes, [1])).toEqual(whole);
      // record i spans [offsets[i], offsets[i+1]); those ending at or before the damage are intact
      original.offsets.forEach((_, i) => {
        const end = original.offsets[i + 1] ?? file.length;
        if (end <= at) expect(whole.packets[i]).toBe(original.packets[i]);
      });
      if (whole.error) expect(whole.error).toMatch(/\(at byte offset \d+\)$/);
    }),
    params,
  );
}

describe('damaged input (property tests)', () => {
  it('same outcome for any chunking; packets before the damage are delivered unchanged', () => {
    sameOutcomeForAnyChunking({ numRuns: 400 });
  });

  it('same outcome for any chunking: fast-check seed -595788293 (a fresh-clone CI failure)', () => {
    // This run once found a file whose damaged IDB length (100) made the block a skipped one when
    // read in small chunks, and the trailing-length error then lost its block type.
    sameOutcomeForAnyChunking({ numRuns: 400, seed: -595788293 });
  });

  it('the trailing-length error names the block type whether the block was whole in the buffer or skipped across chunks', () => {
    // The shrunk counterexample of seed -595788293: an SHB, then the first IDB overwritten from its
    // second byte with 0x64000001, which makes it a block of unknown type 0x101 and total length 100
    // (so it spans the next IDBs, and its "trailing length" reads 6). Read whole, the block is in the
    // buffer; read in small chunks, it is skipped and its trailing length checked later.
    const file = new PcapngWriter({ interfaces: [{ name: 'a' }, { tsresol: 9 }, { tsresol: 0x80 | 24, snaplen: 100 }] }).file([
      { tsSec: 0, tsNsec: 0, data: new Uint8Array(0), interfaceId: 0 },
    ]);
    const { bytes } = damaged(file, { kind: 'u32', at: 29, value: 1677721601 });
    const whole = parse(bytes, []);
    expect(whole.error).toBe('pcapng block of type 0x101 has total length 100 but its trailing length says 6 (at byte offset 28)');
    for (const sizes of [[1], [16], [29, 3], [64]]) expect(parse(bytes, sizes), String(sizes)).toEqual(whole);
  });

  it('random bytes after a valid magic never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d], [0x0a, 0x0d, 0x0d, 0x0a]),
        fc.uint8Array({ maxLength: 2000 }),
        sizesArb,
        (magic, rest, sizes) => {
          const bytes = Uint8Array.from([...magic, ...rest]);
          expect(parse(bytes, sizes)).toEqual(parse(bytes, []));
        },
      ),
      { numRuns: 400 },
    );
  });
});
