/**
 * A node's clock against ours, over SSH: run `date +%s.%N` there, and take the local time at the
 * midpoint of the round trip as the moment it was read (NTP's reasoning). The sample with the
 * shortest round trip wins: its midpoint is the least uncertain (± RTT/2).
 */

export interface ClockSample {
  /** Local time before sending the command, µs since the epoch. */
  sentUs: number;
  /** Node time it printed, µs since the epoch. */
  remoteUs: number;
  /** Local time the answer was complete. */
  receivedUs: number;
}

export interface ClockOffset {
  /** Node clock minus local clock, µs (positive: the node is ahead). */
  offsetUs: number;
  /** Round trip of the sample used, µs; the offset is good to about half of it. */
  rttUs: number;
  samples: number;
  /** Precision of the node's answer: 9 digits with GNU date, 0 when it printed whole seconds only (busybox). */
  remoteDigits: number;
}

/** `1700000000.123456789` → µs since the epoch (no float rounding beyond µs); undefined when not a time. */
export function parseEpochText(text: string): { us: number; digits: number } | undefined {
  const m = /^\s*(\d{1,12})(?:\.(\d+))?\s*$/.exec(text);
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

/** Measures with `read()` (which runs `date +%s.%N` on the node and returns its stdout) `count` times. */
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
