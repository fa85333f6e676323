/**
 * The stream → file logic with local bytes: a real lab recording (fixtures/lab) and what a local
 * `tcpdump -U -w - -r FILE` writes, pushed in chunks cut at odd places and cut short anywhere.
 * Every file the sink leaves must read back whole with CaptureParser, holding exactly the
 * records that arrived complete.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureParser } from '../decode/file/parser.js';
import { PcapWriter } from '../decode/file/writer.js';
import type { RawPacket } from '../decode/types.js';
import { PcapFileSink } from './pcap-sink.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/lab/kvm1-eth1.pcap', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'vxi-sink-'));
let seq = 0;
const tmpFile = (): string => path.join(work, `f${seq++}.pcap`);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function readAll(bytes: Uint8Array): { packets: RawPacket[]; error: string | undefined; linkType: number | undefined } {
  const p = new CaptureParser();
  p.push(bytes);
  p.end();
  const packets: RawPacket[] = [];
  for (let r = p.next(); r; r = p.next()) packets.push(r);
  return { packets, error: p.error?.message, linkType: p.interfaces[0]?.linkType };
}

/** Byte offsets where each record of a classic little-endian pcap ends. */
function recordEnds(b: Buffer): number[] {
  const ends: number[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    off += 16 + b.readUInt32LE(off + 8);
    if (off <= b.length) ends.push(off);
  }
  return ends;
}

function sinkThrough(chunks: Uint8Array[]): { file: string; got: number[]; result: ReturnType<PcapFileSink['end']> } {
  const file = tmpFile();
  const got: number[] = [];
  const sink = new PcapFileSink(file, (_raw, n) => got.push(n));
  for (const c of chunks) sink.push(c);
  return { file, got, result: sink.end() };
}

const source = readFileSync(FIXTURE);
const expected = readAll(source).packets;

