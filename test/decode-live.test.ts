/**
 * `decode -` on a live pipe (`ssh node tcpdump -U -w - | vxlan-inspect decode - -l`): records
 * are decoded as they arrive (not after a megabyte of input), with `-l` each line goes out at
 * once (not after a megabyte of output), and Ctrl-C (SIGINT) writes the lines of what was
 * decoded, then exits 130.
 *
 * The CLI runs as a child process (dist/, built by `npm test`) whose standard input the test
 * holds open. Every wait polls with a deadline (never a fixed sleep, never a wall-clock bound):
 * a hang fails the test at the deadline, and the child is killed in afterEach whatever happened.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const CAPTURE = path.join(ROOT, 'fixtures/lab/kvm1-eth1.pcap');
const suite = existsSync(BIN) ? describe : describe.skip;
if (!existsSync(BIN)) console.warn('decode live tests skipped: run `npm run build` first (they run dist/cli/bin.js)');

const DEADLINE_MS = 10_000;

/** The capture's 24-byte header and its records, each as its own bytes. */
function splitPcap(file: string): { header: Buffer; records: Buffer[] } {
  const b = readFileSync(file);
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  const records: Buffer[] = [];
  for (let at = 24; at < b.length; ) {
    const end = at + 16 + b.readUInt32LE(at + 8);
    records.push(b.subarray(at, end));
    at = end;
  }
  return { header: b.subarray(0, 24), records };
}

/** What `decode FILE -c n` prints: the lines the live decode must print, byte for byte. */
function expectedLines(n: number): string[] {
  const r = spawnSync(process.execPath, [BIN, 'decode', CAPTURE, '-c', String(n)], { encoding: 'utf8', timeout: DEADLINE_MS });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

interface Live {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const fds: number[] = [];
let dir = '';
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const fd of fds.splice(0)) closeSync(fd);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Standard input: a pipe from the test (`'pipe'`), or an open file descriptor. */
function startDecode(args: string[], stdin: 'pipe' | number = 'pipe'): Live {
  const child = spawn(process.execPath, [BIN, 'decode', '-', ...args], { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin?.on('error', () => undefined); // the child may be gone before the test stops writing
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * A named pipe (a real pipe: 64 KiB, where the child's usual stdin is a socket pair that buffers
 * several hundred KiB), open for reading and writing without blocking: the child reads it as
 * its standard input, the test writes into it.
 */
function fifo(): number {
  dir ||= mkdtempSync(path.join(tmpdir(), 'vxi-decode-live-'));
  const p = path.join(dir, `in-${fds.length}`);
  const r = spawnSync('mkfifo', [p]);
  expect(r.status, String(r.stderr)).toBe(0);
  const fd = openSync(p, constants.O_RDWR | constants.O_NONBLOCK);
  fds.push(fd);
  return fd;
}

/** Writes all of `bytes` into the named pipe, waiting while it is full (the child reads it), up to the deadline. */
async function fill(fd: number, bytes: Uint8Array, live: Live): Promise<void> {
  const t0 = Date.now();
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(fd, bytes, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      if (Date.now() - t0 > DEADLINE_MS)
        throw new Error(`the child read nothing more for ${DEADLINE_MS} ms (${at} of ${bytes.length} bytes in); stderr: ${live.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Writes bytes to the child's stdin; resolves once they are all in the pipe. */
function feed(live: Live, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => live.child.stdin?.write(bytes, (err) => (err ? reject(err) : resolve())));
}

async function until(what: string, cond: () => boolean, live: Live): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > DEADLINE_MS)
      throw new Error(
        `no ${what} within ${DEADLINE_MS} ms; stdout so far: ${JSON.stringify(live.stdout())}, stderr: ${JSON.stringify(live.stderr())}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function exitOf(live: Live): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), DEADLINE_MS)));
  const r = await Promise.race([live.exited, late]).finally(() => clearTimeout(timer));
  if (r === 'hung') throw new Error(`decode did not exit within ${DEADLINE_MS} ms; stderr: ${live.stderr()}`);
  return r;
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

suite('decode - on a live pipe', { timeout: 4 * DEADLINE_MS }, () => {
  const { header, records } = splitPcap(CAPTURE);

  it("-l: each record's line comes out while standard input stays open; more records, more lines; Ctrl-C exits 130", async () => {
    const want = expectedLines(5);
    const live = startDecode(['-l']);
    await feed(live, Buffer.concat([header, ...records.slice(0, 3)]));
    await until('three lines', () => lines(live.stdout()).length >= 3, live);
    expect(lines(live.stdout())).toEqual(want.slice(0, 3));
    // a record that arrives in two pieces is one line, once its second piece is there
    const fourth = records[3] as Buffer;
    await feed(live, fourth.subarray(0, 20));
    await feed(live, Buffer.concat([fourth.subarray(20), records[4] as Buffer]));
    await until('five lines', () => lines(live.stdout()).length >= 5, live);
    expect(lines(live.stdout())).toEqual(want);
    expect(live.child.exitCode).toBeNull(); // still waiting for more
    live.child.kill('SIGINT');
    expect(await exitOf(live)).toEqual({ code: 130, signal: null });
    expect(lines(live.stdout())).toEqual(want);
    expect(live.stderr()).toBe('');
  });

  it('without -l (a pipe, output in blocks): Ctrl-C still writes the line of every record decoded, then exits 130', async () => {
    const want = expectedLines(4);
    const input = fifo();
    const live = startDecode([], input);
    // Four records, then the start of a fifth that claims 256 KiB: 128 KiB of it are sent. A
    // pipe holds 64 KiB, so all of it is in only once the child has read the four records
    // (and decoded them, in the same turn of its event loop) — no fixed sleep.
    const partial = Buffer.alloc(16);
    partial.writeUInt32LE(1, 0);
    partial.writeUInt32LE(262_144, 8);
    partial.writeUInt32LE(262_144, 12);
    await fill(input, Buffer.concat([header, ...records.slice(0, 4), partial, Buffer.alloc(128 * 1024)]), live);
    expect(lines(live.stdout())).toEqual([]); // a pipe: the lines wait for a block (or Ctrl-C)
    expect(live.child.exitCode).toBeNull();
    live.child.kill('SIGINT');
    expect(await exitOf(live)).toEqual({ code: 130, signal: null });
    expect(lines(live.stdout())).toEqual(want);
    expect(live.stderr()).toBe('');
  });

  it('standard input closed: the lines, then the usual end (a cut record is named on stderr, exit 1)', async () => {
    const live = startDecode(['-l']);
    const third = records[2] as Buffer;
    await feed(live, Buffer.concat([header, ...records.slice(0, 2), third.subarray(0, 30)]));
    await until('two lines', () => lines(live.stdout()).length >= 2, live);
    live.child.stdin?.end();
    const r = await exitOf(live);
    expect(r).toEqual({ code: 1, signal: null });
    expect(lines(live.stdout())).toEqual(expectedLines(2));
    expect(live.stderr()).toMatch(/^vxlan-inspect: standard input: truncated pcap record: .*; 2 packets read before it\n$/);
  });
});
