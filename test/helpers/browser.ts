/** Opening the page in chromium for the browser tests: console errors, page errors and failed requests collected. */
import type { Browser, Page } from 'playwright-core';

/** A new page at `url`, once the client says it is ready; what goes wrong on it is pushed to `errors`. */
export async function openPage(browser: Browser, url: string, errors: string[], viewport = { width: 1600, height: 1000 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  return page;
}
