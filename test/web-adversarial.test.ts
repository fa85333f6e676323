/**
 * What a hostile page, file or client tried against the web server (issue 16, items 4, 5, 6, 9,
 * 11 and the web parts of 12), each against a real server on 127.0.0.1 port 0. Bounds are
 * asserted in counts and bytes, never in time.
 */
import { request, type IncomingMessage } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CaptureParser } from '../src/decode/file/parser.js';
import { PcapWriter, PcapngWriter } from '../src/decode/file/writer.js';
import type { PacketToWrite } from '../src/decode/file/types.js';
import { arpRequest, ethernet, vxlanPacket } from '../src/synth/frames.js';
import { buildCaptureIndex, readRecords } from '../src/web/capture-index.js';
import { filterIndex, parseFilter } from '../src/web/filter.js';
import { writeSampleSession } from '../src/web/sample.js';
import { sessionFromArgs, sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { runServe } from '../src/cli/serve.js';
import { sink } from './helpers/cli.js';

const root = mkdtempSync(path.join(tmpdir(), 'vxi-web-adv-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  trailers: Record<string, string | undefined>;
  body: Buffer;
}

/** A raw HTTP request to `server` (fetch sets neither Host nor Sec-Fetch-Site as a test needs). */
function raw(
  server: RunningServer,
  method: string,
  p: string,
  headers: Record<string, string | number> = {},
  body?: Uint8Array,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path: p, headers: { Host: `127.0.0.1:${server.port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The error an API answer carries: `{ "error": { "code", "message" } }`. */
const apiError = (r: Reply): { code: string; message: string } =>
  (JSON.parse(r.body.toString('utf8')) as { error: { code: string; message: string } }).error;

function arpFrame(k: number): Uint8Array {
  return ethernet(
    'ff:ff:ff:ff:ff:ff',
    '52:54:00:aa:00:11',
    0x0806,
    arpRequest('52:54:00:aa:00:11', '10.220.220.11', `10.220.${(k >> 8) & 255}.${k & 255}`),
  );
}

/** A VXLAN packet whose inner frame carries `pad` bytes after an ARP request. */
function vxlanOf(k: number, pad = 0): Uint8Array {
  const inner = arpFrame(k);
  const padded = new Uint8Array(inner.length + pad);
  padded.set(inner);
  return vxlanPacket(padded);
}

/** Open descriptors of this process that point at `file`. */
function fdsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** Waits (polling, at most `tries` times) until `cond` holds; returns whether it did. */
async function eventually(cond: () => boolean, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** Bytes this process read through read(2) and friends so far (/proc/self/io rchar). */
function rchar(): number {
  const m = /^rchar:\s+(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(m?.[1] ?? NaN);
}

describe('item 4: the packet filter and other sites', () => {
  const dir = path.join(root, 'sample');
  let server: RunningServer;
  beforeAll(async () => {
    writeSampleSession(dir);
    server = await startServer(sessionFromDir(dir), { port: 0 });
  });
  afterAll(async () => server?.close());

  test('a filter is bounded in length and terms, with a 400 that says so', async () => {
    expect(() => parseFilter(Array(1000).fill('proto=vxlan').join(' '))).toThrow(/filter is 11999 characters long: at most 1024/);
    expect(() => parseFilter(Array(40).fill('vxlan').join(' '))).toThrow(/more than 32 terms/);
    const id = server.store.captures()[0]!.id;
    const r = await raw(
      server,
      'GET',
      `/api/captures/${id}/packets?filter=${encodeURIComponent(Array(1000).fill('proto=vxlan').join(' '))}`,
    );
    expect(r.status).toBe(400);
    expect(apiError(r)).toMatchObject({ code: 'VXI_USAGE', message: expect.stringMatching(/at most 1024 are accepted/) });
    const p = await raw(server, 'GET', `/api/captures/${id}/position/1?filter=${Array(33).fill('arp').join('+')}`);
    expect(p.status).toBe(400);
    expect(apiError(p)).toMatchObject({ code: 'VXI_USAGE', message: expect.stringMatching(/more than 32 terms/) });
  });

  test('identical terms count once: the cost does not grow with repeats', () => {
    expect(parseFilter(Array(32).fill('proto=vxlan').join(' '))).toEqual([{ kind: 'proto', proto: 'vxlan' }]);
    expect(parseFilter('vni=10 vni 10 10 ip=10.0.0.1 ip 10.0.0.1 10.0.0.1')).toHaveLength(2);
    const c = server.store.captures()[0]!;
    expect(
      filterIndex(c.index, [
        { kind: 'proto', proto: 'vxlan' },
        { kind: 'proto', proto: 'vxlan' },
      ]),
    ).toEqual(filterIndex(c.index, [{ kind: 'proto', proto: 'vxlan' }]));
  });

  test('every API route refuses what a browser says comes from another site, GETs too', async () => {
    const id = server.store.captures()[0]!.id;
    const self = `http://127.0.0.1:${server.port}`;
    for (const p of [
      '/api/session',
      `/api/captures/${id}/packets?filter=vxlan`,
      `/api/captures/${id}/file`,
      `/api/captures/${id}/inner.pcap`,
      '/api/diagnostics',
      '/api/events',
    ]) {
      for (const headers of <Record<string, string>[]>[
        { 'Sec-Fetch-Site': 'cross-site' },
        { 'Sec-Fetch-Site': 'same-site' },
        { Origin: 'http://evil.example' },
        { Origin: 'null' },
        { Origin: `http://127.0.0.1:${server.port + 1}` },
      ]) {
        const r = await raw(server, 'GET', p, headers);
        expect(r.status, `${p} ${JSON.stringify(headers)}`).toBe(403);
        expect(apiError(r)).toMatchObject({
          code: 'VXI_WEB_FORBIDDEN',
          message: expect.stringMatching(/refused: open the page served at/),
        });
      }
    }
    // the page's own requests, a typed URL, curl: fine
    for (const headers of <Record<string, string>[]>[
      {},
      { 'Sec-Fetch-Site': 'same-origin', Origin: self },
      { 'Sec-Fetch-Site': 'none' },
      { Origin: self },
    ]) {
      expect((await raw(server, 'GET', '/api/session', headers)).status, JSON.stringify(headers)).toBe(200);
    }
    // the page itself may be opened from a link elsewhere
    expect((await raw(server, 'GET', '/', { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(200);
  });
});

describe('item 5: a damaged tail is not read to serve a packet', () => {
  const dir = path.join(root, 'tail');
  const frames = [0, 1, 2].map((k) => ({ tsSec: 1_700_000_000 + k, tsNsec: 0, data: vxlanOf(k) }));
  const TAIL = 17 * 1024 * 1024;
  const write = (name: string, head: Uint8Array): string => {
    const file = path.join(dir, name);
    const out = Buffer.alloc(head.length + TAIL, 0xff);
    out.set(head);
    writeFileSync(file, out);
    return file;
  };
  beforeAll(() => mkdirSync(dir, { recursive: true }));

  test.each([
    ['pcap', () => new PcapWriter().file(frames)],
    ['pcapng', () => new PcapngWriter().file(frames)],
  ])('%s: the last packet is re-read by its own length, not up to 16 MiB', async (format, make) => {
    const file = write(`kvm1-eth1.${format}`, make());
    const index = await buildCaptureIndex(file);
    expect(index.count).toBe(3);
    expect(index.error).toBeDefined();
    const stats = { bytesRead: 0 };
    const before = rchar();
    const got = await readRecords(index, [2], stats);
    const read = rchar() - before;
    expect(Buffer.from(got.get(2)!.data)).toEqual(Buffer.from(frames[2]!.data));
    expect(stats.bytesRead).toBeGreaterThan(0);
    expect(stats.bytesRead).toBeLessThan(4096);
    // measured outside the code too (loosely: this process reads other things meanwhile)
    expect(read).toBeLessThan(1024 * 1024);
  });

  test('through the API: the packet is served', async () => {
    const server = await startServer(sessionFromArgs([path.join(dir, 'kvm1-eth1.pcap')]), { port: 0 });
    try {
      const id = server.store.captures()[0]!.id;
      const before = rchar();
      const replies = await Promise.all(Array.from({ length: 20 }, () => raw(server, 'GET', `/api/captures/${id}/packets/3`)));
      expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(rchar() - before).toBeLessThan(8 * 1024 * 1024);
    } finally {
      await server.close();
    }
  });
});

describe('item 6: the upload quota holds for uploads side by side', () => {
  const LIMIT = 4096;
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(undefined, { port: 0, uploadLimitBytes: LIMIT });
  });
  afterAll(async () => server?.close());

  /** A valid capture of `count` frames of about `size` bytes each. */
  const capture = (count: number, pad: number): Uint8Array =>
    new PcapWriter().file(Array.from({ length: count }, (_, k) => ({ tsSec: 1 + k, tsNsec: 0, data: vxlanOf(k, pad) })));

  test('ten uploads at once of the largest size: only what fits the total (8 × the limit) is taken', async () => {
    const body = capture(4, 900);
    expect(body.length).toBeLessThanOrEqual(LIMIT);
    expect(body.length).toBeGreaterThan(LIMIT * 0.9);
    const store = server.store;
    let accepted = 0;
    const uploadPath = store.uploadPath.bind(store);
    store.uploadPath = () => {
      accepted++;
      return uploadPath();
    };
    let refused = 0;
    const results: Promise<Reply>[] = [];
    const finishers: (() => void)[] = [];
    for (let k = 0; k < 10; k++) {
      results.push(
        new Promise<Reply>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: server.port,
              method: 'POST',
              path: `/api/captures?name=kvm${k}-eth1.pcap`,
              headers: { Host: `127.0.0.1:${server.port}`, 'X-VXI-Token': server.token, 'Content-Length': body.length },
            },
            (res) => {
              const chunks: Buffer[] = [];
              if (res.statusCode === 413) refused++;
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: {}, body: Buffer.concat(chunks) }),
              );
            },
          );
          req.on('error', reject);
          req.write(body.subarray(0, 100));
          finishers.push(() => req.end(body.subarray(100)));
        }),
      );
    }
    // every upload is being received or refused before any of them ends
    expect(await eventually(() => accepted + refused === 10)).toBe(true);
    for (const f of finishers) f();
    const replies = await Promise.all(results);
    const ok = replies.filter((r) => r.status === 201).length;
    expect(ok).toBe(8);
    expect(replies.filter((r) => r.status === 413).map((r) => apiError(r))).toEqual(
      Array(2).fill({ code: 'VXI_WEB_TOO_LARGE', message: expect.stringMatching(/fill the 0 MB this server keeps for them/) }),
    );
    expect(store.uploadedBytes).toBeLessThanOrEqual(8 * LIMIT);
    // the quota is spent: one more of that size is refused now
    expect(
      (await raw(server, 'POST', '/api/captures?name=late.pcap', { 'X-VXI-Token': server.token, 'Content-Length': body.length }, body))
        .status,
    ).toBe(413);
  });

  test('an upload holds at most one packet per 64 bytes of the limit: its index stays bounded', async () => {
    const other = await startServer(undefined, { port: 0, uploadLimitBytes: LIMIT });
    try {
      const many = new PcapWriter().file(Array.from({ length: 100 }, (_, k) => ({ tsSec: 1, tsNsec: k, data: new Uint8Array(14) })));
      expect(many.length).toBeLessThanOrEqual(LIMIT);
      const r = await raw(
        other,
        'POST',
        '/api/captures?name=many.pcap',
        { 'X-VXI-Token': other.token, 'Content-Length': many.length },
        many,
      );
      expect(r.status).toBe(413);
      expect(apiError(r)).toMatchObject({
        code: 'VXI_WEB_TOO_LARGE',
        message: expect.stringMatching(/many\.pcap has more than 64 packets: uploads are indexed up to that many/),
      });
      expect(other.store.captures()).toHaveLength(0);
      // its reservation was given back: a whole quota's worth still fits
      const ok = capture(4, 900);
      for (let k = 0; k < 8; k++)
        expect(
          (await raw(other, 'POST', `/api/captures?name=k${k}-eth1.pcap`, { 'X-VXI-Token': other.token, 'Content-Length': ok.length }, ok))
            .status,
        ).toBe(201);
    } finally {
      await other.close();
    }
  });
});

