/**
 * The flows of an export's packet rows: each distinct (addresses, protocol, ports) of a level
 * gets a number, its text and its Community ID once; a packet row carries only the number.
 * Keys are numbers in the open-addressing table `stats` counts flows with (stats/flow-table.ts):
 * no string and no object per packet, only per new flow. Memory is bounded: past MAX_FLOWS
 * distinct flows a table starts afresh (a flow seen again then gets a second number with the
 * same text; `restarted` says so, and the flow rows are then grouped by text).
 */
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';
import { FlowTable as KeyTable, hashKey, KEY_WORDS } from '../stats/flow-table.js';
import { communityId, ipv4Bytes, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP } from './community-id.js';
import type { Level } from './fields.js';

/** Distinct flows (and link headers) remembered at once, per table. */
export const MAX_FLOWS = 250_000;

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

/** Big-endian 32-bit word i (0..3) of a 16-byte address. */
function word6(a: Uint8Array, i: number): number {
  const o = 4 * i;
  return ((a[o] as number) << 24) | ((a[o + 1] as number) << 16) | ((a[o + 2] as number) << 8) | (a[o + 3] as number);
}

/** Numbers for keys, handed out in order of first appearance; bounded (see the module's comment). */
class Numbering {
  private table: KeyTable;
  /** Numbers given before the table last started afresh. */
  private base = 0;
  /** The table started afresh at least once: one key may have several numbers. */
  restarted = false;
  readonly key = new Int32Array(KEY_WORDS);

  constructor(private readonly maxEntries: number) {
    this.table = new KeyTable(maxEntries);
  }

  /** The last key looked up was new. */
  fresh = false;

  /** The number of `this.key` (`fresh` says whether it is new; no object per lookup: this runs per packet). */
  lookup(): number {
    const k = this.key;
    const h = hashKey(k);
    const e = this.table.find(k, h);
    this.fresh = e < 0;
    if (e >= 0) return this.base + e;
    let n = this.table.insert(k, h, 0, 0, 0);
    if (n < 0) {
      // full: numbers already given stay valid (their rows are written); new ones follow them
      this.base += this.table.size;
      this.table = new KeyTable(this.maxEntries);
      this.restarted = true;
      n = this.table.insert(k, h, 0, 0, 0);
    }
    return this.base + n;
  }
}

export class FlowTable {
  private readonly numbers: Numbering;

  /** `onNew` hears of every flow the first time it is numbered (to write it down). */
  constructor(
    private readonly onNew: (f: FlowEntry) => void,
    private readonly seed = 0,
    maxFlows = MAX_FLOWS,
  ) {
    this.numbers = new Numbering(maxFlows);
  }

  /** Some flow has two numbers (the table started afresh). */
  get restarted(): boolean {
    return this.numbers.restarted;
  }

  /** The flow number of a level with an IP header, or -1 without one. */
  idOf(l: Level): number {
    if (l.ipVersion === 0) return -1;
    // ports kept only where the flow has them: a port protocol's, when its header is there
    const ported = PORT_PROTOS.has(l.proto);
    const sport = ported ? l.sport : -1;
    const dport = ported ? l.dport : -1;
    const k = this.numbers.key;
    k[0] = l.ipVersion | (l.proto << 8);
    k[1] = sport;
    k[2] = dport;
    if (l.ipVersion === 4) {
      k[3] = l.src4;
      k[4] = l.dst4;
      k[5] = k[6] = k[7] = k[8] = k[9] = k[10] = 0;
    } else {
      const s = l.src6 as Uint8Array;
      const d = l.dst6 as Uint8Array;
      k[3] = word6(s, 0);
      k[4] = word6(s, 1);
      k[5] = word6(s, 2);
      k[6] = word6(s, 3);
      k[7] = word6(d, 0);
      k[8] = word6(d, 1);
      k[9] = word6(d, 2);
      k[10] = word6(d, 3);
    }
    k[11] = 0;
    const id = this.numbers.lookup();
    if (this.numbers.fresh) this.announce(id, l, sport, dport);
    return id;
  }

  private announce(id: number, l: Level, sport: number, dport: number): void {
    const v4 = l.ipVersion === 4;
    const src = v4 ? ipv4Bytes(l.src4) : (l.src6 as Uint8Array);
    const dst = v4 ? ipv4Bytes(l.dst4) : (l.dst6 as Uint8Array);
    this.onNew({
      id,
      ipVersion: v4 ? 4 : 6,
      src: v4 ? formatIPv4(l.src4) : formatIPv6(src),
      dst: v4 ? formatIPv4(l.dst4) : formatIPv6(dst),
      proto: l.proto,
      sport,
      dport,
      communityId: communityId({ src, dst, proto: l.proto, ...(sport >= 0 && dport >= 0 ? { sport, dport } : {}) }, { seed: this.seed }),
    });
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
  private readonly numbers: Numbering;

  constructor(
    private readonly onNew: (l: LinkEntry) => void,
    maxEntries = MAX_FLOWS,
  ) {
    this.numbers = new Numbering(maxEntries);
  }

  get restarted(): boolean {
    return this.numbers.restarted;
  }

  /** The number of a level's link header, or -1 when it has none at all. */
  idOf(l: Level): number {
    if (l.ethSrc < 0 && l.ethertype < 0) return -1;
    const k = this.numbers.key;
    // a MAC is a 48-bit number (-1: none): its high 16 bits and low 32 bits
    k[0] = l.ethSrc < 0 ? -1 : Math.floor(l.ethSrc / 2 ** 32);
    k[1] = l.ethSrc < 0 ? -1 : l.ethSrc | 0;
    k[2] = l.ethDst < 0 ? -1 : Math.floor(l.ethDst / 2 ** 32);
    k[3] = l.ethDst < 0 ? -1 : l.ethDst | 0;
    k[4] = l.ethertype;
    k.fill(0, 5);
    const id = this.numbers.lookup();
    if (this.numbers.fresh)
      this.onNew({
        id,
        src: l.ethSrc < 0 ? undefined : formatMac(l.ethSrc),
        dst: l.ethDst < 0 ? undefined : formatMac(l.ethDst),
        ethertype: l.ethertype,
      });
    return id;
  }
}
