/**
 * The one pass over a node's captures: the files are read once, their packets routed to a
 * side (underlay or bridge) by file or by interface, merged by time across files, decoded
 * once, and handed to every listener (correlator, statistics, topology, diagnostics, the web
 * view's index) — Wireshark's taps, in the style of `epan/tap.c`. No listener re-reads a file.
 *
 * Two ways to drive it:
 *  - `runPass(pass)`: files that are complete, read to the end in bounded memory;
 *  - `pass.push(path, chunk)` / `pass.drain()`: files that are still growing (live capture);
 *    what has arrived is delivered at once, the correlator's own merge lines the sides up.
 */
import { CaptureParser } from '../decode/file/parser.js';
import { chunksOf, readFileAhead, type ChunkBuffers } from '../decode/file/read.js';
import type { CaptureFormatError } from '../errors.js';
import { decodePacket } from '../decode/packet.js';
import { createRegistry, type DecoderRegistry } from '../decode/registry.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import type { CapturedPacket } from '../correlate/frame-ring.js';
import { PacketFacts } from '../stats/facts.js';
import { BufferView, readFacts, udpPortTable } from '../stats/fast-decode.js';
import { LINKTYPE_SLL2, type PacketSelector, type Side, type SideSource } from './sides.js';

export interface PassPacket extends CapturedPacket {
  readonly side: Side;
  /** 1-based number of the packet among its side's packets. */
  readonly n: number;
  /** 1-based number of the record in its file (differs from n when a file holds both sides). */
  readonly frame: number;
  /** Time in µs on the node's underlay clock (the bridge side's offset added). */
  readonly tsUs: number;
  /** The packet's layers, decoded once, when a listener first asks (the correlator alone reads the record's bytes). */
  readonly p: DecodedPacket;
  /**
   * What the counting path reads straight from the bytes (readFacts), read once for every
   * listener; undefined when the packet's shape is one for the full decoder (`p`). One object
   * reused for every packet of the pass: valid while the packet is being delivered.
   */
  readonly facts: PacketFacts | undefined;
}

/** What the records of one pass share: the registry, the UDP port table, and the one facts object. */
interface PassContext {
  readonly registry: DecoderRegistry;
  readonly udpPorts: Uint8Array;
  readonly facts: PacketFacts;
  readonly view: BufferView;
  /** Every listener reads the full decode (PassOptions.fullDecode). */
  readonly fullDecode: boolean;
  /** The record whose facts `facts` holds now. */
  owner: PassRecord | undefined;
}

const FACTS_UNREAD = 0;
const FACTS_READ = 1;
const FACTS_NONE = 2;

/** A packet of the pass: read on first use of `facts`, decoded on first use of `p`, once for every listener. */
class PassRecord implements PassPacket {
  private decoded: DecodedPacket | undefined = undefined;
  private factsState = FACTS_UNREAD;

  constructor(
    readonly side: Side,
    readonly n: number,
    readonly frame: number,
    readonly tsUs: number,
    readonly raw: RawPacket,
    private readonly ctx: PassContext,
  ) {}

  get udpPorts(): Uint8Array {
    return this.ctx.udpPorts;
  }

  get p(): DecodedPacket {
    return (this.decoded ??= decodePacket(this.raw, this.n, { registry: this.ctx.registry }));
  }

  get facts(): PacketFacts | undefined {
    const c = this.ctx;
    if (this.factsState === FACTS_UNREAD || (this.factsState === FACTS_READ && c.owner !== this)) {
      // a listener that asks again after the next packet was read gets its own packet's facts back
      const ok = !c.fullDecode && readFacts(this.raw, c.view.of(this.raw.data), c.udpPorts, c.facts);
      this.factsState = ok ? FACTS_READ : FACTS_NONE;
      c.owner = ok ? this : undefined;
    }
    return this.factsState === FACTS_READ ? c.facts : undefined;
  }
}

export interface PassListener {
  (x: PassPacket): void;
  /**
   * The listener keeps nothing of a packet past the call: no PassPacket, no view of its bytes,
   * no decode (the correlator copies what it holds into its own arena). When every listener
   * says so, runPass reads each file into a few recycled buffers instead of a fresh 1 MiB chunk
   * each time (see ChunkPool).
   */
  readonly keepsNoBytes?: boolean;
}

export interface PassOptions {
  registry?: DecoderRegistry;
  /** Extra UDP ports decoded as VXLAN (when no registry is given). */
  vxlanPorts?: number[];
  /** Added to the bridge side's timestamps to line them up with the underlay's. */
  overlayClockOffsetUs?: number;
  /**
   * No packet's facts are read from its bytes: every listener counts from the full decode.
   * The reference the fast path is checked against (test/pass-fast.test.ts); slower.
   */
  fullDecode?: boolean;
}

/** What one file gave: its parser (format, interfaces, warnings, damage) and its counts. */
export interface FileFeedState {
  path: string;
  parser: CaptureParser;
  /** Records read. */
  records: number;
  /** Records that belong to no side (another interface of an `any` or multi-interface capture). */
  otherInterfaces: number;
  ended: boolean;
}

