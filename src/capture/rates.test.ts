import { describe, expect, it } from 'vitest';
import { MIN_RATE_INTERVAL_MS, RateMeter } from './rates.js';

describe('RateMeter', () => {
  it('divides what arrived in the interval by its length', () => {
    const m = new RateMeter(10_000);
    expect(m.current).toEqual({ packetsPerSec: 0, bytesPerSec: 0 });
    // 150 packets, 90,000 bytes in the first 1.5 s: 100 packets/s, 60,000 bytes/s
    expect(m.sample(11_500, 150, 90_000)).toEqual({ packetsPerSec: 100, bytesPerSec: 60_000 });
    // 3 more packets (1,000 bytes) in the next 2 s: 1.5 packets/s, 500 bytes/s (only the interval counts, not the totals)
    expect(m.sample(13_500, 153, 91_000)).toEqual({ packetsPerSec: 1.5, bytesPerSec: 500 });
    // nothing new for a second: 0
    expect(m.sample(14_500, 153, 91_000)).toEqual({ packetsPerSec: 0, bytesPerSec: 0 });
  });

  it('rounds packets/s to a tenth and bytes/s to a byte', () => {
    const m = new RateMeter(0);
    // 1 packet of 100 bytes in 3 s: 0.333… packets/s, 33.33… bytes/s
    expect(m.sample(3_000, 1, 100)).toEqual({ packetsPerSec: 0.3, bytesPerSec: 33 });
  });

  it(`keeps the last rates when ticks come closer than ${MIN_RATE_INTERVAL_MS} ms, and counts them in the next interval`, () => {
    const m = new RateMeter(0);
    expect(m.sample(1_000, 10).packetsPerSec).toBe(10);
    // 5 packets 100 ms later would read as 50/s: the 10/s of the last interval stays
    expect(m.sample(1_100, 15).packetsPerSec).toBe(10);
    // the window still starts at 1,000 ms: 10 packets over 1 s
    expect(m.sample(2_000, 20).packetsPerSec).toBe(10);
  });

  it('restart moves the start of the interval, keeping the totals unless given', () => {
    const m = new RateMeter(0);
    m.restart(5_000);
    // 8 packets 2 s after the restart: 4/s (the 5 s before it do not dilute the rate)
    expect(m.sample(7_000, 8).packetsPerSec).toBe(4);
    m.restart(7_000, 100);
    expect(m.sample(8_000, 130).packetsPerSec).toBe(30);
  });
});
