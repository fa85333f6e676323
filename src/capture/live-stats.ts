/**
 * The live numbers of one capture stream, from the packets decoded as they arrive: packets,
 * bytes, rates over the last interval, VXLAN packets and the VNIs seen.
 */
import type { DecodedPacket } from '../decode/types.js';
import { RateMeter } from './rates.js';

export interface StreamStats {
  node: string;
  iface: string;
  packets: number;
  /** Bytes on the wire (original lengths). */
  bytes: number;
  /** Packets per second over the last interval (since the previous snapshot). */
  packetsPerSec: number;
  bytesPerSec: number;
  /** Packets with a VXLAN header at the outer level. */
  vxlanPackets: number;
  /** VNIs seen in VXLAN headers, ascending. */
  vnis: number[];
  /** Seconds since the stream started. */
  elapsedSec: number;
  /** Bytes in the local file. */
  fileBytes: number;
  /** `-c N`: the target, for a progress figure. */
  count?: number;
}

/** VNIs remembered per stream at most (a hostile stream could carry 16 million). */
export const MAX_VNIS = 4096;

export class LiveStats {
  packets = 0;
  bytes = 0;
  vxlanPackets = 0;
  readonly vnis = new Set<number>();
  private readonly rates: RateMeter;

  constructor(
    readonly node: string,
    readonly iface: string,
    private startedAt: number = Date.now(),
    private readonly count?: number,
  ) {
    this.rates = new RateMeter(startedAt);
  }

  /** Counts elapsed time (and the first rate interval) from `now`: when the capture really began. */
  restartClock(now: number = Date.now()): void {
    this.startedAt = now;
    this.rates.restart(now);
  }

  add(p: DecodedPacket): void {
    this.packets++;
    this.bytes += Math.max(p.raw.len, p.raw.caplen);
    for (const l of p.layers) {
      if (l.depth > 0) break;
      if (l.type === 'vxlan') {
        this.vxlanPackets++;
        if (this.vnis.size < MAX_VNIS) this.vnis.add(l.vni);
        break;
      }
    }
  }

  /** A snapshot; `advance` moves the rate window to now (once per status tick). */
  snapshot(fileBytes: number, now: number = Date.now(), advance = true): StreamStats {
    const rates = advance ? this.rates.sample(now, this.packets, this.bytes) : this.rates.current;
    const s: StreamStats = {
      node: this.node,
      iface: this.iface,
      packets: this.packets,
      bytes: this.bytes,
      packetsPerSec: rates.packetsPerSec,
      bytesPerSec: rates.bytesPerSec,
      vxlanPackets: this.vxlanPackets,
      vnis: [...this.vnis].sort((a, b) => a - b),
      elapsedSec: Math.max(0, (now - this.startedAt) / 1000),
      fileBytes,
    };
    if (this.count !== undefined) s.count = this.count;
    return s;
  }
}
