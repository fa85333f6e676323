/**
 * `correlate --json` writes its report in pieces (jsonPieces in src/cli/correlate.ts): joined,
 * they must be exactly what JSON.stringify gives, whatever the shape of the top-level values.
 */
import { describe, expect, it } from 'vitest';
import { jsonPieces } from '../src/cli/correlate.js';

describe('jsonPieces', () => {
  const cases: Record<string, unknown>[] = [
    {},
    { a: 1 },
    { a: undefined, b: [], f: () => 1 },
    { list: [1, undefined, { reason: 'µ ± "quoted"' }], n: null, nested: { d: [1, 2] } },
    { matches: Array.from({ length: 2500 }, (_, i) => ({ n: i, tsUs: i / 3 })), after: 'end' },
    { exactlyOneBatch: Array.from({ length: 1000 }, (_, i) => i) },
  ];
  it.each(cases.map((c, i) => [i, c] as const))('case %i joins to JSON.stringify', (_, c) => {
    const pieces = [...jsonPieces(c)];
    expect(pieces.join('')).toBe(`${JSON.stringify(c)}\n`);
  });
  it('writes a long list in several pieces', () => {
    expect([...jsonPieces({ matches: Array.from({ length: 2500 }, (_, i) => i) })].length).toBeGreaterThan(3);
  });
});
