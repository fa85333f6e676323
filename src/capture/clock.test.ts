/** The clock offset arithmetic, and a measurement against the local `date` (offset 0 by construction). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { measureClockOffset, offsetFromSamples, parseEpochText } from './clock.js';

describe('clock offset', () => {
  it('reads `date +%s.%N` to the microsecond', () => {
    expect(parseEpochText('1700000000.123456789\n')).toEqual({ us: 1_700_000_000_123_456, digits: 9 });
    expect(parseEpochText('1700000000.5')).toEqual({ us: 1_700_000_000_500_000, digits: 1 });
    expect(parseEpochText('1700000000')).toEqual({ us: 1_700_000_000_000_000, digits: 0 });
    expect(parseEpochText('1700000000.N')).toBeUndefined(); // busybox without %N
    expect(parseEpochText('')).toBeUndefined();
  });

  it('takes the midpoint of the shortest round trip', () => {
    // node 2.5 ms ahead; sample 1: 10 ms round trip, sample 2: 2 ms (the one used)
    const off = offsetFromSamples([
      { sentUs: 1_000_000, remoteUs: 1_000_000 + 5_000 + 2_500, receivedUs: 1_010_000 },
      { sentUs: 2_000_000, remoteUs: 2_000_000 + 1_000 + 2_500, receivedUs: 2_002_000 },
    ]);
    expect(off).toEqual({ offsetUs: 2_500, rttUs: 2_000, samples: 2, remoteDigits: 9 });
    expect(offsetFromSamples([{ sentUs: 0, remoteUs: -40_000_000, receivedUs: 1_000 }])?.offsetUs).toBe(-40_000_500);
    expect(offsetFromSamples([])).toBeUndefined();
  });

  it('assumes the middle of the second when the node prints whole seconds', () => {
    expect(offsetFromSamples([{ sentUs: 10_000_000, remoteUs: 10_000_000, receivedUs: 10_000_000 }], 0)?.offsetUs).toBe(500_000);
  });

  it('measures the local clock against itself as 0 within half the round trip', async () => {
    const run = promisify(execFile);
    const off = await measureClockOffset(async () => (await run('date', ['+%s.%N'])).stdout, 5);
    expect(off).toBeDefined();
    expect(off?.samples).toBe(5);
    expect(Math.abs(off?.offsetUs ?? Infinity)).toBeLessThanOrEqual((off?.rttUs ?? 0) / 2 + 1000);
  });
});
