import { describe, expect, it } from 'vitest';
import { axisStart, binLabels, groupColour, PALETTE, tickEvery, vniOrder } from './chart-axis.js';

describe("the charts' time axis", () => {
  it('labels each bin with its start in seconds, as many digits as the bin needs', () => {
    expect(binLabels({ bins: 3, binUs: 2e4, t0Us: 0 })).toEqual(['0.00', '0.02', '0.04']);
    expect(binLabels({ bins: 3, binUs: 5e5, t0Us: 0 })).toEqual(['0.0', '0.5', '1.0']);
    expect(binLabels({ bins: 2, binUs: 1e7, t0Us: 0 })).toEqual(['0', '10']);
  });

  it('a tick every round number of bins, at most 12 ticks', () => {
    expect(tickEvery({ bins: 10, binUs: 1e6, t0Us: 0 })).toBe(1);
    expect(tickEvery({ bins: 120, binUs: 1e5, t0Us: 0 })).toBe(10);
    expect(tickEvery({ bins: 61, binUs: 1e6, t0Us: 0 })).toBe(10);
    for (const bins of [1, 13, 99, 120, 2000]) expect(bins / tickEvery({ bins, binUs: 1e6, t0Us: 0 })).toBeLessThanOrEqual(12);
  });

  it('starts at a UTC time of day', () => {
    expect(axisStart({ bins: 1, binUs: 1e6, t0Us: Date.UTC(2025, 10, 26, 6, 53, 20) * 1000 })).toBe('06:53:20');
  });

  it('VNIs by number get the palette in order; the other groups keep their colour', () => {
    const order = vniOrder({
      sides: {
        underlay: { groups: { 'VNI 100': g(), 'VNI 20': g(), 'underlay (not tunnelled)': g() } },
        overlay: { groups: { 'VNI 3': g(), 'stayed on the node': g() } },
      },
    });
    expect(order).toEqual(['VNI 3', 'VNI 20', 'VNI 100']);
    expect(order.map((l) => groupColour(l, order))).toEqual([PALETTE[0], PALETTE[1], PALETTE[2]]);
    expect(groupColour('underlay (not tunnelled)', order)).toBe('#8a8a8a');
    expect(groupColour('stayed on the node', order)).toBe('#000000');
  });
});

function g() {
  return { packetsPerSec: [], bytesPerSec: [], packets: 0, bytes: 0 };
}
