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
import { FLUSH_BYTES, PcapFileSink } from './pcap-sink.js';

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

/** What a listener can see of a packet, comparable across readers. */
const seen = (p: RawPacket): unknown[] => [
  p.tsSec,
  p.tsNsec,
  p.tsDigits,
  p.len,
  p.caplen,
  p.linkType,
  p.fileOffset,
  Buffer.from(p.data).toString('hex'),
];

function sinkThrough(chunks: Uint8Array[]): { file: string; got: number[]; raws: unknown[][]; result: ReturnType<PcapFileSink['end']> } {
  const file = tmpFile();
  const got: number[] = [];
  const raws: unknown[][] = [];
  const sink = new PcapFileSink(file, (raw, n) => {
    got.push(n);
    raws.push(seen(raw));
  });
  for (const c of chunks) sink.push(c);
  return { file, got, raws, result: sink.end() };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
        const { file, raws, result } = sinkThrough(chunks);
        expect(result.packets).toBe(107);
        expect(Buffer.compare(readFileSync(file), source)).toBe(0);
        // the listener sees each packet as the file reader does, at its offset in the file
        expect(raws).toEqual(expected.map(seen));
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

  it('keeps a nanosecond, big-endian stream as it came, byte for byte', () => {
    const w = new PcapWriter({ nanosecond: true, bigEndian: true, linkType: 113, snaplen: 96 });
    const pkts = [
      { tsSec: 1_700_000_000, tsNsec: 123_456_789, data: Uint8Array.from({ length: 40 }, (_, i) => i), len: 60 },
      { tsSec: 1_700_000_001, tsNsec: 1, data: Uint8Array.of(1, 2, 3) },
    ];
    const stream = w.file(pkts);
    const { file, result } = sinkThrough([stream.subarray(0, 30), stream.subarray(30, 41), stream.subarray(41)]);
    expect(result.packets).toBe(2);
    expect(Buffer.compare(readFileSync(file), stream)).toBe(0);
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

  it('rejects a pcapng stream (tcpdump -w - writes classic pcap), and writes nothing', () => {
    const shb = Uint8Array.of(
      0x0a,
      0x0d,
      0x0d,
      0x0a,
      28,
      0,
      0,
      0,
      0x4d,
      0x3c,
      0x2b,
      0x1a,
      1,
      0,
      0,
      0,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      28,
      0,
      0,
      0,
    );
    const { file, result } = sinkThrough([shb]);
    expect(result.file).toBeNull();
    expect(result.formatError?.kind).toBe('bad-magic');
    expect(result.formatError?.message).toMatch(/pcapng/);
    expect(existsSync(file)).toBe(false);
  });

  it('gathers records into large writes: none below FLUSH_BYTES until the timer or end()', async () => {
    // the lab recording's records repeated past FLUSH_BYTES, pushed in 32 KiB chunks as ssh2 delivers them
    const records = source.subarray(24);
    const copies = Math.ceil((FLUSH_BYTES * 1.5) / records.length);
    const stream = Buffer.concat([source.subarray(0, 24), ...Array.from({ length: copies }, () => records)]);
    const file = tmpFile();
    const sink = new PcapFileSink(file);
    const writtenAfter: number[] = [];
    for (let i = 0; i < stream.length; i += 32 * 1024) {
      sink.push(stream.subarray(i, i + 32 * 1024));
      writtenAfter.push(sink.bytesWritten);
    }
    // the file header at once (the file is a valid capture from the start); then no record
    // while less than FLUSH_BYTES was pending, then one write of them all
    expect(writtenAfter[0]).toBe(24);
    const firstWrite = writtenAfter.findIndex((b) => b > 24);
    const chunksPerFlush = FLUSH_BYTES / (32 * 1024);
    expect(firstWrite).toBeGreaterThanOrEqual(chunksPerFlush - 1);
    expect(firstWrite).toBeLessThanOrEqual(chunksPerFlush);
    expect(writtenAfter[firstWrite]).toBeGreaterThanOrEqual(FLUSH_BYTES);
    // the file only ever holds whole records
    const back = readAll(readFileSync(file));
    expect(back.error).toBeUndefined();
    expect(back.packets.length).toBe(sink.packetCount);
    // the rest goes out on the timer, without end()
    await until(() => sink.bytesWritten === stream.length, 'the timed flush');
    expect(sink.packetCount).toBe(107 * copies);
    const r = sink.end();
    expect(r.packets).toBe(107 * copies);
    expect(Buffer.compare(readFileSync(file), stream)).toBe(0);
  });

  it('keeps framing when a listener throws, and counts what reached the file', () => {
    const file = tmpFile();
    let calls = 0;
    const sink = new PcapFileSink(file, () => {
      if (++calls === 3) throw new Error('listener bug');
    });
    const cut = recordEnds(source)[5] as number;
    expect(() => sink.push(source.subarray(0, cut + 10))).toThrow('listener bug');
    sink.push(source.subarray(cut + 10));
    const r = sink.end();
    expect(r.packets).toBe(107);
    expect(Buffer.compare(readFileSync(file), source)).toBe(0);
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
