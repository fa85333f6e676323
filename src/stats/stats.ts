/**
 * Statistics over a capture: totals, VXLAN per VNI, per VTEP pair (outer IP pair), the inner
 * MACs seen behind each VTEP, top inner flows, encapsulation overhead, malformed count.
 * One pass, memory bounded by the number of distinct VNIs/VTEPs/flows (capped).
 */
import type { DecodedPacket, Layer, RawPacket } from '../decode/types.js';
import { decodePacket, type DecodeOptions } from '../decode/packet.js';
import type { RecordView } from '../decode/file/record-view.js';
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';
import {
  BIT_ARP,
  BIT_ICMP,
  BIT_ICMPV6,
  LAYER_TYPES,
  PacketFacts,
  TRANSPORT_NONE,
  TRANSPORT_TCP,
  TUNNEL_GENEVE,
  TUNNEL_NONE,
  TUNNEL_VXLAN,
  factsFromLayers,
  linkAdjustmentOf,
} from './facts.js';
import { BufferView, readFacts, readFactsAt, udpPortTable } from './fast-decode.js';
import { FlowDictionary, FlowTable, KEY_WORDS, hashKey, type DictionaryBatch } from './flow-table.js';

/** Distinct flows tracked at most; beyond, new flows are counted in `flowsDropped`. */
export const MAX_TRACKED_FLOWS = 100_000;
/** Inner MACs remembered per VTEP at most. */
export const MAX_MACS_PER_VTEP = 4096;

export interface CountBytes {
  packets: number;
  bytes: number;
}

export interface VtepPairStats extends CountBytes {
  src: string;
  dst: string;
  vni: number;
}

export interface FlowStats extends CountBytes {
  /** e.g. "10.220.220.5 > 10.220.220.6 ICMP" or "10.220.220.5:40000 > 10.220.220.6:5201 TCP". */
  flow: string;
  vni: number | null;
}

export interface CaptureStats {
  packets: number;
  /** Bytes on the wire (sum of original lengths). */
  bytes: number;
  capturedBytes: number;
  firstTs: number | null;
  lastTs: number | null;
  durationSec: number;
  linkTypes: Record<string, number>;
  /** Layer type → packets containing it (at any depth). */
  protocols: Record<string, number>;
  vxlan: {
    packets: number;
    bytes: number;
    byVni: Record<string, CountBytes>;
    ports: Record<string, number>;
  };
  geneve: { packets: number; byVni: Record<string, CountBytes> };
  vxlanGpe: { packets: number };
  vtepPairs: VtepPairStats[];
  /** Outer source IP → inner source MACs seen encapsulated by it (the forwarding table, as learned from traffic). */
  macsBehindVtep: Record<string, string[]>;
  topFlows: FlowStats[];
  flowsDropped: number;
  /**
   * Encapsulation overhead: outer headers up to and including the tunnel header, over tunnelled
   * packets, with the outer link layer counted as an Ethernet header (see encapsulationOverhead).
   * `tunnelledBytes` are those packets' lengths counted the same way.
   */
  overhead: { packets: number; bytes: number; tunnelledBytes: number; percent: number };
  malformed: number;
  truncated: number;
  withWarnings: number;
}

export { UNDERLAY_LINK_BYTES } from './facts.js';

/**
 * What to add to a packet's captured length (and to the bytes before its inner frame) so that
 * they count as on an Ethernet underlay: the overhead is what the tunnel adds on the wire,
 * 50 bytes per VXLAN packet over IPv4 (Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8), 70 over IPv6,
 * whether the capture is Ethernet, Linux cooked (`tcpdump -i any`: SLL 16 or SLL2 20 bytes in
 * place of the Ethernet header), raw IP (none) or BSD loopback (4). An Ethernet capture counts
 * what it has (with any 802.1Q tags, which are on that wire); a cooked header's VLAN tags too.
 */
export function linkAdjustment(p: DecodedPacket): number {
  return linkAdjustmentOf(p.raw.linkType, p.layers[0]);
}

/** Encapsulation overhead of one tunnelled packet: every byte before the inner frame of `tunnel`, the link layer counted as Ethernet. */
export function encapsulationOverhead(p: DecodedPacket, tunnel: Layer): number {
  return tunnel.offset + tunnel.length + linkAdjustment(p);
}

/** An outer address as a key: IPv4 as its number, IPv6 as text. */
type VtepKey = number | string;

