/**
 * The flows of an export's packet rows: each distinct (addresses, protocol, ports) of a level
 * gets a number, its text and its Community ID once; a packet row carries only the number.
 * Memory is bounded: past MAX_FLOWS distinct flows the table starts afresh (a flow seen again
 * then gets a second number with the same text; rows are grouped by text, never by number).
 */
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';
import { communityId, ipv4Bytes, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP } from './community-id.js';
import type { Level } from './fields.js';

/** Distinct flows remembered at once. */
export const MAX_FLOWS = 250_000;
const CACHE_SLOTS = 4096;

export interface FlowEntry {
  id: number;
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  /** -1: not in the packet (a protocol without ports, a later fragment). */
  sport: number;
  dport: number;
  communityId: string | undefined;
}

const PORT_PROTOS = new Set([PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_SCTP]);

export class FlowTable {
  private readonly byKey = new Map<string, number>();
  private nextId = 0;
  // a direct-mapped cache in front of the map, for IPv4 (most packets repeat a recent flow)
  private readonly cSrc = new Float64Array(CACHE_SLOTS).fill(-1);
  private readonly cDst = new Float64Array(CACHE_SLOTS);
  private readonly cPp = new Float64Array(CACHE_SLOTS);
  private readonly cId = new Int32Array(CACHE_SLOTS);

  /** `onNew` hears of every flow the first time it is numbered (to write it down). */
  constructor(
    private readonly onNew: (f: FlowEntry) => void,
    private readonly seed = 0,
    private readonly maxFlows = MAX_FLOWS,
  ) {}

  /** The flow number of a level with an IP header, or -1 without one. */
  idOf(l: Level): number {
    if (l.ipVersion === 0) return -1;
    // ports kept only where the flow has them: a port protocol's, when its header is there
    const ported = PORT_PROTOS.has(l.proto);
    const sport = ported ? l.sport : -1;
    const dport = ported ? l.dport : -1;
    const pp = l.proto * 2 ** 34 + (sport + 1) * 2 ** 17 + (dport + 1);
    if (l.ipVersion === 4) {
      const slot = ((Math.imul(l.src4 ^ Math.imul(l.dst4, 0x9e3779b1), 0x85ebca6b) ^ (pp % 0x7fffffff)) >>> 20) & (CACHE_SLOTS - 1);
      if (this.cSrc[slot] === l.src4 && this.cDst[slot] === l.dst4 && this.cPp[slot] === pp) return this.cId[slot] as number;
      const key = `${l.src4},${l.dst4},${pp}`;
      let id = this.byKey.get(key);
      if (id === undefined) id = this.add(key, l, sport, dport);
      this.cSrc[slot] = l.src4;
      this.cDst[slot] = l.dst4;
      this.cPp[slot] = pp;
      this.cId[slot] = id;
      return id;
    }
    const src = formatIPv6(l.src6 as Uint8Array);
    const dst = formatIPv6(l.dst6 as Uint8Array);
    const key = `${src},${dst},${pp}`;
    return this.byKey.get(key) ?? this.add(key, l, sport, dport, src, dst);
  }

  private add(key: string, l: Level, sport: number, dport: number, src6?: string, dst6?: string): number {
    // numbers already given stay valid (their rows are written): the cache may keep them
    if (this.byKey.size >= this.maxFlows) this.byKey.clear();
    const id = this.nextId++;
    this.byKey.set(key, id);
    const v4 = l.ipVersion === 4;
    const tuple = {
      src: v4 ? ipv4Bytes(l.src4) : (l.src6 as Uint8Array),
      dst: v4 ? ipv4Bytes(l.dst4) : (l.dst6 as Uint8Array),
      proto: l.proto,
      ...(sport >= 0 && dport >= 0 ? { sport, dport } : {}),
    };
    this.onNew({
      id,
      ipVersion: v4 ? 4 : 6,
      src: v4 ? formatIPv4(l.src4) : (src6 as string),
      dst: v4 ? formatIPv4(l.dst4) : (dst6 as string),
      proto: l.proto,
      sport,
      dport,
      communityId: communityId(tuple, { seed: this.seed }),
    });
    return id;
  }
}

export interface LinkEntry {
  id: number;
  /** "aa:bb:cc:dd:ee:ff", or undefined when the frame has no Ethernet header (a cooked capture). */
  src: string | undefined;
  dst: string | undefined;
  /** -1: none. */
  ethertype: number;
}

/**
 * The link headers (source MAC, destination MAC, EtherType) of the rows, numbered as flows are:
 * their text is made once per distinct header, memory bounded the same way.
 */
export class LinkTable {
  private readonly byKey = new Map<string, number>();
  private nextId = 0;
  private readonly cSrc = new Float64Array(CACHE_SLOTS).fill(-2);
  private readonly cDst = new Float64Array(CACHE_SLOTS);
  private readonly cType = new Int32Array(CACHE_SLOTS);
  private readonly cId = new Int32Array(CACHE_SLOTS);

  constructor(
    private readonly onNew: (l: LinkEntry) => void,
    private readonly maxEntries = MAX_FLOWS,
  ) {}

  /** The number of a level's link header, or -1 when it has none at all. */
  idOf(l: Level): number {
    if (l.ethSrc < 0 && l.ethertype < 0) return -1;
    const slot = ((Math.imul((l.ethSrc % 0x7fffffff) ^ Math.imul(l.ethDst % 0x7fffffff, 0x9e3779b1), 0x85ebca6b) ^ l.ethertype) >>> 20) & (CACHE_SLOTS - 1);
    if (this.cSrc[slot] === l.ethSrc && this.cDst[slot] === l.ethDst && this.cType[slot] === l.ethertype) return this.cId[slot] as number;
    const key = `${l.ethSrc},${l.ethDst},${l.ethertype}`;
    let id = this.byKey.get(key);
    if (id === undefined) {
      if (this.byKey.size >= this.maxEntries) this.byKey.clear();
      id = this.nextId++;
      this.byKey.set(key, id);
      this.onNew({ id, src: l.ethSrc < 0 ? undefined : formatMac(l.ethSrc), dst: l.ethDst < 0 ? undefined : formatMac(l.ethDst), ethertype: l.ethertype });
    }
    this.cSrc[slot] = l.ethSrc;
    this.cDst[slot] = l.ethDst;
    this.cType[slot] = l.ethertype;
    this.cId[slot] = id;
    return id;
  }
}
