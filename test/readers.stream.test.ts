/**
 * readCapture / packets over real sources (files, Node streams, async iterables), early stop,
 * abort, I/O errors, and memory bounds against corrupt lengths.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CaptureFormatError,
  CaptureParser,
  PcapWriter,
  PcapngWriter,
  VxiError,
  concatBytes,
  packets,
  readCapture,
  type RawPacket,
} from '../src/index.js';

function frame(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
}

const PKTS = Array.from({ length: 500 }, (_, i) => ({ tsSec: 1_700_000_000 + i, tsNsec: i * 1000, data: frame(40 + (i % 200), i) }));
const PCAP = new PcapWriter({ bigEndian: true }).file(PKTS);
const PCAPNG = new PcapngWriter({ interfaces: [{ name: 'eth1', tsresol: 9 }] }).file(PKTS);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vxi-readers-'));
  await writeFile(join(dir, 'a.pcap'), PCAP);
  await writeFile(join(dir, 'a.pcapng'), PCAPNG);
  await writeFile(join(dir, 'cut.pcapng'), PCAPNG.subarray(0, PCAPNG.length - 10));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function summaryOf(got: RawPacket[]): string[] {
  return got.map((p) => `${p.tsSec}.${p.tsNsec} ${p.caplen} ${Buffer.from(p.data).toString('hex')}`);
}
const EXPECTED = PKTS.map((p) => `${p.tsSec}.${p.tsNsec} ${p.data.length} ${Buffer.from(p.data).toString('hex')}`);

describe('readCapture', () => {
  it.each(['a.pcap', 'a.pcapng'])('reads %s from a path', async (name) => {
    const got: RawPacket[] = [];
    const s = await readCapture(join(dir, name), (p) => void got.push(p));
    expect(summaryOf(got)).toEqual(EXPECTED);
    expect(s.format).toBe(name.endsWith('ng') ? 'pcapng' : 'pcap');
    expect(s.packets).toBe(500);
    expect(s.bytesRead).toBe(name.endsWith('ng') ? PCAPNG.length : PCAP.length);
    expect(s.error).toBeUndefined();
    expect(s.warnings).toEqual([]);
    expect(s.interfaces).toHaveLength(1);
  });

  it('reads a Node stream delivering 7-byte chunks; packets handed out earlier stay intact', async () => {
    const got: RawPacket[] = [];
    const s = await readCapture(createReadStream(join(dir, 'a.pcapng'), { highWaterMark: 7 }), (p) => void got.push(p));
    expect(s.packets).toBe(500);
    expect(summaryOf(got)).toEqual(EXPECTED);
    expect(got[0]?.interfaceName).toBe('eth1');
  });

  it('reads an async iterable of odd-sized chunks', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let o = 0, k = 1; o < PCAP.length; o += k, k = (k * 7 + 3) % 5000) yield PCAP.slice(o, o + k);
    }
    const got: RawPacket[] = [];
    await readCapture(chunks(), (p) => void got.push(p));
    expect(summaryOf(got)).toEqual(EXPECTED);
  });

  it('stops early when onPacket returns false', async () => {
    let n = 0;
    const s = await readCapture(join(dir, 'a.pcap'), () => ++n < 3);
    expect(n).toBe(3);
    expect(s.packets).toBe(3);
    expect(s.error).toBeUndefined();
  });

  it('damaged input resolves with the error, after every good packet', async () => {
    let n = 0;
    const s = await readCapture(join(dir, 'cut.pcapng'), () => void n++);
    expect(n).toBe(499);
    expect(s.error).toBeInstanceOf(CaptureFormatError);
    expect(s.error?.code).toBe('VXI_CAPTURE_FORMAT');
    expect(s.error?.message).toMatch(/^truncated pcapng block: the input ends \d+ byte\(s\) into it, \d+ needed \(at byte offset \d+\)$/);
  });

  it('a missing file throws VXI_IO naming the path', async () => {
    const path = join(dir, 'nope.pcap');
    const err = await readCapture(path, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VxiError);
    expect((err as VxiError).code).toBe('VXI_IO');
    expect((err as VxiError).message).toContain(`cannot open capture file "${path}"`);
    expect((err as VxiError).message).toContain('ENOENT');
  });

  it('a directory throws VXI_IO', async () => {
    const err = await readCapture(dir, () => {}).catch((e: unknown) => e);
    expect((err as VxiError).code).toBe('VXI_IO');
    expect((err as VxiError).message).toMatch(/EISDIR/);
  });

  it('a stream with an encoding set is refused with VXI_IO', async () => {
    const err = await readCapture(createReadStream(join(dir, 'a.pcap'), { encoding: 'latin1' }), () => {}).catch((e: unknown) => e);
    expect((err as VxiError).code).toBe('VXI_IO');
    expect((err as VxiError).message).toMatch(/delivers string chunks, not bytes/);
  });

  it('a stream that fails throws VXI_IO with the cause', async () => {
    const s = new PassThrough();
    s.write(PCAP.subarray(0, 100));
    setTimeout(() => s.destroy(new Error('channel closed by peer')), 10);
    const err = await readCapture(s, () => {}).catch((e: unknown) => e);
    expect((err as VxiError).code).toBe('VXI_IO');
    expect((err as VxiError).message).toBe('cannot read the capture stream: channel closed by peer');
  });

  it('an AbortSignal stops a stream that never ends', async () => {
    const s = new PassThrough();
    s.write(PCAP.subarray(0, 1000));
    const ac = new AbortController();
    let n = 0;
    const done = readCapture(s, () => void n++, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(done).rejects.toMatchObject({ name: 'AbortError' });
    expect(n).toBeGreaterThan(0);
    expect(s.destroyed).toBe(true);
  });

  it('an already aborted signal rejects at once', async () => {
    await expect(readCapture(join(dir, 'a.pcap'), () => {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe("'-' reads standard input", () => {
  it('in a child process fed through a pipe', async () => {
    // the built reader (dist/, made by the global setup before any test file: never stale), run
    // with the capture on stdin; compiling src/decode/file with tsc here took ~8 s of the file's 10
    const reader = new URL('../dist/decode/file/index.js', import.meta.url).href;
    const script = join(dir, 'stdin.mjs');
    await writeFile(
      script,
      `import { readCapture } from ${JSON.stringify(reader)};
const s = await readCapture('-', () => {});
process.stdout.write(JSON.stringify({ format: s.format, packets: s.packets, bytesRead: s.bytesRead, error: s.error?.message }));
`,
    );
    const res = JSON.parse(execFileSync(process.execPath, [script], { input: Buffer.from(PCAPNG), encoding: 'utf8' })) as unknown;
    expect(res).toEqual({ format: 'pcapng', packets: 500, bytesRead: PCAPNG.length });
    const cut = JSON.parse(execFileSync(process.execPath, [script], { input: Buffer.from(PCAP.subarray(0, 100)), encoding: 'utf8' })) as {
      packets: number;
      error: string;
    };
    expect(cut.packets).toBe(1); // 24-byte header + one 56-byte record, then 20 bytes of the second
    expect(cut.error).toMatch(/^truncated pcap record/);
  }, 60_000);
});

describe('packets()', () => {
  it('yields every packet', async () => {
    const got: RawPacket[] = [];
    for await (const p of packets(join(dir, 'a.pcapng'))) got.push(p);
    expect(summaryOf(got)).toEqual(EXPECTED);
  });

  it('throws the CaptureFormatError after the good packets', async () => {
    const got: RawPacket[] = [];
    const err = await (async () => {
      for await (const p of packets(join(dir, 'cut.pcapng'))) got.push(p);
    })().catch((e: unknown) => e);
    expect(got).toHaveLength(499);
    expect(err).toBeInstanceOf(CaptureFormatError);
  });
});

describe('memory bounds', () => {
  const MiB = 1024 * 1024;
  const arrayBuffers = (): number => process.memoryUsage().arrayBuffers;

  it('a pcap record claiming 2 GiB fails at once, nothing allocated', () => {
    const w = new PcapWriter();
    const rec = w.record({ tsSec: 1, tsNsec: 0, data: frame(10, 0) });
    new DataView(rec.buffer).setUint32(8, 0x7fff_fff0, true);
    const before = arrayBuffers();
    const p = new CaptureParser();
    p.push(concatBytes([w.header(), rec]));
    expect(p.next()).toBeUndefined();
    expect(p.error?.offset).toBe(24);
    expect(arrayBuffers() - before).toBeLessThan(MiB);
  });

  it('an enhanced packet block claiming 2 GiB fails at once, nothing allocated', () => {
    const w = new PcapngWriter();
    const blk = w.record({ tsSec: 1, tsNsec: 0, data: frame(10, 0) });
    new DataView(blk.buffer).setUint32(4, 0x7fff_fff0, true);
    const before = arrayBuffers();
    const p = new CaptureParser();
    const head = w.header();
    p.push(concatBytes([head, blk.subarray(0, 12)]));
    expect(p.next()).toBeUndefined();
    expect(p.error?.offset).toBe(head.length);
    expect(p.error?.message).toMatch(/claims 2147483632 bytes/);
    expect(arrayBuffers() - before).toBeLessThan(MiB);
  });

  it('an unknown block claiming 2 GiB is skipped through 256 MiB of input without buffering it', () => {
    const w = new PcapngWriter();
    const p = new CaptureParser();
    p.push(w.header());
    p.push(Uint8Array.of(0xad, 0x0b, 0, 0, 0xf0, 0xff, 0xff, 0x7f));
    const chunk = new Uint8Array(MiB);
    const before = arrayBuffers();
    for (let i = 0; i < 256; i++) {
      p.push(chunk); // the same bytes again: any copy the parser made would show
      expect(p.next()).toBeUndefined();
    }
    expect(arrayBuffers() - before).toBeLessThan(MiB);
    expect(p.error).toBeUndefined();
    p.end();
    expect(p.next()).toBeUndefined();
    expect(p.error?.message).toMatch(/^truncated pcapng block: its length runs past the end of the input/);
    expect(p.error?.offset).toBe(w.header().length);
  });
});
