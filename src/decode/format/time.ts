/** Timestamps as text, exact to the source's precision (no floating-point rounding). */
import type { RawPacket } from '../types.js';
import { ByteWriter, lit, pow10, type Lit } from './bytes.js';

type Ts = Pick<RawPacket, 'tsSec' | 'tsNsec' | 'tsDigits'>;

/** True when the sub-second field is out of range (a broken file: tcpdump says "invalid"). */
export function isInvalidTimestamp(p: Ts): boolean {
  return p.tsNsec < 0 || p.tsNsec >= 1_000_000_000;
}

/** The sub-second digits, at the source's precision. */
function fraction(p: Ts): string {
  const digits = Math.min(9, Math.max(0, p.tsDigits));
  if (digits === 0) return '';
  const scaled = Math.floor(p.tsNsec / 10 ** (9 - digits));
  return scaled.toString().padStart(digits, '0');
}

/** Seconds since the epoch with the source's sub-second digits: "1700000000.000051". */
export function formatEpoch(p: Ts): string {
  const frac = fraction(p);
  return frac ? `${p.tsSec}.${frac}` : `${p.tsSec}`;
}

/** Time of day in UTC, as tcpdump prints it with TZ=UTC: "13:46:40.000051". */
export function formatTimeOfDay(p: Ts): string {
  const s = ((p.tsSec % 86400) + 86400) % 86400;
  const hh = Math.floor(s / 3600)
    .toString()
    .padStart(2, '0');
  const mm = Math.floor((s % 3600) / 60)
    .toString()
    .padStart(2, '0');
  const ss = (s % 60).toString().padStart(2, '0');
  const frac = fraction(p);
  return `${hh}:${mm}:${ss}${frac ? `.${frac}` : ''}`;
}

/** Seconds as a floating-point number (for charts and time windows; not exact beyond µs). */
export function tsSeconds(p: Ts): number {
  return p.tsSec + p.tsNsec / 1e9;
}

/** True when the fast digit-by-digit writers below give exactly the text of the functions above. */
function plain(p: Ts): boolean {
  return (
    p.tsNsec >= 0 &&
    p.tsNsec < 1_000_000_000 &&
    Number.isInteger(p.tsNsec) &&
    p.tsDigits >= 1 &&
    p.tsDigits <= 9 &&
    Number.isInteger(p.tsDigits) &&
    p.tsSec >= 0 &&
    p.tsSec <= 0xffffffff &&
    Number.isInteger(p.tsSec)
  );
}

/**
 * The text of a timestamp's whole seconds ("1700000000." or "13:46:40."), kept for the next
 * packet: packets come thousands per second, so the seconds' digits are made once per second
 * and copied as fixed text (ByteWriter.lit) for the rest.
 */
class SecondsText {
  private sec = -1;
  private text: Lit = lit('');
  private readonly scratch = new ByteWriter(16);

  constructor(private readonly make: (w: ByteWriter, sec: number) => void) {}

  of(sec: number): Lit {
    if (sec !== this.sec) {
      this.scratch.reset();
      this.make(this.scratch, sec);
      this.text = lit(this.scratch.textFrom(0));
      this.sec = sec;
    }
    return this.text;
  }
}

const epochSeconds = new SecondsText((w, sec) => {
  w.digits(sec, 1);
  w.byte(0x2e);
});

const daySeconds = new SecondsText((w, sec) => {
  const s = sec % 86400;
  w.digits(Math.floor(s / 3600), 2);
  w.byte(0x3a);
  w.digits(Math.floor((s % 3600) / 60), 2);
  w.byte(0x3a);
  w.digits(s % 60, 2);
  w.byte(0x2e);
});

/** formatEpoch, written to bytes. */
export function writeEpoch(w: ByteWriter, p: Ts): void {
  if (!plain(p)) return w.ascii(formatEpoch(p));
  w.lit(epochSeconds.of(p.tsSec));
  w.digits(Math.floor(p.tsNsec / pow10(9 - p.tsDigits)), p.tsDigits);
}

/** formatTimeOfDay, written to bytes. */
export function writeTimeOfDay(w: ByteWriter, p: Ts): void {
  if (!plain(p)) return w.ascii(formatTimeOfDay(p));
  w.lit(daySeconds.of(p.tsSec));
  w.digits(Math.floor(p.tsNsec / pow10(9 - p.tsDigits)), p.tsDigits);
}
