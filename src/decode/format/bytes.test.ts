/**
 * ByteWriter's word-at-a-time writers give exactly the text of the string formatters they
 * replace (addr.ts, String(n), time.ts), for any value: the stores past the end of a piece of
 * text never reach the output, whatever comes next and wherever a buffer fills up.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, lit } from './bytes.js';
import { formatAddressBytes, formatHexBytes, formatIPv4, formatIPv6, formatMac } from './addr.js';
import { formatEpoch, formatTimeOfDay, writeEpoch, writeTimeOfDay } from './time.js';

/** Text written by `fn` into a writer that starts tiny (every write may have to grow it), after a prefix. */
function written(fn: (w: ByteWriter) => void): string {
  const w = new ByteWriter(1);
  w.byte(0x3c); // "<": the writers must work at any position
  fn(w);
  w.byte(0x3e); // ">": the bytes a store wrote past the end are overwritten
  return w.textFrom(0);
}

/** IPv6 addresses with runs of zero groups (where RFC 5952's rules bite), and IPv4-mapped ones. */
const ipv6Arb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xff, 0x1234, 0xffff), { minLength: 8, maxLength: 8 }).map((groups) => {
    const b = new Uint8Array(16);
    groups.forEach((g, i) => {
      b[2 * i] = g >> 8;
      b[2 * i + 1] = g & 0xff;
    });
    return b;
  }),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4])),
);

describe('ByteWriter', () => {
  it('lit() writes fixed text of any length, back to back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }), {
          maxLength: 12,
        }),
        (parts) => {
          const lits = parts.map(lit);
          expect(written((w) => lits.forEach((t) => w.lit(t)))).toBe(`<${parts.join('')}>`);
        },
      ),
    );
  });

  it('field() and num() write numbers exactly as String(n) does', () => {
    const key = lit(',"k":');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 120 }),
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          fc.double(),
          fc.integer({ min: -1000, max: -1 }),
          fc.constantFrom(2 ** 32, 2 ** 53, -0, 0.5),
        ),
        (n) => {
          expect(written((w) => w.field(key, n))).toBe(`<,"k":${n}>`);
          expect(written((w) => w.num(n))).toBe(`<${n}>`);
        },
      ),
    );
  });

  it('digits() pads to the width asked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 12 }), (n, width) => {
        expect(written((w) => w.digits(n, width))).toBe(`<${String(n).padStart(width, '0')}>`);
      }),
    );
  });

  it('ipv4(), mac(), ipv6(), hexBytes() and address() write what addr.ts formats', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        ipv6Arb,
        fc.uint8Array({ maxLength: 20 }),
        (v4, mac, v6, any) => {
          expect(written((w) => w.ipv4(v4))).toBe(`<${formatIPv4(v4)}>`);
          expect(written((w) => w.mac(mac))).toBe(`<${formatMac(mac)}>`);
          expect(written((w) => w.ipv6(v6))).toBe(`<${formatIPv6(v6)}>`);
          expect(written((w) => w.ipv6(any))).toBe(`<${formatIPv6(any)}>`);
          expect(written((w) => w.hexBytes(any))).toBe(`<${formatHexBytes(any)}>`);
          expect(written((w) => w.address(any))).toBe(`<${formatAddressBytes(any)}>`);
          expect(written((w) => w.address(v6))).toBe(`<${formatAddressBytes(v6)}>`);
        },
      ),
    );
  });

  it('timestamps: the seconds text kept from the last packet never leaks into the next', () => {
    const tsArb = fc.record({
      tsSec: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 86399, 86400, 1_764_200_000)),
      tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
      tsDigits: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(fc.array(tsArb, { minLength: 1, maxLength: 6 }), (list) => {
        for (const t of list) {
          const ts = { ...t, tsNsec: Math.floor(t.tsNsec / 10 ** (9 - t.tsDigits)) * 10 ** (9 - t.tsDigits) };
          expect(written((w) => writeEpoch(w, ts))).toBe(`<${formatEpoch(ts)}>`);
          expect(written((w) => writeTimeOfDay(w, ts))).toBe(`<${formatTimeOfDay(ts)}>`);
        }
      }),
    );
  });
});