/** Flows as plain data: the flow table's arrays, cut to the flows tracked (see FlowTable). */
export interface FlowsPartial {
  count: number;
  keys: Int32Array;
  labels: Int32Array;
  /** Packets and bytes of flow i at 2i and 2i + 1. */
  counts: Float64Array;
  /** The flows a thread's dictionary counted in this batch (merged before the flows above). */
  dictionary?: DictionaryBatch;
}

/**
 * What a collector counted, as plain data (it crosses threads): a worker counts one batch,
 * the reading thread merges the batches in input order (StatsCollector.merge). Every list is
 * in order of first appearance, so the merged result is exactly what one collector over the
 * whole input gives — including which flows and MACs the caps keep.
 */
export interface StatsPartial {
  packets: number;
  bytes: number;
  capturedBytes: number;
  firstTs: number | null;
  lastTs: number | null;
  linkTypes: [number, number][];
  protocolCounts: number[];
  vxlanPackets: number;
  vxlanBytes: number;
  /** [vni, packets, bytes] */
  vxlanByVni: [number, number, number][];
  vxlanPorts: [number, number][];
  genevePackets: number;
  geneveByVni: [number, number, number][];
  gpePackets: number;
  vtepPairs: { srcKey: VtepKey; dstKey: VtepKey; pair: VtepPairStats }[];
  macs: [VtepKey, number[]][];
  flows: FlowsPartial;
  flowsDropped: number;
  overheadPackets: number;
  overheadBytes: number;
  tunnelledBytes: number;
  malformed: number;
  truncated: number;
  withWarnings: number;
}

/**
 * Counts by a number key, where most packets repeat the last key (one link type, one VXLAN
 * port): those are added up before the map is touched. The output's order does not depend on
 * the map's (results are objects with integer keys, which list in ascending order).
 */
class Tally {
  private readonly map = new Map<number, number>();
  private lastKey = 0;
  private pending = 0;

  add(key: number, n = 1): void {
    if (key !== this.lastKey) {
      this.flush();
      this.lastKey = key;
    }
    this.pending += n;
  }

  entries(): [number, number][] {
    this.flush();
    return [...this.map];
  }

  private flush(): void {
    if (this.pending === 0) return;
    this.map.set(this.lastKey, (this.map.get(this.lastKey) ?? 0) + this.pending);
    this.pending = 0;
  }
}

/** Slots of the small caches in front of the VTEP-pair and MAC maps (most packets repeat a recent pair). */
const CACHE_SLOTS = 256;
/** Slots of the cache in front of the per-VNI counters. */
const VNI_SLOTS = 64;
/** Flows queued before their lookups are made together (flushFlows). */
const FLOW_BATCH = 32;

/** Flow kinds (low 4 bits of a key's first word). */
const FLOW_IPV4_PORTS = 0;
const FLOW_IPV4 = 1;
const FLOW_IPV6 = 2;
const FLOW_MACS = 3;
/** What an IPv6 flow's label ends with (bits 4+ of its first word). */
const V6_TCP = 1;
const V6_UDP = 2;
const V6_OTHER = 3; // the protocol word holds the ICMP/ICMPv6/ARP bit
const V6_PROTO = 4; // the protocol word holds the IP protocol number

export interface StatsCollectorOptions {
  /** Extra UDP ports decoded as VXLAN by addRaw (besides 4789 and 8472). */
  vxlanPorts?: readonly number[];
  /**
   * Count flows into this dictionary instead of the collector's own table (a counting thread's
   * flows across its batches); partial() then hands over the dictionary's batch. Such a
   * collector's partials are for merging only: its own result() has no flows.
   */
  dictionary?: FlowDictionary;
}

/** Flows a counting thread's dictionary keeps at most (more, and they travel by key). */
export const MAX_DICTIONARY_FLOWS = 2 * MAX_TRACKED_FLOWS;

/** A dictionary for a counting thread (see FlowDictionary): its batches go to one collector, in order. */
export function flowDictionary(threadId: number): FlowDictionary {
  return new FlowDictionary(threadId, MAX_DICTIONARY_FLOWS, MAX_TRACKED_FLOWS);
}

