import { describe, expect, it } from 'vitest';
import { niceBinUs, sessionTimeAxis } from './series.js';

describe("the session's time axis", () => {
  it("spans every capture of every node, each moved by its node's clock offset", () => {
    expect(
      sessionTimeAxis([
        { count: 10, firstTsUs: 1_000_000, lastTsUs: 5_000_000, offsetUs: 0 },
        // kvm2's clock is 2 s ahead: its packets happened 2 s earlier on kvm1's clock
        { count: 4, firstTsUs: 2_500_000, lastTsUs: 8_000_000, offsetUs: 2_000_000 },
      ]),
    ).toEqual({ t0Us: 500_000, t1Us: 6_000_000 });
  });

  it('empty captures do not stretch it; with no packet at all there is none', () => {
    expect(
      sessionTimeAxis([
        { count: 0, firstTsUs: 0, lastTsUs: 0, offsetUs: 0 },
        { count: 1, firstTsUs: 7, lastTsUs: 7, offsetUs: 0 },
      ]),
    ).toEqual({ t0Us: 7, t1Us: 7 });
    expect(sessionTimeAxis([{ count: 0, firstTsUs: 0, lastTsUs: 0, offsetUs: 0 }])).toBeUndefined();
    expect(sessionTimeAxis([])).toBeUndefined();
  });

  it('bins are round and at most the number asked for', () => {
    expect(niceBinUs(60e6, 120)).toBe(5e5);
    expect(niceBinUs(1000, 120)).toBe(1e3);
    for (const span of [1, 999, 1e6, 3.7e9, 1e12]) expect(span / niceBinUs(span, 120)).toBeLessThanOrEqual(120);
  });
});
