/**
 * Live capture from the web view against the namespace lab: `serve` with the namespace starter
 * (the capture CLI runs inside the lab's frontend namespace: real OpenSSH sshd on kvm1/kvm2, real
 * tcpdump, the kernel's VXLAN) while the lab's traffic mix runs. Through the API: the token is
 * required, the server-sent events say what happens, the files grow and are valid pcaps once
 * stopped; then the same from the page's Live control in chromium.
 *
 * Network safety: this process talks only to 127.0.0.1 (the web server). What talks SSH to the
 * lab's 10.3.1.x runs inside <prefix>frontend, and the starter checks that namespace exists before
 * it starts anything (tested). Root only; skipped with the reason elsewhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labTraffic, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { startBackground, type Background } from '../src/lab/run.js';
import { netnsCaptureStarter } from '../src/web/live.js';
import type { ApiErrorBody } from '../src/web/api-types.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { canRunNetns, namespaces, uniquePrefix } from './helpers/netns.js';
import { wholePcapCount } from './helpers/pcap.js';

const can = canRunNetns();
const suite = can.ok ? describe : describe.skip;
if (!can.ok) describe.skip(`live capture from the web view (skipped: ${can.reason})`, () => it('skipped', () => {}));

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const CHROMIUM = '/usr/bin/chromium';

interface Child {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

function startChild(argv: string[]): Child {
  const child = spawn(argv[0] as string, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

/**
 * A client of the web view that runs where the server runs (inside a namespace): starts a live
 * capture of NODE for SECONDS with the token, waits until it has ended, prints the session.
 */
const CLIENT = `const [url, token, node, seconds] = process.argv.slice(1);
const j = async (r) => { const t = await r.text(); if (!r.ok) throw new Error(r.status + ' ' + t); return JSON.parse(t); };
(async () => {
  const start = await j(await fetch(url + 'api/captures/live', {
    method: 'POST',
    headers: { 'X-VXI-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ node, durationSec: Number(seconds) }),
  }));
  const end = Date.now() + 30000;
  for (;;) {
    const s = await j(await fetch(url + 'api/session'));
    const c = s.liveCaptures.find((x) => x.id === start.id);
    if (c && !c.running) { console.log(JSON.stringify({ start, session: s })); return; }
    if (Date.now() > end) throw new Error('the capture did not end: ' + JSON.stringify(c));
    await new Promise((r) => setTimeout(r, 200));
  }
})().catch((e) => { console.error(e.message); process.exit(1); });`;

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads /api/events into a list as events arrive. */
async function listen(url: string): Promise<{ events: SseEvent[]; close(): void }> {
  const ac = new AbortController();
  const res = await fetch(`${url}api/events`, { signal: ac.signal });
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  void (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
          events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, close: () => ac.abort() };
}

async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