export class StatsCollector {
  private packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private readonly linkTypes = new Tally();
  private readonly protocolCounts = new Array<number>(LAYER_TYPES.length).fill(0);
  /** Packets per set of layer types present (a bit per type): one increment per packet, expanded into protocolCounts when read. */
  private readonly seenSets = new Float64Array(1 << LAYER_TYPES.length);
  /** The sets counted in seenSets, each once (a batch's collector sees a few of the 16,384). */
  private readonly seenList: number[] = [];
  private vxlanPackets = 0;
  private vxlanBytes = 0;
  private readonly vxlanByVni = new Map<number, CountBytes>();
  private readonly vxlanPorts = new Tally();
  private genevePackets = 0;
  private readonly genevByVni = new Map<number, CountBytes>();
  private gpePackets = 0;
  /** Keyed by outer source, then destination, then VNI (IPv4 as numbers, IPv6 as text). */
  private readonly vtepPairs = new Map<VtepKey, Map<VtepKey, Map<number, VtepPairStats>>>();
  private readonly macs = new Map<VtepKey, Set<number>>();
  /** Flows as numeric keys, in order of first appearance. */
  private readonly flows = new FlowTable(MAX_TRACKED_FLOWS);
  private readonly key = new Int32Array(KEY_WORDS);
  /** Flows of the last packets, not counted yet (see flushFlows): keys, hashes, labels, bytes. */
  private readonly pendingKeys = new Int32Array(FLOW_BATCH * KEY_WORDS);
  private readonly pendingHashes = new Int32Array(FLOW_BATCH);
  private readonly pendingLabels = new Int32Array(FLOW_BATCH);
  private readonly pendingBytes = new Float64Array(FLOW_BATCH);
  private readonly pendingSlots = new Int32Array(FLOW_BATCH);
  private pendingFlows = 0;
  /** What touch() read (kept, so that the reads are not optimised away). */
  private touchSink = 0;
  private flowsDropped = 0;
  private overheadPackets = 0;
  private overheadBytes = 0;
  private tunnelledBytes = 0;
  private malformed = 0;
  private truncated = 0;
  private withWarnings = 0;
  // Caches: direct-mapped slots for VNI counters, VTEP pairs and (VTEP, MAC) seen.
  private readonly vniCacheKeys = new Int32Array(VNI_SLOTS).fill(-1);
  private readonly vniCache = new Array<CountBytes | undefined>(VNI_SLOTS).fill(undefined);
  private readonly pairCache = new Array<VtepPairStats | undefined>(CACHE_SLOTS).fill(undefined);
  private readonly pairCacheKeys = new Array<VtepKey>(CACHE_SLOTS * 2).fill(-1);
  private readonly macCacheVtep = new Array<VtepKey>(CACHE_SLOTS).fill(-1);
  private readonly macCacheMac = new Array<number>(CACHE_SLOTS).fill(-1);
  // The counting path: one facts object for every packet, the bytes' buffer, the UDP port table.
  private readonly facts = new PacketFacts();
  private readonly buffers = new BufferView();
  private readonly vxlanPortList: readonly number[];
  private readonly dictionary: FlowDictionary | undefined;
  /** Per dictionary merged here: its flow ids → entries of this collector's table (-1: not tracked). */
  private readonly sourceMaps = new Map<number, Int32Array>();
  private portTable: Uint8Array | undefined;
  private decodeOptions: DecodeOptions | undefined;
  /** Packets addRaw read with the fast decoder, and those it gave to the full decoder. */
  fastPackets = 0;
  fullPackets = 0;

  constructor(options: StatsCollectorOptions = {}) {
    this.vxlanPortList = [...(options.vxlanPorts ?? [])];
    this.dictionary = options.dictionary;
  }

  /** Counts a decoded packet (the one analysis, the web view and the tests hand these). */
  add(p: DecodedPacket): void {
    factsFromLayers(p, this.facts);
    this.count(this.facts);
  }

  /**
   * Counts a packet from its bytes: the fast decoder for the common shapes, the full decoder
   * (with the collector's VXLAN ports) for the rest; the same figures as decodePacket + add.
   * `n` is the packet's 1-based position. Keeps neither `raw` nor its bytes.
   */
  addRaw(raw: RawPacket, n: number): void {
    const ports = this.portTable ?? this.ports();
    if (readFacts(raw, this.buffers.of(raw.data), ports, this.facts)) {
      this.fastPackets++;
      this.count(this.facts);
    } else {
      this.fullPackets++;
      this.add(decodePacket(raw, n, this.decodeOptions));
    }
  }

  /**
   * Counts a record as the reader left it (readRecordViews: a chunk and an offset, no RawPacket): the
   * same figures as addRaw on its packet, which is made only for the full decoder. Keeps nothing
   * of `r`.
   */
  addRecord(r: RecordView, n: number): void {
    const ports = this.portTable ?? this.ports();
    if (readFactsAt(r.bytes, r.dv, r.dataAt, r.caplen, r.len, r.tsSec, r.tsNsec, r.linkType, ports, this.facts)) {
      this.fastPackets++;
      this.count(this.facts);
    } else {
      this.fullPackets++;
      this.add(decodePacket(r.rawPacket(), n, this.decodeOptions));
    }
  }

