/**
 * A failed write on standard output is a failure, for every command: `> /dev/full` (ENOSPC on
 * every write) is exit 1 with one line naming it — never a hang (the worker threads waited for
 * a 'drain' that never came), never exit 0 with truncated output. A reader that goes away
 * (`| head`) is still a quiet exit 0.
 *
 * The CLI runs as a child process (dist/, built by `npm test`) with its stdout opened on
 * /dev/full; each run is killed after a deadline, so a hang fails the test instead of holding it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const WORKER = path.join(ROOT, 'dist/decode/parallel/decode-worker.js');
const LAB = path.join(ROOT, 'fixtures/lab');
const ready = existsSync(BIN) && existsSync(WORKER) && existsSync('/dev/full');
const suite = ready ? describe : describe.skip;
if (!ready) console.warn('output fault tests skipped: they need dist/ (npm run build) and /dev/full');

const ENOSPC_LINE = 'vxlan-inspect: cannot write to standard output: ENOSPC (no space left on device)\n';
/** Longer than any of these runs takes (well under a second each); a hang is killed at it. */
const DEADLINE_MS = 20_000;
/** Two worker threads on any file, whatever its size (see the capture below). */
const THREADS = { VXI_THREADS: '2', VXI_PARALLEL_MIN_BYTES: '0' };

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** The run was killed at the deadline. */
  hung: boolean;
}

/** Runs the CLI with its standard output on `stdoutPath` (opened for writing). */
function runInto(stdoutPath: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const fd = openSync(stdoutPath, 'w');
  try {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    return new Promise((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr, hung });
      }),
    );
  } finally {
    closeSync(fd);
  }
}

let dir = '';
let big = '';

beforeAll(() => {
  if (!ready) return;
  dir = mkdtempSync(path.join(tmpdir(), 'vxi-output-faults-'));
  // 4 MB: the lab capture's records again and again. Worker threads are asked for by VXI_THREADS
  // with VXI_PARALLEL_MIN_BYTES=0 (THREADS below), the policy's switch for a file under 16 MiB: the
  // reading thread still fills several 1 MiB shared chunks, and decode --json has 4.7 MB to write,
  // hundreds of times a stream's buffer, as the 21 MB this used to be had (~2 s a full run, twice).
  const lab = readFileSync(path.join(LAB, 'kvm1-eth1.pcap'));
  const header = lab.subarray(0, 24);
  const records = lab.subarray(24);
  const parts: Uint8Array[] = [header];
  for (let n = 0; n < 4_000_000; n += records.length) parts.push(records);
  big = path.join(dir, 'big.pcap');
  writeFileSync(big, Buffer.concat(parts));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

suite('standard output on a full disk (/dev/full)', { timeout: DEADLINE_MS + 10_000 }, () => {
  // Each case is its own process on its own /dev/full descriptor: they run side by side.
  it.concurrent.for([
    ['decode --json of 4 MB on worker threads', ['decode', '--json', () => big], THREADS],
    ['decode --json of 4 MB on this thread (VXI_THREADS=0)', ['decode', '--json', () => big], { VXI_THREADS: '0' }],
    ['decode (text) of 4 MB on worker threads', ['decode', () => big], THREADS],
    ['decode of a small capture', ['decode', path.join(LAB, 'kvm1-eth1.pcap')], {}],
    ['stats', ['stats', path.join(LAB, 'kvm1-eth1.pcap')], {}],
    ['stats --json', ['stats', '--json', path.join(LAB, 'kvm1-eth1.pcap')], {}],
    ['correlate', ['correlate', path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap')], {}],
    ['correlate --json', ['correlate', '--json', path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap')], {}],
    ['--help', ['--help'], {}],
  ] as [string, (string | (() => string))[], Record<string, string>][])(
    '%s: exit 1, one line naming ENOSPC, no hang',
    async ([, args, env], { expect }) => {
      const r = await runInto(
        '/dev/full',
        args.map((a) => (typeof a === 'function' ? a() : a)),
        env,
      );
      expect(r.hung, 'the run hung and was killed at the deadline').toBe(false);
      expect(r.signal).toBeNull();
      expect(r.stderr).toBe(ENOSPC_LINE);
      expect(r.code).toBe(1);
    },
  );

  it('the same commands into a file still exit 0 with their whole output', async () => {
    const out = path.join(dir, 'out.ndjson');
    const r = await runInto(out, ['decode', '--json', big], THREADS);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines.at(-2) ?? '') as { n: number }).toMatchObject({ n: lines.length - 1 });
  });

  it('a reader that goes away (| head -1) is a quiet exit 0, on worker threads and on this thread', async () => {
    for (const threads of ['2', '0']) {
      const child = spawn(process.execPath, [BIN, 'decode', big], {
        cwd: ROOT,
        env: { ...process.env, VXI_THREADS: threads, VXI_PARALLEL_MIN_BYTES: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      // like `head -1`: the first line, then the pipe is closed
      child.stdout?.once('data', () => child.stdout?.destroy());
      const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (c, s) => resolve([c, s])),
      );
      clearTimeout(timer);
      expect({ threads, code, signal, stderr }).toEqual({ threads, code: 0, signal: null, stderr: '' });
    }
  });
});
