/**
 * pcapng timestamps: a 64-bit count of units since the epoch, the unit given by the interface's
 * if_tsresol option (one byte: 10^-n, or 2^-n when the high bit is set; default 10^-6), plus
 * if_tsoffset seconds. The common resolutions take a float-only path; the rest use BigInt.
 */

/** Converts (high, low) 32-bit halves into seconds + nanoseconds, written to `sec` / `nsec`. */
export class TsConverter {
  sec = 0;
  nsec = 0;
  readonly tsDigits: number;
  private readonly binary: boolean;
  private readonly exp: number;
  private readonly divisor: number;
  private readonly fast: boolean;
  private readonly offset: number;

  /** `tsresol` is the raw if_tsresol byte (validate it first with tsresolProblem). */
  constructor(tsresol: number, offsetSec = 0) {
    this.binary = (tsresol & 0x80) !== 0;
    this.exp = tsresol & 0x7f;
    this.offset = offsetSec;
    this.divisor = 10 ** this.exp;
    this.fast = !this.binary && this.exp <= 11; // divisor < 2^37: the 16-bit long division below stays exact
    this.tsDigits = this.binary ? Math.min(9, Math.ceil(this.exp * Math.LOG10E * Math.LN2)) : Math.min(9, this.exp);
  }

  convert(hi: number, lo: number): void {
    if (!this.fast) return this.convertBig(hi, lo);
    const d = this.divisor;
    const qh = Math.floor(hi / d);
    let r = hi - qh * d;
    let x = r * 65536 + (lo >>> 16);
    const q1 = Math.floor(x / d);
    r = x - q1 * d;
    x = r * 65536 + (lo & 0xffff);
    const q2 = Math.floor(x / d);
    r = x - q2 * d;
    this.sec = qh * 4294967296 + q1 * 65536 + q2 + this.offset;
    this.nsec = this.exp <= 9 ? r * 10 ** (9 - this.exp) : Math.floor(r / 10 ** (this.exp - 9));
  }

  private convertBig(hi: number, lo: number): void {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const e = BigInt(this.exp);
    if (this.binary) {
      this.sec = Number(t >> e) + this.offset;
      this.nsec = Number(((t & ((1n << e) - 1n)) * 1_000_000_000n) >> e);
      return;
    }
    const d = 10n ** e;
    this.sec = Number(t / d) + this.offset;
    const rem = t % d;
    this.nsec = Number(this.exp <= 9 ? rem * 10n ** (9n - e) : rem / 10n ** (e - 9n));
  }
}

/** Why an if_tsresol byte cannot be used, or undefined when it is fine. */
export function tsresolProblem(tsresol: number): string | undefined {
  const exp = tsresol & 0x7f;
  if (tsresol & 0x80) return exp > 63 ? `if_tsresol 2^-${exp} does not fit a 64-bit timestamp` : undefined;
  return exp > 19 ? `if_tsresol 10^-${exp} does not fit a 64-bit timestamp` : undefined;
}

/** Splits seconds + nanoseconds into the 64-bit unit count of a resolution (writer side). */
export function toUnits(tsSec: number, tsNsec: number, tsresol: number): bigint {
  const exp = BigInt(tsresol & 0x7f);
  const ns = BigInt(tsSec) * 1_000_000_000n + BigInt(tsNsec);
  if (tsresol & 0x80) return (ns << exp) / 1_000_000_000n;
  return exp <= 9n ? ns / 10n ** (9n - exp) : ns * 10n ** (exp - 9n);
}
