/**
 * The class dashboard against a class lab of 2 groups (`lab up --groups 2`, a prefix of its own; 2
 * groups, not 15: each browser and API step waits for real checks of every group, and 2 groups
 * show all there is to show — one broken, the others green — in a CI minute).
 *
 * `serve --class` runs inside the lab's class frontend namespace, the one place the lab's
 * 10.3.N.x addresses lead to the lab; what talks to the server (a small client, chromium) runs
 * there too and talks to 127.0.0.1 of that namespace. This process only creates and removes the
 * namespaces. Root only; skipped with the reason elsewhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classLabDown, classLabUp, type ClassLabHandle } from '../src/class/lab.js';
import { netnsExec } from '../src/lab/index.js';
import { startBackground, type Background } from '../src/lab/run.js';
import type { ClassBoardResponse } from '../src/web/class-types.js';
import { openPage } from './helpers/browser.js';
import { canRunNetns, namespaces, uniquePrefix } from './helpers/netns.js';

const can = canRunNetns();
const suite = can.ok ? describe : describe.skip;
if (!can.ok) describe.skip(`class dashboard on a class lab (skipped: ${can.reason})`, () => it('skipped', () => {}));

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const CHROMIUM = '/usr/bin/chromium';
// a prefix of its own: two test runs at once (two checkouts) must not share a lab
const PREFIX = uniquePrefix();
const GROUPS = 2;

/** Refuses to run a thing in a namespace that is not there (it would run in this one instead). */
function inside(ns: string, argv: string[]): string[] {
  if (!namespaces().includes(ns)) throw new Error(`namespace ${ns} does not exist: refusing to start anything`);
  return netnsExec(ns, argv);
}