interface Route {
  side: Side;
  select: PacketSelector;
}

/** The SLL2 interface index of a cooked record, or -1. */
export function sll2Ifindex(raw: RawPacket): number {
  if (raw.linkType !== LINKTYPE_SLL2 || raw.data.length < 8) return -1;
  const d = raw.data;
  return (((d[4] as number) << 24) | ((d[5] as number) << 16) | ((d[6] as number) << 8) | (d[7] as number)) >>> 0;
}

function selects(select: PacketSelector, raw: RawPacket): boolean {
  switch (select.kind) {
    case 'all':
      return true;
    case 'interfaces':
      return raw.interfaceId !== undefined && select.ids.includes(raw.interfaceId);
    case 'ifindex':
      return select.ifindexes.includes(sll2Ifindex(raw));
  }
}

class FileFeed implements FileFeedState {
  readonly parser = new CaptureParser();
  records = 0;
  otherInterfaces = 0;
  ended = false;
  /** The next record that belongs to a side (its side, record number and time in fields: no object per record). */
  head: RawPacket | undefined = undefined;
  headSide: Side = 'underlay';
  headFrame = 0;
  /** The head's time in µs on the node's underlay clock (NodePass.tsOf), set when it becomes the head. */
  headTs = 0;

  constructor(
    readonly path: string,
    readonly routes: Route[],
    private readonly tsOf: (raw: RawPacket, side: Side) => number,
  ) {}

  /** Parses until a record of some side is at the head, or more bytes are needed. */
  fill(): void {
    while (this.head === undefined) {
      const raw = this.parser.next();
      if (raw === undefined) return;
      this.records += 1;
      const route =
        this.routes.length === 1 && this.routes[0]?.select.kind === 'all'
          ? this.routes[0]
          : this.routes.find((r) => selects(r.select, raw));
      if (route) {
        this.head = raw;
        this.headSide = route.side;
        this.headFrame = this.records;
        this.headTs = this.tsOf(raw, route.side);
      } else this.otherInterfaces += 1;
    }
  }

  get error(): CaptureFormatError | undefined {
    return this.parser.error;
  }

  /** No record will come any more (the input ended, or is damaged). */
  get exhausted(): boolean {
    return this.head === undefined && (this.ended || this.parser.error !== undefined);
  }
}

export class NodePass {
  readonly feeds: FileFeed[] = [];
  private readonly ctx: PassContext;
  private readonly offsetUs: number;
  private readonly listeners: PassListener[] = [];
  private readonly count = { underlay: 0, overlay: 0 };

  constructor(sides: { underlay?: SideSource; overlay?: SideSource }, opts: PassOptions = {}) {
    const registry = opts.registry ?? createRegistry({ vxlanPorts: opts.vxlanPorts ?? [] });
    // the registry's UDP table as one byte per port, for readers of the record's bytes (CapturedPacket.udpPorts)
    const udpPorts = udpPortTable(registry.keysOf('udp', 'vxlan')).ports;
    this.ctx = {
      registry,
      udpPorts,
      facts: new PacketFacts(),
      view: new BufferView(),
      fullDecode: opts.fullDecode === true,
      owner: undefined,
    };
    this.offsetUs = opts.overlayClockOffsetUs ?? 0;
    for (const side of ['underlay', 'overlay'] as const) {
      const s = sides[side];
      if (s) this.addSide(side, s);
    }
  }

  /**
   * Adds a side (a live capture's second file, which appears a moment after the first). Its
   * packets join from then on; the correlator's own merge lines them up with the other side's.
   */
  addSide(side: Side, s: SideSource): void {
    if (this.feeds.some((f) => f.routes.some((r) => r.side === side))) throw new Error(`NodePass: the ${side} side is already given`);
    let feed = this.feeds.find((f) => f.path === s.path);
    if (!feed) this.feeds.push((feed = new FileFeed(s.path, [], (raw, sd) => this.tsOf(raw, sd))));
    feed.routes.push({ side, select: s.select });
  }

  /** Adds a listener; every packet delivered from now on reaches it. */
  listen(l: PassListener): this {
    this.listeners.push(l);
    return this;
  }

  /** Every listener keeps nothing of a packet past its call (PassListener.keepsNoBytes): the bytes read may be reused. */
  get bytesReusable(): boolean {
    return this.listeners.length > 0 && this.listeners.every((l) => l.keepsNoBytes === true);
  }

  /** Packets delivered so far on each side. */
  delivered(side: Side): number {
    return this.count[side];
  }

  feed(path: string): FileFeedState | undefined {
    return this.feeds.find((f) => f.path === path);
  }

  /** Bytes of a file that is being read or followed. The parser keeps views into `chunk`. */
  push(path: string, chunk: Uint8Array): void {
    const f = this.feeds.find((x) => x.path === path);
    if (!f) throw new Error(`NodePass: ${path} is not one of this node's files`);
    f.parser.push(chunk);
  }

