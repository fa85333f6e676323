/**
 * A damaged input's CaptureFormatError — its kind, offset, fields and message — is the same
 * whatever the chunk sizes the input arrives in (a capture over SSH comes cut anywhere).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureParser } from './parser.js';
import { PcapWriter, PcapngWriter } from './writer.js';

function errorOf(bytes: Uint8Array, sizes: number[]): Record<string, unknown> | undefined {
  const parser = new CaptureParser();
  const drain = (): void => {
    while (parser.next() !== undefined);
  };
  for (let o = 0, i = 0; o < bytes.length; ) {
    const n = sizes.length === 0 ? bytes.length : (sizes[i++ % sizes.length] as number);
    parser.push(bytes.subarray(o, o + n));
    o += n;
    drain();
  }
  parser.end();
  drain();
  const e = parser.error;
  return (
    e && {
      kind: e.kind,
      offset: e.offset,
      tailBytes: e.tailBytes,
      missingBytes: e.missingBytes,
      blockType: e.blockType,
      message: e.message,
    }
  );
}

const fileArb = fc
  .record({ ng: fc.boolean(), bigEndian: fc.boolean(), sizes: fc.array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 6 }) })
  .map(({ ng, bigEndian, sizes }) => {
    const packets = sizes.map((n, i) => ({ tsSec: i, tsNsec: 0, data: new Uint8Array(n).fill(i), interfaceId: i % 2 }));
    return ng
      ? new PcapngWriter({ bigEndian, interfaces: [{ name: 'a' }, { tsresol: 9 }] }).file(packets)
      : new PcapWriter({ bigEndian }).file(packets);
  });

describe('CaptureFormatError does not depend on chunking', () => {
  it('same kind, offset, fields and message for any chunk sizes (overwritten words, cuts)', () => {
    fc.assert(
      fc.property(
        fileArb,
        fc.nat(),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        (file, pick, value, cut, sizes) => {
          const at = pick % file.length;
          let bytes: Uint8Array;
          if (cut) bytes = file.subarray(0, at);
          else {
            bytes = file.slice();
            for (let k = 0; k < 4 && at + k < bytes.length; k++) bytes[at + k] = (value >>> (8 * k)) & 0xff;
          }
          const whole = errorOf(bytes, []);
          expect(errorOf(bytes, sizes)).toEqual(whole);
          expect(errorOf(bytes, [1])).toEqual(whole);
          if (cut && at > 0 && whole !== undefined) expect(['truncated-header', 'truncated-record']).toContain(whole.kind);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a cut record says how much of it arrived and how much is missing', () => {
    const w = new PcapWriter();
    const file = w.file([
      { tsSec: 1, tsNsec: 0, data: new Uint8Array(100) },
      { tsSec: 2, tsNsec: 0, data: new Uint8Array(50) },
    ]);
    // the second record starts at 24 + 116 = 140 and is 66 bytes long: cut 20 bytes into it
    expect(errorOf(file.subarray(0, 160), [7])).toMatchObject({ kind: 'truncated-record', offset: 140, tailBytes: 20, missingBytes: 46 });
    expect(errorOf(file.subarray(0, 10), [])).toMatchObject({ kind: 'truncated-header', offset: 0, tailBytes: 10, missingBytes: 14 });
    expect(errorOf(new Uint8Array(0), [])).toMatchObject({ kind: 'empty-input', offset: 0 });
  });
});
