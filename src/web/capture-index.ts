/**
 * The capture index: one streaming pass over a capture file keeps, per packet, where its record
 * starts and a few numbers the web view filters and charts on (time, length, VNI, protocol,
 * addresses, a hash of the inner frame). No decoded packet is kept: a page of the packet list
 * is re-read from disk by offset (`readRecords`), so a million-packet capture stays fast and
 * its memory bounded (37 bytes per packet: MACs and IPv4 addresses as ids into a table of the
 * capture's own, offsets in 4 bytes below 4 GiB, lengths in 2 below 64 KiB, the record number
 * only when it differs from the packet's, and the columns no page reads derived on demand).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { CaptureParser } from '../decode/file/parser.js';
import { captureByteOrder, recordLength, walkRecordFile } from '../decode/file/records.js';
import { MAX_BLOCK, type CaptureFormat, type CaptureInterface } from '../decode/file/types.js';
import { decodePacket } from '../decode/packet.js';
import { defaultRegistry, type DecoderRegistry } from '../decode/registry.js';
import type { DecodedPacket, Layer, RawPacket } from '../decode/types.js';
import type { PassPacket } from '../analysis/pass.js';
import { CaptureFormatError, VxiError } from '../errors.js';
import { BIT_ARP, BIT_ICMP, BIT_ICMPV6, PacketFacts, TRANSPORT_TCP, TRANSPORT_UDP, TUNNEL_NONE, TUNNEL_VXLAN } from '../stats/facts.js';
import { BufferView, readFacts, udpPortTable } from '../stats/fast-decode.js';
import { grown, settled, type TypedArray } from './columns.js';

/** Innermost protocol codes kept in the index (for the protocol filter). */
export const PROTO = { other: 0, arp: 1, icmp: 2, tcp: 3, udp: 4, icmpv6: 5, ip: 6 } as const;
export type ProtoName = keyof typeof PROTO;
export const PROTO_NAMES: readonly ProtoName[] = ['other', 'arp', 'icmp', 'tcp', 'udp', 'icmpv6', 'ip'];

/** Per-packet flag bits. */
export const FLAG = {
  truncated: 1,
  malformed: 2,
  /** The outer IP packet is a fragment. */
  outerFragment: 4,
  /** Carries a tunnelled frame (VXLAN, GENEVE, VXLAN-GPE). */
  tunnel: 8,
  warning: 16,
  /** VXLAN on a UDP port other than the IANA 4789. */
  nonStandardPort: 32,
} as const;

/** The group (broadcast/multicast) bit of a MAC held as a 48-bit number, as in macDst. */
export function isGroupMac(mac: number): boolean {
  return mac >= 0 && Math.floor(mac / 0x10000000000) % 2 === 1;
}

/** Directions of a match as stored in CaptureIndex.dir (the correlator's, never guessed from times). */
export const MATCH_DIR = { none: 0, encap: 1, decap: 2 } as const;
export type MatchDirection = (typeof MATCH_DIR)[keyof typeof MATCH_DIR];

export interface CaptureIndex {
  path: string;
  fileSize: number;
  format: CaptureFormat | undefined;
  interfaces: CaptureInterface[];
  count: number;
  /** Byte offset of each record (4 bytes each while the file is under 4 GiB, 8 beyond). */
  offsets: Float64Array | Uint32Array;
  /** Timestamp, µs since the epoch (±0.25 µs). */
  tsUs: Float64Array;
  /** Length on the wire (2 bytes a packet while every length is below 65,536, 4 beyond). */
  wireLen: Uint16Array | Uint32Array;
  /** Tunnel VNI (VXLAN/GENEVE/GPE), -1 when none. */
  vni: Int32Array;
  /** PROTO code of the innermost protocol. */
  proto: Uint8Array;
  /**
   * Outer (depth 0) and innermost IPv4 source/destination of each packet as ids into ipTable
   * (id 0: address 0, none). As for MACs, a capture has few distinct addresses: 2 bytes each
   * (4 past 65,535 addresses) instead of 4.
   */
  outerSrcId: Uint16Array | Uint32Array;
  outerDstId: Uint16Array | Uint32Array;
  innerSrcId: Uint16Array | Uint32Array;
  innerDstId: Uint16Array | Uint32Array;
  /** IPv4 address of each id (0 at id 0). */
  ipTable: Uint32Array;
  /** Outer (depth 0) IPv4 source/destination, 0 when none (derived from the ids on each read: for tests and tools, not pages). */
  outerSrc: Uint32Array;
  outerDst: Uint32Array;
  /** Innermost IPv4 source/destination, 0 when none (equal to outer for untunnelled packets; derived as outerSrc). */
  innerSrc: Uint32Array;
  innerDst: Uint32Array;
  /**
   * Innermost Ethernet source/destination MAC of each packet as an id into macTable (0: none).
   * A capture has few distinct MACs: 2 bytes a packet (4 past 65,535 MACs) instead of 8.
   */
  macSrcId: Uint16Array | Uint32Array;
  macDstId: Uint16Array | Uint32Array;
  /** MAC of each id, as a 48-bit number (-1 at id 0: no Ethernet header). */
  macTable: Float64Array;
  /** Innermost Ethernet source/destination MAC as 48-bit numbers, -1 when none (derived from the ids on first read). */
  macSrc: Float64Array;
  macDst: Float64Array;
  /**
   * FNV-1a of the inner frame (the tunnelled Ethernet frame, or the whole frame when not
   * tunnelled). This and the next two columns are derived: nothing that serves the page reads
   * them, so they are computed (by re-reading the file) on first read, not kept per packet.
   */
  hash: Uint32Array;
  /** Length of the hashed bytes (derived, as hash). */
  hashLen: Uint32Array;
  /** Outer UDP destination port of a tunnelled packet, 0 otherwise (derived, as hash). */
  tunnelPort: Uint16Array;
  flags: Uint8Array;
  /** The packet on the other side of the node this one was matched with (1-based n), 0 if none. Filled by the analysis. */
  match: Int32Array;
  /** The correlator's direction of that match: MATCH_DIR.none, .encap or .decap. */
  dir: Uint8Array;
  /**
   * The packet's record number in its file (1-based), kept only when the file holds both sides
   * (some packet's number differs from its n); undefined when every packet's is its n: frameOf().
   */
  frame: Uint32Array | undefined;
  firstTsUs: number;
  lastTsUs: number;
  warnings: string[];
  /** The file is damaged from this point: every packet before it is indexed. */
  error?: string;
  /** Bytes to put in front of a record to re-read it alone (pcap file header, or pcapng SHB + IDBs). */
  prefix: Uint8Array;
  /** pcapng files with several sections or interfaces declared after the first packet. */
  headerBlocks?: HeaderBlock[];
}

