/**
 * The live numbers of one capture stream, from each packet's facts as it arrives (read by the
 * stats fast decoder, or from the full decode when a listener asked for one): packets, bytes,
 * rates over the last interval, VXLAN packets and the VNIs seen.
 */
import { decodePacket } from '../decode/packet.js';
import type { DecoderRegistry } from '../decode/registry.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import { factsFromLayers, PacketFacts, TUNNEL_VXLAN } from '../stats/facts.js';
import { BufferView, readFacts, udpPortTable } from '../stats/fast-decode.js';
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
  private readonly decoded = new PacketFacts();

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

  /** One fully decoded packet. */
  add(p: DecodedPacket): void {
    factsFromLayers(p, this.decoded);
    this.addFacts(this.decoded);
  }

  /** One packet's facts; its first tunnel, when VXLAN, is the one at the outer level. */
  addFacts(f: PacketFacts): void {
    this.packets++;
    this.bytes += Math.max(f.len, f.caplen);
    if (f.tunnel === TUNNEL_VXLAN) {
      this.vxlanPackets++;
      if (this.vnis.size < MAX_VNIS) this.vnis.add(f.vni);
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

/** The UDP ports the registry decodes as VXLAN (the fast decoder's port table is built from them). */
function vxlanPortsOf(registry: DecoderRegistry): number[] {
  const ports: number[] = [];
  for (let p = 0; p < 65536; p++) if (registry.lookup('udp', p)?.name === 'vxlan') ports.push(p);
  return ports;
}

/**
 * Counts raw packets into a LiveStats: the stats fast decoder reads the headers into one reused
 * PacketFacts (no object per layer); the full decoder only for a packet the fast one leaves to
 * it, or when the caller wants the decoded packet.
 */
export class LiveCounter {
  private readonly ports: Uint8Array;
  private readonly facts = new PacketFacts();
  private readonly views = new BufferView();

  constructor(
    readonly stats: LiveStats,
    private readonly registry: DecoderRegistry,
  ) {
    this.ports = udpPortTable(vxlanPortsOf(registry)).ports;
  }

  count(raw: RawPacket, n: number): void {
    if (readFacts(raw, this.views.of(raw.data), this.ports, this.facts)) this.stats.addFacts(this.facts);
    else this.decode(raw, n);
  }

  /** Decodes the packet fully, counts it, and returns it. */
  decode(raw: RawPacket, n: number): DecodedPacket {
    const p = decodePacket(raw, n, { registry: this.registry });
    this.stats.add(p);
    return p;
  }
}