describe('item 9: the inner-only pcap of a capture with odd timestamps', () => {
  const dir = path.join(root, 'ts');
  beforeAll(() => mkdirSync(dir, { recursive: true }));

  test('a µs field of 10⁶ or more is carried into the seconds; every frame is written', async () => {
    // the µs writer puts tsNsec / 1000 in the sub-second field: 0xffffffff µs is 4294.967295 s
    const pkts: PacketToWrite[] = [
      { tsSec: 1_700_000_000, tsNsec: 0, data: vxlanOf(1) },
      { tsSec: 1_700_000_001, tsNsec: 0xffffffff * 1000, data: vxlanOf(2) },
      { tsSec: 1_700_000_002, tsNsec: 1_500_000 * 1000, data: vxlanOf(3) },
      { tsSec: 1_700_000_003, tsNsec: 5000, data: vxlanOf(4) },
    ];
    const file = path.join(dir, 'kvm1-eth1.pcap');
    writeFileSync(file, new PcapWriter().file(pkts));
    const server = await startServer(sessionFromArgs([file]), { port: 0 });
    try {
      const r = await raw(server, 'GET', `/api/captures/${server.store.captures()[0]!.id}/inner.pcap`);
      expect(r.status).toBe(200);
      expect(r.trailers['x-vxi-skipped']).toBe('0');
      expect(r.trailers['x-vxi-timestamps-normalised']).toBe('2');
      const p = new CaptureParser();
      p.push(r.body);
      p.end();
      const got = [];
      for (let x = p.next(); x; x = p.next()) got.push(x);
      expect(p.error).toBeUndefined();
      expect(got.map((x) => [x.tsSec, x.tsNsec])).toEqual([
        [1_700_000_000, 0],
        [1_700_000_001 + 4294, 967_295_000],
        [1_700_000_003, 500_000_000],
        [1_700_000_003, 5000],
      ]);
      expect(got.map((x) => x.caplen)).toEqual(pkts.map((x) => x.data.length - 50));
    } finally {
      await server.close();
    }
  });

  test('a timestamp after 2106 does not fit: that frame is left out and the trailer says so', async () => {
    const pkts: PacketToWrite[] = [
      { tsSec: 1_700_000_000, tsNsec: 0, data: vxlanOf(1) },
      { tsSec: 2 ** 32 + 10, tsNsec: 0, data: vxlanOf(2) },
      { tsSec: 1_700_000_002, tsNsec: 0, data: vxlanOf(3) },
    ];
    const file = path.join(dir, 'kvm2-eth1.pcapng');
    writeFileSync(file, new PcapngWriter().file(pkts));
    const server = await startServer(sessionFromArgs([file]), { port: 0 });
    try {
      const r = await raw(server, 'GET', `/api/captures/${server.store.captures()[0]!.id}/inner.pcap`);
      expect(r.status).toBe(200);
      expect(r.trailers['x-vxi-skipped']).toMatch(/^1 frame\(s\) left out: their timestamp is after 2106/);
      const p = new CaptureParser();
      p.push(r.body);
      p.end();
      let n = 0;
      while (p.next()) n++;
      expect(p.error).toBeUndefined();
      expect(n).toBe(2);
    } finally {
      await server.close();
    }
  });
});

