/**
 * The fuzz loop: `cases` mutants of the seed files, each run through the harness, each
 * reproducible from (seed, case index) alone. Reports crashes (deduplicated by where and
 * what), cases slower than the bound (re-timed to rule out a GC pause), the slowest case,
 * and the peak resident memory of the process.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from './rng.js';
import { mutate, type Seed } from './mutate.js';
import { runCase, type CaseOutcome } from './harness.js';
import { captureStructure, trimCapture } from './structure.js';

export interface Finding {
  caseIndex: number;
  seedName: string;
  ops: string[];
  bytes: Uint8Array;
  outcome: CaseOutcome;
}

export interface FuzzOptions {
  seeds: readonly Seed[];
  cases: number;
  seed: number;
  /** Stop after this long even if fewer cases ran (ms). */
  timeBudgetMs?: number;
  /** A case that costs more CPU time than this three times in a row is a hang (CaseOutcome.ms). Default 200 ms. */
  slowMs?: number;
  /** First case index (to resume or replay). Default 0. */
  firstCase?: number;
  /** Called before each case runs (a watchdog notes which case is running). */
  onCaseStart?: (index: number) => void;
  /** Called every `progressEvery` cases. */
  onProgress?: (done: number, report: FuzzReport) => void;
  progressEvery?: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  crashes: Finding[];
  /** Crashes with the same signature as one already listed. */
  duplicateCrashes: number;
  hangs: Finding[];
  slowest: { caseIndex: number; seedName: string; ms: number; ops: string[] } | undefined;
  /** Cases the reader declared damaged (expected: most mutants are). */
  damagedFiles: number;
  /** Frames decoded with a [malformed …] error inside files that read fine up to there. */
  malformedFrames: number;
  packets: number;
  elapsedMs: number;
  /** Peak resident set size of this process, MiB. */
  peakRssMb: number;
  /** Median and 99th percentile case cost, CPU ms (CaseOutcome.ms). */
  p50Ms: number;
  p99Ms: number;
}

/** The case `index` of a run: the mutant and how it is fed to the reader. */
export function makeCase(
  seeds: readonly Seed[],
  seed: number,
  index: number,
): { seedName: string; bytes: Uint8Array; ops: string[]; chunkSizes: number[] } {
  const rng = Rng.forCase(seed, index);
  const s = rng.pick(seeds);
  const m = mutate(rng, s, seeds);
  const chunkSizes: number[] = [];
  if (rng.chance(0.5))
    for (let i = rng.between(1, 4); i > 0; i--) chunkSizes.push(rng.chance(0.3) ? rng.between(1, 16) : rng.between(17, 4096));
  return { seedName: s.name, bytes: m.bytes, ops: chunkSizes.length ? [...m.ops, `chunks ${chunkSizes.join(',')}`] : m.ops, chunkSizes };
}

export function crashSignature(o: CaseOutcome): string {
  if (!o.crash) return '';
  const frame = o.crash.stack?.split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
  return `${o.crash.where}: ${o.crash.message.replace(/\d+/g, 'N')} ${frame.trim()}`;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const slowMs = opts.slowMs ?? 200;
  const first = opts.firstCase ?? 0;
  const t0 = performance.now();
  const times: number[] = [];
  const seen = new Set<string>();
  const report: FuzzReport = {
    seed: opts.seed,
    cases: 0,
    crashes: [],
    duplicateCrashes: 0,
    hangs: [],
    slowest: undefined,
    damagedFiles: 0,
    malformedFrames: 0,
    packets: 0,
    elapsedMs: 0,
    peakRssMb: 0,
    p50Ms: 0,
    p99Ms: 0,
  };
  for (let i = first; i < first + opts.cases; i++) {
    if (opts.timeBudgetMs !== undefined && performance.now() - t0 > opts.timeBudgetMs) break;
    opts.onCaseStart?.(i);
    const c = makeCase(opts.seeds, opts.seed, i);
    let o = await runCase(c.bytes, { chunkSizes: c.chunkSizes });
    if (o.ms > slowMs) {
      // A GC pause or a cold JIT? Run it twice more; a hang costs that much every time.
      for (let k = 0; k < 2 && o.ms > slowMs; k++) {
        const again = await runCase(c.bytes, { chunkSizes: c.chunkSizes });
        if (again.ms < o.ms) o = again;
      }
      if (o.ms > slowMs) report.hangs.push({ caseIndex: i, seedName: c.seedName, ops: c.ops, bytes: c.bytes, outcome: o });
    }
    report.cases++;
    times.push(o.ms);
    report.packets += o.packets;
    report.malformedFrames += o.malformedFrames;
    if (o.readerError !== undefined) report.damagedFiles++;
    if (!report.slowest || o.ms > report.slowest.ms) report.slowest = { caseIndex: i, seedName: c.seedName, ms: o.ms, ops: c.ops };
    if (o.crash) {
      const sig = crashSignature(o);
      if (seen.has(sig)) report.duplicateCrashes++;
      else {
        seen.add(sig);
        report.crashes.push({ caseIndex: i, seedName: c.seedName, ops: c.ops, bytes: c.bytes, outcome: o });
      }
    }
    if (opts.onProgress && opts.progressEvery && report.cases % opts.progressEvery === 0)
      opts.onProgress(report.cases, finishReport(report, times, t0));
  }
  return finishReport(report, times, t0);
}

function finishReport(report: FuzzReport, times: number[], t0: number): FuzzReport {
  report.elapsedMs = performance.now() - t0;
  report.peakRssMb = process.resourceUsage().maxRSS / 1024;
  const sorted = [...times].sort((a, b) => a - b);
  report.p50Ms = sorted[Math.floor(sorted.length * 0.5)] ?? 0;
  report.p99Ms = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  return report;
}

const CAPTURE_FILE = /\.(pcap|pcapng|cap)$/;

/**
 * Seed files: every capture under `dirs` (recursively), each trimmed to whole units within
 * `maxBytes` (default 64 KiB) so a case costs about the same whatever the seed.
 */
export function loadSeeds(dirs: readonly string[], maxBytes = 64 * 1024): Seed[] {
  const seeds: Seed[] = [];
  const walk = (dir: string, label: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path, `${label}/${name}`);
      else if (CAPTURE_FILE.test(name) && st.size >= 4) {
        const bytes = trimCapture(new Uint8Array(readFileSync(path)), maxBytes);
        seeds.push({ name: `${label}/${name}`, bytes, structure: captureStructure(bytes) });
      }
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d, d.split('/').filter(Boolean).at(-1) ?? d);
  return seeds;
}
