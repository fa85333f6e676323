/**
 * Issue 13 (STATS2): `stats` reads records without a RawPacket (CaptureParser.nextRecord, one
 * RecordView overwritten per record; readFactsAt at an offset in the chunk). A property test
 * against the packet reader (next(), readFacts on the RawPacket, addRaw), on every capture under
 * fixtures/ (the project's, the malformed and format corpora, the public captures) and on the
 * realistic generator's traffic, each fed in chunks of several sizes, most of which cut records
 * (and pcapng blocks) in two:
 *  - record by record: the view's packet is the packet next() gives, field for field and byte for
 *    byte; readFactsAt says the same as readFacts and fills the same facts;
 *  - file by file: the same read summary (format, packets, bytes, interfaces, warnings, the
 *    error with its code and offset) and the same `stats` figures (addRecord against addRaw, and
 *    collectStats, which reads records, against readCapture + addRaw).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readCapture } from '../decode/file/index.js';
import { CaptureParser } from '../decode/file/parser.js';
import { readRecordViews } from '../decode/file/read.js';
import type { ReadSummary } from '../decode/file/types.js';
import type { RawPacket } from '../decode/types.js';
import { writeRealisticPcap } from '../synth/realistic.js';
import { PacketFacts } from './facts.js';
import { BufferView, readFacts, readFactsAt, udpPortTable } from './fast-decode.js';
import { collectStats } from './parallel.js';
import { StatsCollector } from './stats.js';
import { captureFilesUnder } from '../../test/helpers/pcap.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

const captures = captureFilesUnder;

/** Chunk sizes: whole, and sizes that cut records, block headers and file headers anywhere. */
const CHUNKS = [1 << 20, 4093, 61, 7];

