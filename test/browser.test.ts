/**
 * The page in a real browser (Debian's chromium through playwright-core), on the lab recording
 * that `vxlan-inspect demo` serves: it loads with no console error, the charts draw from data,
 * clicking a bridge frame shows the underlay packet that carried it with its VXLAN layer (VNI 10),
 * uploads work and a bad one says why. Screenshots of the main views: `VXI_SCREENSHOTS=1 npx vitest run
 * test/browser.test.ts` writes them to docs/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labRecordingDir } from '../src/cli/demo.js';
import { writeSampleSession } from '../src/web/sample.js';
import { sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { openPage as openBrowserPage } from './helpers/browser.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-browser-'));
/** Screenshots go to docs/screenshots/ when asked (VXI_SCREENSHOTS=1), so a test run leaves the tree alone. */
const SHOTS = process.env.VXI_SCREENSHOTS === '1' ? path.resolve('docs/screenshots') : path.join(tmp, 'screenshots');

let server: RunningServer;
let browser: Browser;

function labDir(): string {
  const lab = labRecordingDir();
  if (['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap'].every((f) => existsSync(path.join(lab, f)))) return lab;
  const d = path.join(tmp, 'sample');
  writeSampleSession(d);
  return d;
}

function openPage(url: string, errors: string[]): Promise<Page> {
  return openBrowserPage(browser, url, errors);
}