interface HeaderBlock {
  offset: number;
  length: number;
  sectionStart: boolean;
}

export interface IndexOptions {
  registry?: DecoderRegistry;
  /** Called with each decoded packet during the pass (topology, diagnostics): do not keep it. */
  onPacket?: (p: DecodedPacket) => void;
  signal?: AbortSignal;
  /** Most packets to index: more is a TooManyPacketsError (an upload's index stays bounded). */
  maxPackets?: number;
  /**
   * Every packet fully decoded (decodePacket), none read by the fast path (readFacts): the
   * reference the fast path is checked against (test/widx-index-facts.test.ts); slower.
   */
  fullDecode?: boolean;
}

/** A capture with more packets than IndexOptions.maxPackets. */
export class TooManyPacketsError extends VxiError {
  constructor(readonly maxPackets: number) {
    super('VXI_WEB', `more than ${maxPackets} packets`, { exitCode: 2 });
  }
}

/**
 * A file that is not a capture at all (no pcap or pcapng header). Its message says what the
 * first bytes are, for the one who sent it (an upload); a page shows only that it is not a capture.
 */
export class NotACaptureError extends CaptureFormatError {
  constructor(cause: CaptureFormatError) {
    super(cause.kind, cause.detail, 0, {}, { cause });
  }
}

const CHUNK = 1024 * 1024;

/** Slots of the builder's address and MAC caches (a power of two: the top bits of a multiplicative hash). */
const SLOT_SHIFT = 20;
const SLOTS = 2 ** (32 - SLOT_SHIFT);

/** A 16-bit column widened to 32 bits (capacity kept, the first `length` values copied). */
function widened(a: Uint16Array | Uint32Array, length: number, capacity: number): Uint32Array {
  const w = new Uint32Array(capacity);
  w.set(a.subarray(0, length));
  return w;
}

function fnv1a(data: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= data[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function protoCode(layers: Layer[]): number {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i] as Layer;
    switch (l.type) {
      case 'arp':
        return PROTO.arp;
      case 'icmp':
        return PROTO.icmp;
      case 'icmpv6':
        return PROTO.icmpv6;
      case 'tcp':
        return PROTO.tcp;
      case 'udp':
        return l.depth === 0 && layers.some((x) => x.depth > 0) ? PROTO.other : PROTO.udp;
      case 'ipv4':
      case 'ipv6':
        return PROTO.ip;
      case 'vxlan':
      case 'geneve':
      case 'vxlan-gpe':
        return PROTO.other;
      default:
        break;
    }
  }
  return PROTO.other;
}

/** The fields the index keeps for one decoded packet. */
export interface IndexedFields {
  vni: number;
  proto: number;
  outerSrc: number;
  outerDst: number;
  innerSrc: number;
  innerDst: number;
  macSrc: number;
  macDst: number;
  hash: number;
  hashLen: number;
  tunnelPort: number;
  flags: number;
}

function emptyFields(): IndexedFields {
  return {
    vni: -1,
    proto: 0,
    outerSrc: 0,
    outerDst: 0,
    innerSrc: 0,
    innerDst: 0,
    macSrc: -1,
    macDst: -1,
    hash: 0,
    hashLen: 0,
    tunnelPort: 0,
    flags: 0,
  };
}

export function indexedFields(p: DecodedPacket): IndexedFields {
  return readIndexedFields(p, emptyFields(), true);
}

