/**
 * Seeking by record headers (records.ts), through both writers, on one list of cases: each case
 * is a capture assembled from the writers' own records and blocks (so every record's offset,
 * length and kind is known without parsing), plus a damaged or cut tail. Each case is walked in
 * memory and from a file (64 KiB windows), and read by CaptureParser: the walk, the file walk
 * and the reader agree on every packet's offset and on where and why the input ends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureParser } from './parser.js';
import {
  captureByteOrder,
  recordLength,
  walkRecordBytes,
  walkRecordFile,
  type RecordHeader,
  type RecordKind,
  type RecordWalkEnd,
} from './records.js';
import { PcapWriter, PcapngWriter, concatBytes, type PcapngInterfaceOptions } from './writer.js';

interface Part {
  bytes: Uint8Array;
  kind: RecordKind;
}

/** The records of a case and what the walk must say at its end. */
interface Case {
  name: string;
  parts: Part[];
  /** Bytes after the last whole record (garbage, or the first bytes of a record cut short). */
  tail?: Uint8Array;
  end: 'eof' | 'truncated' | 'damaged';
  /** For 'damaged': the error kind both the walk and the reader report. */
  errorKind?: string;
}

const pkt = (i: number, n: number): { tsSec: number; tsNsec: number; data: Uint8Array; interfaceId?: number } => ({
  tsSec: 1_700_000_000 + i,
  tsNsec: i * 1_001,
  data: Uint8Array.from({ length: n }, (_, k) => (i + k) & 0xff),
});

function pcapParts(opts: { nanosecond?: boolean; bigEndian?: boolean }, sizes: number[]): Part[] {
  const w = new PcapWriter(opts);
  return [{ bytes: w.header(), kind: 'file-header' }, ...sizes.map((n, i): Part => ({ bytes: w.record(pkt(i, n)), kind: 'packet' }))];
}

/** A section header and its interface blocks, each as its own part (the writer gives them together). */
function sectionParts(interfaces: PcapngInterfaceOptions[], bigEndian: boolean): Part[] {
  const shb = new PcapngWriter({ interfaces: [], bigEndian }).header();
  const parts: Part[] = [{ bytes: shb, kind: 'section-header' }];
  for (const f of interfaces)
    parts.push({ bytes: new PcapngWriter({ interfaces: [f], bigEndian }).header().subarray(shb.length), kind: 'interface' });
  return parts;
}

const IFACES: PcapngInterfaceOptions[] = [{ name: 'eth0' }, { name: 'vxlan_bridge', tsresol: 9 }, { tsresol: 0x80 | 20, snaplen: 128 }];

function pcapngSection(bigEndian: boolean, count: number): Part[] {
  const w = new PcapngWriter({ interfaces: IFACES, bigEndian });
  const parts = sectionParts(IFACES, bigEndian);
  for (let i = 0; i < count; i++)
    parts.push({ bytes: w.record({ ...pkt(i, 40 + i * 7), interfaceId: i % IFACES.length }), kind: 'packet' });
  return parts;
}

function u32(v: number, bigEndian = false): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, !bigEndian);
  return b;
}