describe('item 11: a client that goes away', () => {
  const dir = path.join(root, 'big');
  const routes = ['inner.pcap', 'packets.ndjson', 'file'] as const;
  // one copy of the capture per route: a descriptor left open by one is not blamed on another
  const fileOf = (what: string): string => path.join(dir, `${what.replace(/\W/g, '_')}-eth1.pcap`);
  let server: RunningServer;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.message);
  };
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    // ~18 MB of VXLAN frames: more than the socket buffers of both ends hold
    const w = new PcapWriter();
    const parts = [w.header()];
    for (let k = 0; k < 12_000; k++) parts.push(w.record({ tsSec: 1_700_000_000, tsNsec: k * 1000, data: vxlanOf(k, 1400) }));
    const bytes = Buffer.concat(parts);
    for (const what of routes) writeFileSync(fileOf(what), bytes);
    server = await startServer(sessionFromArgs(routes.map(fileOf)), { port: 0 });
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await server?.close();
  });

  test.each(routes)('%s: the handler stops and the file is closed', async (what) => {
    const file = fileOf(what);
    expect(fdsOn(file)).toBe(0);
    const id = server.store.captures().find((c) => c.path === file)!.id;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: `/api/captures/${id}/${what}`, headers: { Host: `127.0.0.1:${server.port}` } },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            // stop reading: the server fills the socket and waits; then go away
            res.pause();
            void eventually(() => fdsOn(file) > 0).then(() => {
              req.destroy();
              resolve();
            });
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ECONNRESET') reject(e);
      });
      req.end();
    });
    expect(await eventually(() => fdsOn(file) === 0)).toBe(true);
    expect(warnings.filter((w) => /garbage collection/.test(w))).toEqual([]);
  });
});