describe.skipIf(!haveChromium)('the page in chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer(sessionFromDir(labDir()), { port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the demo loads with no console error and the charts draw from data', async () => {
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    // the token left the address bar (it is not shown on a projector) and went to the tab's storage
    expect(page.url()).not.toContain('token');
    expect(await page.evaluate(() => sessionStorage.getItem('vxi-token'))).toBe(server.token);
    await page.waitForFunction(() => document.querySelectorAll('#cards .card').length >= 5);
    const charts = await page.evaluate(() => {
      const w = window as unknown as {
        Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: { label: string; data: number[] }[] } } | undefined };
      };
      return ['chart-u-pps', 'chart-u-bps', 'chart-o-pps', 'chart-o-bps'].map((id) => {
        const canvas = document.getElementById(id) as HTMLCanvasElement;
        const chart = w.Chart.getChart(canvas);
        const ctx = canvas.getContext('2d')!;
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) if ((px[i] as number) > 0) painted++;
        return {
          id,
          labels: chart?.data.datasets.map((d) => d.label) ?? [],
          total: chart?.data.datasets.reduce((s, d) => s + d.data.reduce((a, b) => a + b, 0), 0) ?? 0,
          painted,
          size: canvas.width * canvas.height,
        };
      });
    });
    for (const c of charts) {
      expect(c.labels, c.id).toContain('VNI 10');
      expect(c.total, c.id).toBeGreaterThan(0);
      // not blank: bars, axes and labels cover a good part of the canvas
      expect(c.painted / c.size, c.id).toBeGreaterThan(0.02);
    }
    const cards = await page.locator('#cards').innerText();
    expect(cards).toMatch(/matched/);
    expect(cards).toMatch(/encapsulation overhead per packet/);
    await page.screenshot({ path: path.join(SHOTS, 'overview.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  test('clicking a bridge frame shows the underlay packet that carried it, VXLAN VNI 10', async () => {
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    await page.click('button[data-view="packets"]');
    await page.waitForSelector('#list-overlay tbody tr');
    // the first bridge frame that went through the tunnel: an ARP or an ICMP echo reads best
    const rows = page.locator('#list-overlay tbody tr', { has: page.locator('td.m', { hasText: '#' }) });
    const wanted = rows.filter({ hasText: /ARP|ICMP echo/ });
    const row = (await wanted.count()) > 0 ? wanted.first() : rows.first();
    const bridgeN = Number(await row.getAttribute('data-n'));
    const matchText = await row.locator('td.m').innerText();
    await row.click();
    await page.waitForSelector('#detail-match .layerbar');
    const underlayN = Number(matchText.replace('#', ''));
    expect(await page.locator('#detail-main h3').innerText()).toMatch(new RegExp(`^Bridge frame #${bridgeN}`));
    expect(await page.locator('#detail-main .link-line').innerText()).toMatch(
      new RegExp(`Carried on the underlay by packet #${underlayN}`),
    );
    expect(await page.locator('#detail-match h3').innerText()).toMatch(new RegExp(`^Underlay packet #${underlayN}`));
    // the underlay list shows it, highlighted
    await expect.poll(() => page.locator('#list-underlay tbody tr.linked').getAttribute('data-n')).toBe(String(underlayN));
    // the layer bar, outermost first, with sizes
    const bar = await page.locator('#detail-match .layerbar .seg').allInnerTexts();
    expect(bar.slice(0, 5).map((s) => s.replace(/\s+/g, ' ').trim())).toEqual([
      'Ethernet 14 @0',
      'IPv4 20 @14',
      'UDP 8 @34',
      'VXLAN 8 @42',
      'inner Ethernet 14 @50',
    ]);
    // the VXLAN layer, byte by byte
    const vxlan = page.locator('#detail-match details.layer', { hasText: 'Outer VXLAN' });
    expect(await vxlan.locator('summary').innerText()).toMatch(/VNI 10/);
    const vniRow = vxlan.locator('tr', { has: page.locator('td', { hasText: /^VNI$/ }) });
    expect(await vniRow.innerText()).toMatch(/46–48\s+VNI\s+0x00000a = 10/);
    expect(await vxlan.locator('tr', { has: page.locator('td', { hasText: /^Flags$/ }) }).innerText()).toMatch(/0x08 = 00001000.*I flag/);
    // hovering the VXLAN segment highlights exactly its 8 bytes: 08 00 00 00 00 00 0a 00
    await page.hover('#detail-match .layerbar .seg:nth-child(4)');
    const hl = await page.locator('#detail-match .hex .b.hl').allInnerTexts();
    expect(hl).toEqual(['08', '00', '00', '00', '00', '00', '0a', '00']);
    // hovering the bridge frame's Ethernet header lights the same 14 bytes inside the underlay packet (50–63)
    await page.hover('#detail-main .layerbar .seg:nth-child(1)');
    const mirrored = await page
      .locator('#detail-match .hex .b.hl')
      .evaluateAll((bs) => bs.map((b) => Number((b as HTMLElement).dataset.i)));
    expect(mirrored).toEqual(Array.from({ length: 14 }, (_, i) => 50 + i));
    expect(await page.locator('#detail-match .mirror-note').innerText()).toMatch(
      /The same bytes here: 50–63, after the 50 bytes of outer headers/,
    );
    await page.hover('#detail-match .layerbar .seg:nth-child(4)');
    await page.screenshot({ path: path.join(SHOTS, 'packet-detail.png'), fullPage: true });
    // and the other way round: clicking the underlay packet points back at the bridge frame
    await page.locator(`#list-underlay tbody tr[data-n="${underlayN}"]`).click();
    await expect.poll(() => page.locator('#list-overlay tbody tr.linked').getAttribute('data-n')).toBe(String(bridgeN));
    expect(await page.locator('#detail-main h3').innerText()).toMatch(new RegExp(`^Underlay packet #${underlayN}`));
    expect(errors).toEqual([]);
    await page.close();
  });

  test('arrow keys walk the list; the address bar can reopen a packet', async () => {
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    await page.click('button[data-view="packets"]');
    await page.waitForSelector('#list-overlay tbody tr');
    await page.locator('#list-overlay tbody tr[data-n="1"]').click();
    await page.waitForSelector('#detail-main .layerbar');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.locator('#detail-main h3').innerText()).toMatch(/^Bridge frame #3 /);
    expect(await page.locator('#list-overlay tbody tr.selected').getAttribute('data-n')).toBe('3');
    // the address says what is shown: open it in a fresh tab and land on the same packet
    const url = page.url();
    expect(url).toMatch(/#view=packets&node=kvm1&side=overlay&n=3$/);
    const again = await openPage(url, errors);
    await expect
      .poll(() =>
        again
          .locator('#detail-main h3')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^Bridge frame #3 /);
    expect(await again.locator('#list-overlay tbody tr.selected').getAttribute('data-n')).toBe('3');
    // go to a packet by number: the last one, on the last page
    const last: number = await again.evaluate(
      () =>
        (window as unknown as { vxi: { session: { nodes: { underlay: { packets: number } }[] } } }).vxi.session.nodes[0]!.underlay.packets,
    );
    await again.fill('#list-underlay input.goto', String(last));
    await again.press('#list-underlay input.goto', 'Enter');
    await expect.poll(() => again.locator('#detail-main h3').innerText()).toMatch(new RegExp(`^Underlay packet #${last} `));
    expect(await again.locator('#list-underlay .range').innerText()).toMatch(new RegExp(`^${Math.floor((last - 1) / 100) * 100 + 1}–`));
    await again.fill('#list-underlay input.goto', '100000');
    await again.press('#list-underlay input.goto', 'Enter');
    await expect.poll(() => again.locator('#message').innerText()).toMatch(/There is no packet 100000 in kvm1-eth1\.pcap/);
    expect(errors).toEqual([]);
    await again.close();
    await page.close();
  });

  test('filters narrow the list', async () => {
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    await page.click('button[data-view="packets"]');
    await page.waitForSelector('#list-underlay tbody tr');
    const range = page.locator('#list-underlay .range');
    const before = await range.innerText();
    await page.fill('#list-underlay input.vni', '10');
    await page.selectOption('#list-underlay select.proto', 'arp');
    await expect.poll(() => range.innerText()).toMatch(/filtered from/);
    expect(await range.innerText()).not.toBe(before);
    for (const s of await page.locator('#list-underlay tbody td.sum').allInnerTexts()) expect(s).toMatch(/VXLAN vni 10 \|.*ARP/);
    await page.fill('#list-underlay input.vni', 'x');
    await page.click('#list-underlay button:has-text("Filter")');
    await expect.poll(() => page.locator('#message').innerText()).toMatch(/cannot understand filter "vni=x"/);
    await page.close();
  });

  test('topology and diagnostics', async () => {
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    await page.click('button[data-view="topology"]');
    await page.waitForSelector('.vtep');
    // one column per VTEP: the node it belongs to, the VTEP, the guests behind it
    expect((await page.locator('.node-head').allInnerTexts()).slice(0, 2)).toEqual(['kvm1', 'kvm2']);
    expect((await page.locator('.vtep h3').allInnerTexts()).slice(0, 2)).toEqual(['VTEP 10.3.1.156', 'VTEP 10.3.1.174']);
    expect(await page.locator('.tunnel').innerText()).toMatch(/UDP 4789 · VNI 10/);
    expect(await page.locator('.behind').first().innerText()).toMatch(/VNI 10[\s\S]*inner MAC\s+IPv4[\s\S]*10\.220\.220\.\d+/);
    await page.screenshot({ path: path.join(SHOTS, 'topology.png') });
    await page.click('button[data-view="diagnostics"]');
    await page.waitForSelector('.diag');
    await page.screenshot({ path: path.join(SHOTS, 'diagnostics.png') });
    // a packet button opens the packet list on it
    const first = page.locator('.diag .pk button').first();
    const n = (await first.innerText()).replace('#', '');
    await first.click();
    await page.waitForSelector('#view-packets.active');
    await expect
      .poll(async () =>
        page.locator('tbody tr.selected, tbody tr.linked').evaluateAll((trs) => trs.map((t) => (t as HTMLElement).dataset.n)),
      )
      .toContain(n);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('large type for a projector', async () => {
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    const small = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    await page.click('#large');
    const large = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    expect(large).toBeGreaterThanOrEqual(small * 1.3);
    expect(await page.getAttribute('#large', 'aria-pressed')).toBe('true');
    await page.waitForFunction(() => document.querySelectorAll('#cards .card').length >= 5);
    await page.screenshot({ path: path.join(SHOTS, 'overview-large.png') });
    await page.click('#large');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('an upload works; a bad one says why', async () => {
    const files = path.join(tmp, 'up');
    writeSampleSession(files);
    const errors: string[] = [];
    const page = await openPage(server.openUrl, errors);
    await page.setInputFiles('#upload', [path.join(files, 'kvm1-eth1.pcap')]);
    await expect
      .poll(() => page.locator('#message').innerText(), { timeout: 10_000 })
      .toMatch(/^Loaded kvm1-eth1\.pcap: 16 packets \(node kvm1-2, underlay\)/);
    await page.waitForSelector('#nodes button[data-node="kvm1-2"]');
    expect(errors).toEqual([]);

    const bad = path.join(tmp, 'holiday-photo.pcap');
    writeFileSync(
      bad,
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(' not a capture at all')]),
    );
    await page.setInputFiles('#upload', [bad]);
    await expect
      .poll(() => page.locator('#message').innerText())
      .toMatch(
        /^Upload failed — holiday-photo\.pcap is not a capture file we can read: not a pcap or pcapng capture: unknown magic 0x89504e47/,
      );
    expect(await page.locator('#message').getAttribute('class')).toMatch(/error/);
    await page.screenshot({ path: path.join(tmp, 'bad-upload.png') });
    await page.close();
  });

  test("an empty server: upload a node's two captures and see them correlated", async () => {
    const empty = await startServer(undefined, { port: 0 });
    try {
      const files = path.join(tmp, 'pair');
      writeSampleSession(files);
      const errors: string[] = [];
      const page = await openPage(empty.openUrl, errors);
      expect(await page.locator('#empty').isVisible()).toBe(true);
      await page.setInputFiles('#upload', [path.join(files, 'kvm1-eth1.pcap'), path.join(files, 'kvm1-vxlan_bridge.pcap')]);
      await expect
        .poll(() => page.locator('#message').innerText(), { timeout: 10_000 })
        .toMatch(/^Loaded kvm1-eth1\.pcap: 16 packets \(node kvm1, underlay\); kvm1-vxlan_bridge\.pcap: 14 packets \(node kvm1, bridge\)/);
      expect(await page.locator('#empty').isVisible()).toBe(false);
      await expect.poll(() => page.locator('#cards').innerText()).toMatch(/13\s+matched/);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await empty.close();
    }
  });

  test('without the token, an upload asks for it', async () => {
    const errors: string[] = [];
    const page = await openPage(server.url, errors);
    const f = path.join(tmp, 'kvm9-eth1.pcap');
    writeSampleSession(path.join(tmp, 'tok'));
    await page.setInputFiles('#upload', [path.join(tmp, 'tok', 'kvm2-eth1.pcap')]);
    await expect.poll(() => page.locator('#message').innerText()).toMatch(/needs the token printed by `vxlan-inspect serve`/);
    expect(await page.locator('#token-box').isVisible()).toBe(true);
    await page.fill('#token-input', server.token);
    await page.click('#token-save');
    await page.setInputFiles('#upload', [path.join(tmp, 'tok', 'kvm2-eth1.pcap')]);
    await expect.poll(() => page.locator('#message').innerText()).toMatch(/^Loaded kvm2-eth1\.pcap: 12 packets/);
    expect(existsSync(f)).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });
});