const CASES: Case[] = [
  { name: 'pcap µs little-endian', parts: pcapParts({}, [60, 0, 1514, 42]), end: 'eof' },
  { name: 'pcap ns little-endian', parts: pcapParts({ nanosecond: true }, [60, 98]), end: 'eof' },
  { name: 'pcap µs big-endian', parts: pcapParts({ bigEndian: true }, [60, 98, 1]), end: 'eof' },
  { name: 'pcap ns big-endian', parts: pcapParts({ nanosecond: true, bigEndian: true }, [74]), end: 'eof' },
  { name: 'pcap header only', parts: pcapParts({}, []), end: 'eof' },
  { name: 'pcap, records larger than the file walk window', parts: pcapParts({}, [100_000, 70_000, 262_144, 3]), end: 'eof' },
  {
    name: 'pcap, thousands of records across many windows',
    parts: pcapParts(
      {},
      Array.from({ length: 3000 }, (_, i) => (i * 37) % 200),
    ),
    end: 'eof',
  },
  { name: 'pcapng little-endian, several interfaces', parts: pcapngSection(false, 7), end: 'eof' },
  { name: 'pcapng big-endian, several interfaces', parts: pcapngSection(true, 5), end: 'eof' },
  {
    name: 'pcapng, two sections of different byte orders',
    parts: [...pcapngSection(false, 3), ...pcapngSection(true, 4), ...pcapngSection(false, 1)],
    end: 'eof',
  },
  {
    name: 'pcapng EPB, SPB, OPB and an unknown block',
    parts: (() => {
      const w = new PcapngWriter({ interfaces: [{ name: 'eth0' }], bigEndian: true });
      return [
        ...sectionParts([{ name: 'eth0' }], true),
        { bytes: w.record(pkt(1, 60)), kind: 'packet' },
        { bytes: w.simplePacket(pkt(2, 61).data), kind: 'packet' },
        { bytes: w.obsoletePacket(pkt(3, 62)), kind: 'packet' },
        { bytes: w.block(0x0bad, new Uint8Array(100)), kind: 'other' },
        { bytes: w.record(pkt(4, 63)), kind: 'packet' },
      ] satisfies Part[];
    })(),
    end: 'eof',
  },
  {
    name: 'pcap, trailing garbage shorter than a record header',
    parts: pcapParts({}, [60, 60]),
    tail: new TextEncoder().encode('garbage'),
    end: 'truncated',
  },
  {
    name: 'pcap, trailing garbage claiming a huge record',
    parts: pcapParts({}, [60]),
    tail: concatBytes([new Uint8Array(8), u32(0x7fffffff), new Uint8Array(20)]),
    end: 'damaged',
    errorKind: 'caplen-too-large',
  },
  {
    name: 'pcap, last record cut short',
    parts: pcapParts({ bigEndian: true }, [60, 60]),
    tail: new PcapWriter({ bigEndian: true }).record(pkt(9, 80)).subarray(0, 50),
    end: 'truncated',
  },
  { name: 'pcap, cut inside the file header', parts: [], tail: new PcapWriter().header().subarray(0, 10), end: 'truncated' },
  {
    name: 'pcapng, trailing garbage with a bad block length',
    parts: pcapngSection(false, 2),
    tail: concatBytes([u32(6), u32(13), new Uint8Array(8)]),
    end: 'damaged',
    errorKind: 'bad-block-length',
  },
  {
    name: 'pcapng, last EPB cut short',
    parts: pcapngSection(true, 3),
    tail: new PcapngWriter({ interfaces: IFACES, bigEndian: true }).record(pkt(9, 90)).subarray(0, 40),
    end: 'truncated',
  },
  {
    name: 'pcapng, unknown block cut short',
    parts: pcapngSection(false, 1),
    tail: new PcapngWriter().block(0x0bad, new Uint8Array(500)).subarray(0, 100),
    end: 'truncated',
  },
  {
    name: 'pcapng, an EPB longer than the reader accepts',
    parts: pcapngSection(false, 1),
    tail: concatBytes([u32(6), u32(17 * 1024 * 1024), new Uint8Array(8)]),
    end: 'damaged',
    errorKind: 'block-too-large',
  },
  { name: 'not a capture', parts: [], tail: new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), end: 'damaged', errorKind: 'bad-magic' },
];

function assemble(c: Case): { bytes: Uint8Array; expected: Omit<RecordHeader, 'littleEndian' | 'blockType'>[]; tailAt: number } {
  const expected: Omit<RecordHeader, 'littleEndian' | 'blockType'>[] = [];
  let at = 0;
  for (const p of c.parts) {
    expected.push({ offset: at, length: p.bytes.length, kind: p.kind });
    at += p.bytes.length;
  }
  return { bytes: concatBytes([...c.parts.map((p) => p.bytes), c.tail ?? new Uint8Array(0)]), expected, tailAt: at };
}

const shape = (r: RecordHeader): Omit<RecordHeader, 'littleEndian' | 'blockType'> => ({ offset: r.offset, length: r.length, kind: r.kind });
const endShape = (e: RecordWalkEnd): { end: string; offset: number; kind?: string } =>
  e.end === 'damaged' ? { end: e.end, offset: e.offset, kind: e.error.kind } : { end: e.end, offset: e.offset };

