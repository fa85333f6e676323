/**
 * The counting path (StatsCollector.addRaw: the fast decoder into reused facts, typed flow
 * tables, per-thread flow dictionaries) against the full decoder (decodePacket + add), on every
 * capture under fixtures/ (the project's own, the malformed and format corpora, and the 80
 * public captures of fixtures/public) and on the realistic generator's traffic:
 *  - packet by packet, every fact the fast decoder reads equals what the full decoder's layers say;
 *  - file by file, `stats --json` figures are the same whichever path counts, on one thread and
 *    in batches merged in order (as the worker threads do), with and without an extra VXLAN port.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { decodeCapture } from '../decode/decode-capture.js';
import { readCapture } from '../decode/file/index.js';
import { decodePacket } from '../decode/packet.js';
import { BatchBuilder, type PacketBatch } from '../decode/parallel/batch.js';
import type { RawPacket } from '../decode/types.js';
import { writeRealisticPcap } from '../synth/realistic.js';
import * as f from '../synth/frames.js';
import { BIT_ICMP, BIT_ICMPV6, factsFromLayers, PacketFacts } from './facts.js';
import { BufferView, readFacts, udpPortTable } from './fast-decode.js';
import { FlowDictionary } from './flow-table.js';
import { collectStats } from './parallel.js';
import { batchCounter } from './count-batch.js';
import { StatsCollector, type CaptureStats } from './stats.js';
import { captureFilesUnder } from '../../test/helpers/pcap.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

const captures = captureFilesUnder;

let tmp: string;
let realistic: string;
const files = captures(FIXTURES);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vxi-stats-fast-'));
  realistic = join(tmp, 'realistic.pcap');
  await writeRealisticPcap(realistic, { packets: 20_000 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The facts that matter for counting, as plain data (fields that do not apply left out). */
function relevant(x: PacketFacts): Record<string, unknown> {
  const o: Record<string, unknown> = {
    len: x.len,
    caplen: x.caplen,
    ts: x.ts,
    linkType: x.linkType,
    malformed: x.malformed,
    truncated: x.truncated,
    warnings: x.warnings,
    seen: x.seen,
    tunnel: x.tunnel,
    ipVersion: x.ipVersion,
    transport: x.transport,
    hasEth: x.hasEth,
    other: x.other,
  };
  if (x.tunnel !== 0) {
    Object.assign(o, {
      vni: x.vni,
      overhead: x.overhead,
      linkAdjust: x.linkAdjust,
      outerVersion: x.outerVersion,
      udpSrc: x.udpSrc,
      udpDst: x.udpDst,
      innerEthSrc: x.innerEthSrc,
    });
    if (x.outerVersion === 4) Object.assign(o, { outerSrc: x.outerSrc, outerDst: x.outerDst });
    if (x.outerVersion === 6) Object.assign(o, { outerSrc6: [...(x.outerSrc6 ?? [])], outerDst6: [...(x.outerDst6 ?? [])] });
  }
  if (x.ipVersion === 4) Object.assign(o, { ipSrc: x.ipSrc, ipDst: x.ipDst, ipProto: x.ipProto });
  if (x.ipVersion === 6) Object.assign(o, { ip6: [...x.ip6], ipProto: x.ipProto });
  if (x.transport !== 0) Object.assign(o, { srcPort: x.srcPort, dstPort: x.dstPort });
  if (x.hasEth) Object.assign(o, { ethSrc: x.ethSrc, ethDst: x.ethDst, ethType: x.ethType });
  if (x.other === BIT_ICMP || x.other === BIT_ICMPV6) Object.assign(o, { icmpType: x.icmpType, icmpCode: x.icmpCode });
  return o;
}

/** Counts `file` by the full decoder (decodePacket + add). */
async function fullStats(file: string, vxlanPorts: number[]): Promise<{ stats: CaptureStats; packets: number; error: string | undefined }> {
  const c = new StatsCollector();
  const summary = await decodeCapture(file, (p) => c.add(p), { vxlanPorts });
  return { stats: c.result(50), packets: summary.packets, error: summary.error?.message };
}