suite('live capture from the web view, through the lab frontend namespace', () => {
  const prefix = uniquePrefix();
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-live-api-'));
  const outRoot = path.join(tmp, 'captures');
  let lab: LabHandle | undefined;
  let server: RunningServer | undefined;
  let trafficOn = false;
  let traffic: Promise<void> | undefined;
  let steady: Background | undefined;

  beforeAll(async () => {
    lab = await labUp({ prefix, dir: path.join(tmp, 'lab'), provisioned: true });
    const h = lab;
    server = await startServer(undefined, {
      port: 0,
      startCapture: netnsCaptureStarter(h.frontendNetns, h.inventoryPath, { outRoot, followIntervalMs: 300, statsIntervalMs: 500 }),
      liveNodes: ['kvm1', 'kvm2'],
    });
    // the classroom mix has pauses (it starts its servers): a steady vm1 → vm2 ping fills them
    steady = startBackground(netnsExec(`${prefix}vm1`, ['ping', '-n', '-q', '-i', '0.2', '10.220.220.6']));
    trafficOn = true;
    traffic = (async () => {
      while (trafficOn) await labTraffic({ prefix, durationSec: 3 }).catch(() => new Promise((r) => setTimeout(r, 500)));
    })();
  });

  afterAll(async () => {
    trafficOn = false;
    await steady?.stop('SIGINT', 2000);
    await server?.close().catch(() => undefined);
    await Promise.race([traffic, new Promise((r) => setTimeout(r, 10_000))]);
    await labDown({ prefix, dir: path.join(tmp, 'lab') });
    rmSync(tmp, { recursive: true, force: true });
  });

  const post = (p: string, headers: Record<string, string>, body?: unknown): Promise<Response> =>
    fetch(`${server!.url}${p.slice(1)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('refuses to start without the token, with a wrong one, or from another site; nothing is started', async () => {
    const token = server!.token;
    const none = await post('/api/captures/live', {}, { node: 'kvm1' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as ApiErrorBody).error).toMatchObject({
      code: 'VXI_WEB_TOKEN',
      message: expect.stringMatching(/needs the token/),
    });
    expect((await post('/api/captures/live', { 'X-VXI-Token': 'x'.repeat(token.length) }, { node: 'kvm1' })).status).toBe(403);
    expect((await post('/api/captures/live', { 'X-VXI-Token': token, Origin: 'http://evil.example' }, { node: 'kvm1' })).status).toBe(403);
    expect((await post('/api/captures/live/live1/stop', {})).status).toBe(401);
    const bad = await post('/api/captures/live', { 'X-VXI-Token': token }, { node: 'kvm9' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ApiErrorBody).error.message).toMatch(/no node "kvm9" in the inventory/);
    for (const node of ['constructor', '__proto__', 'toString']) {
      const proto = await post('/api/captures/live', { 'X-VXI-Token': token }, { node });
      expect(proto.status, node).toBe(400);
      expect(((await proto.json()) as ApiErrorBody).error.message).toContain(`no node "${node}" in the inventory`);
    }
    expect(existsSync(outRoot) ? readdirSync(outRoot) : []).toEqual([]);
    const s = (await (await fetch(`${server!.url}api/session`)).json()) as { live: boolean; liveNodes: string[]; liveCaptures: unknown[] };
    expect(s).toMatchObject({ live: true, liveNodes: ['kvm1', 'kvm2'], liveCaptures: [] });
  });

  it('does not start anything when the namespace is missing', async () => {
    const starter = netnsCaptureStarter(`${prefix}nope`, lab!.inventoryPath, { outRoot });
    await expect(starter({ node: 'kvm1' }, server!.store, () => undefined)).rejects.toThrow(
      /namespace .*nope does not exist.*nothing was sent/,
    );
    expect(existsSync(outRoot) ? readdirSync(outRoot) : []).toEqual([]);
  });

  it("a capture that cannot start answers with the capture's own reason, naming node and interface", async () => {
    const r = await post('/api/captures/live', { 'X-VXI-Token': server!.token }, { node: 'kvm1', interfaces: ['nosuch0'] });
    const body = (await r.json()) as ApiErrorBody;
    expect(r.status, body.error.message).toBeGreaterThanOrEqual(400);
    expect(body.error.code).toBe('VXI_CAPTURE');
    expect(body.error.message).toMatch(/kvm1.*nosuch0/);
    expect(body.error.message).toMatch(new RegExp(`through namespace ${prefix}frontend`));
    const s = (await (await fetch(`${server!.url}api/session`)).json()) as { liveCaptures: unknown[]; captures: unknown[] };
    expect([s.liveCaptures, s.captures]).toEqual([[], []]);
  });

  it('starts with the token: events, growing files, then valid pcaps once stopped', async () => {
    const sse = await listen(server!.url);
    try {
      const r = await post('/api/captures/live', { 'X-VXI-Token': server!.token }, { node: 'kvm1' });
      const body = (await r.json()) as { id: string; status: { running: boolean; interfaces: string[] } };
      expect(r.status, JSON.stringify(body)).toBe(202);
      expect(body.status).toMatchObject({ running: true, interfaces: ['eth1', 'vxlan_bridge'] });
      const id = body.id;

      const start = await until('live-start', () => sse.events.find((e) => e.event === 'live-start' && e.data.id === id), Boolean, 5000);
      const outDir = start!.data.outDir as string;
      expect(start!.data).toMatchObject({ node: 'kvm1', via: `netns ${prefix}frontend` });
      const files = ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap'].map((f) => path.join(outDir, f));

      // the files grow, the store follows them, the page hears `update` and `live-stats`
      const size0 = statSync(files[0]!).size;
      await until(
        'VXLAN on kvm1 eth1 in the stats',
        () => sse.events.filter((e) => e.event === 'live-stats' && e.data.iface === 'eth1' && (e.data.vxlanPackets as number) > 0).length,
        (n) => n > 0,
        20_000,
      );
      expect(statSync(files[0]!).size).toBeGreaterThan(size0);
      expect(sse.events.filter((e) => e.event === 'update').length).toBeGreaterThan(0);
      const session = await until(
        'kvm1 correlated',
        async () =>
          (await (await fetch(`${server!.url}api/session`)).json()) as {
            nodes: { name: string; underlay: { tunnelled: number; live: boolean }; analysis: { matched: number } | null }[];
            liveCaptures: { id: string; running: boolean }[];
          },
        (s) => (s.nodes.find((n) => n.name === 'kvm1')?.analysis?.matched ?? 0) > 0,
        20_000,
      );
      expect(session.nodes.find((n) => n.name === 'kvm1')!.underlay).toMatchObject({ live: true });
      expect(session.liveCaptures).toContainEqual(expect.objectContaining({ id, running: true }));

      const stop = await post(`/api/captures/live/${id}/stop`, { 'X-VXI-Token': server!.token });
      expect(stop.status).toBe(200);
      expect(((await stop.json()) as { status: { running: boolean } }).status.running).toBe(false);
      const end = await until('live-end', () => sse.events.find((e) => e.event === 'live-end' && e.data.id === id), Boolean, 5000);
      expect(end!.data).toMatchObject({ ok: true, reason: 'stopped', errors: [] });

      // whole records only; the store read every one of them before it stopped following
      const after = (await (await fetch(`${server!.url}api/session`)).json()) as {
        captures: { name: string; packets: number; live: boolean }[];
      };
      for (const f of files) {
        const n = wholePcapCount(f);
        expect(n).toBeGreaterThan(0);
        expect(after.captures.find((c) => c.name === path.basename(f))).toMatchObject({ packets: n, live: false });
      }
      expect(JSON.parse(readFileSync(path.join(outDir, 'session.json'), 'utf8'))).toHaveProperty('nodes');
      // no tcpdump left on kvm1
      const pids = spawnSync('ip', ['netns', 'pids', `${prefix}kvm1`], { encoding: 'utf8' })
        .stdout.split(/\s+/)
        .filter(Boolean);
      const comms = pids.map((p) => {
        try {
          return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
        } catch {
          return 'gone';
        }
      });
      expect(comms).not.toContain('tcpdump');
    } finally {
      sse.close();
    }
  });

  it("serve --inventory of a lab: from this namespace the capture goes through the lab's frontend namespace", async () => {
    const c = startChild([process.execPath, BIN, 'serve', '--inventory', lab!.inventoryPath, '--port', '0']);
    try {
      await until(
        'the URL',
        () => c.out(),
        (o) => /^open http/m.test(o) || c.child.exitCode !== null,
        15_000,
      );
      expect(c.out(), c.err()).toMatch(
        new RegExp(
          `^live capture: kvm1, kvm2 of .*inventory\\.yaml, run inside namespace ${prefix}frontend, into a temporary folder$`,
          'm',
        ),
      );
    } finally {
      c.child.kill('SIGINT');
    }
    expect(await c.exited).toBe(0);
  });

  it("serve inside the frontend namespace: the page's capture runs over SSH from the server itself, for --duration", async () => {
    const ns = lab!.frontendNetns;
    if (!namespaces().includes(ns)) throw new Error(`namespace ${ns} does not exist: refusing to start anything`);
    const c = startChild(netnsExec(ns, [process.execPath, BIN, 'serve', '--inventory', lab!.inventoryPath, '--port', '0']));
    let outDir: string | undefined;
    try {
      const out = await until(
        'the URL',
        () => c.out(),
        (o) => /^open http/m.test(o) || c.child.exitCode !== null,
        15_000,
      );
      expect(out, c.err()).toMatch(/^live capture: kvm1, kvm2 of .*, over SSH from here, into a temporary folder$/m);
      const m = /^open (http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)$/m.exec(out)!;
      // the client talks to the server where it listens: 127.0.0.1 of the frontend namespace
      const client = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, m[1]!, m[2]!, 'kvm2', '2'], {
        encoding: 'utf8',
        timeout: 45_000,
      });
      expect(client.status, client.stderr).toBe(0);
      const { start, session } = JSON.parse(client.stdout) as {
        start: { id: string; status: { outDir: string } };
        session: {
          nodes: {
            name: string;
            underlay: { tunnelled: number; packets: number; live: boolean } | null;
            analysis: { matched: number } | null;
          }[];
          liveCaptures: { id: string; running: boolean; errors: string[] }[];
        };
      };
      outDir = start.status.outDir;
      const k2 = session.nodes.find((n) => n.name === 'kvm2');
      expect(k2?.underlay?.tunnelled, JSON.stringify(session).slice(0, 3000)).toBeGreaterThan(0);
      expect(k2?.underlay?.live).toBe(false);
      expect(k2?.analysis?.matched).toBeGreaterThan(0);
      expect(session.liveCaptures.find((x) => x.id === start.id)).toMatchObject({ running: false, errors: [] });
      expect(wholePcapCount(path.join(outDir, 'kvm2-eth1.pcap'))).toBe(k2!.underlay!.packets);
      expect(JSON.parse(readFileSync(path.join(outDir, 'session.json'), 'utf8'))).toMatchObject({ reason: 'duration' });
    } finally {
      c.child.kill('SIGINT');
      expect(await c.exited).toBe(0);
      if (outDir) rmSync(path.dirname(outDir), { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(CHROMIUM))('the page: Live, pick kvm2, Start, the node fills in, Stop', async () => {
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server!.openUrl);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
      await page.click('#live-toggle');
      await page.selectOption('#live-node', 'kvm2');
      await page.click('#live-start');
      await page.waitForSelector('#nodes button[data-node="kvm2"]', { timeout: 20_000 });
      await page.click('#nodes button[data-node="kvm2"]');
      // the overview of kvm2 fills in: underlay packets with VXLAN, and matched frames
      await page.waitForFunction(
        () => {
          const s = (
            window as unknown as {
              vxi: { session: { nodes: { name: string; underlay: { tunnelled: number } | null; analysis: { matched: number } | null }[] } };
            }
          ).vxi.session;
          const k = s.nodes.find((n) => n.name === 'kvm2');
          return (
            (k?.underlay?.tunnelled ?? 0) > 0 && (k?.analysis?.matched ?? 0) > 0 && document.querySelectorAll('#cards .card').length >= 5
          );
        },
        undefined,
        { timeout: 25_000 },
      );
      const row = page.locator('#live-list li', { hasText: 'kvm2' });
      await row.locator('.live').waitFor({ timeout: 5000 });
      expect(await row.textContent()).toMatch(/eth1 [\d,]+ packets \([\d,]+ VXLAN\)/);
      await row.locator('button.live-stop').click();
      await row.getByText('stopped').waitFor({ timeout: 20_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