  /** The UDP port table of the fast decoder and the full decoder's registry, made on first use. */
  private ports(): Uint8Array {
    const t = udpPortTable(this.vxlanPortList);
    this.decodeOptions = { registry: t.registry };
    this.portTable = t.ports;
    return t.ports;
  }

  /**
   * Counts a packet from facts read elsewhere with this collector's UDP ports: the analysis pass
   * reads each packet's facts once for all its listeners (readFacts true). The same figures as
   * addRaw on the packet's bytes, without reading them again. Keeps nothing of `f`.
   */
  addFacts(f: PacketFacts): void {
    this.fastPackets++;
    this.count(f);
  }

  private count(f: PacketFacts): void {
    this.packets++;
    this.bytes += f.len;
    this.capturedBytes += f.caplen;
    const ts = f.ts;
    if (this.firstTs === null || ts < this.firstTs) this.firstTs = ts;
    if (this.lastTs === null || ts > this.lastTs) this.lastTs = ts;
    this.linkTypes.add(f.linkType);
    if (f.malformed) this.malformed++;
    if (f.truncated) this.truncated++;
    if (f.warnings) this.withWarnings++;
    const seenBefore = this.seenSets[f.seen] as number;
    if (seenBefore === 0) this.seenList.push(f.seen);
    this.seenSets[f.seen] = seenBefore + 1;
    if (f.tunnel === TUNNEL_NONE) {
      this.addFlow(f, -1);
      return;
    }
    const vni = f.vni;
    const len = f.len;
    this.overheadPackets++;
    this.overheadBytes += f.overhead;
    this.tunnelledBytes += len + f.linkAdjust;
    if (f.tunnel === TUNNEL_VXLAN) {
      this.vxlanPackets++;
      this.vxlanBytes += len;
      const slot = vni & (VNI_SLOTS - 1);
      let c = this.vniCache[slot];
      if (this.vniCacheKeys[slot] !== vni || c === undefined) {
        c = counter(this.vxlanByVni, vni);
        this.vniCacheKeys[slot] = vni;
        this.vniCache[slot] = c;
      }
      c.packets++;
      c.bytes += len;
      const udpDst = f.udpDst;
      const udpSrc = f.udpSrc;
      const port = udpDst === 4789 || udpDst === 8472 ? udpDst : udpSrc === 4789 || udpSrc === 8472 ? udpSrc : udpDst;
      this.vxlanPorts.add(port);
    } else if (f.tunnel === TUNNEL_GENEVE) {
      this.genevePackets++;
      const c = counter(this.genevByVni, vni);
      c.packets++;
      c.bytes += len;
    } else {
      this.gpePackets++;
    }
    if (f.outerVersion !== 0) {
      const v4 = f.outerVersion === 4;
      const src = v4 ? f.outerSrc : formatIPv6(f.outerSrc6 as Uint8Array);
      const dst = v4 ? f.outerDst : formatIPv6(f.outerDst6 as Uint8Array);
      const pair = this.pair(src, dst, vni);
      pair.packets++;
      pair.bytes += len;
      if (f.innerEthSrc >= 0) this.addMac(src, f.innerEthSrc);
    }
    this.addFlow(f, vni);
  }

  /** The counter of a VTEP pair and VNI (created on first sight). */
  private pair(src: VtepKey, dst: VtepKey, vni: number): VtepPairStats {
    const slot =
      typeof src === 'number' && typeof dst === 'number' ? (Math.imul(src ^ Math.imul(dst, 0x9e3779b1), 0x85ebca6b) ^ vni) >>> 24 : 0;
    const cached = this.pairCache[slot];
    if (cached !== undefined && cached.vni === vni && this.pairCacheKeys[slot * 2] === src && this.pairCacheKeys[slot * 2 + 1] === dst)
      return cached;
    let byDst = this.vtepPairs.get(src);
    if (!byDst) this.vtepPairs.set(src, (byDst = new Map()));
    let byVni = byDst.get(dst);
    if (!byVni) byDst.set(dst, (byVni = new Map()));
    let pair = byVni.get(vni);
    if (!pair) {
      pair = { src: vtepText(src), dst: vtepText(dst), vni, packets: 0, bytes: 0 };
      byVni.set(vni, pair);
    }
    this.pairCache[slot] = pair;
    this.pairCacheKeys[slot * 2] = src;
    this.pairCacheKeys[slot * 2 + 1] = dst;
    return pair;
  }

