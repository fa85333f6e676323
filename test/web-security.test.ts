/**
 * The server's guards, against a real server on 127.0.0.1: Host checks (DNS rebinding), the
 * token and same-origin rule for state-changing requests, the upload size limit, and that no
 * path outside what was served can be read.
 */
import { request } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PcapWriter } from '../src/decode/file/writer.js';
import { vxlanPacket, ethernet, arpRequest } from '../src/synth/frames.js';
import { writeSampleSession } from '../src/web/sample.js';
import { sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-sec-'));
const secret = path.join(dir, 'secret.txt');
let server: RunningServer;

interface Reply {
  status: number;
  body: string;
}

/** A raw HTTP request (fetch does not let a test set Host). */
function raw(method: string, p: string, headers: Record<string, string | number> = {}, body?: Uint8Array | string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path: p, headers: { Host: `127.0.0.1:${server.port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const capture = new PcapWriter().file([
  {
    tsSec: 1,
    tsNsec: 0,
    data: vxlanPacket(
      ethernet('ff:ff:ff:ff:ff:ff', '52:54:00:aa:00:11', 0x0806, arpRequest('52:54:00:aa:00:11', '10.220.220.11', '10.220.220.12')),
    ),
  },
]);

beforeAll(async () => {
  writeSampleSession(dir);
  writeFileSync(secret, 'TOP-SECRET-CONTENT');
  server = await startServer(sessionFromDir(dir), { port: 0, uploadLimitBytes: 4096 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('binding and Host', () => {
  test('listens on 127.0.0.1 by default, with a fresh random token', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(server.openUrl).toBe(`${server.url}#token=${server.token}`);
    const other = await startServer(undefined, { port: 0 });
    expect(other.token).not.toBe(server.token);
    await other.close();
  });

  test('a Host that is not this server is refused on every route (DNS rebinding)', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${server.port}`,
      `127.0.0.1:${server.port + 1}`,
      `localhost.evil.example:${server.port}`,
    ]) {
      for (const p of ['/', '/api/session', '/app.js']) {
        const r = await raw('GET', p, { Host: host });
        expect(r.status, `${host} ${p}`).toBe(421);
      }
    }
    const r = await raw('GET', '/api/session', { Host: 'evil.example' });
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'VXI_WEB_HOST',
      message: expect.stringMatching(/is not this server: open it by its address/),
    });
  });

  test('its own address and localhost are fine', async () => {
    expect((await raw('GET', '/api/session')).status).toBe(200);
    expect((await raw('GET', '/api/session', { Host: `localhost:${server.port}` })).status).toBe(200);
  });
});

describe('state-changing requests', () => {
  const upload = (headers: Record<string, string | number>, body: Uint8Array | string = capture) =>
    raw(
      'POST',
      '/api/captures?name=kvm5-eth1.pcap',
      { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, ...headers },
      body,
    );

  test('need the token', async () => {
    let r = await upload({});
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'VXI_WEB_TOKEN',
      message: expect.stringMatching(/needs the token printed by `vxlan-inspect serve`/),
    });
    r = await upload({ 'X-VXI-Token': 'x'.repeat(24) });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'VXI_WEB_TOKEN', message: expect.stringMatching(/wrong token/) });
    r = await raw('POST', '/api/captures/live', { 'Content-Type': 'application/json' }, '{"node":"kvm1"}');
    expect(r.status).toBe(401);
  });

  test('need an Origin (or Referer) that is this server, when there is one', async () => {
    let r = await upload({ 'X-VXI-Token': server.token, Origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'VXI_WEB_FORBIDDEN', message: expect.stringMatching(/from another site/) });
    r = await upload({ 'X-VXI-Token': server.token, Origin: 'null' });
    expect(r.status).toBe(403);
    r = await upload({ 'X-VXI-Token': server.token, Referer: 'http://evil.example/page' });
    expect(r.status).toBe(403);
    r = await upload({ 'X-VXI-Token': server.token, Origin: `http://127.0.0.1:${server.port}` });
    expect(r.status).toBe(201);
  });

  test('live capture: token checked, then a clear "not available"', async () => {
    const r = await raw(
      'POST',
      '/api/captures/live',
      { 'X-VXI-Token': server.token, 'Content-Type': 'application/json' },
      '{"node":"kvm1"}',
    );
    expect(r.status).toBe(501);
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'VXI_WEB_UNAVAILABLE',
      message: expect.stringMatching(/live capture is not available/),
    });
  });
});