const dir = mkdtempSync(join(tmpdir(), 'vxi-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(CASES.map((c) => [c.name, c] as const))('record headers: %s', (_name, c) => {
  const { bytes, expected, tailAt } = assemble(c);
  const wantEnd = c.end === 'damaged' ? { end: 'damaged', offset: tailAt, kind: c.errorKind } : { end: c.end, offset: tailAt };

  it('the walk over the bytes finds every record the writers wrote, and says where and why it ends', () => {
    const seen: RecordHeader[] = [];
    const end = walkRecordBytes(bytes, (r) => void seen.push(r));
    expect(seen.map(shape)).toEqual(expected);
    expect(endShape(end)).toEqual(wantEnd);
    if (end.end === 'truncated') expect(end.missingBytes).toBeGreaterThan(0);
  });

  it('the walk over the file (64 KiB windows) says the same', async () => {
    const file = join(dir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.cap`);
    writeFileSync(file, bytes);
    const seen: RecordHeader[] = [];
    const end = await walkRecordFile(file, (r) => void seen.push(r));
    expect(seen.map(shape)).toEqual(expected);
    expect(endShape(end)).toEqual(wantEnd);
  });

  it('the reader delivers a packet at each packet record, and fails where the walk stopped', () => {
    const parser = new CaptureParser();
    parser.push(bytes);
    parser.end();
    const offsets: number[] = [];
    for (let p = parser.next(); p; p = parser.next()) offsets.push(p.fileOffset);
    expect(offsets).toEqual(expected.filter((r) => r.kind === 'packet').map((r) => r.offset));
    if (c.end === 'eof') expect(parser.error).toBeUndefined();
    else {
      expect(parser.error?.offset).toBe(tailAt);
      expect(parser.error?.kind).toBe(c.end === 'damaged' ? c.errorKind : tailAt === 0 ? 'truncated-header' : 'truncated-record');
    }
  });

  it("each record's length can be read back from its header alone, in the byte order of the file's start", () => {
    const walked: RecordHeader[] = [];
    walkRecordBytes(bytes, (r) => void walked.push(r));
    for (const r of walked) {
      if (r.kind === 'file-header' || r.kind === 'section-header') continue;
      // the section a record belongs to starts at the last section header before it (pcap: the file header)
      const head = [...walked]
        .reverse()
        .find((h) => (h.kind === 'file-header' || h.kind === 'section-header') && h.offset < r.offset) as RecordHeader;
      const order = captureByteOrder(bytes.subarray(head.offset, head.offset + head.length));
      expect(order?.littleEndian).toBe(r.littleEndian);
      expect(recordLength(order?.format ?? 'pcap', r.littleEndian, new DataView(bytes.buffer, bytes.byteOffset + r.offset, 16))).toBe(
        r.length,
      );
    }
  });
});

describe('record headers: stopping and oddities', () => {
  it('a visitor returning false stops the walk at that record', () => {
    const { bytes, expected } = assemble(CASES[0] as Case);
    const seen: number[] = [];
    const end = walkRecordBytes(bytes, (r) => {
      seen.push(r.offset);
      return seen.length < 2;
    });
    expect(seen).toEqual(expected.slice(0, 2).map((r) => r.offset));
    expect(end).toEqual({ end: 'stopped', offset: expected[1]?.offset });
  });

  it("an empty file is the reader's empty-input error; a missing file is VXI_IO naming it", async () => {
    expect(endShape(walkRecordBytes(new Uint8Array(0), () => undefined))).toEqual({ end: 'damaged', offset: 0, kind: 'empty-input' });
    await expect(walkRecordFile(join(dir, 'missing.pcap'), () => undefined)).rejects.toMatchObject({
      code: 'VXI_IO',
      message: expect.stringMatching(/cannot open capture file ".*missing\.pcap"/),
    });
  });

  it('the byte order and length helpers say nothing rather than guess on bytes that are not headers', () => {
    expect(captureByteOrder(new Uint8Array(3))).toBeUndefined();
    expect(captureByteOrder(new TextEncoder().encode('hello world!'))).toBeUndefined();
    expect(captureByteOrder(new PcapngWriter({ interfaces: [] }).header().subarray(0, 8))).toBeUndefined();
    expect(captureByteOrder(new PcapWriter({ bigEndian: true }).header())).toEqual({ format: 'pcap', littleEndian: false });
    expect(recordLength('pcap', true, new DataView(new ArrayBuffer(10)))).toBeUndefined();
    expect(recordLength('pcapng', true, new DataView(new ArrayBuffer(12)))).toBeUndefined(); // total length 0
  });
});
