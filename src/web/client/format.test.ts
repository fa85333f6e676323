import { describe, expect, it } from 'vitest';
import { fmtBytes, fmtNum, fmtUs, matchLine, sideLabel } from './format.js';

describe('formatting', () => {
  it('numbers, bytes, durations', () => {
    expect(fmtNum(1234567)).toBe('1,234,567');
    expect([fmtBytes(999), fmtBytes(1500), fmtBytes(2_500_000), fmtBytes(3_210_000_000)]).toEqual([
      '999 B',
      '1.5 kB',
      '2.50 MB',
      '3.21 GB',
    ]);
    expect([fmtUs(0.24), fmtUs(12.35), fmtUs(1500), fmtUs(2_000_000), fmtUs(-1500)]).toEqual([
      '0.2 µs',
      '12.4 µs',
      '1.50 ms',
      '2.000 s',
      '-1.50 ms',
    ]);
  });

  it('no figure is "–", never "0 µs"', () => {
    expect(fmtUs(null)).toBe('–');
    expect(fmtUs(undefined)).toBe('–');
  });

  it('side labels', () => {
    expect(sideLabel({ role: 'underlay', iface: 'eth1' })).toBe('Underlay eth1');
    expect(sideLabel({ role: 'overlay', iface: null })).toBe('Bridge');
    expect(sideLabel(null)).toBe('');
  });
});

describe('the match line: direction from the correlator, time only says how far apart', () => {
  it('a decapsulated frame seen in the same microsecond is still decapsulated', () => {
    expect(matchLine('underlay', { n: 7, direction: 'decap', deltaUs: 0 })).toBe(
      'This is bridge frame #7, decapsulated (reached the bridge in the same microsecond).',
    );
    expect(matchLine('overlay', { n: 3, direction: 'decap', deltaUs: 0.2 })).toBe(
      'Carried on the underlay by packet #3 (decapsulated: arrived on the underlay in the same microsecond).',
    );
  });

  it('the sign of the gap never flips the direction', () => {
    expect(matchLine('underlay', { n: 2, direction: 'encap', deltaUs: -40 })).toBe(
      'This is bridge frame #2, encapsulated (left the bridge 40 µs earlier).',
    );
    expect(matchLine('underlay', { n: 2, direction: 'encap', deltaUs: 40 })).toBe(
      'This is bridge frame #2, encapsulated (left the bridge 40 µs earlier).',
    );
    expect(matchLine('overlay', { n: 9, direction: 'encap', deltaUs: 1500 })).toBe(
      'Carried on the underlay by packet #9 (encapsulated: sent on the underlay 1.50 ms later).',
    );
    expect(matchLine('underlay', { n: 4, direction: 'decap', deltaUs: -12 })).toBe(
      'This is bridge frame #4, decapsulated (reached the bridge 12 µs later).',
    );
  });
});
