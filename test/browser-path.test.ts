/**
 * The Path view in a real browser (Debian's chromium through playwright-core) on the lab recording
 * the demo serves (fixtures/lab): the summary says what `vxlan-inspect path DIR --json` says, a
 * frame picked from the list draws a ladder of the four capture points (kvm1 bridge, kvm1 eth1,
 * kvm2 eth1, kvm2 bridge) whose hop times are the CLI's `--frame` ones, and under it the same byte
 * view at each hop (the guest's frame the same bytes at all four, wrapped in 50 bytes on the
 * underlay); a sighting opens in the Packets view; on a copy whose kvm2 underlay capture misses
 * packets, a lost frame's ladder stops where it was last seen, with the reason; on a copy whose
 * session.json records each node's configuration, a card per node beside the paths.
 * `VXI_SCREENSHOTS=1` writes docs/screenshots/path.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PathReport } from '../src/analysis/path.js';
import { labRecordingDir } from '../src/cli/demo.js';
import { sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { openPage } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';
import { writeConfiguredCopy, writeLossyCopy } from './helpers/path-copies.js';

const CHROMIUM = '/usr/bin/chromium';
const LAB = labRecordingDir();
const haveAll = existsSync(CHROMIUM) && existsSync(path.join(LAB, 'kvm2-vxlan_bridge.pcap'));
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-browser-path-'));
const SHOTS = process.env.VXI_SCREENSHOTS === '1' ? path.resolve('docs/screenshots') : path.join(tmp, 'screenshots');
const LOSSY = path.join(tmp, 'lossy');
const CONFIGURED = path.join(tmp, 'configured');

let server: RunningServer;
let lossyServer: RunningServer;
let configuredServer: RunningServer;
let browser: Browser;

async function cliJson(dir: string, ...more: string[]): Promise<PathReport> {
  const r = await runCli(['path', dir, '--json', ...more]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PathReport;
}

/** The hop times the CLI's `--frame` journey prints (`↓ +32 µs encapsulation`), per hop. */
async function cliHops(dir: string, ref: string): Promise<Record<string, number>> {
  const r = await runCli(['path', dir, '--frame', ref]);
  expect(r.code, r.stderr).toBe(0);
  const journey = r.stdout.slice(r.stdout.indexOf('\nframe '));
  const out: Record<string, number> = {};
  for (const m of journey.matchAll(/↓ ([+-]\d+(?:\.\d+)?) µs (encapsulation|underlay|decapsulation)/g)) out[m[2] as string] = Number(m[1]);
  return out;
}

async function openPath(url: string, errors: string[]): Promise<Page> {
  const page = await openPage(browser, url, errors, { width: 1600, height: 1100 });
  await page.click('.views button[data-view="path"]');
  await page.waitForSelector('#view-path.active table.path-summary', { timeout: 15_000 });
  return page;
}

