/**
 * Two vitest projects:
 *
 * - `unit`: pure tests (bytes in, values out; local child processes such as `sh`, `tcpdump -r`,
 *   the CLI on a file; web servers on port 0 of 127.0.0.1). Files run in parallel.
 * - `integration`: tests that need root and the machine's shared state — network namespaces (the
 *   lab), a real sshd, chromium — or that measure time, memory or load and must not share the CPU
 *   with other test files. Files run one at a time, after the unit project, tests inside a file in
 *   their own order.
 *
 * Which project a file lands in (see isIntegration below), so a new file lands right by itself:
 *   1. its name contains `lab` (capture-lab.test.ts, lab-dir-safety.test.ts, ...), or
 *   2. its name ends in `.serial.test.ts`, or
 *   3. its source needs root or a real server: it checks for root (`process.getuid`), imports
 *      `helpers/netns` (namespaces), or names `/usr/sbin/sshd` or `playwright-core`, or
 *   4. it is in INTEGRATION below (time, memory and load bounds).
 * Every other `*.test.ts` under src/ and test/ is a unit test.
 *
 * The global setup builds dist/ once (incrementally) before any file runs: see test/global-setup.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

const ROOT = import.meta.dirname;

/** Integration files that rule 1–3 does not catch, each with why. */
const INTEGRATION: Record<string, string> = {
  'test/faults-load-web.test.ts': 'a load test: 10 clients for 3 s, a p99 bound',
  'test/fuzz.test.ts': 'hang detection by time per case (200 ms)',
  'test/malformed.test.ts': 'a 130 MB decode, a time bound and peak-RSS bounds',
  'test/web-scale.test.ts': 'page latency bounds on a large capture',
};

/** Rule 3: root (mounts, setpriv, sshd), the namespace lab, a real sshd, a browser. */
const MARKERS = [/process\.gete?uid/, /helpers\/netns(\.js)?['"]/, /['"]\/usr\/sbin\/sshd['"]/, /['"]playwright-core['"]/];

function testFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const rel = `${d}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(rel);
      } else if (e.name.endsWith('.test.ts')) out.push(rel);
    }
  };
  walk(dir);
  return out;
}

export function isIntegration(file: string): boolean {
  const name = path.basename(file);
  if (name.includes('lab') || name.endsWith('.serial.test.ts') || file in INTEGRATION) return true;
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  return MARKERS.some((m) => m.test(source));
}

const integrationFiles = [...testFiles('src'), ...testFiles('test')].filter(isIntegration).sort();

/** What both projects share (not `extends: true`: that would run the global setup once per project). */
const shared = { testTimeout: 30_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...integrationFiles],
          fileParallelism: true,
          maxWorkers: Math.max(2, availableParallelism() - 1),
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'integration',
          // namespace names, sshd ports and the CPU are shared: one file at a time
          include: integrationFiles,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
