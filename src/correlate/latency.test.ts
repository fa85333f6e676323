import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './latency.js';

describe('LatencyHistogram', () => {
  it('is exact below 256 µs', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100; v++) h.add(v);
    expect(h.summary()).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });

  it('stays within 1/128 above, with an exact maximum', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 300 + i * 97.3);
    for (const v of values) h.add(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1] as number;
      const got = h.quantile(q);
      expect(got).toBeLessThanOrEqual(exact + 1);
      expect(got).toBeGreaterThanOrEqual(exact * (1 - 1 / 128) - 1);
    }
    expect(h.summary().max).toBe(Math.round((300 + 9999 * 97.3) * 1000) / 1000);
  });

  it('says 0 when empty', () => {
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
  });
});
