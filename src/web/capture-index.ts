/**
 * The capture index: one streaming pass over a capture file keeps, per packet, where its record
 * starts and a few numbers the web view filters and charts on (time, length, VNI, protocol,
 * addresses, a hash of the inner frame). No decoded packet is kept: a page of the packet list
 * is re-read from disk by offset (`readRecords`), so a million-packet capture stays fast and
 * its memory bounded (about 70 bytes per packet).
 */
import { open, stat } from 'node:fs/promises';
import { CaptureParser } from '../decode/file/parser.js';
import { captureByteOrder, recordLength, walkRecordFile } from '../decode/file/records.js';
import { MAX_BLOCK, type CaptureFormat, type CaptureInterface } from '../decode/file/types.js';
import { decodePacket } from '../decode/packet.js';
import type { DecoderRegistry } from '../decode/registry.js';
import type { DecodedPacket, Layer, RawPacket } from '../decode/types.js';
import { CaptureFormatError, VxiError } from '../errors.js';
import { Column } from './columns.js';

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
  /** Byte offset of each record. */
  offsets: Float64Array;
  /** Timestamp, µs since the epoch (±0.25 µs). */
  tsUs: Float64Array;
  /** Length on the wire. */
  wireLen: Uint32Array;
  /** Tunnel VNI (VXLAN/GENEVE/GPE), -1 when none. */
  vni: Int32Array;
  /** PROTO code of the innermost protocol. */
  proto: Uint8Array;
  /** Outer (depth 0) IPv4 source/destination, 0 when none. */
  outerSrc: Uint32Array;
  outerDst: Uint32Array;
  /** Innermost IPv4 source/destination, 0 when none (equal to outer for untunnelled packets). */
  innerSrc: Uint32Array;
  innerDst: Uint32Array;
  /** Innermost Ethernet source/destination MAC as 48-bit numbers, -1 when none. */
  macSrc: Float64Array;
  macDst: Float64Array;
  /** FNV-1a of the inner frame (the tunnelled Ethernet frame, or the whole frame when not tunnelled). */
  hash: Uint32Array;
  /** Length of the hashed bytes. */
  hashLen: Uint32Array;
  /** Outer UDP destination port of a tunnelled packet, 0 otherwise. */
  tunnelPort: Uint16Array;
  flags: Uint8Array;
  /** The packet on the other side of the node this one was matched with (1-based n), 0 if none. Filled by the analysis. */
  match: Int32Array;
  /** The correlator's direction of that match: MATCH_DIR.none, .encap or .decap. */
  dir: Uint8Array;
  /** The packet's record number in its file (1-based): n itself, unless the file holds both sides. */
  frame: Uint32Array;
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
      case 'arp': return PROTO.arp;
      case 'icmp': return PROTO.icmp;
      case 'icmpv6': return PROTO.icmpv6;
      case 'tcp': return PROTO.tcp;
      case 'udp': return l.depth === 0 && layers.some((x) => x.depth > 0) ? PROTO.other : PROTO.udp;
      case 'ipv4':
      case 'ipv6': return PROTO.ip;
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

export function indexedFields(p: DecodedPacket): IndexedFields {
  const f: IndexedFields = { vni: -1, proto: protoCode(p.layers), outerSrc: 0, outerDst: 0, innerSrc: 0, innerDst: 0, macSrc: -1, macDst: -1, hash: 0, hashLen: 0, tunnelPort: 0, flags: 0 };
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
  if (hashEnd > hashStart) {
    f.hash = fnv1a(data, hashStart, hashEnd);
    f.hashLen = hashEnd - hashStart;
  }
  if (p.truncated) f.flags |= FLAG.truncated;
  if (p.error) f.flags |= FLAG.malformed;
  if (p.warnings) f.flags |= FLAG.warning;
  return f;
}

function ioError(path: string, action: string, err: unknown): VxiError {
  const reason = err instanceof Error ? err.message : String(err);
  return new VxiError('VXI_IO', `cannot ${action} capture file ${JSON.stringify(path)}: ${reason}`, { cause: err });
}

/**
 * Builds an index from bytes pushed in order (a whole file, or a file that is still growing).
 * `index()` gives the index so far: views of the columns while live, exact copies when final.
 */
export class IndexBuilder {
  readonly parser: CaptureParser;
  private readonly c = {
    offsets: new Column(Float64Array), tsUs: new Column(Float64Array), wireLen: new Column(Uint32Array), vni: new Column(Int32Array),
    proto: new Column(Uint8Array), outerSrc: new Column(Uint32Array), outerDst: new Column(Uint32Array), innerSrc: new Column(Uint32Array),
    innerDst: new Column(Uint32Array), macSrc: new Column(Float64Array), macDst: new Column(Float64Array), hash: new Column(Uint32Array),
    hashLen: new Column(Uint32Array), tunnelPort: new Column(Uint16Array), flags: new Column(Uint8Array),
    match: new Column(Int32Array), dir: new Column(Uint8Array), frame: new Column(Uint32Array),
  };
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
  constructor(private readonly opts: IndexOptions = {}, parser?: CaptureParser) {
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
    for (let raw = this.parser.next(); raw !== undefined; raw = this.parser.next()) {
      const n = this.n + 1;
      this.add(decodePacket(raw, n, this.opts.registry ? { registry: this.opts.registry } : {}), n);
    }
  }