  /** Remembers an inner source MAC behind a VTEP (up to MAX_MACS_PER_VTEP each). */
  private addMac(vtep: VtepKey, mac: number): void {
    const slot = (mac ^ (mac / 0x1000000)) & (CACHE_SLOTS - 1);
    if (this.macCacheMac[slot] === mac && this.macCacheVtep[slot] === vtep) return; // already in the set
    let set = this.macs.get(vtep);
    if (!set) this.macs.set(vtep, (set = new Set()));
    if (set.size < MAX_MACS_PER_VTEP) set.add(mac);
    if (set.has(mac)) {
      this.macCacheMac[slot] = mac;
      this.macCacheVtep[slot] = vtep;
    }
  }

  /**
   * The flow of the level counted (inside the first tunnel, else the outer one): inner IP +
   * transport, or inner MACs + what they carry. Its key, as numbers:
   *   IPv4 with ports: addresses, ports, protocol;  IPv4 otherwise: addresses, protocol
   *   IPv6: addresses, then ports and TCP/UDP, or ICMP/ICMPv6/ARP, or the protocol number
   *   MACs: addresses, and ICMP/ICMPv6/ARP or the EtherType
   * each with the VNI (-1 outside a tunnel).
   */
  private addFlow(f: PacketFacts, vni: number): void {
    const k = this.key;
    let label = 0;
    if (f.ipVersion === 4) {
      const withPorts = f.transport !== TRANSPORT_NONE;
      k[0] = withPorts ? FLOW_IPV4_PORTS : FLOW_IPV4;
      k[2] = withPorts ? (f.srcPort << 16) | f.dstPort : 0;
      k[3] = f.ipProto;
      k[4] = f.ipSrc;
      k[8] = f.ipDst;
      k[5] = k[6] = k[7] = k[9] = k[10] = k[11] = 0;
      label = f.other; // an IPv4 flow without ports is named after its first packet
    } else if (f.ipVersion === 6) {
      if (f.transport !== TRANSPORT_NONE) {
        k[0] = FLOW_IPV6 | ((f.transport === TRANSPORT_TCP ? V6_TCP : V6_UDP) << 4);
        k[2] = (f.srcPort << 16) | f.dstPort;
        k[3] = 0;
      } else {
        k[0] = FLOW_IPV6 | ((f.other !== 0 ? V6_OTHER : V6_PROTO) << 4);
        k[2] = 0;
        k[3] = f.other !== 0 ? f.other : f.ipProto;
      }
      const w = f.ip6;
      k[4] = w[0] as number;
      k[5] = w[1] as number;
      k[6] = w[2] as number;
      k[7] = w[3] as number;
      k[8] = w[4] as number;
      k[9] = w[5] as number;
      k[10] = w[6] as number;
      k[11] = w[7] as number;
    } else if (f.hasEth) {
      k[0] = FLOW_MACS;
      k[2] = f.other !== 0 ? 0x10000 + f.other : f.ethType;
      k[3] = 0;
      k[4] = f.ethSrc;
      k[5] = Math.floor(f.ethSrc / 0x100000000);
      k[8] = f.ethDst;
      k[9] = Math.floor(f.ethDst / 0x100000000);
      k[6] = k[7] = k[10] = k[11] = 0;
    } else {
      return;
    }
    k[1] = vni;
    const h = hashKey(k);
    if (this.dictionary !== undefined) {
      this.dictionary.add(k, h, label, f.len);
      return;
    }
    // Queued: counted with the batch (flushFlows), whose lookups' cache misses overlap.
    const i = this.pendingFlows++;
    const q = this.pendingKeys;
    for (let w = 0, at = i * KEY_WORDS; w < KEY_WORDS; w++) q[at + w] = k[w] as number;
    this.pendingHashes[i] = h;
    this.pendingLabels[i] = label;
    this.pendingBytes[i] = f.len;
    if (i + 1 === FLOW_BATCH) this.flushFlows();
  }