describe('uploads', () => {
  test('over the limit: 413 with the limit in words, nothing kept', async () => {
    const big = new Uint8Array(5000);
    big.set(capture);
    const before = (await (await fetch(`${server.url}api/session`)).json()).captures.length;
    const r = await raw('POST', '/api/captures?name=big.pcap', { 'X-VXI-Token': server.token, 'Content-Length': big.length }, big);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'VXI_WEB_TOO_LARGE',
      message: expect.stringMatching(/big\.pcap is .* MB: uploads are limited to 0 MB|limited to/),
    });
    const after = (await (await fetch(`${server.url}api/session`)).json()).captures.length;
    expect(after).toBe(before);
  });

  test('over the limit without a Content-Length (chunked): stopped while streaming', async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/api/captures?name=stream.pcap',
          headers: { Host: `127.0.0.1:${server.port}`, 'X-VXI-Token': server.token, 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.write(capture);
      req.write(new Uint8Array(3000));
      req.write(new Uint8Array(3000));
      req.end();
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'VXI_WEB_TOO_LARGE',
      message: expect.stringMatching(/larger than the .* upload limit/),
    });
  });

  test('not a capture: 400 that says so, file removed', async () => {
    const r = await raw('POST', '/api/captures?name=notes.txt', { 'X-VXI-Token': server.token, 'Content-Length': 12 }, 'hello world\n');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatchObject({
      code: 'VXI_CAPTURE_FORMAT',
      message: expect.stringMatching(
        /notes\.txt is not a capture file we can read: not a pcap or pcapng capture: unknown magic 0x68656c6c/,
      ),
    });
  });

  test('empty: 400', async () => {
    const r = await raw('POST', '/api/captures?name=empty.pcap', { 'X-VXI-Token': server.token, 'Content-Length': 0 }, '');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'VXI_WEB_BAD_REQUEST', message: expect.stringMatching(/empty/) });
  });

  test('a file name with a path is reduced to its base name', async () => {
    const r = await raw(
      'POST',
      `/api/captures?name=${encodeURIComponent('../../etc/kvm6-eth1.pcap')}`,
      { 'X-VXI-Token': server.token, 'Content-Length': capture.length },
      capture,
    );
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body).capture.name).toBe('kvm6-eth1.pcap');
    // nothing was written into the served folder
    expect(readdirSync(dir).sort()).toEqual([
      'kvm1-eth1.pcap',
      'kvm1-vxlan_bridge.pcap',
      'kvm2-eth1.pcap',
      'kvm2-vxlan_bridge.pcap',
      'secret.txt',
    ]);
  });
});

describe('no path outside what is served', () => {
  test('traversal in static paths and ids finds nothing', async () => {
    const paths = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/vendor/../../secret.txt',
      '/vendor/..%2f..%2f..%2fpackage.json',
      `/${encodeURIComponent(secret)}`,
      '/api/captures/..%2fsecret.txt/file',
      `/api/captures/${encodeURIComponent(secret)}/file`,
      '/api/captures/c1%2f..%2f..%2fsecret.txt/file',
      '/%2e%2e%2f%2e%2e%2fpackage.json',
      '/.git/config',
      '/../../../../etc/passwd',
    ];
    for (const p of paths) {
      const r = await raw('GET', p);
      expect([400, 403, 404], p).toContain(r.status);
      expect(r.body, p).not.toMatch(/TOP-SECRET|"name": "vxlan-inspect"|root:x:0/);
    }
  });

  test('the page and its assets are served, chart.js locally', async () => {
    const page = await raw('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<script src="\/vendor\/chart.umd.js"/);
    expect(page.body).not.toMatch(/https?:\/\//);
    const chart = await raw('GET', '/vendor/chart.umd.js');
    expect(chart.status).toBe(200);
    expect(chart.body).toMatch(/Chart/);
  });

  test('security headers: no framing, no sniffing, same-origin assets only', async () => {
    const r = await fetch(server.url);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  });
});
