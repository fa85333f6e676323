import { describe, expect, it } from 'vitest';
import { TsConverter, toUnits, tsresolProblem } from './timestamp.js';

/** Converts a 64-bit unit count the way the reader gets it: two 32-bit halves. */
function conv(tsresol: number, units: bigint, offset = 0): [number, number] {
  const c = new TsConverter(tsresol, offset);
  c.convert(Number(units >> 32n), Number(units & 0xffffffffn));
  return [c.sec, c.nsec];
}

describe('TsConverter', () => {
  it.each([
    ['µs (default 6)', 6, 1_700_000_000_123_456n, [1_700_000_000, 123_456_000]],
    ['ns, a count above 2^53', 9, 1_700_000_000_123_456_789n, [1_700_000_000, 123_456_789]],
    ['whole seconds (10^0)', 0, 4_294_967_296n, [4_294_967_296, 0]],
    ['10^-3', 3, 1_234_567n, [1234, 567_000_000]],
    ['10^-11 (last float-only resolution)', 11, 170_000_000_012_345_678_901n, [1_700_000_000, 123_456_789]],
    ['10^-12 (BigInt path, truncated to ns)', 12, 1_700_000_000_123_456_789_999n, [1_700_000_000, 123_456_789]],
    ['2^-20: 0.5 s', 0x80 | 20, (7n << 20n) | (1n << 19n), [7, 500_000_000]],
    ['2^-32: one unit is 0.23 ns, truncated', 0x80 | 32, (5n << 32n) | 1n, [5, 0]],
    ['2^-63, the largest count', 0x80 | 63, 2n ** 64n - 1n, [1, 999_999_999]],
    ['ns, the largest count', 9, 2n ** 64n - 1n, [18_446_744_073, 709_551_615]],
  ] as const)('%s', (_name, tsresol, units, expected) => {
    expect(conv(tsresol, units)).toEqual(expected);
  });

  it('adds if_tsoffset seconds', () => {
    expect(conv(6, 1_500_000n, 1_000_000_000)).toEqual([1_000_000_001, 500_000_000]);
    expect(conv(0x80 | 1, 3n, -1)).toEqual([0, 500_000_000]);
  });

  it.each([
    [6, 6],
    [9, 9],
    [3, 3],
    [12, 9],
    [0x80 | 10, 4],
    [0x80 | 20, 7],
    [0x80 | 30, 9],
    [0, 0],
  ])('if_tsresol byte %i gives %i digits', (tsresol, digits) => {
    expect(new TsConverter(tsresol).tsDigits).toBe(digits);
  });
});

describe('tsresolProblem', () => {
  it('accepts what fits 64 bits and names what does not', () => {
    expect(tsresolProblem(19)).toBeUndefined();
    expect(tsresolProblem(0x80 | 63)).toBeUndefined();
    expect(tsresolProblem(20)).toBe('if_tsresol 10^-20 does not fit a 64-bit timestamp');
    expect(tsresolProblem(0x80 | 64)).toBe('if_tsresol 2^-64 does not fit a 64-bit timestamp');
  });
});

describe('toUnits (writer side)', () => {
  it('inverts the conversion for representable times', () => {
    for (const [tsresol, sec, ns] of [
      [6, 1_700_000_000, 123_456_000],
      [9, 2 ** 32, 1],
      [0x80 | 20, 7, 500_000_000],
      [12, 5, 999_999_999],
    ] as const) {
      expect(conv(tsresol, toUnits(sec, ns, tsresol))).toEqual([sec, ns]);
    }
  });
});