  /**
   * Counts the queued flows. First every lookup's slot is read, then every record those slots
   * name (touch, touchRecord): the reads of one pass do not depend on one another, so their cache
   * misses overlap; then the lookups find them in the cache. Done one at a time, each packet's
   * lookup waited for its own misses: the flow table was a fifth of `stats` on realistic traffic
   * (README, Performance).
   */
  private flushFlows(): void {
    const n = this.pendingFlows;
    if (n === 0) return;
    this.pendingFlows = 0;
    const table = this.flows;
    const hashes = this.pendingHashes;
    const slots = this.pendingSlots;
    for (let i = 0; i < n; i++) slots[i] = table.touch(hashes[i] as number);
    let touched = 0;
    for (let i = 0; i < n; i++) touched ^= table.touchRecord(slots[i] as number);
    this.touchSink ^= touched;
    const keys = this.pendingKeys;
    for (let i = 0; i < n; i++) {
      const e = table.count(keys, hashes[i] as number, this.pendingLabels[i] as number, 1, this.pendingBytes[i] as number, i * KEY_WORDS);
      if (e < 0) this.flowsDropped++;
    }
  }

  /** Packets containing each layer type (in LAYER_TYPES order): merged counts plus this collector's sets. */
  private protocolTotals(): number[] {
    const totals = [...this.protocolCounts];
    const sets = this.seenSets;
    for (const set of this.seenList) {
      const n = sets[set] as number;
      for (let i = 0, bits = set; bits !== 0; i++, bits >>>= 1) if (bits & 1) totals[i] = (totals[i] as number) + n;
    }
    return totals;
  }

