/**
 * Decoding on worker threads gives exactly the one-thread output: the same lines in the
 * same order, the same statistics, the same stderr line and exit code on damaged input,
 * with `-c`, `--vni` and `--vxlan-port`; and memory stays bounded behind a slow reader.
 *
 * The workers run the compiled scripts (dist/, built by the global setup), as the CLI does.
 * Most runs call the built CLI's main() in this process — the same code as `vxlan-inspect`
 * without a Node start per run — with the worker threshold at 0 bytes and small batches, so a
 * 24,000-packet capture (3 MB, several 1 MiB shared chunks) crosses dozens of batch and chunk
 * boundaries. Two runs start bin.js as a child process: one comparison through a real pipe, and
 * the slow reader (its memory is measured on the process).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter } from '../src/decode/file/writer.js';
import { decodeCapture } from '../src/decode/decode-capture.js';
import { readCapture } from '../src/decode/file/read.js';
import { packetToJsonLine } from '../src/decode/format/json.js';
import * as f from '../src/synth/frames.js';
import { classScenario } from '../src/synth/scenario.js';
import { edgeFrames } from '../src/synth/fixtures.js';
import type { main as Main } from '../src/cli/main.js';
import { captureFilesUnder } from './helpers/pcap.js';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'cli', 'bin.js');

/** Packets in the capture most cases compare on; the slow reader needs more output than memory. */
const PACKETS = 24_000;
const SLOW_READER_PACKETS = 200_000;

let dir = '';
let big = '';
let damaged = '';
let huge = '';
let main: typeof Main;