  /** A decoded packet of this capture (number `p.n` = count + 1), `frame` its record number in the file. */
  add(p: DecodedPacket, frame: number): void {
    if (this.opts.maxPackets !== undefined && this.n >= this.opts.maxPackets) throw new TooManyPacketsError(this.opts.maxPackets);
    const raw = p.raw;
    this.n += 1;
    if (this.firstOffset < 0) {
      this.firstOffset = raw.fileOffset;
      this.interfacesAtFirst = this.parser.interfaces.length;
    }
    const f = indexedFields(p);
    const ts = raw.tsSec * 1e6 + raw.tsNsec / 1e3;
    if (ts < this.first) this.first = ts;
    if (ts > this.last) this.last = ts;
    const c = this.c;
    c.offsets.push(raw.fileOffset);
    c.tsUs.push(ts);
    c.wireLen.push(raw.len);
    c.vni.push(f.vni);
    c.proto.push(f.proto);
    c.outerSrc.push(f.outerSrc);
    c.outerDst.push(f.outerDst);
    c.innerSrc.push(f.innerSrc);
    c.innerDst.push(f.innerDst);
    c.macSrc.push(f.macSrc);
    c.macDst.push(f.macDst);
    c.hash.push(f.hash);
    c.hashLen.push(f.hashLen);
    c.tunnelPort.push(f.tunnelPort);
    c.flags.push(f.flags);
    c.match.push(0);
    c.dir.push(0);
    c.frame.push(frame);
    this.opts.onPacket?.(p);
  }

  /**
   * Records the correlator's decision for packet `n` (1-based): its partner on the other side
   * and the direction. `firstOnly`: keep an earlier partner (a flooded bridge frame points at
   * its first copy).
   */
  setMatch(n: number, partner: number, dir: MatchDirection, firstOnly = false, vni?: number): void {
    const i = n - 1;
    if (i < 0 || i >= this.n) return;
    const cur = this.c.match.view()[i] as number;
    if (firstOnly && cur !== 0 && cur < partner) return;
    this.c.match.set(i, partner);
    this.c.dir.set(i, dir);
    // a bridge frame has no VNI of its own: the one it was carried in (so vni=10 filters the bridge list too)
    if (vni !== undefined && (this.c.vni.view()[i] as number) < 0) this.c.vni.set(i, vni);
  }

  /** The index of what was pushed so far. `final`: exact copies (the builder is done); otherwise views. */
  async index(path: string, fileSize: number, final: boolean): Promise<CaptureIndex> {
    const col = <T extends Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array>(x: Column<T>): T => (final ? x.done() : x.view());
    const c = this.c;
    const count = this.n;
    const parser = this.parser;
    const index: CaptureIndex = {
      path,
      fileSize,
      format: parser.format,
      interfaces: parser.interfaces,
      count,
      offsets: col(c.offsets),
      tsUs: col(c.tsUs),
      wireLen: col(c.wireLen),
      vni: col(c.vni),
      proto: col(c.proto),
      outerSrc: col(c.outerSrc),
      outerDst: col(c.outerDst),
      innerSrc: col(c.innerSrc),
      innerDst: col(c.innerDst),
      macSrc: col(c.macSrc),
      macDst: col(c.macDst),
      hash: col(c.hash),
      hashLen: col(c.hashLen),
      tunnelPort: col(c.tunnelPort),
      flags: col(c.flags),
      match: col(c.match),
      dir: col(c.dir),
      frame: col(c.frame),
      firstTsUs: count ? this.first : 0,
      lastTsUs: count ? this.last : 0,
      warnings: [...parser.warnings],
      prefix: new Uint8Array(0),
    };
    if (parser.error) index.error = parser.error.message;
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
    return index;
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

  constructor(readonly path: string, opts: IndexOptions = {}) {
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
    if (r.kind === 'section-header' || r.kind === 'interface') out.push({ offset: r.offset, length: r.length, sectionStart: r.kind === 'section-header' });
  });
  return out;
}

async function prefixFor(index: CaptureIndex, offset: number, fh: import('node:fs/promises').FileHandle): Promise<Uint8Array> {
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
    await fh.read(buf, 0, b.length, b.offset);
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
async function recordSpan(prefix: Uint8Array, start: number, fh: import('node:fs/promises').FileHandle, stats: ReadStats): Promise<number> {
  // the prefix is the file header (pcap) or the record's section header (pcapng): it says the byte order
  const order = captureByteOrder(prefix);
  const hdr = Buffer.alloc(16);
  const got = (await fh.read(hdr, 0, 16, start)).bytesRead;
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
 */
export async function readRecords(index: CaptureIndex, positions: readonly number[], stats: ReadStats = { bytesRead: 0 }): Promise<Map<number, RawPacket>> {
  const out = new Map<number, RawPacket>();
  const sorted = [...new Set(positions)].filter((i) => i >= 0 && i < index.count).sort((a, b) => a - b);
  if (sorted.length === 0) return out;
  let fh;
  try {
    fh = await open(index.path, 'r');
  } catch (err) {
    throw ioError(index.path, 'open', err);
  }
  const nextOffset = (k: number): number => (k + 1 < index.count ? (index.offsets[k + 1] as number) : index.fileSize);
  try {
    let i = 0;
    while (i < sorted.length) {
      let j = i;
      while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1 && nextOffset(sorted[j] as number) - (index.offsets[sorted[j] as number] as number) <= RUN_GAP) j++;
      const a = sorted[i] as number;
      const b = sorted[j] as number;
      const start = index.offsets[a] as number;
      const lastStart = index.offsets[b] as number;
      const prefix = await prefixFor(index, start, fh);
      let end = nextOffset(b);
      // a record followed by much (the damaged tail of the file, skipped blocks): only the record itself
      if (end - lastStart > RUN_GAP) end = Math.min(end, lastStart + (await recordSpan(prefix, lastStart, fh, stats)));
      const bytes = Buffer.allocUnsafeSlow(Math.max(0, end - start));
      const got = (await fh.read(bytes, 0, bytes.length, start)).bytesRead;
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
    await fh.close();
  }
  return out;
}
