/**
 * Issue 11, in a real browser: in the packet detail of the bundled demo (the lab recording,
 * where a received frame's two sightings often carry the same timestamp), the direction label
 * of a match — "encapsulated" or "decapsulated" — is the correlator's: for every match whose two
 * sightings carry the same timestamp (where a page that guessed from the times would go wrong)
 * and every fourth of the others, of both nodes, as `correlate --json --matches` pairs them. That
 * the page's API gives every match the correlator's direction is test/consistency.test.ts's part;
 * this test is about what the page shows of it (a browser round trip per packet: 0.25 s each).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labRecordingDir } from '../src/cli/demo.js';
import { sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { runCli } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const lab = labRecordingDir();
const canRun = existsSync(CHROMIUM) && existsSync(path.join(lab, 'kvm1-eth1.pcap'));

let server: RunningServer;
let browser: Browser;

interface CliMatch {
  underlay: { n: number };
  overlay: { n: number };
  direction: 'encap' | 'decap';
}

describe.skipIf(!canRun)(`direction labels in the page${canRun ? '' : ' (skipped: needs /usr/bin/chromium and fixtures/lab)'}`, () => {
  beforeAll(async () => {
    server = await startServer(sessionFromDir(lab), { port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function labelOf(page: Page, n: number): Promise<string> {
    // as a user would: "go to #" in the underlay list (the list pages by 100)
    const box = page.locator('#list-underlay input.goto');
    await box.fill(String(n));
    await box.press('Enter');
    await expect
      .poll(() => page.locator('#detail-main h3').innerText(), { timeout: 10_000 })
      .toMatch(new RegExp(`^Underlay packet #${n}\\b`));
    return page.locator('#detail-main .link-line').first().innerText();
  }

  test('matches of kvm1 and kvm2 read as the correlator decided them (every same-timestamp one)', { timeout: 240_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(server.openUrl);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
    await page.click('button[data-view="packets"]');
    let checked = 0;
    let equalTimes = 0;
    for (const node of ['kvm1', 'kvm2']) {
      const r = await runCli([
        'correlate',
        '--json',
        '--matches',
        '--window',
        '100',
        path.join(lab, `${node}-eth1.pcap`),
        path.join(lab, `${node}-vxlan_bridge.pcap`),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const matches = (JSON.parse(r.stdout) as { matches: (CliMatch & { deltaUs: number })[] }).matches;
      expect(matches.length).toBeGreaterThan(70);
      await page.click(`#nodes button[data-node="${node}"]`);
      await page.waitForSelector('#list-underlay tbody tr[data-n="1"]');
      for (const [i, m] of matches.entries()) {
        if (Math.abs(m.deltaUs) >= 0.5 && i % 4 !== 0) continue;
        const text = await labelOf(page, m.underlay.n);
        const want = m.direction === 'encap' ? 'encapsulated' : 'decapsulated';
        expect(text, `${node} underlay #${m.underlay.n}`).toContain(`This is bridge frame #${m.overlay.n}, ${want}`);
        if (Math.abs(m.deltaUs) < 0.5) {
          equalTimes += 1;
          expect(text).toContain('in the same microsecond');
        }
        checked += 1;
      }
    }
    // the lab recording has received frames whose two sightings carry the same timestamp
    expect(equalTimes).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(50);
    await page.close();
  });
});