/** A capture of `count` packets cycling through the class traffic, the edge cases and many flows. */
function makeCapture(count: number): Uint8Array {
  const frames = [...classScenario({ pings: 4 }).underlay.map((x) => x.data), ...edgeFrames().map((e) => e.frame.data)];
  const w = new PcapWriter({ nanosecond: true });
  const parts: Uint8Array[] = [w.header()];
  for (let i = 0; i < count; i++) {
    let data = frames[i % frames.length] as Uint8Array;
    if (i % 5 === 0) {
      // a TCP flow per 64 packets, VNI 20 or 30
      data = f.vxlanPacket(
        f.ethernet(
          '36:0f:4a:00:00:06',
          '36:0f:4a:00:00:05',
          0x0800,
          f.ipv4(
            { src: '10.220.220.5', dst: '10.220.220.6', proto: 6 },
            f.tcp({ srcPort: 40000 + (i >> 6), dstPort: 5201, flags: 0x18, seq: i }, new Uint8Array(i % 200)),
          ),
        ),
        { vni: 20 + 10 * (i & 1), srcPort: 1024 + (i % 50000) },
      );
    }
    parts.push(w.record({ tsSec: 1_764_140_000 + Math.floor(i / 1000), tsNsec: (i % 1000) * 1_000_123, data }));
  }
  return Buffer.concat(parts);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One thread. */
const ONE = { VXI_THREADS: '0' };
/** `threads` workers on any file, batches of `batch` packets (8192 when not given). */
const on = (threads: number, batch?: number): Record<string, string> => ({
  VXI_THREADS: String(threads),
  VXI_PARALLEL_MIN_BYTES: '0',
  ...(batch ? { VXI_BATCH_PACKETS: String(batch) } : {}),
});

/**
 * The built CLI's main() in this process, with `env` set for the run (the policy reads it per
 * run). One at a time: main() takes its exit code from process.exitCode.
 */
async function cli(args: string[], env: Record<string, string>): Promise<Run> {
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  const sink = (into: Buffer[]): Writable => new Writable({ write: (c: Buffer, _e, cb) => (into.push(Buffer.from(c)), cb()) });
  const saved = Object.fromEntries(['VXI_THREADS', 'VXI_PARALLEL_MIN_BYTES', 'VXI_BATCH_PACKETS'].map((k) => [k, process.env[k]]));
  const exitCode = process.exitCode;
  Object.assign(process.env, { VXI_THREADS: undefined, VXI_PARALLEL_MIN_BYTES: undefined, VXI_BATCH_PACKETS: undefined }, env);
  for (const k of Object.keys(saved)) if (!(k in env)) delete process.env[k];
  process.exitCode = undefined;
  try {
    const code = await main(args, { stdout: sink(chunks.out), stderr: sink(chunks.err) });
    return { code, stdout: Buffer.concat(chunks.out).toString('utf8'), stderr: Buffer.concat(chunks.err).toString('utf8') };
  } finally {
    process.exitCode = exitCode;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** bin.js as a child process. */
function binRun(args: string[], env: Record<string, string>): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One-thread runs, each made once: several cases compare against the same one. */
const oneThread = new Map<string, Promise<Run>>();
function once(args: string[]): Promise<Run> {
  const key = JSON.stringify(args);
  let run = oneThread.get(key);
  if (!run) oneThread.set(key, (run = cli(args, ONE)));
  return run;
}

/** A fixture standing for every fixture of its file shape, with its one-thread decoding. */
interface Shape {
  key: string;
  file: string;
  summary: import('../src/decode/file/types.js').ReadSummary;
  ndjson: string;
}

let shapes: Promise<Shape[]> | undefined;

/**
 * One fixture per file shape: what the parallel path's reading thread, batch table and workers
 * see of a file — format, byte-order and resolution magic, the interfaces' link types, time
 * resolutions and FCS lengths, several interfaces or sections, the kind of damage that ends it,
 * reader warnings, no packets at all. The packets' contents are the 24k-packet capture's part.
 * Of each shape the fixture with the most packets (the most batch boundaries at 7 or 3 a batch).
 * 128 fixtures fall into 33 shapes (2026-12-01): 73 of them are little-endian µs Ethernet pcaps
 * that differ only in content, and starting the workers dominated the test's time.
 */
function fixtureShapes(): Promise<Shape[]> {
  shapes ??= (async () => {
    const files = captureFilesUnder(join(ROOT, 'fixtures'));
    expect(files.length).toBeGreaterThan(20);
    const byKey = new Map<string, Shape>();
    for (const file of files) {
      // reading alone gives the shape; only the chosen fixtures are decoded (below)
      const summary = await readCapture(file, () => {});
      const head = readFileSync(file).subarray(0, 12);
      // pcap: the magic says byte order and µs/ns; pcapng: the section's byte-order magic
      const magic = summary.format === 'pcapng' ? head.subarray(8, 12) : head.subarray(0, 4);
      const key = [
        summary.format,
        Buffer.from(magic).toString('hex'),
        [...new Set(summary.interfaces.map((i) => `${i.linkType}/${i.tsDigits}/${i.fcsBytes ?? 0}`))].sort().join(','),
        summary.interfaces.length > 1 ? 'interfaces' : '',
        new Set(summary.interfaces.map((i) => i.section)).size > 1 ? 'sections' : '',
        summary.error?.kind ?? '',
        summary.warnings.length > 0 ? 'warnings' : '',
        summary.packets > 0 ? '' : 'no packets',
      ].join('|');
      const seen = byKey.get(key);
      if (!seen || summary.packets > seen.summary.packets) byKey.set(key, { key, file, summary, ndjson: '' });
    }
    const all = [...byKey.values()];
    for (const shape of all) {
      const out: string[] = [];
      shape.summary = await decodeCapture(shape.file, (p) => void out.push(packetToJsonLine(p) + '\n'));
      shape.ndjson = out.join('');
    }
    // the shapes the parallel path must handle are among them
    expect(all.length).toBeGreaterThan(20);
    expect(new Set(all.map((s) => s.summary.format))).toEqual(new Set(['pcap', 'pcapng', undefined]));
    expect(all.filter((s) => s.summary.error).length).toBeGreaterThan(10);
    return all;
  })();
  return shapes;
}

function expectSame(got: Run, want: Run, what: string): void {
  expect(got.stderr, what).toBe(want.stderr);
  expect(got.code, what).toBe(want.code);
  expect(got.stdout.length, what).toBe(want.stdout.length);
  expect(got.stdout === want.stdout, `${what}: stdout differs`).toBe(true);
}

beforeAll(async () => {
  main = ((await import(pathToFileURL(join(DIST, 'cli', 'main.js')).href)) as { main: typeof Main }).main;
  dir = mkdtempSync(join(tmpdir(), 'vxi-parallel-'));
  big = join(dir, 'big.pcap');
  const bytes = makeCapture(PACKETS);
  writeFileSync(big, bytes);
  damaged = join(dir, 'damaged.pcap');
  writeFileSync(damaged, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  huge = join(dir, 'huge.pcap');
  writeFileSync(huge, makeCapture(SLOW_READER_PACKETS));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('decode and stats on worker threads', () => {
  it('the capture crosses several 1 MiB shared chunks', () => {
    expect(readFileSync(big).length).toBeGreaterThan(2.5 * 1024 * 1024);
  });

  it.each(
    (
      [
        ['decode'],
        ['decode', '--json'],
        ['stats', '--json'],
        ['stats', '--top', '25'],
        ['decode', '-c', '12345'],
        ['decode', '--json', '--vni', '30', '-c', '777'],
        ['decode', '--vni', '20'],
        ['decode', '--json', '--vxlan-port', '9999'],
        ['stats', '--json', '--vxlan-port', '9999'],
      ] as string[][]
    ).map((a) => [a.join(' '), a] as const),
  )('%s: two workers print what one thread prints (24k packets, batches of 700)', async (_name, args) => {
    const one = await once([...args, big]);
    expect(one.code).toBe(0);
    expectSame(await cli([...args, big], on(2, 700)), one, 'two workers');
  });

  it('decode: the default batch size (8,192 packets) on three workers, too', async () => {
    expectSame(await cli(['decode', big], on(3)), await once(['decode', big]), 'default batches');
  });

  it.each(
    ([['decode'], ['decode', '--json'], ['stats', '--json'], ['decode', '-c', '7000']] as string[][]).map((a) => [a.join(' '), a] as const),
  )('damaged input, %s: every packet before the fault, then the same stderr line and exit code', async (_name, args) => {
    const one = await once([...args, damaged]);
    expectSame(await cli([...args, damaged], on(3, 700)), one, 'three workers');
    if (args.length === 1) {
      expect(one.code).toBe(1);
      expect(one.stderr).toMatch(
        /^vxlan-inspect: .*damaged\.pcap: truncated pcap record: .* \(at byte offset \d+\); \d+ packets read before it\n$/,
      );
    }
  });

  it('bin.js as a child process, through a pipe: two workers print what one thread prints', async () => {
    const one = await once(['decode', '--json', big]);
    expectSame(binRun(['decode', '--json', big], on(2)), one, 'bin.js on two workers');
  });

  it('one fixture of every file shape, in batches of 7 packets over 2 workers, gives the one-thread NDJSON', async () => {
    const pool = (await import(
      pathToFileURL(join(DIST, 'decode', 'parallel', 'pool.js')).href
    )) as typeof import('../src/decode/parallel/pool.js');
    const lines = (await import(
      pathToFileURL(join(DIST, 'decode', 'parallel', 'decode-lines.js')).href
    )) as typeof import('../src/decode/parallel/decode-lines.js');
    // NDJSON carries every field of every packet (time, lengths, layers, warnings, errors); the
    // text lines are compared on the 24k-packet capture above.
    const check = async (shape: Shape): Promise<void> => {
      const got: string[] = [];
      const two = await pool.decodeInParallel<import('../src/decode/parallel/decode-lines.js').DecodeLinesResult>(shape.file, {
        worker: lines.DECODE_WORKER,
        workerData: { format: 'json', vxlanPorts: [], lineEnds: false },
        workers: 2,
        batchPackets: 7,
        onResult: (r) => void got.push(Buffer.from(r.output).toString('utf8')),
      });
      expect(got.join(''), shape.file).toBe(shape.ndjson);
      expect(two.packets).toBe(shape.summary.packets);
      expect(two.error?.message).toBe(shape.summary.error?.message);
    };
    // Starting workers dominates here (tens of ms each): two per run, a few files at a time. Results
    // arriving out of order on three workers are the 24k-packet cases' part; here every kind of
    // file (pcapng sections, interfaces, time resolutions, damage) crosses the batch table.
    const shapes = await fixtureShapes();
    for (let i = 0; i < shapes.length; i += 4) {
      await Promise.all(shapes.slice(i, i + 4).map(check));
    }
  }, 180_000);

  it('stats --json on one fixture of every file shape, in batches of 3 packets on a worker and the reading thread, gives the one-thread result', async () => {
    // one run at a time: main() reports its exit code through process.exitCode
    // VXI_THREADS=2: one worker, and this thread counts a batch whenever the worker has two queued
    for (const { file } of await fixtureShapes()) {
      expectSame(await cli(['stats', '--json', file], on(2, 3)), await cli(['stats', '--json', file], ONE), file);
    }
  }, 180_000);

  it('a slow reader holds the workers back: memory stays bounded, nothing is lost', async () => {
    const child = spawn(process.execPath, [BIN, 'decode', '--json', huge], {
      env: { ...process.env, ...on(2) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rssKb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
    child.stdout.pause();
    let peak = 0;
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rssKb());
    }
    let bytes = 0;
    let lines = 0;
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(lines).toBe(SLOW_READER_PACKETS);
    // the whole output is several times what the process may hold while its reader sleeps
    expect(bytes).toBeGreaterThan(120 * 1024 * 1024);
    expect(peak / 1024).toBeLessThan(200);
  }, 60_000);
});