  /** A file is complete. */
  end(path: string): void {
    const f = this.feeds.find((x) => x.path === path);
    if (!f || f.ended) return;
    f.parser.end();
    f.ended = true;
  }

  /**
   * Delivers packets in time order across files. `waitForAll`: stop as soon as a file that
   * may still give records has none parsed (a complete read); otherwise deliver everything
   * parsed so far (live: files grow at their own pace). Returns the number delivered.
   */
  drain(waitForAll: boolean): number {
    let delivered = 0;
    for (;;) {
      let best: FileFeed | undefined;
      let bestTs = Infinity;
      for (const f of this.feeds) {
        f.fill();
        if (f.head === undefined) {
          if (waitForAll && !f.exhausted) return delivered;
          continue;
        }
        const ts = f.headTs;
        if (best === undefined || ts < bestTs) {
          best = f;
          bestTs = ts;
        }
      }
      const raw = best?.head;
      if (best === undefined || raw === undefined) return delivered;
      const side = best.headSide;
      const frame = best.headFrame;
      best.head = undefined;
      const n = ++this.count[side];
      const x = new PassRecord(side, n, frame, bestTs, raw, this.ctx);
      for (const l of this.listeners) l(x);
      delivered += 1;
    }
  }

  /** A feed that needs bytes before the next packet can be chosen (complete read). */
  starving(): FileFeed | undefined {
    for (const f of this.feeds) {
      f.fill();
      if (f.head === undefined && !f.exhausted) return f;
    }
    return undefined;
  }

  private tsOf(raw: RawPacket, side: Side): number {
    return raw.tsSec * 1e6 + raw.tsNsec / 1e3 + (side === 'overlay' ? this.offsetUs : 0);
  }
}

/**
 * Bytes a ChunkPool buffer holds: a quarter of the reader's fresh chunks, 4.5 MiB fewer for two files,
 * for about 0.5 s more system CPU on 1M + 1M packets (four times as many reads: README Performance).
 */
const POOL_CHUNK = 1 << 18;

/**
 * The buffers one file is read into, reused once the parser is past them. Fresh chunks (the
 * reader's default) die only at the next scavenge: one every 15 MB or so allocated, so 30 to 50
 * of them (MiB) were alive at a time outside the heap, a fifth of `correlate`'s peak RSS. A
 * chunk is done when the next one is pushed: the pass pushes only into a file whose parser is
 * starving (every record before was delivered, a record cut by the chunk's end copied aside),
 * and its format is known (detecting it may look at two chunks). Three buffers per file: the
 * parser's, the one pushed, the one being read ahead.
 */
class ChunkPool implements ChunkBuffers {
  private readonly free: Uint8Array[] = [];
  /** The buffer of the chunk last pushed into the parser. */
  private inParser: Uint8Array | undefined = undefined;

  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(POOL_CHUNK);
  }

  release(buffer: Uint8Array): void {
    this.free.push(new Uint8Array(buffer.buffer, 0, POOL_CHUNK));
  }

  /** `chunk` goes into the parser: the one before it is free when the parser has read it all (`done`), else left to the garbage collector. */
  pushed(chunk: Uint8Array, done: boolean): void {
    if (this.inParser !== undefined && done) this.free.push(this.inParser);
    this.inParser = new Uint8Array(chunk.buffer, 0, POOL_CHUNK);
  }
}

/**
 * Reads every file of the pass to its end (bounded memory: one read-ahead per file; `-` is
 * standard input), delivering as it goes. A damaged file stops at the damage (its parser's
 * `error` says where); the other goes on. When no listener keeps a packet's bytes
 * (NodePass.bytesReusable), a file is read into recycled buffers (ChunkPool).
 */
export async function runPass(pass: NodePass, signal?: AbortSignal): Promise<void> {
  const readers = new Map<FileFeed, AsyncGenerator<Uint8Array>>();
  const pools = new Map<FileFeed, ChunkPool>();
  const reuse = pass.bytesReusable;
  try {
    for (;;) {
      signal?.throwIfAborted();
      pass.drain(true);
      const f = pass.starving();
      if (!f) break;
      let it = readers.get(f);
      if (!it) {
        const pool = reuse && f.path !== '-' ? new ChunkPool() : undefined;
        if (pool) pools.set(f, pool);
        readers.set(f, (it = pool ? readFileAhead(f.path, pool) : chunksOf(f.path))); // a path, or '-' for standard input
      }
      const r = await it.next();
      if (r.done) pass.end(f.path);
      else {
        // the parser is starving: it has read the chunk before to its end, once it knows the format
        pools.get(f)?.pushed(r.value, f.parser.format !== undefined);
        pass.push(f.path, r.value);
      }
    }
    pass.drain(false);
  } finally {
    await Promise.all([...readers.values()].map((it) => it.return(undefined)));
  }
}