/** Fills `f` (reused by the builder: no object per packet) with the fields of `p`; the inner frame's hash only when `withHash`. */
function readIndexedFields(p: DecodedPacket, f: IndexedFields, withHash: boolean): IndexedFields {
  f.vni = -1;
  f.proto = protoCode(p.layers);
  f.outerSrc = 0;
  f.outerDst = 0;
  f.innerSrc = 0;
  f.innerDst = 0;
  f.macSrc = -1;
  f.macDst = -1;
  f.hash = 0;
  f.hashLen = 0;
  f.tunnelPort = 0;
  f.flags = 0;
  const data = p.raw.data;
  let hashStart = 0;
  let hashEnd = data.length;
  let outerUdpEnd = data.length;
  let tunnelSeen = false;
  let innerIsIpv4 = false;
  for (const l of p.layers) {
    switch (l.type) {
      case 'eth':
        f.macSrc = l.src;
        f.macDst = l.dst;
        break;
      case 'ipv4':
        if (l.depth === 0 && !tunnelSeen && f.outerSrc === 0) {
          f.outerSrc = l.src;
          f.outerDst = l.dst;
          if ((l.flags & 1) !== 0 || l.fragOffset !== 0) f.flags |= FLAG.outerFragment;
        }
        f.innerSrc = l.src;
        f.innerDst = l.dst;
        innerIsIpv4 = true;
        break;
      case 'ipv6':
        if (l.depth === 0 && l.fragment) f.flags |= FLAG.outerFragment;
        if (tunnelSeen) innerIsIpv4 = false;
        break;
      case 'udp':
        if (!tunnelSeen) {
          outerUdpEnd = Math.min(data.length, l.offset + Math.max(l.udpLength, l.length));
          if (l.udpLength === 0) outerUdpEnd = data.length;
        }
        break;
      case 'vxlan':
      case 'geneve':
      case 'vxlan-gpe':
        if (!tunnelSeen) {
          tunnelSeen = true;
          f.flags |= FLAG.tunnel;
          f.vni = l.vni;
          innerIsIpv4 = false;
          hashStart = l.offset + l.length;
          hashEnd = outerUdpEnd;
          const udpLayer = p.layers.find((x) => x.type === 'udp' && x.depth === l.depth);
          if (udpLayer && udpLayer.type === 'udp') {
            f.tunnelPort = udpLayer.dstPort;
            if (l.type === 'vxlan' && udpLayer.dstPort !== 4789) f.flags |= FLAG.nonStandardPort;
          }
        }
        break;
      default:
        break;
    }
  }
  if (!innerIsIpv4) {
    f.innerSrc = 0;
    f.innerDst = 0;
  }
  if (withHash && hashEnd > hashStart) {
    f.hash = fnv1a(data, hashStart, hashEnd);
    f.hashLen = hashEnd - hashStart;
  }
  if (p.truncated) f.flags |= FLAG.truncated;
  if (p.error) f.flags |= FLAG.malformed;
  if (p.warnings) f.flags |= FLAG.warning;
  return f;
}

/**
 * Fills `out` from the facts the counting path read from the bytes (readFacts): the same fields
 * readIndexedFields gives from the full decode, for the shapes readFacts knows (one VXLAN tunnel
 * at most, no fragment, nothing cut short, malformed or warned about: those flags stay clear).
 * The flow fields of the facts are those of the innermost level (inside the tunnel when there
 * is one), which is what the index keeps as "inner".
 */
function factsIndexedFields(f: PacketFacts, out: IndexedFields): IndexedFields {
  const tunnel = f.tunnel !== TUNNEL_NONE;
  out.vni = tunnel ? f.vni : -1;
  const other = f.other;
  out.proto =
    f.transport === TRANSPORT_TCP
      ? PROTO.tcp
      : f.transport === TRANSPORT_UDP
        ? PROTO.udp
        : other === BIT_ARP
          ? PROTO.arp
          : other === BIT_ICMP
            ? PROTO.icmp
            : other === BIT_ICMPV6
              ? PROTO.icmpv6
              : f.ipVersion !== 0
                ? PROTO.ip
                : PROTO.other;
  // the IPv4 header outside the tunnel (the only one of an untunnelled packet)
  const outer4 = tunnel ? f.outerVersion === 4 : f.ipVersion === 4;
  out.outerSrc = outer4 ? (tunnel ? f.outerSrc : f.ipSrc) : 0;
  out.outerDst = outer4 ? (tunnel ? f.outerDst : f.ipDst) : 0;
  out.innerSrc = f.ipVersion === 4 ? f.ipSrc : 0;
  out.innerDst = f.ipVersion === 4 ? f.ipDst : 0;
  out.macSrc = f.hasEth ? f.ethSrc : -1;
  out.macDst = f.hasEth ? f.ethDst : -1;
  out.hash = 0;
  out.hashLen = 0;
  out.tunnelPort = tunnel ? f.udpDst : 0;
  let flags = 0;
  if (tunnel) {
    flags |= FLAG.tunnel;
    if (f.tunnel === TUNNEL_VXLAN && f.udpDst !== 4789) flags |= FLAG.nonStandardPort;
  }
  if (f.truncated) flags |= FLAG.truncated;
  if (f.malformed) flags |= FLAG.malformed;
  if (f.warnings) flags |= FLAG.warning;
  out.flags = flags;
  return out;
}

function ioError(path: string, action: string, err: unknown): VxiError {
  const reason = err instanceof Error ? err.message : String(err);
  return new VxiError('VXI_IO', `cannot ${action} capture file ${JSON.stringify(path)}: ${reason}`, { cause: err });
}