async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)?.slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * A client of the dashboard where the dashboard listens (the class frontend namespace): the board,
 * the event stream, "check now" of GROUP without and with the token; prints JSON. It listens until
 * a \`group\` event of every group on the board and a \`checking\` of GROUP have come, for SECONDS at most.
 */
const CLIENT = `const [url, token, group, seconds] = process.argv.slice(1);
(async () => {
  const board = await (await fetch(url + 'api/class')).json();
  const ac = new AbortController();
  const res = await fetch(url + 'api/class/events', { signal: ac.signal });
  const events = [];
  const reading = (async () => {
    const reader = res.body.getReader(); const dec = new TextDecoder(); let buf = '';
    try { for (;;) { const { value, done } = await reader.read(); if (done) return; buf += dec.decode(value, { stream: true });
      let i; while ((i = buf.indexOf('\\n\\n')) >= 0) { const b = buf.slice(0, i); buf = buf.slice(i + 2); if (b.startsWith(':')) continue;
        events.push({ event: /^event: (.*)$/m.exec(b)[1], data: JSON.parse(/^data: (.*)$/m.exec(b)[1]) }); } } } catch {}
  })();
  // the stream is open once its hello has come: the check asked for below cannot be missed
  for (const until = Date.now() + 5000; !events.some((e) => e.event === 'hello') && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  const noToken = (await fetch(url + 'api/class/groups/' + group + '/check', { method: 'POST' })).status;
  const withToken = await fetch(url + 'api/class/groups/' + group + '/check', { method: 'POST', headers: { 'X-VXI-Token': token } });
  const now = { status: withToken.status, body: await withToken.json() };
  const end = Date.now() + Number(seconds) * 1000;
  const seen = () => board.groups.every((g) => events.some((e) => e.event === 'group' && e.data.row.group === g.group))
    && events.some((e) => e.event === 'checking' && e.data.group === group);
  while (!seen() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  ac.abort(); await reading;
  console.log(JSON.stringify({ board, noToken, now, events, contentType: res.headers.get('content-type') }));
})().catch((e) => { console.error(e.stack); process.exit(1); });`;

suite(`class dashboard on a class lab of ${GROUPS} groups`, () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-class-dash-'));
  const labDir = path.join(tmp, 'lab');
  let lab: ClassLabHandle | undefined;
  let server: ChildProcess | undefined;
  let out = '';
  let err = '';
  let url = '';
  let token = '';
  let ping: Background | undefined;
  const rss: number[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;

  beforeAll(async () => {
    const there = namespaces().filter((n) => n.startsWith(PREFIX));
    if (there.length > 0)
      throw new Error(
        `namespaces with prefix ${PREFIX} exist already (${there.join(', ')}): another run's lab? remove it with lab down --prefix ${PREFIX}`,
      );
    lab = await classLabUp({ prefix: PREFIX, dir: labDir, groups: GROUPS, provisioned: true });
    // steady traffic through g01's overlay, so its VNI shows a rate
    ping = startBackground(inside(`${PREFIX}g01-vm1`, ['ping', '-n', '-q', '-i', '0.2', '10.220.220.6']));
    server = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.frontendNetns,
        process.execPath,
        BIN,
        'serve',
        '--class',
        lab.classInventoryPath,
        '--port',
        '0',
        '--refresh',
        '3s',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (!namespaces().includes(lab.frontendNetns)) throw new Error('the class frontend is gone');
    server.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    server.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const m = await until(
      'the URL',
      () => /^open (http:\/\/127\.0\.0\.1:\d+\/)class#token=(\S+)$/m.exec(out),
      (x) => x !== null || server!.exitCode !== null,
      20_000,
    );
    if (!m) throw new Error(`serve --class did not start: ${out}${err}`);
    url = m[1]!;
    token = m[2]!;
    const pid = server.pid!;
    sampler = setInterval(() => {
      try {
        rss.push(rssMb(pid));
      } catch {
        /* ended */
      }
    }, 500);
  });

  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    await ping?.stop('SIGINT', 2000);
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('close', r));
      server.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    await classLabDown({ prefix: PREFIX, dir: labDir });
    expect(namespaces().filter((n) => n.startsWith(PREFIX))).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  const board = (): ClassBoardResponse => {
    const r = spawnSync('ip', ['netns', 'exec', lab!.frontendNetns, 'curl', '-sf', `${url}api/class`], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    return JSON.parse(r.stdout || 'null') as ClassBoardResponse;
  };

  it('checks every group in the background: the board fills in, every check passes, traffic per VNI moves', async () => {
    const b = await until(
      'every group checked and passing, g01 with a VNI rate',
      board,
      (x) => x?.groups.every((g) => g.last?.status === 'pass') && (x.groups[0]?.vnis[0]?.rxPerSec ?? 0) > 0,
      60_000,
    );
    expect(b.groups.map((g) => g.group)).toEqual(['g01', 'g02']);
    expect(b.columns.map((c) => c.name)).toEqual(expect.arrayContaining(['ssh', 'vni', 'peer-overlay']));
    expect(b.groups[0]!.nodes).toEqual([
      { name: 'kvm1', host: '10.3.1.156' },
      { name: 'kvm2', host: '10.3.1.174' },
    ]);
    expect(b.groups[0]!.vnis[0]).toMatchObject({ vni: 10 });
  });

  it('pushes each check over server-sent events; check now needs the token', () => {
    const r = spawnSync('ip', ['netns', 'exec', lab!.frontendNetns, process.execPath, '-e', CLIENT, url, token, 'g02', '20'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as {
      board: ClassBoardResponse;
      noToken: number;
      now: { status: number; body: { group: string; state: string } };
      events: { event: string; data: Record<string, unknown> }[];
      contentType: string;
    };
    expect(got.contentType).toMatch(/^text\/event-stream/);
    expect(got.noToken).toBe(401);
    expect(got.now).toMatchObject({ status: 202, body: { group: 'g02' } });
    expect(got.events[0]?.event).toBe('hello');
    const groups = got.events.filter((e) => e.event === 'group').map((e) => (e.data.row as { group: string }).group);
    // refresh 3 s, up to 20 s of listening, and a check asked for by hand: both groups come, g02 at least once
    expect(new Set(groups)).toEqual(new Set(['g01', 'g02']));
    expect(got.events.some((e) => e.event === 'checking' && e.data.group === 'g02')).toBe(true);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    "the grid in chromium: g02 broken (lab break vni) turns red on vni, g01 stays green; a click opens g01's own view",
    async () => {
      // chromium runs in the class frontend namespace too (playwright talks to it over a pipe)
      const wrapper = path.join(tmp, 'chromium-in-frontend.sh');
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab!.frontendNetns} ${CHROMIUM} "$@"\n`);
      chmodSync(wrapper, 0o755);
      if (!namespaces().includes(lab!.frontendNetns)) throw new Error('the class frontend is gone');
      const brk = spawnSync(process.execPath, [BIN, 'lab', 'break', 'vni', '--group', 'g02', '--prefix', PREFIX, '--dir', labDir], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(brk.status, brk.stderr).toBe(0);
      const browser: Browser = await chromium.launch({
        executablePath: wrapper,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      const errors: string[] = [];
      try {
        const page = await openPage(browser, `${url}class#token=${token}`, errors, { width: 1920, height: 1080 });
        // the fault shows on its own (events), and the other group is green at the same time
        await page.waitForFunction(
          () => {
            const st = (g: string, c?: string): string | undefined =>
              document.querySelector<HTMLElement>(
                c ? `#class-grid tr[data-group="${g}"] td.cell[data-status][title^="${c}:"]` : `#class-grid tr[data-group="${g}"]`,
              )?.dataset.status;
            return st('g02') === 'fail' && st('g02', 'vni') === 'fail' && st('g01') === 'pass' && st('g01', 'vni') === 'pass';
          },
          undefined,
          { timeout: 60_000, polling: 250 },
        );
        const g02vni = page.locator('#class-grid tr[data-group="g02"] td.cell[title^="vni:"]');
        expect(await g02vni.getAttribute('title')).toMatch(/vni: kvm2: vxlan10 has VNI 11/);
        expect(await g02vni.textContent()).toMatch(/^✗fails: vni: kvm2/); // the symbol, then the words a screen reader says
        expect(await page.locator('#class-grid tr[data-group="g02"] td.verdict').textContent()).toMatch(/^✗ FAIL/);
        expect(await page.locator('#class-grid tr[data-group="g01"] td.cell[title^="vni:"]').textContent()).toMatch(/^✓/);
        // red, and the others green: the colour only repeats the word. Read in one turn of the page
        // (the grid is drawn again on every event: a cell found in one call can be gone in the next)
        const colours = (): Promise<string[]> =>
          page.evaluate(() =>
            ['g02', 'g01'].map((g) => {
              const e = document.querySelector(`#class-grid tr[data-group="${g}"] td.cell[title^="vni:"]`);
              return e ? getComputedStyle(e).backgroundColor : '';
            }),
          );
        await expect.poll(colours, { timeout: 10_000, interval: 250 }).toEqual(['rgb(213, 94, 0)', 'rgb(217, 240, 231)']);
        // an event replaces only what changed: g01's vni cell is the same element after the next
        // events (a pointer resting on it keeps its reason; a click lands on the button it aimed at)
        const seen = await page.evaluate(() => {
          const cell = document.querySelector('#class-grid tr[data-group="g01"] td.cell[title^="vni:"]');
          if (cell) (cell as Element & { vxiKept?: boolean }).vxiKept = true;
          return (window as unknown as { vxiClass: { events: number } }).vxiClass.events;
        });
        await page.waitForFunction((n) => (window as unknown as { vxiClass: { events: number } }).vxiClass.events >= n + 2, seen, {
          timeout: 30_000,
          polling: 250,
        });
        const kept = await page.evaluate(
          () =>
            (document.querySelector('#class-grid tr[data-group="g01"] td.cell[title^="vni:"]') as (Element & { vxiKept?: boolean }) | null)
              ?.vxiKept === true,
        );
        expect(kept, "g01's unchanged vni cell was drawn again by an event").toBe(true);
        // the reason is listed under the grid too; checked N s ago ticks
        await page.locator('#class-problems li[data-group="g02"][data-check="vni"]').waitFor();
        expect(await page.locator('#class-grid td.ago[data-group="g01"]').textContent()).toMatch(/^(just now|\d+ s ago)/);
        await page.screenshot({ path: path.join(tmp, 'class.png') });
        if (process.env.VXI_CLASS_SCREENSHOT) await page.screenshot({ path: process.env.VXI_CLASS_SCREENSHOT });
        expect(errors).toEqual([]);
        // a click opens the group's own page: the single-overlay view, live capture of the group's nodes
        const dashPort = new URL(url).port;
        await Promise.all([
          page.waitForURL((u) => u.port !== dashPort, { timeout: 15_000 }),
          page.click('#class-grid tr[data-group="g01"] button.open'),
        ]);
        await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
        const s = await page.evaluate(() => {
          const v = (window as unknown as { vxi: { session: { liveNodes: string[]; banner: string | null }; token: string | null } }).vxi;
          return { liveNodes: v.session.liveNodes, banner: v.session.banner, token: v.token, port: location.port };
        });
        expect(s).toMatchObject({ liveNodes: ['kvm1', 'kvm2'], banner: expect.stringMatching(/group g01/), token });
        expect(s.port).not.toBe(new URL(url).port);
        // leaving the dashboard ends its event stream; nothing else may fail
        expect(errors.filter((e) => !e.endsWith('/api/class/events'))).toEqual([]);
      } finally {
        await browser.close();
      }
      const peak = Math.max(...rss);
      console.log(`serve --class (${GROUPS} groups, refresh 3s): peak RSS ${peak.toFixed(0)} MB over ${rss.length} samples`);
      expect(peak).toBeLessThan(300);
    },
  );
});
