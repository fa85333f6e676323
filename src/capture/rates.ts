/**
 * Packets and bytes per second of a live stream, over the interval since the previous sample:
 * the one place the capture's status line (live-stats.ts) and the web view's live events
 * (web/live.ts) compute their rates.
 */

/**
 * An interval shorter than this keeps the previous rates: ticks that come close together
 * (a last tick at the end of a capture) would otherwise show the noise of a few packets.
 */
export const MIN_RATE_INTERVAL_MS = 200;

export interface Rates {
  /** Rounded to 0.1. */
  packetsPerSec: number;
  /** Rounded to a whole byte. */
  bytesPerSec: number;
}

export class RateMeter {
  private lastAt: number;
  private lastPackets = 0;
  private lastBytes = 0;
  private pps = 0;
  private bps = 0;

  /** `startedAt` (ms): when counting began, with both totals at 0. */
  constructor(startedAt: number) {
    this.lastAt = startedAt;
  }

  /** The interval begins again at `now`, from the totals given (default: those of the last sample). */
  restart(now: number, packets = this.lastPackets, bytes = this.lastBytes): void {
    this.lastAt = now;
    this.lastPackets = packets;
    this.lastBytes = bytes;
  }

  /**
   * The rates over the interval from the previous sample to `now` (ms), given the running totals;
   * the window then starts at `now`. An interval under MIN_RATE_INTERVAL_MS changes nothing.
   */
  sample(now: number, packets: number, bytes = 0): Rates {
    const dtMs = now - this.lastAt;
    if (dtMs >= MIN_RATE_INTERVAL_MS) {
      this.pps = ((packets - this.lastPackets) * 1000) / dtMs;
      this.bps = ((bytes - this.lastBytes) * 1000) / dtMs;
      this.restart(now, packets, bytes);
    }
    return this.current;
  }

  /** The rates of the last completed interval (0 before the first). */
  get current(): Rates {
    return { packetsPerSec: Math.round(this.pps * 10) / 10, bytesPerSec: Math.round(this.bps) };
  }
}
