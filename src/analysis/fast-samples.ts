/**
 * The topology's and the diagnostics' view of a packet, filled from the facts the one pass read
 * from its bytes (PacketFacts, src/stats/fast-decode.ts) instead of from a full decode: the
 * same numbers TopologyBuilder.add and diagnosticSampleOf read from the layers (test/pass-fast
 * .test.ts runs the pass both ways over every fixture and compares every figure).
 *
 * Two things the facts do not hold are read here from the bytes, over headers readFacts has
 * already checked are whole: the ARP sender address of a tunnelled ARP frame, and the inner
 * IPv6 source (kept as words in the facts; its text is cached, inner IPv6 hosts being few).
 */
import { formatIPv6 } from '../decode/format/addr.js';
import type { RawPacket } from '../decode/types.js';
import { DiagnosticSample } from '../correlate/diagnostics.js';
import { isGroupMac } from '../correlate/frame.js';
import { TopologySample, type AddressKey } from '../correlate/topology.js';
import { BIT_ARP, BIT_VLAN, TUNNEL_NONE, TUNNEL_VXLAN, type PacketFacts } from '../stats/facts.js';

const LINKTYPE_ETHERNET = 1;
/** Slots of the IPv6 text cache (direct-mapped by a hash of the address). */
const V6_SLOTS = 256;

/** The TPIDs readFacts steps over (src/stats/fast-decode.ts). */
function isTag(et: number): boolean {
  return et === 0x8100 || et === 0x88a8 || et === 0x9100 || et === 0x9200;
}

export class FastSamples {
  private readonly topology = new TopologySample();
  private readonly diagnostic = new DiagnosticSample();
  private readonly v6Words = new Int32Array(V6_SLOTS * 4);
  private readonly v6Text = new Array<string | undefined>(V6_SLOTS).fill(undefined);
  private readonly v6Bytes = new Uint8Array(16);

  /** The topology's sample of an underlay packet readFacts accepted; undefined when it is not VXLAN. */
  topologyOf(raw: RawPacket, f: PacketFacts): TopologySample | undefined {
    if (f.tunnel !== TUNNEL_VXLAN) return undefined;
    const s = this.topology;
    if (f.outerVersion === 4) {
      s.src = f.outerSrc | 0;
      s.dst = f.outerDst | 0;
    } else {
      s.src = formatIPv6(f.outerSrc6 as Uint8Array);
      s.dst = formatIPv6(f.outerDst6 as Uint8Array);
    }
    s.port = f.udpDst;
    s.vni = f.vni;
    s.bytes = Math.max(raw.len, raw.data.length);
    s.tsUs = raw.tsSec * 1e6 + raw.tsNsec / 1e3;
    s.mac = f.innerEthSrc >= 0 && !isGroupMac(f.innerEthSrc) ? f.innerEthSrc : -1;
    s.ip =
      f.ipVersion === 4
        ? f.ipSrc | 0
        : f.ipVersion === 6
          ? this.ipv6Text(f.ip6)
          : f.other === BIT_ARP
            ? arpSender(raw.data, f.overhead - f.linkAdjust)
            : undefined;
    return s;
  }

  /**
   * The diagnostics' sample of a packet readFacts accepted, or undefined when the facts cannot
   * say (a bridge frame that carries a tunnel: its VLAN tags may be inside it).
   */
  diagnosticOf(raw: RawPacket, n: number, f: PacketFacts, side: 'underlay' | 'overlay'): DiagnosticSample | undefined {
    const s = this.diagnostic;
    s.n = n;
    s.malformed = f.malformed;
    s.truncated = f.truncated;
    s.wireLen = Math.max(raw.len, raw.data.length);
    // readFacts leaves IP fragments and VXLAN flags other than I to the full decoder
    s.outerFragment = 0;
    s.vxlan = false;
    s.ethernet = false;
    if (side === 'underlay') {
      if (f.tunnel === TUNNEL_VXLAN) {
        s.vxlan = true;
        s.vxlanPort = f.udpDst;
        s.vxlanFlags = 0x08;
      }
    } else if (raw.linkType === LINKTYPE_ETHERNET) {
      if (f.tunnel !== TUNNEL_NONE) return undefined;
      s.ethernet = true;
      // readFacts took an Ethernet record only when its 14-byte header is captured
      s.groupDst = ((raw.data[0] as number) & 1) === 1;
      s.tagged = (f.seen & BIT_VLAN) !== 0;
    }
    return s;
  }

  /** The text of an IPv6 address given as four big-endian words (f.ip6[0..3]), cached. */
  private ipv6Text(w: Int32Array): string {
    const a = w[0] as number;
    const b = w[1] as number;
    const c = w[2] as number;
    const d = w[3] as number;
    const slot =
      (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35), 0x27d4eb2f) >>> 24) & (V6_SLOTS - 1);
    const at = slot * 4;
    const words = this.v6Words;
    const cached = this.v6Text[slot];
    if (cached !== undefined && words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) return cached;
    const bytes = this.v6Bytes;
    for (let i = 0; i < 4; i++) {
      const x = w[i] as number;
      bytes[i * 4] = x >>> 24;
      bytes[i * 4 + 1] = x >>> 16;
      bytes[i * 4 + 2] = x >>> 8;
      bytes[i * 4 + 3] = x;
    }
    const text = formatIPv6(bytes);
    words[at] = a;
    words[at + 1] = b;
    words[at + 2] = c;
    words[at + 3] = d;
    this.v6Text[slot] = text;
    return text;
  }
}

/**
 * The sender address of the ARP frame whose Ethernet header starts at `eth` (an IPv4 ARP: the
 * protocol type 0x0800, 4-byte addresses), as the topology keys it; undefined otherwise or when
 * 0.0.0.0 (a probe). readFacts checked the header and both address pairs are captured.
 */
export function arpSender(data: Uint8Array, eth: number): AddressKey | undefined {
  let off = eth + 12;
  let et = ((data[off] as number) << 8) | (data[off + 1] as number);
  off += 2;
  while (isTag(et)) {
    et = ((data[off + 2] as number) << 8) | (data[off + 3] as number);
    off += 4;
  }
  const ptype = ((data[off + 2] as number) << 8) | (data[off + 3] as number);
  const hlen = data[off + 4] as number;
  const plen = data[off + 5] as number;
  if (ptype !== 0x0800 || plen !== 4) return undefined;
  const at = off + 8 + hlen;
  if (at + 4 > data.length) return undefined;
  const ip = ((data[at] as number) << 24) | ((data[at + 1] as number) << 16) | ((data[at + 2] as number) << 8) | (data[at + 3] as number);
  return ip === 0 ? undefined : ip;
}
