/**
 * The live counts from the fast decoder (LiveCounter.count) equal those from the full decode of
 * every packet, on the lab recordings and the public captures, with the default VXLAN ports and
 * with one more.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../decode/file/parser.js';
import { createRegistry } from '../decode/registry.js';
import type { RawPacket } from '../decode/types.js';
import { LiveCounter, LiveStats } from './live-stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dirs = [path.join(here, '../../fixtures/lab'), path.join(here, '../../../shared/captures/tcpdump')];
const files = dirs.flatMap((d) => {
  try {
    return readdirSync(d)
      .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
      .map((f) => path.join(d, f));
  } catch {
    return [];
  }
});

function packetsOf(file: string): RawPacket[] {
  const p = new CaptureParser();
  p.push(readFileSync(file));
  p.end();
  const out: RawPacket[] = [];
  for (let r = p.next(); r; r = p.next()) out.push(r);
  return out;
}

describe('LiveCounter', () => {
  it('has files to compare', () => expect(files.length).toBeGreaterThan(2));

  for (const vxlanPorts of [[], [8472]]) {
    it(`counts as the full decoder does (extra VXLAN ports: [${vxlanPorts.join(',')}])`, () => {
      const registry = createRegistry({ vxlanPorts });
      let vxlan = 0;
      for (const file of files) {
        const fast = new LiveStats('n', 'i', 0);
        const full = new LiveStats('n', 'i', 0);
        const counter = new LiveCounter(fast, registry);
        const fullCounter = new LiveCounter(full, registry);
        packetsOf(file).forEach((raw, i) => {
          counter.count(raw, i + 1);
          fullCounter.decode(raw, i + 1);
        });
        const pick = (s: LiveStats): unknown => [s.packets, s.bytes, s.vxlanPackets, [...s.vnis].sort((a, b) => a - b)];
        expect(pick(fast), path.basename(file)).toEqual(pick(full));
        vxlan += fast.vxlanPackets;
      }
      expect(vxlan).toBeGreaterThan(0);
    });
  }
});
