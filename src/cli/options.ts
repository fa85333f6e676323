/** Parsers for option values shared by several commands; a bad value is a UsageError (exit 2). */
import { UsageError } from '../errors.js';

export function parseIntInRange(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, not ${JSON.stringify(value)}`);
    const n = Number(value);
    if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, not ${n}`);
    return n;
  };
}

export const parsePort = parseIntInRange('--vxlan-port', 1, 65535);

/** For repeatable options: commander calls this with each value and the list so far. */
export function collectPorts(value: string, previous: number[] = []): number[] {
  return [...previous, parsePort(value)];
}

export const parseVni = parseIntInRange('--vni', 0, 0xffffff);
export const parseCount = parseIntInRange('-c', 1, Number.MAX_SAFE_INTEGER);

/** --window of correlate and export: the largest time between two sightings of a frame, in ms (at most an hour). */
export function parseWindowMs(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`--window must be a number of milliseconds, not ${JSON.stringify(value)}`);
  const ms = Number(value);
  if (ms > 3_600_000) throw new UsageError(`--window ${ms} ms is more than an hour: give it in milliseconds (e.g. --window 1000)`);
  return ms;
}