  /** Everything counted so far, as plain data (see StatsPartial). */
  partial(): StatsPartial {
    this.flushFlows();
    const vtepPairs: StatsPartial['vtepPairs'] = [];
    for (const [srcKey, byDst] of this.vtepPairs)
      for (const [dstKey, byVni] of byDst) for (const pair of byVni.values()) vtepPairs.push({ srcKey, dstKey, pair });
    const byVni = (m: Map<number, CountBytes>): [number, number, number][] => [...m].map(([k, c]) => [k, c.packets, c.bytes]);
    let t = this.flows;
    let dictionary: DictionaryBatch | undefined;
    if (this.dictionary !== undefined) {
      const batch = this.dictionary.take();
      dictionary = batch.dictionary;
      t = batch.overflow ?? new FlowTable(0);
    }
    const flows: FlowsPartial = {
      count: t.size,
      keys: t.keysOf(0, t.size),
      labels: t.labels.slice(0, t.size),
      counts: t.countsOf(0, t.size),
    };
    if (dictionary !== undefined) flows.dictionary = dictionary;
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      linkTypes: this.linkTypes.entries(),
      protocolCounts: this.protocolTotals(),
      vxlanPackets: this.vxlanPackets,
      vxlanBytes: this.vxlanBytes,
      vxlanByVni: byVni(this.vxlanByVni),
      vxlanPorts: this.vxlanPorts.entries(),
      genevePackets: this.genevePackets,
      geneveByVni: byVni(this.genevByVni),
      gpePackets: this.gpePackets,
      vtepPairs,
      macs: [...this.macs].map(([k, set]) => [k, [...set]]),
      flows,
      flowsDropped: this.flowsDropped,
      overheadPackets: this.overheadPackets,
      overheadBytes: this.overheadBytes,
      tunnelledBytes: this.tunnelledBytes,
      malformed: this.malformed,
      truncated: this.truncated,
      withWarnings: this.withWarnings,
    };
  }

  /**
   * Adds what another collector counted over the input that follows this one's (batches must
   * be merged in input order): the result is the same as one collector adding every packet.
   */
  merge(s: StatsPartial): void {
    this.flushFlows();
    this.packets += s.packets;
    this.bytes += s.bytes;
    this.capturedBytes += s.capturedBytes;
    if (s.firstTs !== null && (this.firstTs === null || s.firstTs < this.firstTs)) this.firstTs = s.firstTs;
    if (s.lastTs !== null && (this.lastTs === null || s.lastTs > this.lastTs)) this.lastTs = s.lastTs;
    for (const [k, v] of s.linkTypes) this.linkTypes.add(k, v);
    s.protocolCounts.forEach((c, i) => (this.protocolCounts[i] = (this.protocolCounts[i] as number) + c));
    this.vxlanPackets += s.vxlanPackets;
    this.vxlanBytes += s.vxlanBytes;
    for (const [vni, packets, bytes] of s.vxlanByVni) {
      const c = counter(this.vxlanByVni, vni);
      c.packets += packets;
      c.bytes += bytes;
    }
    for (const [k, v] of s.vxlanPorts) this.vxlanPorts.add(k, v);
    this.genevePackets += s.genevePackets;
    for (const [vni, packets, bytes] of s.geneveByVni) {
      const c = counter(this.genevByVni, vni);
      c.packets += packets;
      c.bytes += bytes;
    }
    this.gpePackets += s.gpePackets;
    for (const { srcKey, dstKey, pair } of s.vtepPairs) {
      const mine = this.pair(srcKey, dstKey, pair.vni);
      mine.packets += pair.packets;
      mine.bytes += pair.bytes;
    }
    for (const [vtep, macs] of s.macs) for (const mac of macs) this.addMac(vtep, mac);
    const fl = s.flows;
    const table = this.flows;
    const k = this.key;
    if (fl.dictionary !== undefined) this.mergeDictionary(fl.dictionary);
    for (let i = 0; i < fl.count; i++) {
      for (let w = 0; w < KEY_WORDS; w++) k[w] = fl.keys[i * KEY_WORDS + w] as number;
      const h = hashKey(k);
      const packets = fl.counts[2 * i] as number;
      const bytes = fl.counts[2 * i + 1] as number;
      if (table.count(k, h, fl.labels[i] as number, packets, bytes) < 0) this.flowsDropped += packets;
    }
    this.flowsDropped += s.flowsDropped;
    this.overheadPackets += s.overheadPackets;
    this.overheadBytes += s.overheadBytes;
    this.tunnelledBytes += s.tunnelledBytes;
    this.malformed += s.malformed;
    this.truncated += s.truncated;
    this.withWarnings += s.withWarnings;
  }

  /** A dictionary's batch: its new flows looked up (or added) once, then every count added by id. */
  private mergeDictionary(d: DictionaryBatch): void {
    const table = this.flows;
    const k = this.key;
    const newCount = d.newLabels.length;
    let map = this.sourceMaps.get(d.source) ?? new Int32Array(1024);
    if (d.firstId + newCount > map.length) {
      const grown = new Int32Array(Math.max(map.length * 2, d.firstId + newCount));
      grown.set(map);
      map = grown;
    }
    this.sourceMaps.set(d.source, map);
    for (let i = 0; i < newCount; i++) {
      for (let w = 0; w < KEY_WORDS; w++) k[w] = d.newKeys[i * KEY_WORDS + w] as number;
      const h = hashKey(k);
      const e = table.find(k, h);
      map[d.firstId + i] = e >= 0 ? e : table.insert(k, h, d.newLabels[i] as number, 0, 0);
    }
    for (let i = 0; i < d.ids.length; i++) {
      const e = map[d.ids[i] as number] as number;
      const packets = d.counts[2 * i] as number;
      if (e < 0) {
        this.flowsDropped += packets;
        continue;
      }
      table.add(e, packets, d.counts[2 * i + 1] as number);
    }
  }

  result(topN = 10): CaptureStats {
    this.flushFlows();
    const byVni = (m: Map<number, CountBytes>): Record<string, CountBytes> => {
      const o: Record<string, CountBytes> = {};
      for (const [k, v] of [...m].sort((x, y) => x[0] - y[0])) o[String(k)] = { ...v };
      return o;
    };
    const macsBehindVtep: Record<string, string[]> = {};
    for (const [vtep, set] of [...this.macs].map(([k, v]) => [vtepText(k), v] as const).sort((x, y) => x[0].localeCompare(y[0]))) {
      macsBehindVtep[vtep] = [...set].sort((x, y) => x - y).map(formatMac);
    }
    const pairs: VtepPairStats[] = [];
    for (const byDst of this.vtepPairs.values())
      for (const byVni of byDst.values()) for (const pair of byVni.values()) pairs.push({ ...pair });
    const protocols: Record<string, number> = {};
    const totals = this.protocolTotals();
    LAYER_TYPES.map((t, i) => [t, totals[i] as number] as const)
      .filter(([, c]) => c > 0)
      .sort((x, y) => y[1] - x[1])
      .forEach(([t, c]) => (protocols[t] = c));
    const table = this.flows;
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      durationSec: this.firstTs === null || this.lastTs === null ? 0 : this.lastTs - this.firstTs,
      linkTypes: Object.fromEntries(this.linkTypes.entries().map(([k, v]) => [String(k), v])),
      protocols,
      vxlan: {
        packets: this.vxlanPackets,
        bytes: this.vxlanBytes,
        byVni: byVni(this.vxlanByVni),
        ports: Object.fromEntries(this.vxlanPorts.entries().map(([k, v]) => [String(k), v])),
      },
      geneve: { packets: this.genevePackets, byVni: byVni(this.genevByVni) },
      vxlanGpe: { packets: this.gpePackets },
      vtepPairs: pairs.sort((x, y) => y.packets - x.packets),
      macsBehindVtep,
      topFlows: topFlows(table, topN).map((e) => {
        const vni = table.keyWord(e, 1);
        return { flow: flowLabel(table, e), vni: vni < 0 ? null : vni, packets: table.packetsOf(e), bytes: table.bytesOf(e) };
      }),
      flowsDropped: this.flowsDropped,
      overhead: {
        packets: this.overheadPackets,
        bytes: this.overheadBytes,
        tunnelledBytes: this.tunnelledBytes,
        percent: this.tunnelledBytes ? Math.round((this.overheadBytes / this.tunnelledBytes) * 10000) / 100 : 0,
      },
      malformed: this.malformed,
      truncated: this.truncated,
      withWarnings: this.withWarnings,
    };
  }
}