describe('item 12: what a served folder may hold', () => {
  test('a dangling capture symlink is skipped with a note; the rest is served', async () => {
    const dir = path.join(root, 'dangling');
    writeSampleSession(dir);
    symlinkSync(path.join(dir, 'gone.pcap'), path.join(dir, 'kvm3-eth1.pcap'));
    const s = sessionFromDir(dir);
    expect(s.files).toHaveLength(4);
    const out = sink();
    const err = sink();
    const code = await runServe([dir], { port: 0, live: false }, { stdout: out.stream, stderr: err.stream }, AbortSignal.abort());
    expect(code).toBe(0);
    expect(out.text()).toMatch(/serving 4 capture\(s\)/);
    expect(out.text()).toMatch(/skipped kvm3-eth1\.pcap: is a symlink to nothing/);
  });

  test('session.json of null, or a node of null: an error naming the file and the key', () => {
    const dir = path.join(root, 'nulls');
    mkdirSync(dir);
    const sj = path.join(dir, 'session.json');
    writeFileSync(sj, 'null');
    expect(() => sessionFromDir(dir)).toThrow(
      new RegExp(`${sj.replace(/[/.]/g, '\\$&')} is not a session file: it must hold a JSON object`),
    );
    writeFileSync(sj, '{"nodes":[null]}');
    expect(() => sessionFromDir(dir)).toThrow(/session\.json: nodes\[0\] must be an object/);
    writeFileSync(sj, '{"nodes":{"name":"kvm1"}}');
    expect(() => sessionFromDir(dir)).toThrow(/session\.json: "nodes" must be a list/);
  });

  test('symlinks: never out of the folder, and nothing of a file that is not a capture is shown', async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'shadow'), 'root:$6$secret:19000:0:99999:7:::\n');
    const dir = path.join(root, 'links');
    writeSampleSession(dir);
    writeFileSync(path.join(outside, 'kvm9-eth1.pcap'), readFileSync(path.join(dir, 'kvm1-eth1.pcap')));
    symlinkSync(path.join(outside, 'shadow'), path.join(dir, 'kvm7-eth1.pcap'));
    symlinkSync(path.join(outside, 'kvm9-eth1.pcap'), path.join(dir, 'kvm9-eth1.pcap'));
    writeFileSync(path.join(dir, 'notes.txt'), 'root: not a capture');
    symlinkSync('notes.txt', path.join(dir, 'kvm8-eth1.pcap'));
    const server = await startServer(sessionFromDir(dir), { port: 0 });
    try {
      const r = await raw(server, 'GET', '/api/session');
      const body = r.body.toString('utf8');
      expect(body).not.toMatch(/726f6f74|root/);
      const s = JSON.parse(r.body.toString('utf8')) as { captures: { name: string }[]; problems: string[] };
      expect(s.captures.map((c) => c.name)).not.toContain('kvm9-eth1.pcap');
      expect(s.problems).toEqual(
        expect.arrayContaining([
          'kvm7-eth1.pcap: is a symlink to a file outside the capture folder: not served',
          'kvm9-eth1.pcap: is a symlink to a file outside the capture folder: not served',
          expect.stringMatching(/^kvm8-eth1\.pcap: not a pcap or pcapng capture file \(what it holds is not shown/),
        ]),
      );
      const d = await raw(server, 'GET', '/api/diagnostics');
      expect(d.body.toString('utf8')).not.toMatch(/726f6f74|root/);
    } finally {
      await server.close();
    }
  });

  test('session.json: "..kvm1.pcap" is a name inside the folder; a symlink out of it is skipped', () => {
    const dir = path.join(root, 'dots');
    writeSampleSession(dir);
    writeFileSync(path.join(dir, '..kvm1.pcap'), readFileSync(path.join(dir, 'kvm1-eth1.pcap')));
    symlinkSync('/etc/hostname', path.join(dir, 'out.pcap'));
    writeFileSync(
      path.join(dir, 'session.json'),
      JSON.stringify({ nodes: [{ name: 'kvm1', underlay: '..kvm1.pcap', overlay: 'out.pcap' }] }),
    );
    const s = sessionFromDir(dir);
    expect(s.files.map((f) => f.name)).toEqual(['..kvm1.pcap']);
    expect(s.skipped).toEqual(['out.pcap: is a symlink to a file outside the capture folder: not served']);
    writeFileSync(path.join(dir, 'session.json'), JSON.stringify({ nodes: [{ name: 'kvm1', underlay: '../kvm1.pcap' }] }));
    expect(() => sessionFromDir(dir)).toThrow(/is outside the capture folder/);
  });

  test('--host 127.0.0.2 is this machine only: no warning', async () => {
    const dir = path.join(root, 'loop');
    writeSampleSession(dir);
    // (an exposed address is not tried: tests listen on loopback only)
    for (const host of ['127.0.0.2', '127.255.0.9']) {
      const out = sink();
      const err = sink();
      expect(await runServe([dir], { port: 0, host, live: false }, { stdout: out.stream, stderr: err.stream }, AbortSignal.abort())).toBe(
        0,
      );
      expect(out.text(), host).toMatch(new RegExp(`open http://${host.replace(/\./g, '\\.')}:\\d+/#token=`));
      expect(out.text(), host).not.toMatch(/warning: listening on/);
    }
  });
});