type DerivedColumn = 'hash' | 'hashLen' | 'tunnelPort' | 'macSrc' | 'macDst' | 'outerSrc' | 'outerDst' | 'innerSrc' | 'innerDst';

/** The record number in its file of the packet at 0-based position `i`. */
export function frameOf(index: CaptureIndex, i: number): number {
  return index.frame ? (index.frame[i] as number) : i + 1;
}

/**
 * Gives `index` its derived columns (hash, hashLen, tunnelPort) as getters, computed on first
 * read from the records re-read and decoded, and again when the index has grown since. They are
 * not enumerable: copying a live index's fields onto the stored one (Object.assign) leaves them
 * uncomputed.
 */
function withDerivedColumns(index: Omit<CaptureIndex, DerivedColumn>, registry: DecoderRegistry | undefined): CaptureIndex {
  let cached: { count: number; hash: Uint32Array; hashLen: Uint32Array; tunnelPort: Uint16Array } | undefined;
  const columns = (): NonNullable<typeof cached> => {
    const full = index as CaptureIndex;
    if (cached?.count === full.count) return cached;
    const c = {
      count: full.count,
      hash: new Uint32Array(full.count),
      hashLen: new Uint32Array(full.count),
      tunnelPort: new Uint16Array(full.count),
    };
    const raws = readRecordsNow(
      full,
      Array.from({ length: full.count }, (_, i) => i),
      { bytesRead: 0 },
    );
    const f = emptyFields();
    for (const [i, raw] of raws) {
      readIndexedFields(decodePacket(raw, i + 1, registry ? { registry } : {}), f, true);
      c.hash[i] = f.hash;
      c.hashLen[i] = f.hashLen;
      c.tunnelPort[i] = f.tunnelPort;
    }
    cached = c;
    return c;
  };
  for (const k of ['hash', 'hashLen', 'tunnelPort'] as const) {
    Object.defineProperty(index, k, { get: () => columns()[k], enumerable: false, configurable: true });
  }
  const macs = (ids: Uint16Array | Uint32Array, table: Float64Array, count: number): Float64Array => {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = table[ids[i] as number] as number;
    return out;
  };
  Object.defineProperty(index, 'macSrc', {
    get: () => macs(index.macSrcId, index.macTable, index.count),
    enumerable: false,
    configurable: true,
  });
  Object.defineProperty(index, 'macDst', {
    get: () => macs(index.macDstId, index.macTable, index.count),
    enumerable: false,
    configurable: true,
  });
  const ips = (ids: Uint16Array | Uint32Array): Uint32Array => {
    const out = new Uint32Array(index.count);
    for (let i = 0; i < index.count; i++) out[i] = index.ipTable[ids[i] as number] as number;
    return out;
  };
  for (const [k, id] of [
    ['outerSrc', 'outerSrcId'],
    ['outerDst', 'outerDstId'],
    ['innerSrc', 'innerSrcId'],
    ['innerDst', 'innerDstId'],
  ] as const) {
    Object.defineProperty(index, k, { get: () => ips(index[id]), enumerable: false, configurable: true });
  }
  return index as CaptureIndex;
}

/**
 * Builds an index from bytes pushed in order (a whole file, or a file that is still growing).
 * `index()` gives the index so far: views of the columns while live, exact copies when final.
 */
export class IndexBuilder {
  readonly parser: CaptureParser;
  // One field per column, each always of the same typed-array type (see columns.ts).
  // Uint32 until an offset passes 4 GiB (then Float64: see add())
  private offsets: Uint32Array | Float64Array = new Uint32Array(0);
  private tsUs = new Float64Array(0);
  // Uint16 until a length passes 65,535 (then Uint32: see put())
  private wireLen: Uint16Array | Uint32Array = new Uint16Array(0);
  private vni = new Int32Array(0);
  private proto = new Uint8Array(0);
  // Uint16 until a 65,536th distinct IPv4 address (then Uint32: see ipId())
  private outerSrcId: Uint16Array | Uint32Array = new Uint16Array(0);
  private outerDstId: Uint16Array | Uint32Array = new Uint16Array(0);
  private innerSrcId: Uint16Array | Uint32Array = new Uint16Array(0);
  private innerDstId: Uint16Array | Uint32Array = new Uint16Array(0);
  private readonly ipIds = new Map<number, number>([[0, 0]]);
  private ipList: number[] = [0];
  /**
   * A direct-mapped cache in front of ipIds (a slot per hash of the address): a packet's four
   * addresses are nearly always among the capture's recent ones. Slot keys start at address 0,
   * whose id is 0, so an empty slot answers right.
   */
  private readonly ipSlotAddr = new Uint32Array(SLOTS);
  private readonly ipSlotId = new Uint32Array(SLOTS);
  // Uint16 until a 65,536th distinct MAC (then Uint32: see macId())
  private macSrcId: Uint16Array | Uint32Array = new Uint16Array(0);
  private macDstId: Uint16Array | Uint32Array = new Uint16Array(0);
  private readonly macIds = new Map<number, number>([[-1, 0]]);
  private macList: number[] = [-1];
  /** A direct-mapped cache in front of macIds, as for addresses (ipSlotAddr); empty slots hold MAC -1, whose id is 0. */
  private readonly macSlotMac = new Float64Array(SLOTS).fill(-1);
  private readonly macSlotId = new Uint32Array(SLOTS);
  private flags = new Uint8Array(0);
  private match = new Int32Array(0);
  private dir = new Uint8Array(0);
  // allocated at the first packet whose record number is not its n (a file holding both sides)
  private frame: Uint32Array | undefined = undefined;
  private capacity = 0;
  private readonly fields = emptyFields();
  // what the fast path reads a record into (push(): the builder parses the file itself)
  private readonly facts = new PacketFacts();
  private readonly view = new BufferView();
  private ports: Uint8Array | undefined;
  private firstOffset = -1;
  private interfacesAtFirst = 0;
  private first = Infinity;
  private last = -Infinity;
  private n = 0;
  private prefix: Uint8Array | undefined;