/** The `n` biggest flows by bytes, then packets, then first appearance (the order a stable sort gives). */
function topFlows(t: FlowTable, n: number): number[] {
  const top: number[] = [];
  const before = (x: number, y: number): boolean => {
    const bx = t.bytesOf(x);
    const by = t.bytesOf(y);
    if (bx !== by) return bx > by;
    const px = t.packetsOf(x);
    const py = t.packetsOf(y);
    return px !== py ? px > py : x < y;
  };
  for (let e = 0; e < t.size; e++) {
    if (top.length === n && !before(e, top[n - 1] as number)) continue;
    let i = top.length === n ? n - 1 : top.length;
    while (i > 0 && before(e, top[i - 1] as number)) {
      top[i] = top[i - 1] as number;
      i--;
    }
    top[i] = e;
  }
  return top;
}

/** A protocol's name as people write it in a flow label, from its layer bit. */
function protocolLabel(bit: number): string {
  return bit === BIT_ICMP
    ? 'ICMP'
    : bit === BIT_ICMPV6
      ? 'ICMPv6'
      : bit === BIT_ARP
        ? 'ARP'
        : (LAYER_TYPES[31 - Math.clz32(bit)]?.toUpperCase() ?? '?');
}

function ipv6Text(k: Int32Array, at: number): string {
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) dv.setInt32(i * 4, k[at + i] as number);
  return formatIPv6(bytes);
}

/** e.g. "10.220.220.5 > 10.220.220.6 ICMP" or "10.220.220.5:40000 > 10.220.220.6:5201 TCP". */
function flowLabel(t: FlowTable, e: number): string {
  const k = t.keyOf(e);
  const kind = (k[0] as number) & 0xf;
  const code = (k[0] as number) >>> 4;
  const ports = k[2] as number;
  const proto = k[3] as number;
  const portText = (): [string, string] => [`:${ports >>> 16}`, `:${ports & 0xffff}`];
  if (kind === FLOW_IPV4_PORTS) {
    const [sp, dp] = portText();
    return `${formatIPv4(k[4] as number)}${sp} > ${formatIPv4(k[8] as number)}${dp} ${proto === 6 ? 'TCP' : 'UDP'}`;
  }
  if (kind === FLOW_IPV4) {
    const label = t.labels[e] as number;
    return `${formatIPv4(k[4] as number)} > ${formatIPv4(k[8] as number)} ${label !== 0 ? protocolLabel(label) : `proto ${proto}`}`;
  }
  if (kind === FLOW_IPV6) {
    const src = ipv6Text(k, 4);
    const dst = ipv6Text(k, 8);
    if (code === V6_TCP || code === V6_UDP) {
      const [sp, dp] = portText();
      return `${src}${sp} > ${dst}${dp} ${code === V6_TCP ? 'TCP' : 'UDP'}`;
    }
    return `${src} > ${dst} ${code === V6_OTHER ? protocolLabel(proto) : `proto ${proto}`}`;
  }
  const mac = (lo: number, hi: number): string => formatMac(hi * 0x100000000 + (lo >>> 0));
  const what = ports >= 0x10000 ? protocolLabel(ports - 0x10000) : `0x${ports.toString(16).padStart(4, '0')}`;
  return `${mac(k[4] as number, k[5] as number)} > ${mac(k[8] as number, k[9] as number)} ${what}`;
}

function vtepText(k: VtepKey): string {
  return typeof k === 'number' ? formatIPv4(k) : k;
}

function counter(m: Map<number, CountBytes>, key: number): CountBytes {
  let c = m.get(key);
  if (!c) m.set(key, (c = { packets: 0, bytes: 0 }));
  return c;
}
