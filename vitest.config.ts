/**
 * Three vitest projects:
 *
 * - `unit`: pure tests (bytes in, values out; local child processes such as `sh`, `tcpdump -r`,
 *   the CLI on a file; web servers on port 0 of 127.0.0.1). Files run in parallel.
 * - `lab`: tests that need root and real things — network namespaces (the lab), a real sshd,
 *   chromium. Each file builds its own lab under a prefix of its own (`uniquePrefix()`), so files
 *   run side by side, and beside the unit tests, in one pool of VXI_TEST_WORKERS (default: cores
 *   + 2): most of a lab file's time is waiting (SSH connects, keepalive timeouts, traffic for N
 *   seconds), not CPU.
 *   Tests inside a file run in their own order.
 * - `serial`: tests that measure time, memory or load, and must not share the CPU with other test
 *   files: one file at a time, after the other two projects.
 *
 * Which project a file lands in (see projectOf below), so a new file lands right by itself:
 *   serial: its name ends in `.serial.test.ts`, or it is in SERIAL below (time, memory, load bounds);
 *   lab: its name contains `lab`, or its source needs root or a real server: it checks for root
 *     (`process.getuid`), imports `helpers/netns` (namespaces), or names `/usr/sbin/sshd` or
 *     `playwright-core`;
 *   unit: every other `*.test.ts` under src/ and test/.
 *
 * The global setup builds dist/ once (incrementally) before any file runs: see test/global-setup.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

const ROOT = import.meta.dirname;

/** Files that measure time, memory or load, each with why: they run alone. */
const SERIAL: Record<string, string> = {
  'test/faults-load-web.test.ts': 'a load test: 10 clients for 3 s, a p99 bound',
  'test/fuzz.test.ts': 'hang detection by time per case (200 ms)',
  'test/malformed.test.ts': 'a 130 MB decode, a time bound and peak-RSS bounds',
  'test/web-scale.test.ts': 'page latency bounds on a large capture',
};

/** What puts a file in the lab project: root (mounts, setpriv, sshd), the namespace lab, a real sshd, a browser. */
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

export type Project = 'unit' | 'lab' | 'serial';

export function projectOf(file: string): Project {
  const name = path.basename(file);
  if (name.endsWith('.serial.test.ts') || file in SERIAL) return 'serial';
  if (name.includes('lab')) return 'lab';
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  return MARKERS.some((m) => m.test(source)) ? 'lab' : 'unit';
}

/** Lab and serial files: what the unit project leaves out. */
export function isIntegration(file: string): boolean {
  return projectOf(file) !== 'unit';
}

const allFiles = [...testFiles('src'), ...testFiles('test')].sort();
const labFiles = allFiles.filter((f) => projectOf(f) === 'lab');
const serialFiles = allFiles.filter((f) => projectOf(f) === 'serial');
/**
 * Unit and lab files share one pool (vitest runs projects of one group order in one pool, with one
 * maxWorkers): lab files mostly wait, so the pool is wider than the machine (VXI_TEST_WORKERS).
 */
const workers = Math.max(2, Number.parseInt(process.env.VXI_TEST_WORKERS ?? '', 10) || availableParallelism() + 2);

/** What the projects share (not `extends: true`: that would run the global setup once per project). */
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
          exclude: [...configDefaults.exclude, ...labFiles, ...serialFiles],
          fileParallelism: true,
          maxWorkers: workers,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'lab',
          include: labFiles,
          fileParallelism: true,
          maxWorkers: workers,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'serial',
          include: serialFiles,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