  /**
   * `parser`: the parser of the file when another reader (the analysis pass) parses it and
   * hands this builder its side's packets through add(); otherwise the builder parses the
   * bytes given to push() itself.
   */
  constructor(
    private readonly opts: IndexOptions = {},
    parser?: CaptureParser,
  ) {
    this.parser = parser ?? new CaptureParser();
  }

  get count(): number {
    return this.n;
  }

  push(chunk: Uint8Array): void {
    this.parser.push(chunk);
    this.drain();
  }

  /** The input is over (a finished file). */
  end(): void {
    if (this.parser.error) return;
    this.parser.end();
    this.drain();
  }

  private drain(): void {
    // the fast path as in the one pass: the full decode only for the shapes readFacts leaves to it
    const fast = this.opts.fullDecode !== true && this.opts.onPacket === undefined;
    const ports = fast ? this.udpPorts() : undefined;
    for (let raw = this.parser.next(); raw !== undefined; raw = this.parser.next()) {
      const n = this.n + 1;
      if (ports !== undefined && readFacts(raw, this.view.of(raw.data), ports, this.facts))
        this.put(raw, factsIndexedFields(this.facts, this.fields), n);
      else this.add(decodePacket(raw, n, this.opts.registry ? { registry: this.opts.registry } : {}), n);
    }
  }

  /** The registry's UDP ports as readFacts reads them (as the one pass makes it: src/analysis/pass.ts). */
  private udpPorts(): Uint8Array {
    this.ports ??= udpPortTable((this.opts.registry ?? defaultRegistry()).keysOf('udp', 'vxlan')).ports;
    return this.ports;
  }

  /**
   * A packet of the one pass (its side's, `x.n` = count + 1): its columns from the facts the pass
   * read from its bytes, or from its full decode when the fast path leaves it to the decoder.
   */
  addPass(x: PassPacket): void {
    const f = this.opts.fullDecode === true || this.opts.onPacket !== undefined ? undefined : x.facts;
    if (f === undefined) this.add(x.p, x.frame);
    else this.put(x.raw, factsIndexedFields(f, this.fields), x.frame);
  }

  /** Room for one more packet in every column (capacity doubles: few copies over a file). */
  private grow(): void {
    const n = this.n;
    const cap = Math.max(4096, this.capacity * 2);
    this.offsets = grown(this.offsets, n, cap);
    this.tsUs = grown(this.tsUs, n, cap);
    this.wireLen = grown(this.wireLen, n, cap);
    this.vni = grown(this.vni, n, cap);
    this.proto = grown(this.proto, n, cap);
    this.outerSrcId = grown(this.outerSrcId, n, cap);
    this.outerDstId = grown(this.outerDstId, n, cap);
    this.innerSrcId = grown(this.innerSrcId, n, cap);
    this.innerDstId = grown(this.innerDstId, n, cap);
    this.macSrcId = grown(this.macSrcId, n, cap);
    this.macDstId = grown(this.macDstId, n, cap);
    this.flags = grown(this.flags, n, cap);
    this.match = grown(this.match, n, cap);
    this.dir = grown(this.dir, n, cap);
    if (this.frame) this.frame = grown(this.frame, n, cap);
    this.capacity = cap;
  }

  /** A decoded packet of this capture (number `p.n` = count + 1), `frame` its record number in the file. */
  add(p: DecodedPacket, frame: number): void {
    this.put(p.raw, readIndexedFields(p, this.fields, false), frame);
    this.opts.onPacket?.(p);
  }