describe.skipIf(!haveAll)('the Path view in chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    writeLossyCopy(LAB, LOSSY);
    writeConfiguredCopy(LAB, CONFIGURED);
    server = await startServer(sessionFromDir(LAB), { port: 0 });
    lossyServer = await startServer(sessionFromDir(LOSSY), { port: 0 });
    configuredServer = await startServer(sessionFromDir(CONFIGURED), { port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await lossyServer?.close();
    await configuredServer?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("the summary is the CLI's; a frame's ladder has four points and the CLI's hop times; a sighting opens in Packets", async () => {
    const want = await cliJson(LAB);
    const errors: string[] = [];
    const page = await openPath(server.openUrl, errors);

    const totals = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll<HTMLElement>('[data-total]')].map((e) => [
          e.dataset.total,
          Number((e.textContent ?? '').replace(/,/g, '')),
        ]),
      ),
    );
    expect(totals).toEqual({
      sent: want.totals.sent,
      delivered: want.totals.delivered,
      lost: want.totals.lost,
      notCaptured: want.totals.notCaptured,
    });
    const rows = await page.$$eval('table.path-summary tbody tr[data-src]', (trs) =>
      trs.map((tr) => [
        (tr as HTMLElement).dataset.src,
        (tr as HTMLElement).dataset.dst,
        Number(tr.querySelector('.sent')?.textContent?.replace(/,/g, '')),
        Number(tr.querySelector('.delivered')?.textContent?.replace(/,/g, '')),
      ]),
    );
    expect(rows).toEqual(want.paths.map((g) => [g.src, g.dst, g.sent, g.delivered]));

    // pick a frame from kvm1's list of bridge frames that crossed (the second: both directions are in the first rows)
    await page.waitForSelector('.path-frames tbody tr');
    const picks = await page.$$eval('.path-frames tbody tr', (trs) => trs.slice(0, 6).map((tr) => Number((tr as HTMLElement).dataset.n)));
    expect(picks.length).toBeGreaterThan(1);
    for (const n of picks.slice(0, 3)) {
      await page.click(`.path-frames tbody tr[data-n="${n}"]`);
      await page.waitForFunction(
        (k) =>
          document.querySelector('#path-frame h3')?.textContent?.includes(`packet #${k} `) &&
          document.querySelector('#path-frame .ladder') !== null,
        n,
      );
      const ladder = await page.evaluate(() => {
        const box = document.querySelector('#path-frame .path-branch') as HTMLElement;
        const x = (e: Element): number => e.getBoundingClientRect().left;
        return {
          status: box.dataset.status,
          heads: [...box.querySelectorAll('.ladder-head')].sort((a, b) => x(a) - x(b)).map((e) => (e.textContent ?? '').trim()),
          seen: box.querySelectorAll('.ladder-point.seen').length,
          hops: Object.fromEntries(
            [...box.querySelectorAll<HTMLElement>('.ladder-hop')].map((h) => [
              h.dataset.hop,
              { us: Number(h.dataset.us), text: h.querySelector('.us')?.textContent },
            ]),
          ),
        };
      });
      expect(ladder.status).toBe('delivered');
      expect(ladder.heads).toEqual(['kvm1 vxlan_bridge', 'kvm1 eth1', 'kvm2 eth1', 'kvm2 vxlan_bridge']);
      expect(ladder.seen).toBe(4);
      const hops = await cliHops(LAB, `kvm1:${n}`);
      expect(Object.keys(hops).sort()).toEqual(['decapsulation', 'encapsulation', 'underlay']);
      for (const [hop, v] of Object.entries(hops)) {
        expect(ladder.hops[hop]?.us, `frame ${n} ${hop}`).toBe(v);
        expect(ladder.hops[hop]?.text).toBe(`${v >= 0 ? '+' : ''}${v} µs`);
      }
    }
    // the address bar says the view (and the frame, as the Packets view's selection)
    expect(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('view')).toBe('path');

    // the same byte view at each hop: four, in the order the frame passed them; the guest's frame the same bytes at each
    const views = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('#path-frame .path-branch .hop-bytes')].map((v) => ({
        point: v.dataset.point,
        wrapped: v.classList.contains('wrapped'),
        wrapping: v.querySelectorAll('.wrap-row .b').length,
        inner: [...v.querySelectorAll<HTMLElement>('.inner-row .b[data-k]')].map((b) => `${b.dataset.k}:${b.textContent}`).join(' '),
        // where byte 0 of the frame stands across the view: the same column at every hop
        column: Math.round(
          (v.querySelector('.inner-row .b[data-k="0"]')?.getBoundingClientRect().left ?? 0) - v.getBoundingClientRect().left,
        ),
        differs: v.querySelectorAll('.b.differs').length,
      })),
    );
    expect(views.map((v) => [v.point, v.wrapped, v.wrapping])).toEqual([
      ['srcBridge', false, 0],
      ['srcUnderlay', true, 50],
      ['dstUnderlay', true, 50],
      ['dstBridge', false, 0],
    ]);
    expect(views[0]?.inner.length).toBeGreaterThan(0);
    for (const v of views) {
      expect(v.inner, v.point).toBe(views[0]?.inner);
      expect(v.column, v.point).toBe(views[0]?.column);
      expect(v.differs, v.point).toBe(0);
    }
    // the outer IP id and TTL, the same on both underlays; nothing else differs
    const compared = await page.$$eval('#path-frame .path-branch table.hop-diffs tbody tr', (trs) =>
      trs.map((tr) => [(tr as HTMLElement).className, tr.querySelector('td')?.textContent]),
    );
    expect(compared).toEqual([
      ['same', '= outer IPv4 Identification'],
      ['same', '= outer IPv4 TTL'],
    ]);
    // hovering a byte of the guest's frame lights it at every hop, and says its field's value at each
    await page.hover('#path-frame .hop-bytes[data-point="dstUnderlay"] .b[data-k="6"]');
    const lit = await page.evaluate(() => ({
      points: [...document.querySelectorAll<HTMLElement>('#path-frame .path-branch .hop-bytes')].map((v) =>
        [...v.querySelectorAll<HTMLElement>('.b.hl')].map((b) => Number(b.dataset.k)),
      ),
      caption: document.querySelector('#path-frame .hop-caption')?.textContent,
    }));
    expect(lit.points).toEqual([0, 1, 2, 3].map(() => [6, 7, 8, 9, 10, 11]));
    expect(lit.caption).toMatch(
      /^inner Ethernet Source MAC .*: source bridge ([0-9a-f:]{17}) · source underlay \1 · destination underlay \1 · destination bridge \1$/,
    );
    // and a byte of the wrapping, on both underlays only
    await page.hover('#path-frame .hop-bytes[data-point="srcUnderlay"] .wrap-row .b[data-i="22"]');
    expect(
      await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('#path-frame .path-branch .hop-bytes')].map((v) => v.querySelectorAll('.b.hl').length),
      ),
    ).toEqual([0, 1, 1, 0]);
    expect(await page.textContent('#path-frame .hop-caption')).toMatch(/^outer IPv4 TTL/);
    // no session.json here: no configuration recorded
    expect(await page.textContent('#path .path-config')).toContain('No configuration recorded');

    // large type: the ladder grows with the page's type
    const size = (): Promise<number> => page.$eval('#path-frame .ladder-head', (e) => parseFloat(getComputedStyle(e).fontSize));
    const before = await size();
    await page.click('#large');
    expect(await size()).toBeGreaterThan(before);
    await page.click('#large');

    // the destination underlay sighting opens in the Packets view, on kvm2's eth1 list
    const dst = await page.$eval('#path-frame .ladder-point[data-point="dstUnderlay"]', (e) => Number((e as HTMLElement).dataset.frame));
    await page.click('#path-frame .ladder-point[data-point="dstUnderlay"] button.open');
    await page.waitForFunction((k) => document.querySelector(`#list-underlay tbody tr.selected[data-n="${k}"]`) !== null, dst);
    expect(await page.evaluate(() => [window.vxi.view, window.vxi.node, window.vxi.selected])).toEqual([
      'packets',
      'kvm2',
      { side: 'underlay', n: dst },
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('a frame lost on the underlay stops where it was last seen, with the reason', async () => {
    const want = await cliJson(LOSSY);
    expect(want.totals.lost).toBeGreaterThan(0);
    const errors: string[] = [];
    const page = await openPath(lossyServer.openUrl, errors);
    const lost = await page.evaluate(() => Number(document.querySelector('[data-total="lost"]')?.textContent?.replace(/,/g, '')));
    expect(lost).toBe(want.totals.lost);
    expect(await page.locator('.path-why li.loss[data-hop="underlay"]').count()).toBeGreaterThan(0);
    // a frame that left kvm1's underlay and never reached kvm2's
    const button = page.locator('.frame-list.incomplete li', { hasText: 'lost-underlay' }).locator('button').first();
    const ref = await button.evaluate((e) => ({
      node: (e as HTMLElement).dataset.node,
      side: (e as HTMLElement).dataset.side,
      n: Number((e as HTMLElement).dataset.n),
    }));
    await button.click();
    await page.waitForSelector('#path-frame .path-branch');
    const shown = await page.evaluate(() => {
      const box = document.querySelector('#path-frame .path-branch') as HTMLElement;
      return {
        status: box.dataset.status,
        stopped: [...box.querySelectorAll<HTMLElement>('.ladder-point.stopped')].map((e) => e.dataset.point),
        seen: [...box.querySelectorAll<HTMLElement>('.ladder-point.seen')].map((e) => e.dataset.point),
        lostHop: [...box.querySelectorAll<HTMLElement>('.ladder-hop.lost')].map((e) => e.dataset.hop),
        reason: box.querySelector('.reason')?.textContent,
      };
    });
    // the CLI's journey of the same frame (whole files: packet n is record n)
    const journey = await cliJson(LOSSY, '--frame', `${ref.node}:${ref.side}:${ref.n}`);
    const b = journey.followed?.branches[0];
    expect(b?.loss).toBe(true);
    expect(shown.status).toBe(b?.status);
    expect(shown.reason).toBe(b?.reason);
    expect(b?.status).toBe('lost-underlay');
    expect(shown.seen).toEqual(['srcBridge', 'srcUnderlay'].filter((p) => p in (b?.sightings ?? {})));
    expect(shown.seen).toContain('srcUnderlay');
    expect(shown.stopped).toEqual(['dstUnderlay']);
    expect(shown.lostHop).toEqual(['underlay']);
    // the byte view: the two sightings it has, the other two not seen
    const views = await page.$$eval('#path-frame .path-branch .hop-bytes', (vs) =>
      vs.map((v) => [(v as HTMLElement).dataset.point, v.classList.contains('missing')]),
    );
    expect(views).toEqual([
      ['srcBridge', !('srcBridge' in (b?.sightings ?? {}))],
      ['srcUnderlay', false],
      ['dstUnderlay', true],
      ['dstBridge', true],
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test("each node's recorded configuration beside the paths: a card per node, and the findings", async () => {
    const want = await cliJson(CONFIGURED);
    const errors: string[] = [];
    const page = await openPath(configuredServer.openUrl, errors);
    await page.waitForSelector('#path .path-config');
    const cards = await page.$$eval('#path .config-card', (cs) =>
      cs.map((c) => ({
        node: (c as HTMLElement).dataset.node,
        lines: Object.fromEntries(
          [...c.querySelectorAll<HTMLElement>('tr[data-key]')].map((tr) => [tr.dataset.key, tr.querySelector('td')?.textContent]),
        ),
      })),
    );
    expect(cards.map((c) => c.node)).toEqual(want.config.nodes.map((n) => n.node));
    expect(cards.map((c) => [c.node, c.lines.vni, c.lines.port, c.lines.local, c.lines.flood])).toEqual([
      ['kvm1', '10 (vxlan10)', '4789', '10.3.1.156', '10.3.1.174'],
      ['kvm2', '10 (vxlan10)', '4789', '10.3.1.174', '10.3.1.156'],
    ]);
    const findings = await page.$$eval('#path .config-findings li', (ls) =>
      ls.map((l) => [(l as HTMLElement).dataset.code, (l as HTMLElement).dataset.severity]),
    );
    expect(findings).toEqual(want.config.findings.map((f) => [f.code, f.severity]));
    if (want.config.findings.length === 0) expect(await page.textContent('#path .path-config')).toContain('no finding');

    // a frame's byte views, for the screenshot: kvm1's ping of vm2 (README's `path --frame kvm1:9`)
    await page.waitForSelector('.path-frames tbody tr');
    await page.click('.path-frames tbody tr[data-n="9"]');
    await page.waitForFunction(() => document.querySelectorAll('#path-frame .hop-bytes').length === 4);
    if (process.env.VXI_SCREENSHOTS === '1') await page.screenshot({ path: path.join(SHOTS, 'path.png'), fullPage: true });

    // a large frame (kvm1 bridge #21, a 1414-byte ping): its first 8 rows at each hop, every byte on demand
    await page.fill('.frame-go input', '21');
    await page.click('.frame-go button[type="submit"]');
    await page.waitForFunction(
      () =>
        document.querySelector('#path-frame h3')?.textContent?.includes('packet #21 ') &&
        document.querySelectorAll('#path-frame .hop-bytes').length === 4,
    );
    const innerRows = (): Promise<number[]> =>
      page.$$eval('#path-frame .hop-bytes', (vs) => vs.map((v) => v.querySelectorAll('.inner-row').length));
    expect(await innerRows()).toEqual([8, 8, 8, 8]);
    await page.click('#path-frame .hop-all');
    expect(await innerRows()).toEqual([0, 1, 2, 3].map(() => Math.ceil(1414 / 16)));
    expect(
      await page.$$eval('#path-frame .hop-bytes', (vs) =>
        vs.map((v) => v.querySelector('.inner-row:last-child .b:last-child')?.getAttribute('data-k')),
      ),
    ).toEqual(['1413', '1413', '1413', '1413']);
    expect(errors).toEqual([]);
    await page.close();
  });
});
