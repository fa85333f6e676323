/**
 * Flows are counted in batches (StatsCollector.flushFlows reads every lookup's slot and record
 * first, then looks the batch up): the figures must not depend on where a batch ends. Checked on
 * the realistic generator's traffic (thousands of flows, so batches hold new and known flows):
 * reading the result at any point, or cutting the input into partials merged in order, at sizes
 * around the batch's, gives what one collector over the whole input gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../decode/file/index.js';
import type { RawPacket } from '../decode/types.js';
import { writeRealisticPcap } from '../synth/realistic.js';
import { FlowTable, hashKey, KEY_WORDS } from './flow-table.js';
import { StatsCollector } from './stats.js';

let tmp: string;
const raws: RawPacket[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vxi-dec3-'));
  const file = join(tmp, 'realistic.pcap');
  await writeRealisticPcap(file, { packets: 4000, flows: 3000 });
  await readCapture(file, (r) => void raws.push(r));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function countAll(packets: readonly RawPacket[]): StatsCollector {
  const c = new StatsCollector();
  packets.forEach((r, i) => c.addRaw(r, i + 1));
  return c;
}

describe('flows counted in batches', () => {
  it('counts every packet in a flow, queued ones included', () => {
    // every packet of this traffic is Ethernet, so each has a flow: what was queued was counted before the result
    for (const n of [1, 31, 32, 33, raws.length]) {
      const s = countAll(raws.slice(0, n)).result(Number.MAX_SAFE_INTEGER);
      expect(s.topFlows.reduce((sum, f) => sum + f.packets, 0) + s.flowsDropped, `${n} packets`).toBe(n);
    }
  });

  it('gives the same figures whenever the result is read', () => {
    const whole = countAll(raws).result(1000);
    expect(whole.topFlows).toHaveLength(1000); // at least 1000 flows: batches mix new and known ones
    const c = new StatsCollector();
    raws.forEach((r, i) => {
      c.addRaw(r, i + 1);
      if (i % 7 === 0) c.result(5); // reading flushes the queued flows mid-batch
    });
    expect(c.result(1000)).toEqual(whole);
  });

  it('gives the same figures when the input is cut into partials around the batch size and merged in order', () => {
    const whole = countAll(raws).result(1000);
    for (const size of [1, 31, 32, 33, 65, 1000]) {
      const merged = new StatsCollector();
      for (let from = 0; from < raws.length; from += size) {
        const part = new StatsCollector();
        raws.slice(from, from + size).forEach((r, i) => part.addRaw(r, from + i + 1));
        merged.merge(part.partial());
      }
      expect(merged.result(1000), `partials of ${size}`).toEqual(whole);
    }
  });
});

describe('FlowTable keys at an offset, and touch', () => {
  it('counts a key read at word kAt of a shared array as the same key in its own array', () => {
    const packed = new Int32Array(3 * KEY_WORDS);
    for (let i = 0; i < packed.length; i++) packed[i] = (i * 2654435761) | 0;
    const a = new FlowTable(10);
    const b = new FlowTable(10);
    for (const round of [1, 2]) {
      for (let j = 0; j < 3; j++) {
        const own = packed.slice(j * KEY_WORDS, (j + 1) * KEY_WORDS);
        const h = hashKey(own);
        expect(a.touch(h)).toBe(a.touch(h)); // reads only
        expect(a.count(packed, h, j, 1, 100 * j, j * KEY_WORDS)).toBe(b.count(own, h, j, 1, 100 * j));
        expect(a.find(packed, h, j * KEY_WORDS)).toBe(j);
        expect([...a.keyOf(j)]).toEqual([...own]);
        expect(a.packetsOf(j)).toBe(round);
      }
    }
    expect(a.size).toBe(3);
    expect([...a.countsOf(0, 3)]).toEqual([...b.countsOf(0, 3)]);
  });
});
