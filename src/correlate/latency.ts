/**
 * Latency percentiles in bounded memory: a log-linear histogram over whole microseconds,
 * exact below 256 µs and within 1/128 (< 0.8 %) above, like HdrHistogram. The maximum is exact.
 */

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // sub-buckets per power of two
const EXACT = SUB * 2; // values below this have their own bucket
const MAX_EXPONENT = 40; // up to 2^40 µs (12 days): more than any window

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(EXACT + (MAX_EXPONENT - SUB_BITS) * SUB);
  private n = 0;
  private maxValue = 0;

  add(us: number): void {
    const v = Math.max(0, Math.round(us));
    this.counts[bucketOf(v)]! += 1;
    this.n += 1;
    if (us > this.maxValue) this.maxValue = us;
  }

  get count(): number {
    return this.n;
  }

  /** The value at quantile q (0..1): the lower bound of the bucket holding it (exact below 256 µs). */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b] as number;
      if (seen >= rank) return Math.min(lowerBound(b), this.maxValue);
    }
    return this.maxValue;
  }

  summary(): LatencySummary {
    return { count: this.n, p50: this.quantile(0.5), p99: this.quantile(0.99), max: round3(this.maxValue) };
  }
}

function bucketOf(v: number): number {
  if (v < EXACT) return v;
  const exp = Math.min(Math.floor(Math.log2(v)), MAX_EXPONENT - 1); // >= SUB_BITS + 1
  const sub = Math.min(SUB - 1, Math.floor(v / 2 ** (exp - SUB_BITS)) - SUB);
  return EXACT + (exp - SUB_BITS - 1) * SUB + sub;
}

function lowerBound(b: number): number {
  if (b < EXACT) return b;
  const i = b - EXACT;
  const exp = Math.floor(i / SUB) + SUB_BITS + 1;
  return (SUB + (i % SUB)) * 2 ** (exp - SUB_BITS);
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
