/**
 * A node's clock against ours, over SSH, NTP's way: ask for the node's time several times over one
 * open channel, take the local time at the midpoint of each round trip as the moment it was read,
 * and keep the sample with the shortest round trip (its midpoint is the least uncertain: ± RTT/2).
 *
 * The midpoint is right only when the way there and the way back take as long. A `date` per
 * sample breaks that: the shell forks and execs `date` before it reads the clock, and only then
 * does the answer go back, so the reading is late by the fork and the exec (measured on the lab,
 * 2 cores at load 6: +250…+480 µs, with nodes that share our clock). The reader therefore reads
 * the clock without starting a program: bash's `$EPOCHREALTIME` (bash ≥ 5, µs), a builtin; the
 * same lab then measures −30…+1 µs. A node without it falls back to `date +%s.%N` (the answer
 * says which it used).
 */
import type { RemoteProcess } from '../remote/exec.js';

export interface ClockSample {
  /** Local time before sending the command, µs since the epoch. */
  sentUs: number;
  /** Node time it printed, µs since the epoch. */
  remoteUs: number;
  /** Local time the answer was complete. */
  receivedUs: number;
}

/** How the node read its clock: a shell builtin (no program started) or a `date` process per sample. */
export type ClockReader = 'shell-builtin' | 'date';

export interface ClockOffset {
  /** Node clock minus local clock, µs (positive: the node is ahead). */
  offsetUs: number;
  /** Round trip of the sample used, µs; the offset is good to about half of it. */
  rttUs: number;
  samples: number;
  /** Precision of the node's answer: 9 digits with GNU date, 6 with bash, 0 when it printed whole seconds only (busybox). */
  remoteDigits: number;
  /** How the node read its clock (absent when measured with a reader of the caller's). */
  reader?: ClockReader;
}

/** `1700000000.123456789` (or with a decimal comma) → µs since the epoch (no float rounding beyond µs); undefined when not a time. */
export function parseEpochText(text: string): { us: number; digits: number } | undefined {
  const m = /^\s*(\d{1,12})(?:[.,](\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  const frac = m[2] ?? '';
  const us = Number(m[1]) * 1_000_000 + Number((frac + '000000').slice(0, 6));
  return { us, digits: frac.length };
}

export function offsetFromSamples(samples: readonly ClockSample[], remoteDigits = 9): ClockOffset | undefined {
  let best: ClockSample | undefined;
  for (const s of samples) if (best === undefined || s.receivedUs - s.sentUs < best.receivedUs - best.sentUs) best = s;
  if (!best) return undefined;
  const rttUs = best.receivedUs - best.sentUs;
  // whole-second clocks: the printed second started up to 1 s before; assume its middle
  const remote = remoteDigits === 0 ? best.remoteUs + 500_000 : best.remoteUs;
  return { offsetUs: Math.round(remote - (best.sentUs + rttUs / 2)), rttUs, samples: samples.length, remoteDigits };
}

/** Local wall clock in µs (Date.now() is ms; the high-resolution timer gives the rest). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Measures with `read()` (which asks the node for its time and returns the answer's text) `count` times. */
export async function measureClockOffset(read: () => Promise<string>, count = 5): Promise<ClockOffset | undefined> {
  const samples: ClockSample[] = [];
  let digits = 9;
  for (let i = 0; i < count; i++) {
    const sentUs = nowUs();
    const out = await read();
    const receivedUs = nowUs();
    const t = parseEpochText(out);
    if (!t) return undefined;
    digits = Math.min(digits, t.digits);
    samples.push({ sentUs, remoteUs: t.us, receivedUs });
  }
  return offsetFromSamples(samples, digits);
}

/**
 * The program run on the node (`sh -c CLOCK_READER_SCRIPT`): one answer line per line it reads,
 * `b SECONDS.MICROS` from bash's `$EPOCHREALTIME` where bash has it, else `d SECONDS.NANOS` from
 * `date`. Fixed text: nothing of ours or the user's is in it. LC_ALL=C: bash prints
 * `$EPOCHREALTIME` with the locale's decimal point.
 */
export const CLOCK_READER_SCRIPT = [
  'LC_ALL=C; export LC_ALL',
  `if command -v bash >/dev/null 2>&1 && [ -n "$(bash -c 'echo "$EPOCHREALTIME"' 2>/dev/null)" ]; ` +
    `then exec bash -c 'while read -r _; do echo "b $EPOCHREALTIME"; done'; fi`,
  "while read -r _; do printf 'd '; date +%s.%N; done",
].join('\n');

/** One answer line of the reader → the time and how it was read; undefined when it is not one. */
export function parseReaderLine(line: string): { reader: ClockReader; us: number; digits: number } | undefined {
  const m = /^\s*([bd]) (.*)$/.exec(line);
  if (!m?.[1] || m[2] === undefined) return undefined;
  const t = parseEpochText(m[2]);
  return t ? { reader: m[1] === 'b' ? 'shell-builtin' : 'date', ...t } : undefined;
}

/** What measureRemoteClock needs of a running reader: a remote process, or a local child in tests. */
export type ClockChannel = Pick<RemoteProcess, 'stdin' | 'stdout' | 'exit' | 'close'>;

/** A line reader over the channel: writes a line, resolves with the next whole line of output. */
function lineExchange(ch: ClockChannel, timeoutMs: number): (send: string) => Promise<string> {
  let buf = '';
  let exited = false;
  let wake: (() => void) | undefined;
  ch.stdout.on('data', (d: Buffer | string) => {
    buf += typeof d === 'string' ? d : d.toString('latin1');
    wake?.();
  });
  void ch.exit.then(() => {
    exited = true;
    wake?.();
  });
  return async (send) => {
    buf = '';
    ch.stdin.write(send);
    const deadline = Date.now() + timeoutMs;
    while (!buf.includes('\n')) {
      if (exited) throw new Error('the clock reader ended');
      if (Date.now() > deadline) throw new Error(`no answer from the clock reader within ${timeoutMs} ms`);
      // woken by the answer (or the end); the timer only bounds the wait
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return buf.slice(0, buf.indexOf('\n'));
  };
}

/**
 * Starts the reader with `spawn(['sh', '-c', CLOCK_READER_SCRIPT])` (a node's RemoteSession.spawn)
 * and measures `samples` times after one warm-up (the shell's start and the choice of reader are
 * no sample's). Undefined when the node's answer is not a time (busybox `date` has no %N).
 */
export async function measureRemoteClock(
  spawn: (argv: string[]) => Promise<ClockChannel>,
  opts: { samples?: number; timeoutMs?: number } = {},
): Promise<ClockOffset | undefined> {
  const ch = await spawn(['sh', '-c', CLOCK_READER_SCRIPT]);
  const exchange = lineExchange(ch, opts.timeoutMs ?? 10_000);
  try {
    const first = parseReaderLine(await exchange('x\n'));
    if (!first) return undefined;
    const samples: ClockSample[] = [];
    let digits = 9;
    for (let i = 0; i < (opts.samples ?? 16); i++) {
      const sentUs = nowUs();
      const line = await exchange('x\n');
      const receivedUs = nowUs();
      const t = parseReaderLine(line);
      if (!t) return undefined;
      digits = Math.min(digits, t.digits);
      samples.push({ sentUs, remoteUs: t.us, receivedUs });
    }
    const off = offsetFromSamples(samples, digits);
    return off ? { ...off, reader: first.reader } : undefined;
  } finally {
    ch.stdin.end();
    ch.close();
  }
}