let tmp: string;
let realistic: string;
const files = captures(FIXTURES);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vxi-stats2-'));
  realistic = join(tmp, 'realistic.pcap');
  await writeRealisticPcap(realistic, { packets: 20_000 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every field of the facts as plain data (the IPv6 words and outer addresses as arrays). */
function plain(x: PacketFacts): Record<string, unknown> {
  return {
    ...x,
    ip6: [...x.ip6],
    outerSrc6: x.outerSrc6 === undefined ? undefined : [...x.outerSrc6],
    outerDst6: x.outerDst6 === undefined ? undefined : [...x.outerDst6],
  };
}

/** The same fields in the same order (a classic pcap packet has no interfaceCount key), the same values, the same bytes. */
function samePacket(a: RawPacket, b: RawPacket): boolean {
  const keys = Object.keys(a);
  if (keys.join() !== Object.keys(b).join()) return false;
  for (const k of keys) if (k !== 'data' && a[k as keyof RawPacket] !== b[k as keyof RawPacket]) return false;
  return Buffer.compare(a.data, b.data) === 0;
}

function summaryOf(s: ReadSummary): Record<string, unknown> {
  const e = s.error;
  const error =
    e === undefined
      ? undefined
      : {
          kind: e.kind,
          message: e.message,
          offset: e.offset,
          tailBytes: e.tailBytes,
          missingBytes: e.missingBytes,
          blockType: e.blockType,
        };
  return { ...s, error };
}

/**
 * Feeds `bytes` in chunks of `size` to two parsers in step, one read by next(), one by
 * nextRecord(), each packet counted by its own collector (addRaw, addRecord); returns the first
 * differences (at most 5) and the packets compared.
 */
function compareChunked(bytes: Uint8Array, size: number, name: string): { differ: string[]; packets: number } {
  const { ports } = udpPortTable([]);
  const byPacket = new CaptureParser();
  const byRecord = new CaptureParser();
  const view = new BufferView();
  const rawFacts = new PacketFacts();
  const recordFacts = new PacketFacts();
  const rawStats = new StatsCollector();
  const recordStats = new StatsCollector();
  const differ: string[] = [];
  let n = 0;
  const drain = (): void => {
    for (;;) {
      const raw = byPacket.next();
      const rec = byRecord.nextRecord();
      if (raw === undefined || rec === undefined) {
        if (raw !== rec && differ.length < 5) differ.push(`${name} /${size}: one reader ended before the other after ${n} packets`);
        return;
      }
      n++;
      if (differ.length >= 5) continue;
      const made = rec.rawPacket();
      if (!samePacket(made, raw)) {
        const show = (p: RawPacket): string => JSON.stringify({ ...p, data: [...p.data.subarray(0, 16)] });
        differ.push(`${name} /${size} #${n}: packet ${show(made)} != ${show(raw)}`);
      }
      const a = readFacts(raw, view.of(raw.data), ports, rawFacts);
      const b = readFactsAt(rec.bytes, rec.dv, rec.dataAt, rec.caplen, rec.len, rec.tsSec, rec.tsNsec, rec.linkType, ports, recordFacts);
      if (a !== b) differ.push(`${name} /${size} #${n}: readFacts ${a}, readFactsAt ${b}`);
      else if (a && JSON.stringify(plain(rawFacts)) !== JSON.stringify(plain(recordFacts)))
        differ.push(`${name} /${size} #${n}: facts ${JSON.stringify(plain(recordFacts))} != ${JSON.stringify(plain(rawFacts))}`);
      rawStats.addRaw(raw, n);
      recordStats.addRecord(rec, n);
    }
  };
  for (let o = 0; o < bytes.length; o += size) {
    const chunk = bytes.subarray(o, Math.min(bytes.length, o + size));
    byPacket.push(chunk);
    byRecord.push(chunk);
    drain();
  }
  byPacket.end();
  byRecord.end();
  drain();
  if (JSON.stringify(summaryOf(byRecord.summary())) !== JSON.stringify(summaryOf(byPacket.summary())))
    differ.push(
      `${name} /${size}: summary ${JSON.stringify(summaryOf(byRecord.summary()))} != ${JSON.stringify(summaryOf(byPacket.summary()))}`,
    );
  if (JSON.stringify(recordStats.result(50)) !== JSON.stringify(rawStats.result(50))) differ.push(`${name} /${size}: stats differ`);
  return { differ, packets: n };
}

describe('stats reads records (RecordView) as it read packets', () => {
  it('finds the corpus, the damaged captures and pcapng among it', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((p) => p.includes(join('fixtures', 'malformed')))).toBe(true);
    expect(files.some((p) => p.endsWith('.pcapng'))).toBe(true);
  });

  it('record by record and file by file, in chunks that cut records: the same packets, facts, summary and stats', () => {
    const differ: string[] = [];
    let packets = 0;
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const size of CHUNKS) {
        const r = compareChunked(bytes, size, relative(FIXTURES, file));
        differ.push(...r.differ);
        packets += r.packets;
      }
    }
    expect(differ.slice(0, 10)).toEqual([]);
    expect(packets).toBeGreaterThan(10_000);
  }, 120_000);

  it('the realistic traffic, in chunks that cut records', () => {
    const bytes = readFileSync(realistic);
    for (const size of [1 << 20, 4093]) {
      const r = compareChunked(bytes, size, 'realistic');
      expect(r.differ).toEqual([]);
      expect(r.packets).toBe(20_000);
    }
  }, 60_000);

  it('collectStats (readRecordViews + addRecord) gives what readCapture + addRaw gave, summary included, on every capture', async () => {
    const differ: string[] = [];
    for (const file of [...files, realistic]) {
      const old = new StatsCollector();
      let n = 0;
      const oldSummary = await readCapture(file, (raw) => old.addRaw(raw, ++n));
      const { collector, summary } = await collectStats(file, { workers: 0 });
      const name = file === realistic ? 'realistic' : relative(FIXTURES, file);
      if (JSON.stringify(summaryOf(summary)) !== JSON.stringify(summaryOf(oldSummary))) differ.push(`${name}: summary`);
      if (JSON.stringify(collector.result(50)) !== JSON.stringify(old.result(50))) differ.push(`${name}: stats`);
    }
    expect(differ).toEqual([]);
  }, 60_000);

  it('readRecordViews stops when the callback says false, and hands one view overwritten by each record', async () => {
    const seen = new Set<object>();
    const offsets: number[] = [];
    const summary = await readRecordViews(realistic, (r) => {
      seen.add(r);
      offsets.push(r.fileOffset);
      return offsets.length < 3;
    });
    expect(seen.size).toBe(1);
    expect(summary.packets).toBe(3);
    expect(new Set(offsets).size).toBe(3);
  });
});
