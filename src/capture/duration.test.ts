import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('--duration', () => {
  it('takes seconds, milliseconds, minutes and hours', () => {
    expect(parseDuration('10s')).toBe(10);
    expect(parseDuration('10')).toBe(10);
    expect(parseDuration('1.5s')).toBe(1.5);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('1h')).toBe(3600);
  });
  it('refuses the rest with a message naming the option', () => {
    expect(() => parseDuration('ten')).toThrow(/--duration must be a time like 10s/);
    expect(() => parseDuration('0s')).toThrow(/more than 0/);
    expect(() => parseDuration('-1s')).toThrow(/--duration/);
    expect(() => parseDuration('200h')).toThrow(/at most 7 days/);
  });
  it('prints durations', () => {
    expect(formatDuration(3)).toBe('3.0s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(3725)).toBe('1h02m');
  });
});
