/** The clock offset arithmetic, samples recorded on the lab, and the reader run locally (offset 0 by construction). */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findProgram } from '../lab/preflight.js';
import {
  CLOCK_READER_SCRIPT,
  measureClockOffset,
  measureRemoteClock,
  offsetFromSamples,
  parseEpochText,
  parseReaderLine,
  type ClockChannel,
  type ClockSample,
} from './clock.js';

/** [local µs before, what the node printed, local µs after], as the lab's kvm1 answered over SSH (same kernel clock as ours). */
type Recorded = [number, string, number];
const samples = (rows: Recorded[]): ClockSample[] =>
  rows.map(([sentUs, text, receivedUs]) => ({ sentUs, remoteUs: parseEpochText(text)?.us ?? NaN, receivedUs }));

// 2026-12-01, 2 cores at load 6.7: bash's $EPOCHREALTIME, one SSH channel
const BUILTIN: Recorded[] = [
  [1796119706877052, '1796119706.880363', 1796119706880651],
  [1796119706880659, '1796119706.880992', 1796119706881156],
  [1796119706881160, '1796119706.881284', 1796119706881583],
  [1796119706881587, '1796119706.881710', 1796119706881865],
  [1796119706881870, '1796119706.882152', 1796119706882411],
  [1796119706882414, '1796119706.882509', 1796119706882782],
  [1796119706882786, '1796119706.882879', 1796119706883016],
];
// the same minute, `date +%s.%N` forked per sample on the same channel
const DATE: Recorded[] = [
  [1796119706941804, '1796119706.943901938', 1796119706944168],
  [1796119706944176, '1796119706.961341136', 1796119706961826],
  [1796119706961833, '1796119706.963049456', 1796119706963307],
  [1796119706963311, '1796119706.965017430', 1796119706965311],
  [1796119706965316, '1796119706.973348885', 1796119706974060],
  [1796119706974068, '1796119706.975228444', 1796119706975514],
  [1796119706975521, '1796119706.981330617', 1796119706981838],
];

/** The reader as a local child: the same script, our own clock (offset 0). */
function localChannel(env?: NodeJS.ProcessEnv): (argv: string[]) => Promise<ClockChannel> {
  return async ([cmd, ...args]) => {
    const child = spawn(cmd ?? 'sh', args, { stdio: ['pipe', 'pipe', 'ignore'], ...(env ? { env } : {}) });
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    return { stdin: child.stdin, stdout: child.stdout, exit, close: () => child.kill() };
  };
}

