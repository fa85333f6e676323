/**
 * Vitest global setup: builds dist/ once, before any test file runs, so the tests that run the
 * compiled CLI, its worker threads or the web assets (dist/) never run a stale build — also when
 * vitest is started directly (`npx vitest run test/x.test.ts`), not through `npm test`.
 *
 * `npm run build` is incremental (dist/.tsbuildinfo): with nothing changed it takes a few seconds.
 * Two test runs in the same machine build one at a time (flock on $TMPDIR/vxi-build.lock, when
 * flock is installed), so one never reads a dist/ the other is half-way through writing.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

function haveFlock(): boolean {
  return spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
}

export default function buildOnce(): void {
  const npm = ['npm', 'run', '--silent', 'build'];
  const argv = haveFlock() ? ['flock', '-w', '600', path.join(tmpdir(), 'vxi-build.lock'), ...npm] : npm;
  const t0 = Date.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(
      `global setup: \`npm run build\` failed (exit ${r.status ?? r.signal}), ` +
        'so no test runs against a stale ' +
        `dist/:\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
    );
  }
  process.stdout.write(`global setup: npm run build (incremental) took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