describe('PcapFileSink', () => {
  it('writes the lab recording pushed in one chunk as an identical file', () => {
    const { file, got, result } = sinkThrough([new Uint8Array(source)]);
    expect(result.packets).toBe(107);
    expect(got).toEqual(Array.from({ length: 107 }, (_, i) => i + 1));
    // same header fields and records as tcpdump wrote: the re-encoding is byte for byte
    expect(Buffer.compare(readFileSync(file), source)).toBe(0);
    expect(result.fileBytes).toBe(source.length);
    expect(result.droppedTailBytes).toBe(0);
  });

  it('gives the same file whatever the chunk boundaries (random cuts)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: source.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), source.length];
        const chunks = points.slice(1).map((end, i) => new Uint8Array(source.subarray(points[i], end)));
        const { file, result } = sinkThrough(chunks);
        expect(result.packets).toBe(107);
        expect(Buffer.compare(readFileSync(file), source)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('leaves a valid file holding exactly the complete records, wherever the stream is cut', () => {
    // the first 12 records, cut at every byte offset, pushed in 7-byte chunks
    const ends = recordEnds(source);
    const small = source.subarray(0, ends[11]);
    for (let cut = 0; cut <= small.length; cut++) {
      const bytes = small.subarray(0, cut);
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 7) chunks.push(new Uint8Array(bytes.subarray(i, i + 7)));
      const { file, result } = sinkThrough(chunks);
      const whole = ends.filter((e) => e <= cut).length;
      if (cut < 24) {
        expect(result.file, `cut ${cut}`).toBeNull();
        expect(existsSync(file)).toBe(false);
        continue;
      }
      const back = readAll(readFileSync(file));
      expect(back.error, `cut at ${cut}`).toBeUndefined();
      expect(back.packets.length, `cut at ${cut}`).toBe(whole);
      expect(result.packets).toBe(whole);
      const lastEnd = whole === 0 ? 24 : (ends[whole - 1] as number);
      expect(result.droppedTailBytes).toBe(cut - lastEnd);
      expect(Buffer.compare(readFileSync(file), small.subarray(0, lastEnd))).toBe(0);
    }
  });

  it('re-encodes records from a nanosecond, big-endian source as they were', () => {
    const w = new PcapWriter({ nanosecond: true, bigEndian: true, linkType: 113, snaplen: 96 });
    const pkts = [
      { tsSec: 1_700_000_000, tsNsec: 123_456_789, data: Uint8Array.from({ length: 40 }, (_, i) => i), len: 60 },
      { tsSec: 1_700_000_001, tsNsec: 1, data: Uint8Array.of(1, 2, 3) },
    ];
    const { file, result } = sinkThrough([w.file(pkts)]);
    expect(result.packets).toBe(2);
    const back = readAll(readFileSync(file));
    expect(back.error).toBeUndefined();
    expect(back.linkType).toBe(113);
    expect(back.packets.map((p) => [p.tsSec, p.tsNsec, p.tsDigits, p.len, [...p.data]])).toEqual([
      [1_700_000_000, 123_456_789, 9, 60, [...(pkts[0]?.data ?? [])]],
      [1_700_000_001, 1, 9, 3, [1, 2, 3]],
    ]);
  });

  it('stops at a stream that is not a capture, and writes nothing', () => {
    const { file, result } = sinkThrough([new TextEncoder().encode('tcpdump: eth1: No such device exists\n')]);
    expect(result.file).toBeNull();
    expect(result.formatError?.message).toMatch(/at byte offset 0/);
    expect(result.formatError?.kind).toBe('bad-magic');
    expect(existsSync(file)).toBe(false);
  });

  it('tells a damaged record (reported) from a cut last one (dropped) by the error kind', () => {
    const ends = recordEnds(source);
    const firstEnd = ends[0] as number;
    const damaged = new Uint8Array(source.subarray(0, ends[2]));
    // the second record's captured length: far above any snaplen
    new DataView(damaged.buffer).setUint32(firstEnd + 8, 0x7fffffff, true);
    const { result } = sinkThrough([damaged]);
    expect(result.packets).toBe(1);
    expect(result.droppedTailBytes).toBe(0);
    expect(result.formatError?.kind).toBe('caplen-too-large');
    expect(result.formatError?.offset).toBe(firstEnd);
  });

  it('never overwrites an existing file', () => {
    const file = tmpFile();
    const first = new PcapFileSink(file);
    first.push(new Uint8Array(source.subarray(0, 100)));
    first.end();
    const second = new PcapFileSink(file);
    second.push(new Uint8Array(source));
    expect(second.error?.message).toMatch(/cannot create .*EEXIST/);
    expect(second.end().packets).toBe(0);
    expect(readAll(readFileSync(file)).packets.length).toBe(readAll(source.subarray(0, 100)).packets.length);
  });

  it('takes what a local `tcpdump -U -w - -r FILE` writes, through a stream, as it arrives', async () => {
    const child = spawn('tcpdump', ['-U', '-n', '-w', '-', '-r', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pass = new PassThrough({ highWaterMark: 333 });
    child.stdout.pipe(pass);
    const file = tmpFile();
    const sink = new PcapFileSink(file);
    const sizes: number[] = [];
    for await (const chunk of pass) {
      sink.push(new Uint8Array(chunk as Buffer));
      sizes.push(sink.bytesWritten);
    }
    const r = sink.end();
    expect(r.packets).toBe(107);
    // the file grew record by record, and always by whole records
    expect(sizes.length).toBeGreaterThan(1);
    const back = readAll(readFileSync(file));
    expect(back.error).toBeUndefined();
    expect(back.packets.map((p) => [p.tsSec, p.tsNsec, p.len, Buffer.from(p.data).toString('hex')])).toEqual(
      expected.map((p) => [p.tsSec, p.tsNsec, p.len, Buffer.from(p.data).toString('hex')]),
    );
  });
});