/** Counts `file` in batches of `size` packets through batchCounter (the workers' path, one dictionary), merged in order. */
async function batchedStats(file: string, vxlanPorts: number[], size: number): Promise<CaptureStats> {
  const count = batchCounter({ vxlanPorts });
  const builder = new BatchBuilder(size);
  const merged = new StatsCollector({ vxlanPorts });
  const flush = (b: PacketBatch | undefined): void => {
    if (b) merged.merge(structuredClone(count(b)));
  };
  let n = 0;
  await readCapture(file, (raw) => {
    n++;
    if (!builder.add(raw, n)) {
      flush(builder.take());
      builder.add(raw, n);
    }
  });
  flush(builder.take());
  return merged.result(50);
}

describe('the counting path reads what the full decoder reads', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((p) => p.includes(join('fixtures', 'public')))).toBe(true);
  });

  it("packet by packet: every fact the fast decoder gives equals the full decoder's, on every fixture and the realistic traffic", async () => {
    const { ports, registry } = udpPortTable([]);
    const view = new BufferView();
    const fast = new PacketFacts();
    const full = new PacketFacts();
    let fastCount = 0;
    let total = 0;
    const mismatches: string[] = [];
    for (const file of [...files, realistic]) {
      let n = 0;
      await readCapture(file, (raw: RawPacket) => {
        n++;
        total++;
        factsFromLayers(decodePacket(raw, n, { registry }), full);
        if (!readFacts(raw, view.of(raw.data), ports, fast)) return;
        fastCount++;
        const a = relevant(fast);
        const b = relevant(full);
        if (mismatches.length < 5 && JSON.stringify(a) !== JSON.stringify(b))
          mismatches.push(`${relative(FIXTURES, file)} #${n}: fast ${JSON.stringify(a)} full ${JSON.stringify(b)}`);
      });
    }
    expect(mismatches).toEqual([]);
    // The fast path is the common one, not a rarely taken branch.
    expect(fastCount / total).toBeGreaterThan(0.5);
  });

  it('the realistic traffic is read by the fast decoder only', async () => {
    const { collector } = await collectStats(realistic, { workers: 0 });
    expect(collector.fullPackets).toBe(0);
    expect(collector.fastPackets).toBe(20_000);
  });

  it.each([[[] as number[]], [[4790]]])(
    'file by file, vxlan ports %j: stats are the same by the full decoder, the counting path, and batches merged in order',
    async (vxlanPorts) => {
      const differ: string[] = [];
      for (const file of [...files, realistic]) {
        const expected = await fullStats(file, vxlanPorts);
        const { collector, summary } = await collectStats(file, { workers: 0, vxlanPorts });
        const name = relative(FIXTURES, file);
        if (summary.packets !== expected.packets || summary.error?.message !== expected.error) differ.push(`${name}: read summary`);
        if (JSON.stringify(collector.result(50)) !== JSON.stringify(expected.stats)) differ.push(`${name}: one thread`);
        if (JSON.stringify(await batchedStats(file, vxlanPorts, 7)) !== JSON.stringify(expected.stats))
          differ.push(`${name}: batches of 7`);
      }
      expect(differ).toEqual([]);
    },
  );

  it('a flow dictionary that fills up sends further flows by key: the merged result is still the one-collector result', () => {
    const flow = (k: number): Uint8Array =>
      f.vxlanPacket(
        f.ethernet(
          '36:0f:4a:00:00:06',
          '36:0f:4a:00:00:05',
          0x0800,
          f.ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 17 }, f.udp(1024 + k, 53, new Uint8Array(k % 5))),
        ),
        { vni: 10 + (k % 3) },
      );
    const raws: RawPacket[] = [];
    for (let i = 0; i < 2000; i++) {
      const k = (i * 7919) % 300; // 300 flows, revisited in a scrambled order
      const data = flow(k);
      raws.push({
        tsSec: 1_764_140_000 + i,
        tsNsec: 0,
        tsDigits: 6,
        caplen: data.length,
        len: data.length,
        linkType: 1,
        fileOffset: 0,
        data,
      });
    }
    const one = new StatsCollector();
    raws.forEach((r, i) => one.addRaw(r, i + 1));
    const dictionary = new FlowDictionary(0, 50, 100_000);
    const merged = new StatsCollector();
    for (let i = 0; i < raws.length; i += 64) {
      const c = new StatsCollector({ dictionary });
      raws.slice(i, i + 64).forEach((r, j) => c.addRaw(r, i + j + 1));
      merged.merge(structuredClone(c.partial()));
    }
    expect(merged.result(400)).toEqual(one.result(400));
    expect(one.result(400).topFlows).toHaveLength(300);
  });
});