  /** The next packet's columns: its record and its fields (`f`, the builder's reused object). */
  private put(raw: RawPacket, f: IndexedFields, frame: number): void {
    if (this.opts.maxPackets !== undefined && this.n >= this.opts.maxPackets) throw new TooManyPacketsError(this.opts.maxPackets);
    if (this.n === this.capacity) this.grow();
    const i = this.n;
    this.n += 1;
    if (this.firstOffset < 0) {
      this.firstOffset = raw.fileOffset;
      this.interfacesAtFirst = this.parser.interfaces.length;
    }
    const ts = raw.tsSec * 1e6 + raw.tsNsec / 1e3;
    if (ts < this.first) this.first = ts;
    if (ts > this.last) this.last = ts;
    if (raw.fileOffset > 0xffffffff && this.offsets instanceof Uint32Array) {
      const wide = new Float64Array(this.capacity);
      wide.set(this.offsets.subarray(0, i));
      this.offsets = wide;
    }
    if (raw.len > 0xffff && this.wireLen instanceof Uint16Array) this.wireLen = widened(this.wireLen, i, this.capacity);
    this.offsets[i] = raw.fileOffset;
    this.tsUs[i] = ts;
    this.wireLen[i] = raw.len;
    this.vni[i] = f.vni;
    this.proto[i] = f.proto;
    // the ids first: a new address may widen the id columns (the writes go to the widened ones)
    const oSrc = this.ipId(f.outerSrc);
    const oDst = this.ipId(f.outerDst);
    const iSrc = this.ipId(f.innerSrc);
    const iDst = this.ipId(f.innerDst);
    this.outerSrcId[i] = oSrc;
    this.outerDstId[i] = oDst;
    this.innerSrcId[i] = iSrc;
    this.innerDstId[i] = iDst;
    // the ids first: a new MAC may widen the id columns (the writes go to the widened ones)
    const src = this.macId(f.macSrc);
    const dst = this.macId(f.macDst);
    this.macSrcId[i] = src;
    this.macDstId[i] = dst;
    this.flags[i] = f.flags;
    // match and dir stay 0 (new columns are zeroed) until setMatch()
    if (this.frame) this.frame[i] = frame;
    else if (frame !== i + 1) {
      this.frame = new Uint32Array(this.capacity);
      for (let k = 0; k < i; k++) this.frame[k] = k + 1;
      this.frame[i] = frame;
    }
  }

  /** The id of an IPv4 address in this capture's table (added when new). */
  private ipId(address: number): number {
    const ip = address >>> 0; // one key per address, however a reader gave it
    const slot = Math.imul(ip, 0x9e3779b1) >>> SLOT_SHIFT;
    if (this.ipSlotAddr[slot] === ip) return this.ipSlotId[slot] as number;
    let id = this.ipIds.get(ip);
    if (id === undefined) {
      id = this.ipList.length;
      this.ipIds.set(ip, id);
      this.ipList.push(ip);
      if (id > 0xffff && this.outerSrcId instanceof Uint16Array) {
        this.outerSrcId = widened(this.outerSrcId, this.n, this.capacity);
        this.outerDstId = widened(this.outerDstId, this.n, this.capacity);
        this.innerSrcId = widened(this.innerSrcId, this.n, this.capacity);
        this.innerDstId = widened(this.innerDstId, this.n, this.capacity);
      }
    }
    this.ipSlotAddr[slot] = ip;
    this.ipSlotId[slot] = id;
    return id;
  }

  /** The id of a MAC in this capture's table (added when new). */
  private macId(mac: number): number {
    // by its low 32 bits (`| 0`; the device part of a MAC, the OUI being the top 16); -1, none, hashes like any other
    const slot = Math.imul(mac | 0, 0x9e3779b1) >>> SLOT_SHIFT;
    if (this.macSlotMac[slot] === mac) return this.macSlotId[slot] as number;
    let id = this.macIds.get(mac);
    if (id === undefined) {
      id = this.macList.length;
      this.macIds.set(mac, id);
      this.macList.push(mac);
      if (id > 0xffff && this.macSrcId instanceof Uint16Array) {
        this.macSrcId = widened(this.macSrcId, this.n, this.capacity);
        this.macDstId = widened(this.macDstId, this.n, this.capacity);
      }
    }
    this.macSlotMac[slot] = mac;
    this.macSlotId[slot] = id;
    return id;
  }

  /**
   * Records the correlator's decision for packet `n` (1-based): its partner on the other side
   * and the direction. `firstOnly`: keep an earlier partner (a flooded bridge frame points at
   * its first copy).
   */
  setMatch(n: number, partner: number, dir: MatchDirection, firstOnly = false, vni?: number): void {
    const i = n - 1;
    if (i < 0 || i >= this.n) return;
    const cur = this.match[i] as number;
    if (firstOnly && cur !== 0 && cur < partner) return;
    this.match[i] = partner;
    this.dir[i] = dir;
    // a bridge frame has no VNI of its own: the one it was carried in (so vni=10 filters the bridge list too)
    if (vni !== undefined && (this.vni[i] as number) < 0) this.vni[i] = vni;
  }

  /**
   * The index of what was pushed so far. `final`: the builder is done, its columns are handed
   * over trimmed (and kept by the builder as they are: no second copy in memory); otherwise
   * views of the columns, valid until the next add() that grows them.
   */
  async index(path: string, fileSize: number, final: boolean): Promise<CaptureIndex> {
    const count = this.n;
    if (final) this.settle();
    const col = <T extends TypedArray>(x: T): T => (final ? x : (x.subarray(0, count) as T));
    const parser = this.parser;
    const index: Omit<CaptureIndex, DerivedColumn> = {
      path,
      fileSize,
      format: parser.format,
      interfaces: parser.interfaces,
      count,
      offsets: col(this.offsets),
      tsUs: col(this.tsUs),
      wireLen: col(this.wireLen),
      vni: col(this.vni),
      proto: col(this.proto),
      outerSrcId: col(this.outerSrcId),
      outerDstId: col(this.outerDstId),
      innerSrcId: col(this.innerSrcId),
      innerDstId: col(this.innerDstId),
      ipTable: Uint32Array.from(this.ipList),
      macSrcId: col(this.macSrcId),
      macDstId: col(this.macDstId),
      macTable: Float64Array.from(this.macList),
      flags: col(this.flags),
      match: col(this.match),
      dir: col(this.dir),
      frame: this.frame ? col(this.frame) : undefined,
      firstTsUs: count ? this.first : 0,
      lastTsUs: count ? this.last : 0,
      warnings: [...parser.warnings],
      prefix: new Uint8Array(0),
    };
    if (parser.error) index.error = parser.error.message;
    const full = withDerivedColumns(index, this.opts.registry);
    if (this.firstOffset >= 0) {
      const sections = new Set(parser.interfaces.map((i) => i.section)).size;
      const simple = sections <= 1 && parser.interfaces.length === this.interfacesAtFirst;
      if (simple) {
        this.prefix ??= await readHead(path, this.firstOffset);
        index.prefix = this.prefix;
      } else if (parser.format === 'pcapng') {
        index.headerBlocks = await pcapngHeaderBlocks(path);
      } else {
        this.prefix ??= await readHead(path, 24);
        index.prefix = this.prefix;
      }
    }
    return full;
  }