describe('clock offset', () => {
  it("reads `date +%s.%N` and bash's $EPOCHREALTIME to the microsecond", () => {
    expect(parseEpochText('1700000000.123456789\n')).toEqual({ us: 1_700_000_000_123_456, digits: 9 });
    expect(parseEpochText('1700000000.5')).toEqual({ us: 1_700_000_000_500_000, digits: 1 });
    expect(parseEpochText('1700000000,123456')).toEqual({ us: 1_700_000_000_123_456, digits: 6 }); // a decimal comma locale
    expect(parseEpochText('1700000000')).toEqual({ us: 1_700_000_000_000_000, digits: 0 });
    expect(parseEpochText('1700000000.N')).toBeUndefined(); // busybox without %N
    expect(parseEpochText('')).toBeUndefined();
    expect(parseReaderLine('b 1700000000.123456')).toEqual({ reader: 'shell-builtin', us: 1_700_000_000_123_456, digits: 6 });
    expect(parseReaderLine('d 1700000000.123456789')).toEqual({ reader: 'date', us: 1_700_000_000_123_456, digits: 9 });
    expect(parseReaderLine('b ')).toBeUndefined(); // bash without $EPOCHREALTIME would print this: the script never chooses it
    expect(parseReaderLine('1700000000.1')).toBeUndefined();
  });

  it('takes the midpoint of the shortest round trip', () => {
    // node 2.5 ms ahead; sample 1: 10 ms round trip, sample 2: 2 ms (the one used)
    const off = offsetFromSamples([
      { sentUs: 1_000_000, remoteUs: 1_000_000 + 5_000 + 2_500, receivedUs: 1_010_000 },
      { sentUs: 2_000_000, remoteUs: 2_000_000 + 1_000 + 2_500, receivedUs: 2_002_000 },
    ]);
    expect(off).toEqual({ offsetUs: 2_500, rttUs: 2_000, samples: 2, remoteDigits: 9 });
    expect(offsetFromSamples([{ sentUs: 0, remoteUs: -40_000_000, receivedUs: 1_000 }])?.offsetUs).toBe(-40_000_500);
    expect(offsetFromSamples([])).toBeUndefined();
  });

  it('assumes the middle of the second when the node prints whole seconds', () => {
    expect(offsetFromSamples([{ sentUs: 10_000_000, remoteUs: 10_000_000, receivedUs: 10_000_000 }], 0)?.offsetUs).toBe(500_000);
  });

  it('on recorded lab samples: a builtin reading is within 30 µs of the true 0; a forked `date` is late by the fork (+437 µs)', () => {
    const builtin = offsetFromSamples(samples(BUILTIN), 6);
    expect(builtin).toEqual({ offsetUs: -22, rttUs: 230, samples: 7, remoteDigits: 6 });
    const date = offsetFromSamples(samples(DATE), 9);
    // the shortest round trip is still 1.4 ms, and the midpoint is off by a third of it: why the reader avoids `date`
    expect(date).toEqual({ offsetUs: 437, rttUs: 1446, samples: 7, remoteDigits: 9 });
  });

  it('measures the local clock against itself as 0 within half the round trip', async () => {
    const run = promisify(execFile);
    const off = await measureClockOffset(async () => (await run('date', ['+%s.%N'])).stdout, 5);
    expect(off).toBeDefined();
    expect(off?.samples).toBe(5);
    expect(Math.abs(off?.offsetUs ?? Infinity)).toBeLessThanOrEqual((off?.rttUs ?? 0) / 2 + 1000);
  });

  it("runs the reader script: bash's builtin where bash has one, `date` otherwise; 0 within half the round trip", async () => {
    const bashHasIt =
      findProgram('bash') !== null && (await promisify(execFile)('bash', ['-c', 'echo "$EPOCHREALTIME"'])).stdout.trim() !== '';
    const off = await measureRemoteClock(localChannel(), { samples: 8 });
    expect(off?.reader).toBe(bashHasIt ? 'shell-builtin' : 'date');
    expect(off?.samples).toBe(8);
    expect(off?.remoteDigits).toBe(bashHasIt ? 6 : 9);
    // the reading happened between sending and receiving, on the same clock: never further than half the round trip
    expect(Math.abs(off?.offsetUs ?? Infinity)).toBeLessThanOrEqual((off?.rttUs ?? 0) / 2 + 1);

    // a PATH with sh and date only: the fallback
    const date = findProgram('date');
    const sh = findProgram('sh');
    if (!date || !sh) return;
    const bin = mkdtempSync(path.join(tmpdir(), 'vxi-clock-'));
    try {
      symlinkSync(date, path.join(bin, 'date'));
      const fallback = await measureRemoteClock(async (argv) => localChannel({ PATH: bin })([sh, ...argv.slice(1)]), { samples: 3 });
      expect(fallback?.reader).toBe('date');
      expect(Math.abs(fallback?.offsetUs ?? Infinity)).toBeLessThanOrEqual((fallback?.rttUs ?? 0) / 2 + 1);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('gives undefined when the node answers something that is not a time', async () => {
    const off = await measureRemoteClock(async () => localChannel()(['sh', '-c', 'while read -r _; do echo nonsense; done']), {
      samples: 2,
    });
    expect(off).toBeUndefined();
    expect(CLOCK_READER_SCRIPT).not.toMatch(/\$\{|`/); // fixed text: nothing substituted into it but the clock
  });
});
