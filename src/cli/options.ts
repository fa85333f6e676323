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
