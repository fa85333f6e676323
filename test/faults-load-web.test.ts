/**
 * The web server under load, short enough for CI: scripts/load-web.mjs with a 200,000-packet
 * capture pair, 10 clients for 3 s from another process (wrk when installed, else the script's
 * Node client) against `vxlan-inspect serve` on 127.0.0.1. No request may fail, p99 stays under
 * a generous bound, and the server's memory under load stays near what it held after indexing.
 * The full run (1M packets, 50 clients, 20 s) is `node scripts/load-web.mjs`; see docs/load.md.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

interface LoadRow {
  generator: string;
  packets: number;
  clients: number;
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  errorDetail: Record<string, number>;
  rssAfterWarmMiB: number;
  peakRssUnderLoadMiB: number;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/load-web.mjs'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

test('10 clients page a 200k-packet capture pair for 3 s: no errors, p99 under 3 s, memory bounded', async () => {
  const r = await run(['--packets', '200000', '--clients', '10', '--duration', '3', '--json', '--max-p99-ms', '3000']);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const row = JSON.parse(r.stdout) as LoadRow;
  expect(row.errorDetail).toSatisfy((d: Record<string, number>) => Object.values(d).every((v) => v === 0));
  expect(row.errors).toBe(0);
  expect(row.requests).toBeGreaterThan(30);
  expect(row.p99ms).toBeLessThan(3000);
  // pages are re-read from disk: serving them must not grow the heap with the number of requests
  expect(row.peakRssUnderLoadMiB).toBeLessThan(row.rssAfterWarmMiB + 256);
}, 120_000);
