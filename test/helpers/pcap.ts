/** Reading a capture a test produced, to the end: a damaged or cut file fails the test here. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CaptureParser } from '../../src/decode/file/index.js';
import type { RawPacket } from '../../src/decode/types.js';

/** Every record of a classic pcap file; asserts it is whole (no error) and is pcap. */
export function wholePcapRecords(file: string): RawPacket[] {
  const p = new CaptureParser();
  p.push(readFileSync(file));
  p.end();
  const out: RawPacket[] = [];
  for (let r = p.next(); r; r = p.next()) out.push(r);
  expect(p.error?.message, file).toBeUndefined();
  expect(p.format, file).toBe('pcap');
  return out;
}

/** How many packets a whole classic pcap file holds (see wholePcapRecords). */
export function wholePcapCount(file: string): number {
  return wholePcapRecords(file).length;
}

/** Every capture file (.pcap, .pcapng, .cap) under `dir`, recursively, sorted. */
export function captureFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Every record of a capture file (pcap or pcapng): the records before any damage, or with
 * `whole`, all of them, the test failing here when the file is damaged or cut.
 */
export function captureRecords(file: string, opts: { whole?: boolean } = {}): RawPacket[] {
  const p = new CaptureParser();
  p.push(new Uint8Array(readFileSync(file)));
  p.end();
  const out: RawPacket[] = [];
  for (let r = p.next(); r; r = p.next()) out.push(r);
  if (opts.whole) expect(p.error?.message, file).toBeUndefined();
  return out;
}