  /** Trims every column to the packets it holds (done once the input is over). */
  private settle(): void {
    const n = this.n;
    if (this.capacity === n && this.offsets.length === n) return;
    this.offsets = settled(this.offsets, n);
    this.tsUs = settled(this.tsUs, n);
    this.wireLen = settled(this.wireLen, n);
    this.vni = settled(this.vni, n);
    this.proto = settled(this.proto, n);
    this.outerSrcId = settled(this.outerSrcId, n);
    this.outerDstId = settled(this.outerDstId, n);
    this.innerSrcId = settled(this.innerSrcId, n);
    this.innerDstId = settled(this.innerDstId, n);
    this.macSrcId = settled(this.macSrcId, n);
    this.macDstId = settled(this.macDstId, n);
    this.flags = settled(this.flags, n);
    this.match = settled(this.match, n);
    this.dir = settled(this.dir, n);
    if (this.frame) this.frame = settled(this.frame, n);
    this.capacity = n;
  }
}

/** The first `length` bytes of a file (a record's prefix: the pcap header, or the pcapng SHB and IDBs). */
async function readHead(path: string, length: number): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  try {
    const b = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const r = await fh.read(b, got, length - got, got);
      if (r.bytesRead === 0) break;
      got += r.bytesRead;
    }
    return b.subarray(0, got);
  } finally {
    await fh.close();
  }
}

async function statSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    throw ioError(path, 'open', err);
  }
}

/** One streaming pass over the file: the index. Damaged files are indexed up to the damage (`error`). */
export async function buildCaptureIndex(path: string, opts: IndexOptions = {}): Promise<CaptureIndex> {
  const size = await statSize(path);
  const builder = new IndexBuilder(opts);
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const b = Buffer.allocUnsafeSlow(CHUNK);
      let got: number;
      try {
        got = (await fh.read(b, 0, CHUNK, null)).bytesRead;
      } catch (err) {
        throw ioError(path, 'read', err);
      }
      if (got === 0) break;
      builder.push(b.subarray(0, got));
      if (builder.parser.error) break;
    }
    builder.end();
  } finally {
    await fh.close();
  }
  const error = builder.parser.error;
  if (error && builder.count === 0 && error.offset === 0) throw builder.parser.format === undefined ? new NotACaptureError(error) : error;
  return builder.index(path, size, true);
}

/**
 * A capture file that is still being written (tcpdump -w, a live capture): `poll()` indexes the
 * bytes added since the last poll, and updates `index` in place. A record cut at the current end
 * waits for the rest.
 */
export class CaptureFollower {
  private readonly builder: IndexBuilder;
  private pos = 0;
  private current: CaptureIndex | undefined;

  constructor(
    readonly path: string,
    opts: IndexOptions = {},
  ) {
    this.builder = new IndexBuilder(opts);
  }

  /** The index so far (the same object after each poll, updated). */
  get index(): CaptureIndex {
    if (!this.current) throw new Error('CaptureFollower.index read before the first poll()');
    return this.current;
  }

  /** Reads what was appended; resolves with the number of new packets. */
  async poll(): Promise<number> {
    const before = this.builder.count;
    const size = await statSize(this.path);
    if (size > this.pos && !this.builder.parser.error) {
      const fh = await open(this.path, 'r');
      try {
        while (this.pos < size) {
          const want = Math.min(CHUNK, size - this.pos);
          const b = Buffer.allocUnsafeSlow(want);
          const got = (await fh.read(b, 0, want, this.pos)).bytesRead;
          if (got === 0) break;
          this.pos += got;
          this.builder.push(b.subarray(0, got));
          if (this.builder.parser.error) break;
        }
      } finally {
        await fh.close();
      }
    }
    const fresh = await this.builder.index(this.path, size, false);
    if (this.current) {
      Object.assign(this.current, fresh);
    } else this.current = fresh;
    return this.builder.count - before;
  }
}

/** Where each SHB and IDB of a pcapng file is (decode/file's walk over the block headers). */
async function pcapngHeaderBlocks(path: string): Promise<HeaderBlock[]> {
  const out: HeaderBlock[] = [];
  await walkRecordFile(path, (r) => {
    if (r.kind === 'section-header' || r.kind === 'interface')
      out.push({ offset: r.offset, length: r.length, sectionStart: r.kind === 'section-header' });
  });
  return out;
}

