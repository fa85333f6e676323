/**
 * The class dashboard without a lab: the page's figures and words (class-data.ts, run in Node),
 * traffic rates per VNI, the background checker's scheduling (bounded sessions, a slow group
 * stalls only itself, "check now" goes first), and the server (board, events, guards) over a
 * class whose nodes refuse connections on 127.0.0.1 — the real check, failing for real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClassInventory } from '../src/class/inventory.js';
import type { ClassGroup, GroupCheck, VniTraffic } from '../src/class/types.js';
import type { ClassBoardResponse, ClassEvents, ClassGroupRow } from '../src/web/class-types.js';
import { ClassBoard } from '../src/web/class/board.js';
import { ClassMonitor } from '../src/web/class/monitor.js';
import { vniRates } from '../src/web/class/rates.js';
import {
  agoText,
  applyEvent,
  groupViewUrl,
  problems,
  rateText,
  sinceChecked,
  tally,
  vniSilent,
  vniText,
} from '../src/web/client/class-data.js';
import { startServer, type RunningServer } from '../src/web/server.js';

function classOf(groups: number, host = '127.0.0.1', port = 1): ReturnType<typeof parseClassInventory> {
  return parseClassInventory(
    `defaults: { user: root, identityFile: /nonexistent/id, knownHosts: /nonexistent/known_hosts, port: ${port} }
overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }
groups:
  count: ${groups}
  name: g{n:02}
  nodes:
    kvm1: { host: ${host}, bridgeAddress: 10.220.220.201/24 }
    kvm2: { host: ${host}, bridgeAddress: 10.220.220.202/24 }
`,
    '/c/class.yaml',
    '/c',
  );
}

function row(group: string, over: Partial<GroupCheck> = {}): GroupCheck {
  return {
    group,
    status: 'pass',
    checkedAt: new Date().toISOString(),
    durationMs: 5,
    cells: { ssh: { status: 'pass', detail: 'ok' } },
    checks: [{ node: 'kvm1', name: 'ssh', status: 'pass', detail: 'ok' }] as GroupCheck['checks'],
    traffic: [],
    ...over,
  };
}

const tr = (node: string, vni: number, rx: number, tx: number, device = `vxlan${vni}`): VniTraffic => ({
  node,
  device,
  vni,
  rxPackets: rx,
  txPackets: tx,
  rxBytes: rx * 100,
  txBytes: tx * 100,
});

async function until<T>(what: string, get: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the page's figures and words", () => {
  it('says how long ago, and rates, short and readable from afar', () => {
    expect([agoText(0), agoText(1999), agoText(2000), agoText(119_000), agoText(120_000), agoText(3 * 3600_000 + 5 * 60_000)]).toEqual([
      'just now',
      'just now',
      '2 s ago',
      '119 s ago',
      '2 min ago',
      '3 h 05 min ago',
    ]);
    expect([rateText(null), rateText(0), rateText(0.44), rateText(12.4), rateText(1234), rateText(2_100_000)]).toEqual([
      '—',
      '0',
      '0.4',
      '12',
      '1.2k',
      '2.1M',
    ]);
    expect(vniText({ vni: 10, rxPackets: 5, txPackets: 5, rxPerSec: 2, txPerSec: 0 })).toBe('10: rx 2.0 · tx 0');
    expect(vniSilent({ vni: 10, rxPackets: 5, txPackets: 5, rxPerSec: 0, txPerSec: 3 })).toBe(true);
    expect(vniSilent({ vni: 10, rxPackets: 5, txPackets: 5, rxPerSec: null, txPerSec: null })).toBe(false);
  });

  it('keeps the board current from the events, and lists what is not a pass', () => {
    const g = (group: string, last: ClassGroupRow['last'] = null): ClassGroupRow => ({ group, nodes: [], checking: false, last, vnis: [] });
    const hello: ClassBoardResponse = {
      source: 'c.yaml',
      refreshSec: 30,
      parallel: 8,
      now: '2024-01-01T00:00:00.000Z',
      columns: [],
      groups: [g('g01'), g('g02')],
    };
    let b = applyEvent(null, 'hello', hello);
    expect(applyEvent(null, 'checking', { group: 'g01', now: hello.now })).toBeNull();
    b = applyEvent(b, 'checking', { group: 'g01', now: hello.now });
    expect(b?.groups.map((x) => x.checking)).toEqual([true, false]);
    const last = {
      status: 'fail' as const,
      checkedAt: '2024-01-01T00:00:10.000Z',
      durationMs: 2000,
      cells: { ssh: { status: 'pass' as const, detail: 'ok' }, vni: { status: 'fail' as const, detail: 'kvm2: vxlan10 has VNI 11' } },
    };
    const ev: ClassEvents['group'] = {
      row: g('g02', last),
      columns: [
        { name: 'ssh', short: 'ssh' },
        { name: 'vni', short: 'vni' },
      ],
      now: '2024-01-01T00:00:13.000Z',
    };
    const b2 = applyEvent(b, 'group', ev);
    expect(b2?.columns.map((c) => c.name)).toEqual(['ssh', 'vni']);
    expect(b2?.groups[1]?.last?.status).toBe('fail');
    expect(b?.groups[1]?.last).toBeNull(); // not changed in place
    expect(problems(b2!.groups[1]!, ['ssh', 'vni'])).toEqual([{ status: 'fail', check: 'vni', detail: 'kvm2: vxlan10 has VNI 11' }]);
    expect(tally(b2!)).toEqual({ pass: 0, warn: 0, fail: 1, error: 0, pending: 1 });
    // checked at 10 s + 2 s; the server says it is 13 s; this clock is 1 h behind
    const local = Date.parse('2024-01-01T00:00:13.000Z') - 3600_000;
    expect(sinceChecked(b2!.groups[1]!, local, 3600_000)).toBe(1000);
    expect(sinceChecked(b2!.groups[0]!, local, 0)).toBeNull();
  });

  it("opens a group's page on the same host name, token in the fragment", () => {
    expect(groupViewUrl({ protocol: 'http:', hostname: '127.0.0.1' }, 40001, 'a b')).toBe('http://127.0.0.1:40001/#token=a%20b');
    expect(groupViewUrl({ protocol: 'http:', hostname: '::1' }, 40001, null)).toBe('http://[::1]:40001/');
    expect(groupViewUrl({ protocol: 'http:', hostname: '[::1]' }, 5, null)).toBe('http://[::1]:5/');
  });
});

describe('traffic per VNI', () => {
  it('rates per device since the previous reading; no made-up rate on a reset or a missing node', () => {
    const prev = { atMs: 0, traffic: [tr('kvm1', 10, 100, 100), tr('kvm2', 10, 100, 100), tr('kvm1', 20, 50, 0)] };
    const now = { atMs: 2000, traffic: [tr('kvm1', 10, 120, 110), tr('kvm2', 10, 110, 120), tr('kvm1', 20, 3, 0)] };
    expect(vniRates(now, null)).toEqual([
      { vni: 10, rxPackets: 230, txPackets: 230, rxPerSec: null, txPerSec: null },
      { vni: 20, rxPackets: 3, txPackets: 0, rxPerSec: null, txPerSec: null },
    ]);
    // VNI 20's counters went back (device re-created): no rate
    expect(vniRates(now, prev)).toEqual([
      { vni: 10, rxPackets: 230, txPackets: 230, rxPerSec: 15, txPerSec: 15 },
      { vni: 20, rxPackets: 3, txPackets: 0, rxPerSec: null, txPerSec: null },
    ]);
    // kvm2 not read this time: the rate is kvm1's alone, not a negative sum
    expect(vniRates({ atMs: 2000, traffic: [tr('kvm1', 10, 120, 110)] }, prev)[0]).toMatchObject({ rxPerSec: 10, txPerSec: 5 });
  });
});

describe('the background checker', () => {
  it('keeps at most `parallel` sessions in flight; a group that hangs holds only its own room; check now goes first', async () => {
    const cls = classOf(5);
    const pending = new Map<string, { resolve: (g: GroupCheck) => void; signal: AbortSignal }>();
    const calls: string[] = [];
    const check = (g: ClassGroup, opts: { signal?: AbortSignal }): Promise<GroupCheck> =>
      new Promise((resolve, reject) => {
        calls.push(g.name);
        pending.set(g.name, { resolve, signal: opts.signal! });
        // as checkGroup does: cancelled, it settles at once
        opts.signal!.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
      });
    const m = new ClassMonitor(cls, { refreshMs: 60_000, parallel: 4, check });
    const events: string[] = [];
    m.on((e) => events.push(`${e.kind} ${e.group}`));
    m.start();
    // two groups of two nodes fill 4 sessions
    expect(calls).toEqual(['g01', 'g02']);
    expect(m.sessionsInFlight).toBe(4);
    // g01 hangs; g02 ends: g03 takes its room, and so on, g01 never in the way
    pending.get('g02')!.resolve(row('g02', { traffic: [tr('kvm1', 10, 1, 1)] }));
    await until(
      'g03 started',
      () => calls.length,
      (n) => n === 3,
    );
    expect(m.checkNow('g01')).toBe('running');
    expect(m.checkNow('g02')).toBe('queued'); // due again, first in line, waits for room
    pending.get('g03')!.resolve(row('g03', { status: 'fail', cells: { vni: { status: 'fail', detail: 'kvm2: VNI 11' } } }));
    await until(
      'g02 again before g04',
      () => calls.length,
      (n) => n === 4,
    );
    expect(calls).toEqual(['g01', 'g02', 'g03', 'g02']);
    expect(m.peak).toBe(4);
    expect(m.columns()).toEqual(['ssh']);
    const states = Object.fromEntries(m.groups().map((s) => [s.group.name, { checking: s.checking, status: s.latest?.status ?? null }]));
    expect(states).toEqual({
      g01: { checking: true, status: null },
      g02: { checking: true, status: 'pass' },
      g03: { checking: false, status: 'fail' },
      g04: { checking: false, status: null },
      g05: { checking: false, status: null },
    });
    expect(events.slice(0, 4)).toEqual(['checking g01', 'checking g02', 'checked g02', 'checking g03']);
    await m.stop();
    // the two that ran were cancelled (their connections close), the one that ended was not
    expect(['g01', 'g02', 'g03'].map((g) => pending.get(g)!.signal.aborted)).toEqual([true, true, false]);
  });

  it('a check that throws is an error row for that group only, and the group is checked again after refresh', async () => {
    const cls = classOf(2);
    let n = 0;
    const m = new ClassMonitor(cls, {
      refreshMs: 50,
      parallel: 8,
      check: async (g) => {
        n++;
        if (g.name === 'g01') throw new Error('boom');
        return row(g.name);
      },
    });
    m.start();
    await until(
      'both checked twice',
      () => n,
      (k) => k >= 4,
    );
    await m.stop();
    expect(m.groups().map((s) => [s.group.name, s.latest?.status, s.latest?.error])).toEqual([
      ['g01', 'error', 'the check could not run: boom'],
      ['g02', 'pass', undefined],
    ]);
  });
});

interface Sse {
  events: { event: string; data: unknown }[];
  comments: number;
  close(): void;
}

async function listen(url: string): Promise<Sse> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const out: Sse = { events: [], comments: 0, close: () => ac.abort() };
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
          if (block.startsWith(':')) {
            out.comments++;
            continue;
          }
          out.events.push({
            event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message',
            data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null'),
          });
        }
      }
    } catch {
      // aborted
    }
  })();
  return out;
}

describe("the dashboard's server, nodes refusing on 127.0.0.1", () => {
  let server: RunningServer;
  let board: ClassBoard;
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-class-dash-'));

  beforeAll(async () => {
    const token = 'tok-123456789012345678901234';
    board = new ClassBoard(classOf(3), {
      refreshMs: 60_000,
      parallel: 2,
      connect: { timeoutMs: 3000 },
      host: '127.0.0.1',
      token,
      outRoot: tmp,
      sse: { heartbeatMs: 100, maxClients: 2 },
    });
    server = await startServer(undefined, { port: 0, token, classBoard: board });
  });

  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('checks every group in the background and pushes each row; heartbeats; the board answers the same', async () => {
    const sse = await listen(`${server.url}api/class/events`);
    try {
      await until(
        'a hello',
        () => sse.events.length,
        (n) => n > 0,
      );
      expect(sse.events[0]?.event).toBe('hello');
      await until(
        'three group events (or all rows already in hello)',
        () => {
          const hello = sse.events[0]?.data as ClassBoardResponse;
          return hello.groups.filter((g) => g.last).length + sse.events.filter((e) => e.event === 'group').length;
        },
        (n) => n >= 3,
      );
      await until(
        'a heartbeat',
        () => sse.comments,
        (n) => n > 0,
      );
      const b = (await (await fetch(`${server.url}api/class`)).json()) as ClassBoardResponse;
      expect(b.groups.map((g) => g.group)).toEqual(['g01', 'g02', 'g03']);
      for (const g of b.groups) {
        // the real check: SSH to 127.0.0.1:1 is refused, so the ssh check fails and says why
        expect(g.last?.status, JSON.stringify(g)).toMatch(/^(fail|error)$/);
        expect(JSON.stringify(g.last)).toMatch(/kvm1|refused|identity|nonexistent/i);
        expect(g.nodes).toEqual([
          { name: 'kvm1', host: '127.0.0.1' },
          { name: 'kvm2', host: '127.0.0.1' },
        ]);
      }
      expect(board.monitor.peak).toBeLessThanOrEqual(2);
    } finally {
      sse.close();
    }
  });

  it('serves the page at / and /class', async () => {
    const r = await fetch(server.url, { redirect: 'manual' });
    expect([r.status, r.headers.get('location')]).toEqual([302, '/class']);
    const p = await fetch(`${server.url}class`);
    expect(p.status).toBe(200);
    expect(await p.text()).toContain('/client/class-app.js');
  });

  it('guards: the token for check now, Host and same-site on every route, unknown groups named', async () => {
    const post = (p: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${server.url}${p}`, { method: 'POST', headers });
    expect((await post('api/class/groups/g01/check')).status).toBe(401);
    expect((await post('api/class/groups/g01/check', { 'X-VXI-Token': 'x'.repeat(28) })).status).toBe(403);
    expect((await post('api/class/groups/g01/check', { 'X-VXI-Token': server.token, Origin: 'http://evil.example' })).status).toBe(403);
    const ok = await post('api/class/groups/g01/check', { 'X-VXI-Token': server.token });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ group: 'g01', state: expect.stringMatching(/^(started|queued|running)$/) });
    const none = await post('api/class/groups/g99/check', { 'X-VXI-Token': server.token });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/no group "g99"/);
    expect((await fetch(`${server.url}api/class`, { headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403);
    expect((await fetch(`${server.url}api/class/events`, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await fetch(`${server.url}api/class/groups/g01/view`, { headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403);
    // a DNS-rebinding name is refused before any route
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/api/class', headers: { Host: `evil.example:${server.port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('bounds the event streams: past the limit a new one is refused', async () => {
    const a = await listen(`${server.url}api/class/events`);
    const b = await listen(`${server.url}api/class/events`);
    try {
      await until(
        'two clients',
        () => board.events.size,
        (n) => n === 2,
      );
      const c = await fetch(`${server.url}api/class/events`);
      expect(c.status).toBe(503);
      a.close();
      await until(
        'the client that went away dropped',
        () => board.events.size,
        (n) => n === 1,
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it("opens a group's own page: the single-overlay view of that group, live capture of its nodes, the same token", async () => {
    const v = (await (await fetch(`${server.url}api/class/groups/g02/view`)).json()) as { group: string; port: number };
    expect(v.group).toBe('g02');
    expect(v.port).not.toBe(server.port);
    const again = (await (await fetch(`${server.url}api/class/groups/g02/view`)).json()) as { port: number };
    expect(again.port).toBe(v.port);
    const s = (await (await fetch(`http://127.0.0.1:${v.port}/api/session`)).json()) as {
      live: boolean;
      liveNodes: string[];
      banner: string | null;
    };
    expect(s).toMatchObject({ live: true, liveNodes: ['kvm1', 'kvm2'] });
    expect(s.banner).toMatch(/group g02/);
    // its live capture needs the dashboard's token
    const r = await fetch(`http://127.0.0.1:${v.port}/api/captures/live`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-VXI-Token': 'wrong-token-wrong-token-1234' },
      body: '{"node":"kvm1"}',
    });
    expect(r.status).toBe(403);
  });
});

describe('serve --class, its options', () => {
  const io = { stdout: process.stdout, stderr: process.stderr } as unknown as Parameters<typeof import('../src/cli/serve.js').runServe>[2];

  it("refuses a class lab's inventory outside its class frontend namespace, saying where to run it", async () => {
    const { runServe } = await import('../src/cli/serve.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'vxi-class-dash-lab-'));
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'lab.json'), JSON.stringify({ prefix: 'vxq-', provisioned: true, createdAt: '', groups: 2 }));
      writeFileSync(
        path.join(dir, 'class.yaml'),
        'groups:\n  count: 2\n  name: g{n:02}\n  nodes:\n    kvm1: { host: "10.3.{n}.156", bridgeAddress: 10.220.220.201/24 }\n',
      );
      await expect(runServe([], { class: path.join(dir, 'class.yaml') }, io)).rejects.toThrow(
        /class lab 'vxq-'.*ip netns exec vxq-frontend vxlan-inspect serve --class/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--refresh and --parallel only with --class; --refresh of at least 1 s; no capture paths with --class', async () => {
    const { runServe } = await import('../src/cli/serve.js');
    await expect(runServe([], { refresh: '10s' }, io)).rejects.toThrow(/--refresh and --parallel are for the class dashboard/);
    await expect(runServe([], { class: '/nonexistent/class.yaml', refresh: '500ms' }, io)).rejects.toThrow(/--refresh must be at least 1s/);
    await expect(runServe(['captures/'], { class: '/nonexistent/class.yaml' }, io)).rejects.toThrow(/give no capture folder/);
  });
});
