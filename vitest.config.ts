/**
 * Three vitest projects:
 *
 * - `unit`: pure tests (bytes in, values out; local child processes such as `sh`, `tcpdump -r`,
 *   the CLI on a file; web servers on port 0 of 127.0.0.1). Files run in parallel.
 * - `lab`: tests that need root and real things — network namespaces (the lab), a real sshd,
 *   chromium — beside the unit files. Each file builds its own lab under a prefix of its own
 *   (`uniquePrefix()`), so they run side by side: two at a time by default (VXI_LAB_WORKERS and
 *   VXI_LAB_WITH_UNIT, below). Tests inside a file run in their own order.
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
  'test/fuzz.test.ts': 'a peak-RSS bound on its process (per-case cost is CPU time, load-proof)',
  'test/faults-load-web.test.ts': 'a load test: 10 clients for 3 s, a p99 bound',
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
 * Lab files at once (VXI_LAB_WORKERS, default 2), and from the start, beside the unit files
 * (VXI_LAB_WITH_UNIT, default 1; 0 runs them after the unit files). Each lab file builds its lab
 * under a prefix of its own, so they can run side by side. The lab chain is the floor of the
 * suite's time: one at a time after the unit files took ~630 s of vitest, two at once beside them
 * ~440 s (2026-12-01, 2 cores). Three at once once left traffic late for its capture window in 7 of
 * ~100 lab tests (before the capture-stop and path fixes of that day); two stayed green.
 */
const labWorkers = Math.max(1, Number.parseInt(process.env.VXI_LAB_WORKERS ?? '', 10) || 2);
const labWithUnit = process.env.VXI_LAB_WITH_UNIT !== '0';

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
          maxWorkers: Math.max(2, availableParallelism() - 1),
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'lab',
          include: labFiles,
          fileParallelism: labWorkers > 1,
          maxWorkers: labWorkers,
          sequence: { groupOrder: labWithUnit ? 0 : 1 },
        },
      },
      {
        test: {
          ...shared,
          name: 'serial',
          include: serialFiles,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