/** Reads `length` bytes at `position` into `buf` (fewer at the end of the file); the bytes read. */
function readAt(fd: number, buf: Uint8Array, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function prefixFor(index: CaptureIndex, offset: number, fd: number): Uint8Array {
  if (!index.headerBlocks) return index.prefix;
  let start = -1;
  for (let i = 0; i < index.headerBlocks.length; i++) {
    const b = index.headerBlocks[i] as HeaderBlock;
    if (b.offset >= offset) break;
    if (b.sectionStart) start = i;
  }
  if (start < 0) return new Uint8Array(0);
  const parts: Buffer[] = [];
  for (let i = start; i < index.headerBlocks.length; i++) {
    const b = index.headerBlocks[i] as HeaderBlock;
    if (b.offset >= offset) break;
    if (i > start && b.sectionStart) break;
    const buf = Buffer.alloc(b.length);
    readAt(fd, buf, b.length, b.offset);
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

/**
 * Records further apart than this are read one by one, each by the length its own header gives:
 * what lies between them (blocks the parser skipped) or after the last one (a damaged tail) is
 * never read to serve a packet.
 */
const RUN_GAP = 64 * 1024;

/** Bytes of the record at `start` by its own header (pcap: 16 + caplen; pcapng: the block length), at most MAX_BLOCK. */
function recordSpan(prefix: Uint8Array, start: number, fd: number, stats: ReadStats): number {
  // the prefix is the file header (pcap) or the record's section header (pcapng): it says the byte order
  const order = captureByteOrder(prefix);
  const hdr = Buffer.alloc(16);
  const got = readAt(fd, hdr, 16, start);
  stats.bytesRead += got;
  const n = order === undefined ? undefined : recordLength(order.format, order.littleEndian, new DataView(hdr.buffer, hdr.byteOffset, got));
  return n === undefined ? MAX_BLOCK : Math.min(Math.max(n, 16), MAX_BLOCK);
}

/** What re-reading cost (for tests and diagnostics). */
export interface ReadStats {
  bytesRead: number;
}

/**
 * Re-reads the records at 0-based positions `positions` from disk. Neighbouring records are read
 * in one go; every read is bounded by what the index knows of the records (their offsets, and
 * each record's own length), never by the size of the file.
 *
 * The reads are synchronous positioned reads (pread) of a page's records, a few kilobytes from
 * the page cache the index was just built through: under load, the promise API's FileHandle
 * (open, read, close: three trips to the thread pool, and a handle object to collect) cost more
 * of the event loop than the reads themselves. The file is opened per call, so a file replaced
 * on disk is read as it is now.
 */
export async function readRecords(
  index: CaptureIndex,
  positions: readonly number[],
  stats: ReadStats = { bytesRead: 0 },
): Promise<Map<number, RawPacket>> {
  return Promise.resolve(readRecordsNow(index, positions, stats));
}

function readRecordsNow(index: CaptureIndex, positions: readonly number[], stats: ReadStats): Map<number, RawPacket> {
  const out = new Map<number, RawPacket>();
  const sorted = [...new Set(positions)].filter((i) => i >= 0 && i < index.count).sort((a, b) => a - b);
  if (sorted.length === 0) return out;
  let fd: number;
  try {
    fd = openSync(index.path, 'r');
  } catch (err) {
    throw ioError(index.path, 'open', err);
  }
  const nextOffset = (k: number): number => (k + 1 < index.count ? (index.offsets[k + 1] as number) : index.fileSize);
  try {
    let i = 0;
    while (i < sorted.length) {
      let j = i;
      while (
        j + 1 < sorted.length &&
        (sorted[j + 1] as number) === (sorted[j] as number) + 1 &&
        nextOffset(sorted[j] as number) - (index.offsets[sorted[j] as number] as number) <= RUN_GAP
      )
        j++;
      const a = sorted[i] as number;
      const b = sorted[j] as number;
      const start = index.offsets[a] as number;
      const lastStart = index.offsets[b] as number;
      const prefix = prefixFor(index, start, fd);
      let end = nextOffset(b);
      // a record followed by much (the damaged tail of the file, skipped blocks): only the record itself
      if (end - lastStart > RUN_GAP) end = Math.min(end, lastStart + recordSpan(prefix, lastStart, fd, stats));
      const bytes = Buffer.allocUnsafeSlow(Math.max(0, end - start));
      let got: number;
      try {
        got = readAt(fd, bytes, bytes.length, start);
      } catch (err) {
        throw ioError(index.path, 'read', err);
      }
      stats.bytesRead += got;
      const parser = new CaptureParser();
      parser.push(prefix);
      parser.push(bytes.subarray(0, got));
      parser.end();
      // the records between are those of positions a..b, or (a file holding both sides) also
      // the other side's: each is recognised by where it starts
      for (let k = a, p = parser.next(); k <= b && p; p = parser.next()) {
        const at = start + p.fileOffset - prefix.length;
        if (at < (index.offsets[k] as number)) continue;
        if (at === index.offsets[k]) out.set(k, { ...p, fileOffset: at });
        k++;
      }
      i = j + 1;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
