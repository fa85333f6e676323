/** `--duration` values: `10s`, `1.5s`, `500ms`, `2m`, `1h`, or a bare number of seconds. */
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds, > 0 and at most 7 days; a UsageError naming the option otherwise. */
export function parseDuration(text: string, option = '--duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new UsageError(`${option} must be a time like 10s, 500ms, 2m or 1h, not ${JSON.stringify(text)}`);
  const sec = Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1);
  if (!(sec > 0)) throw new UsageError(`${option} must be more than 0, not ${JSON.stringify(text)}`);
  if (sec > 7 * 24 * 3600) throw new UsageError(`${option} must be at most 7 days (168h), not ${JSON.stringify(text)}`);
  return sec;
}

/** `3.0s`, `1m05s`, `1h02m`. */
export function formatDuration(sec: number): string {
  if (sec < 60) return `${sec.toFixed(1)}s`;
  const s = Math.floor(sec);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
