/** `serve` and `demo` from the command line: what they print, and their exit codes. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, expect, test } from 'vitest';
import { runDemo } from '../src/cli/demo.js';
import { main } from '../src/cli/main.js';
import { runServe } from '../src/cli/serve.js';
import { writeSampleSession } from '../src/web/sample.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): { io: { stdout: PassThrough; stderr: PassThrough }; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { io: { stdout, stderr }, out: () => o, err: () => e };
}

/** Runs a command that serves until aborted; resolves with what it printed once the URL is out. */
async function whileServing(
  start: (signal: AbortSignal, t: ReturnType<typeof io>) => Promise<number>,
  check: (out: string, url: string) => Promise<void>,
): Promise<number> {
  const t = io();
  const ac = new AbortController();
  const done = start(ac.signal, t);
  for (let i = 0; i < 200 && !/open http/.test(t.out()); i++) await new Promise((r) => setTimeout(r, 25));
  const m = /open (http:\/\/127\.0\.0\.1:\d+\/)#token=([\w-]+)/.exec(t.out());
  expect(m, t.out() + t.err()).not.toBeNull();
  try {
    await check(t.out(), m![1]!);
  } finally {
    ac.abort();
  }
  return done;
}

test('serve DIR: lists the nodes, the correlation, the URL with the token', async () => {
  writeSampleSession(dir);
  const code = await whileServing(
    (signal, t) => runServe([dir], { port: 0 }, t.io, signal),
    async (out, url) => {
      expect(out).toMatch(/^serving 4 capture\(s\) of .* — 2 node\(s\)$/m);
      expect(out).toMatch(
        /^ {2}kvm1: underlay kvm1-eth1\.pcap \(16 packets\), bridge kvm1-vxlan_bridge\.pcap \(14 packets\): 13 matched, 1 underlay only, 2 bridge only$/m,
      );
      expect(out).toMatch(/^token \(uploads and live capture need it; header X-VXI-Token\): [\w-]{24}$/m);
      const s = await (await fetch(`${url}api/session`)).json();
      expect(s.captures).toHaveLength(4);
    },
  );
  expect(code).toBe(0);
});

test('serve FILE FILE: any files, paired by name', async () => {
  const code = await whileServing(
    (signal, t) => runServe([path.join(dir, 'kvm2-eth1.pcap'), path.join(dir, 'kvm2-vxlan_bridge.pcap')], { port: 0 }, t.io, signal),
    async (out) => {
      expect(out).toMatch(/kvm2: underlay kvm2-eth1\.pcap \(12 packets\), bridge kvm2-vxlan_bridge\.pcap \(12 packets\): 12 matched/);
    },
  );
  expect(code).toBe(0);
});

test('serve with no argument: an empty page to upload to', async () => {
  const code = await whileServing(
    (signal, t) => runServe([], { port: 0 }, t.io, signal),
    async (out) => {
      expect(out).toMatch(/^serving 0 capture\(s\)$/m);
    },
  );
  expect(code).toBe(0);
});

test('usage errors exit 2 with what to do', async () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'vxi-web-cli-empty-'));
  try {
    let t = io();
    expect(await main(['serve', empty, '--port', '0'], t.io)).toBe(2);
    expect(t.err()).toMatch(/no capture files \(\.pcap, \.pcapng\) in .*: name them <node>-<interface>\.pcap/);
    t = io();
    expect(await main(['serve', path.join(empty, 'missing.pcap')], t.io)).toBe(2);
    expect(t.err()).toMatch(/no such capture file or folder/);
    t = io();
    expect(await main(['serve', '--port', '99999'], t.io)).toBe(2);
    t = io();
    expect(await main(['demo', '--live', '--prefix', 'bad prefix'], t.io)).toBe(2);
    expect(t.err()).toMatch(/bad lab prefix/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('a port in use is a clear error', async () => {
  await whileServing(
    (signal, t) => runServe([], { port: 0 }, t.io, signal),
    async (_out, url) => {
      const port = Number(new URL(url).port);
      const t = io();
      expect(await main(['serve', '--port', String(port)], t.io)).toBe(2);
      expect(t.err()).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use: choose another with --port`));
    },
  );
});

test('demo serves the lab recording (or a sample when it is missing)', async () => {
  await whileServing(
    (signal, t) => runDemo({ port: 0 }, t.io, signal),
    async (out) => {
      expect(out).toMatch(/kvm1: underlay kvm1-eth1\.pcap/);
      expect(out).toMatch(/kvm2: underlay kvm2-eth1\.pcap/);
    },
  );
  const missing = path.join(dir, 'no-such-recording');
  writeFileSync(path.join(dir, 'placeholder'), '');
  let err = '';
  await whileServing(
    async (signal, t) => {
      const code = await runDemo({ port: 0 }, t.io, signal, missing);
      err = t.err();
      return code;
    },
    async (out, url) => {
      expect(out).toMatch(/serving 4 capture\(s\) of a synthetic sample/);
      const s = await (await fetch(`${url}api/session`)).json();
      expect(s.banner).toMatch(/Synthetic sample/);
    },
  );
  expect(err).toMatch(/the lab recording .* is missing: serving a small synthetic sample instead/);
});

test('serve without a signal: Ctrl-C is handled from before the URL is printed (whoever reads it may interrupt at once)', async () => {
  // a pipe write is synchronous: a parent that reads the URL can send SIGINT before the statement
  // after the write runs; with the handler installed after the write, 3 of 30 `serve` processes died
  // of the signal (exit code null). Here the first write looks for our handler and calls it.
  writeSampleSession(dir);
  const before = new Set(process.listeners('SIGINT'));
  const ours = (): NodeJS.SignalsListener | undefined => process.listeners('SIGINT').find((l) => !before.has(l));
  let atWrite: NodeJS.SignalsListener | undefined;
  let out = '';
  const stdout = new PassThrough();
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const write = stdout.write.bind(stdout);
  stdout.write = ((chunk: string | Uint8Array, ...rest: never[]): boolean => {
    if (out === '' && atWrite === undefined) atWrite = ours() ?? (() => undefined);
    return write(chunk, ...rest);
  }) as typeof stdout.write;
  const done = runServe([dir], { port: 0 }, { stdout, stderr: new PassThrough() });
  for (let i = 0; i < 200 && atWrite === undefined; i++) await new Promise((r) => setTimeout(r, 25));
  const handler = ours();
  expect(atWrite, 'a SIGINT handler of serve when the URL was written').toBe(handler);
  handler?.('SIGINT');
  expect(await done).toBe(0);
  expect(out).toMatch(/press Ctrl-C to stop\nstopped\n$/);
  expect(ours()).toBeUndefined();
});
