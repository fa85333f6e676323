/**
 * Decoding on worker threads gives exactly the one-thread output: the same lines in the
 * same order, the same statistics, the same stderr line and exit code on damaged input,
 * with `-c`, `--vni` and `--vxlan-port`; and memory stays bounded behind a slow reader.
 *
 * The workers run the compiled scripts (dist/), as the CLI does: `npm test` builds first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../file/writer.js';
import { decodeCapture } from '../decode-capture.js';
import { packetToJsonLine } from '../format/json.js';
import { packetToText } from '../format/text.js';
import * as f from '../../synth/frames.js';
import { classScenario } from '../../synth/scenario.js';
import { edgeFrames } from '../../synth/fixtures.js';
import { captureFilesUnder } from '../../../test/helpers/pcap.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'cli', 'bin.js');
const built = existsSync(join(DIST, 'decode', 'parallel', 'decode-worker.js')) && existsSync(join(DIST, 'stats', 'stats-worker.js'));
if (!built) console.warn('parallel decode tests skipped: run `npm run build` first (the worker threads run dist/)');

let dir = '';
let big = '';
let damaged = '';
const PACKETS = 200_000;

/** A capture of `count` packets cycling through the class traffic, the edge cases and many flows. */
function makeCapture(count: number): Uint8Array {
  const frames = [...classScenario({ pings: 4 }).underlay.map((x) => x.data), ...edgeFrames().map((e) => e.frame.data)];
  const w = new PcapWriter({ nanosecond: true });
  const parts: Uint8Array[] = [w.header()];
  for (let i = 0; i < count; i++) {
    let data = frames[i % frames.length] as Uint8Array;
    if (i % 5 === 0) {
      // a TCP flow per 64 packets, VNI 20 or 30
      data = f.vxlanPacket(f.ethernet('36:0f:4a:00:00:06', '36:0f:4a:00:00:05', 0x0800, f.ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 6 }, f.tcp({ srcPort: 40000 + (i >> 6), dstPort: 5201, flags: 0x18, seq: i }, new Uint8Array(i % 200)))), { vni: 20 + 10 * (i & 1), srcPort: 1024 + (i % 50000) });
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

function cli(args: string[], threads: number): Run {
  const env = { ...process.env, VXI_THREADS: String(threads), VXI_PARALLEL_MIN_BYTES: '0' };
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!built) return;
  dir = mkdtempSync(join(tmpdir(), 'vxi-parallel-'));
  big = join(dir, 'big.pcap');
  const bytes = makeCapture(PACKETS);
  writeFileSync(big, bytes);
  damaged = join(dir, 'damaged.pcap');
  writeFileSync(damaged, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('decode and stats on worker threads', () => {
  it.each(([
    ['decode'],
    ['decode', '--json'],
    ['stats', '--json'],
    ['stats', '--top', '25'],
    ['decode', '-c', '12345'],
    ['decode', '--json', '--vni', '30', '-c', '777'],
    ['decode', '--vni', '20'],
    ['decode', '--json', '--vxlan-port', '9999'],
    ['stats', '--json', '--vxlan-port', '9999'],
  ] as string[][]).map((a) => [a.join(' '), a] as const))('%s: two workers print what one thread prints (200k packets)', (_name, args) => {
    const file = big;
    const one = cli([...args, file], 0);
    const two = cli([...args, file], 2);
    expect(one.code).toBe(0);
    expect(two.stderr).toBe(one.stderr);
    expect(two.code).toBe(one.code);
    expect(two.stdout.length).toBe(one.stdout.length);
    expect(two.stdout === one.stdout).toBe(true);
  });

  it.each(([['decode'], ['decode', '--json'], ['stats', '--json'], ['decode', '-c', '70000']] as string[][]).map((a) => [a.join(' '), a] as const))('damaged input, %s: every packet before the fault, then the same stderr line and exit code', (_name, args) => {
    const one = cli([...args, damaged], 0);
    const two = cli([...args, damaged], 3);
    expect(two.code).toBe(one.code);
    expect(two.stderr).toBe(one.stderr);
    expect(two.stdout === one.stdout).toBe(true);
    if (args.length === 1) {
      expect(one.code).toBe(1);
      expect(one.stderr).toMatch(/^vxlan-inspect: .*damaged\.pcap: truncated pcap record: .* \(at byte offset \d+\); \d+ packets read before it\n$/);
    }
  });

  it('every fixture, in batches of 7 packets over 3 workers, gives the one-thread lines', async () => {
    const pool = (await import(pathToFileURL(join(DIST, 'decode', 'parallel', 'pool.js')).href)) as typeof import('./pool.js');
    const lines = (await import(pathToFileURL(join(DIST, 'decode', 'parallel', 'decode-lines.js')).href)) as typeof import('./decode-lines.js');
    const files = captureFilesUnder(join(ROOT, 'fixtures'));
    expect(files.length).toBeGreaterThan(20);
    const check = async (file: string, format: 'text' | 'json'): Promise<void> => {
      const expected: string[] = [];
      const one = await decodeCapture(file, (p) => void expected.push((format === 'json' ? packetToJsonLine(p) : packetToText(p)) + '\n'));
      const got: string[] = [];
      const two = await pool.decodeInParallel<import('./decode-lines.js').DecodeLinesResult>(file, {
        worker: lines.DECODE_WORKER,
        workerData: { format, vxlanPorts: [], lineEnds: false },
        workers: 3,
        batchPackets: 7,
        onResult: (r) => void got.push(Buffer.from(r.output).toString('utf8')),
      });
      expect(got.join(''), `${file} (${format})`).toBe(expected.join(''));
      expect(two.packets).toBe(one.packets);
      expect(two.error?.message).toBe(one.error?.message);
    };
    // Starting workers dominates here: a few files at a time.
    for (let i = 0; i < files.length; i += 4) {
      await Promise.all(files.slice(i, i + 4).flatMap((file) => [check(file, 'text'), check(file, 'json')]));
    }
  }, 180_000);

  it('stats --json on every fixture, in batches of 3 packets (some counted on the reading thread), gives the one-thread result', () => {
    const files = captureFilesUnder(join(ROOT, 'fixtures'));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const one = cli(['stats', '--json', file], 0);
      const two = spawnSync(process.execPath, [BIN, 'stats', '--json', file], { env: { ...process.env, VXI_THREADS: '3', VXI_PARALLEL_MIN_BYTES: '0', VXI_BATCH_PACKETS: '3' }, encoding: 'utf8' });
      expect(two.stdout, file).toBe(one.stdout);
      expect(two.stderr, file).toBe(one.stderr);
      expect(two.status, file).toBe(one.code);
    }
  }, 180_000);

  it('a slow reader holds the workers back: memory stays bounded, nothing is lost', async () => {
    const child = spawn(process.execPath, [BIN, 'decode', '--json', big], { env: { ...process.env, VXI_THREADS: '2', VXI_PARALLEL_MIN_BYTES: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    expect(lines).toBe(PACKETS);
    // the whole output is several times what the process may hold while its reader sleeps
    expect(bytes).toBeGreaterThan(120 * 1024 * 1024);
    expect(peak / 1024).toBeLessThan(200);
  });
});
