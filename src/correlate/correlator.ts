/**
 * Matches the inner frames of the underlay's VXLAN packets (eth1) with the frames of a bridge
 * capture (vxlan_bridge): same bytes, nearest in time within a window.
 *
 * Streaming and bounded: the two sides are merged by time (each side must be in time order;
 * they may be fed up to `maxSkewUs` apart), an underlay packet waits for its bridge frame for
 * one window, a bridge frame stays for two (so every underlay packet that may claim it has
 * decided), then both leave the index. Each packet is hashed once; on each side the frames of
 * one hash are grouped in classes of identical frames (byte for byte, checksum apart), and a new
 * class is compared with the few most recent classes of its hash, on its side and on the other:
 * a storm of identical frames is one class per side and each copy costs one comparison.
 *
 * Identical copies pair in order, per VTEP pair: an underlay packet takes the oldest copy in
 * its window that its VTEP pair has not taken yet (a cursor per class and pair, moving only
 * forward), the nearest such copy when several different bridge frames are equal to it (one
 * side's snaplen cut it short). Linear time and memory bounded by the window and by counts,
 * whatever the input.
 *
 * One bridge frame may be claimed by several underlay packets when it went to several VTEPs
 * (head-end replication of broadcast/multicast): a flood. An underlay packet never claims a
 * bridge frame already claimed for the same VTEP pair: that would be a duplicate.
 */
import type { DecodedPacket } from '../decode/types.js';
import { compareFrames, type Comparison } from './bytes.js';
import { isGroupMac, overlayFrame, underlayFrame, type CompareFrom, type OverlayFrame, type UnderlayFrame } from './frame.js';
import { LatencyHistogram } from './latency.js';
import { Fifo } from './queue.js';
import { overlayReason, underlayReason, vxlanDeviceTraffic, type ReasonDetail } from './reasons.js';
import type {
  CorrelateOptions,
  CorrelationReport,
  Match,
  OverlayReasonCode,
  UnderlayReasonCode,
  Unmatched,
  VniRow,
  VtepPairRow,
} from './types.js';

export const DEFAULT_WINDOW_US = 1_000_000;
export const DEFAULT_MAX_LISTED = 10_000;
/** Largest inner frame a 1500-byte underlay carries in VXLAN over IPv4: 1450 + 14. */
export const MAX_INNER_FRAME = 1464;
const MAX_FDB = 100_000;
const MAX_PAIRS = 10_000;
/** How much earlier the bridge sighting must be to count as evidence (timestamps are µs). */
const STRICTLY_EARLIER_US = 0.5;
/** Evidence after which the local VTEP is taken as known and matches are no longer held back. */
const SETTLED_SCORE = 32;
/** Matches held back at most while the local VTEP is unknown (bounded memory). */
const MAX_HELD = 4096;
/** Reasons that only say "not found": what is learnt by the end (VNI never matched, capture ended) says more. */
const SOFT: ReadonlySet<UnderlayReasonCode> = new Set<UnderlayReasonCode>(['no-match', 'left-without-bridge', 'not-delivered']);

interface Claim {
  u: UnderlayFrame;
  cmp: Comparison;
}

interface UnderlayEntry {
  f: UnderlayFrame;
  /** Its class of identical inner frames (none for a frame with no captured bytes: it matches nothing). */
  cls: UnderlayClass | undefined;
}

/**
 * Underlay packets waiting for their window whose inner frames are byte for byte the same (the
 * checksum apart, the same captured length): what they are compared with, they share.
 */
interface UnderlayClass {
  readonly key: number;
  /** The newest member, to compare with. */
  rep: UnderlayFrame;
  /** Members not decided yet: the class dies at 0. */
  pending: number;
  /** Classes of bridge frames equal to these frames, found when either came (at most MAX_CANDIDATE_CLASSES live ones). */
  cands: FrameClass[] | undefined;
  /** A bridge frame of the same key with other bytes (for the reason). */
  differs: OverlayEntry | undefined;
  dead: boolean;
}

interface OverlayEntry {
  f: OverlayFrame;
  /** Its class of identical frames (none for a frame with no captured bytes: it matches nothing). */
  cls: FrameClass | undefined;
  claims: Claim[] | undefined;
}

/**
 * Bridge frames of one key that are byte for byte the same (the TCP/UDP checksum apart, the same
 * captured length), in time order: a storm of identical frames is one class. Members are
 * numbered from 0 as they come (`seq`); `base` is the number of the oldest still in the window.
 */
interface FrameClass {
  readonly key: number;
  readonly members: Fifo<OverlayEntry>;
  base: number;
  /**
   * Per VTEP pair, the number of the first member it may still take: the members before it are
   * taken by that pair or too old for its later packets (the underlay is in time order).
   */
  cursors: Map<string, number> | undefined;
  /** Cursors kept at most before the stale ones (at or before `base`) are dropped. */
  cursorLimit: number;
  dead: boolean;
}

/** The classes of one key, oldest first; dead ones are dropped from the end at once and compacted away. */
interface Bucket<C extends { dead: boolean }> {
  classes: C[];
  dead: number;
}

interface Listed<C> {
  n: number;
  tsUs: number;
  code: C;
  detail: ReasonDetail;
  vni?: number;
}

/** Sizes of the internal state, for tests and for the curious: all bounded by the window. */
export interface CorrelatorSizes {
  queuedUnderlay: number;
  queuedOverlay: number;
  pendingUnderlay: number;
  liveOverlay: number;
  /** Keys (length and hash) with underlay packets waiting for their window. */
  underlayBuckets: number;
  /** Keys (length and hash) with bridge frames in the window. */
  overlayBuckets: number;
  /** Matches held back until the local VTEP is known (at most MAX_HELD). */
  heldMatches: number;
}

/**
 * The work the correlator has done, for tests and for the curious: linear in the number of
 * packets whatever the input, and the frames held stay under the caps.
 */
export interface CorrelatorWork {
  /** Byte-for-byte comparisons of two frames with the same key. */
  comparisons: number;
  /** Other steps over the index: classes looked at, members passed by a cursor or a search, classes moved when compacting. */
  steps: number;
  /** Most underlay packets held at once (queued and waiting for their window): at most MAX_IN_FLIGHT. */
  peakUnderlay: number;
  /** Most bridge frames held at once (queued and in the window): at most 2 × MAX_IN_FLIGHT. */
  peakOverlay: number;
}

function inc<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

/**
 * Underlay packets held at once at most, queued or waiting for their window; bridge frames, which
 * stay two windows, at most twice as many (at most about 220 MB of frames of 1,464 bytes): see trim().
 */
export const MAX_IN_FLIGHT = 50_000;
/**
 * Classes of different frames with the same key compared with each frame at most (the most
 * recent first). Identical frames are one class: a burst of 100,000 identical ARP requests
 * costs one comparison per copy.
 */
export const MAX_SAME_KEY = 16;
/** Classes of bridge frames an underlay packet keeps as candidates at most. */
const MAX_CANDIDATE_CLASSES = 2 * MAX_SAME_KEY;
/** Dead classes in a bucket before it is compacted (and at least as many as live ones). */
const COMPACT_AFTER = 8;
/** Classes, dead ones included, looked at per frame at most. */
const MAX_CLASS_STEPS = 4 * MAX_SAME_KEY;

export class Correlator {
  private readonly windowUs: number;
  private readonly maxSkewUs: number;
  private readonly maxListed: number;
  private readonly offsetUs: number;
  private readonly onMatch: ((m: Match) => void) | undefined;

  // inputs waiting for the other side (merge by time)
  private readonly inU = new Fifo<UnderlayFrame>();
  private readonly inO = new Fifo<OverlayFrame>();
  // matching state
  private now = -Infinity;
  private readonly pendingU = new Fifo<UnderlayEntry>();
  private readonly liveO = new Fifo<OverlayEntry>();
  /** Bridge frames in the window by key, in classes of identical frames; underlay packets waiting, likewise. */
  private readonly index = new Map<number, Bucket<FrameClass>>();
  private readonly uIndex = new Map<number, Bucket<UnderlayClass>>();
  private readonly done: CorrelatorWork = { comparisons: 0, steps: 0, peakUnderlay: 0, peakOverlay: 0 };

  // what we learn along the way
  private readonly fdb = new Map<number, string>();
  /** Evidence for "this VTEP is the bridge node's own": bridge frames strictly earlier than eth1 (see localVtep). */
  private readonly vtepScore = new Map<string, number>();
  private readonly givenLocalVtep: string | undefined;
  /** Matches waiting for the local VTEP to be known (their direction depends on it). */
  private held: Match[] = [];
  private firstOTs: number | undefined;
  private lastOTs = -Infinity;
  private lastUTs = -Infinity;
  private uProcessed = 0;

  // counters
  private underlayPackets = 0;
  private underlayVxlan = 0;
  private overlayPackets = 0;
  private overlayEthernet = 0;
  private matched = 0;
  private underlayOnly = 0;
  private overlayOnly = 0;
  private floodedFrames = 0;
  private encap = 0;
  private decap = 0;
  private snaplenCut = 0;
  private checksumDiffers = 0;
  private readonly latency = new LatencyHistogram();
  private readonly latencyEncap = new LatencyHistogram();
  private readonly latencyDecap = new LatencyHistogram();
  private readonly byVni = new Map<number, VniRow>();
  private readonly byPair = new Map<string, Map<number, VtepPairRow>>();
  private pairRows = 0;
  private readonly uReasons = new Map<number, Map<UnderlayReasonCode, number>>();
  private readonly uTrailing = new Map<string, number>();
  private readonly oReasons = new Map<OverlayReasonCode, number>();
  private readonly oTrailing = new Map<OverlayReasonCode, number>();
  private readonly listedU: Listed<UnderlayReasonCode>[] = [];
  private readonly listedO: Listed<OverlayReasonCode>[] = [];
  private readonly matches: Match[] = [];
  private listsCapped = false;
  private report: CorrelationReport | undefined;

  constructor(opts: CorrelateOptions = {}) {
    this.windowUs = opts.windowUs ?? DEFAULT_WINDOW_US;
    if (!(this.windowUs >= 0) || !Number.isFinite(this.windowUs)) throw new RangeError(`window must be a finite number of µs >= 0, not ${opts.windowUs}`);
    this.maxSkewUs = opts.maxSkewUs ?? this.windowUs;
    this.maxListed = opts.maxListed ?? DEFAULT_MAX_LISTED;
    this.offsetUs = opts.overlayClockOffsetUs ?? 0;
    this.onMatch = opts.onMatch;
    this.givenLocalVtep = opts.localVtep;
    this.compareFrom = opts.compareFrom ?? 'ethernet';
  }

  private readonly compareFrom: CompareFrom;

  /** A packet of the underlay capture (eth1), in time order. Packets that are not VXLAN are counted only. */
  addUnderlay(p: DecodedPacket): void {
    this.checkOpen();
    this.underlayPackets += 1;
    const f = underlayFrame(p, this.compareFrom);
    if (!f) return;
    this.underlayVxlan += 1;
    const row = this.vniRow(f.vni);
    row.packets += 1;
    row.bytes += f.outerLen;
    const pair = this.pairRow(f);
    if (pair) {
      pair.packets += 1;
      pair.bytes += f.outerLen;
    }
    const srcMac = f.srcMac;
    if (Number.isFinite(srcMac) && !isGroupMac(srcMac) && (this.fdb.size < MAX_FDB || this.fdb.has(srcMac))) this.fdb.set(srcMac, f.vtepSrc);
    this.inU.push(f);
    this.pump(false);
    const held = this.inU.size + this.pendingU.size;
    if (held > this.done.peakUnderlay) this.done.peakUnderlay = held;
  }

  /** A frame of the bridge capture (vxlan_bridge), in time order. */
  addOverlay(p: DecodedPacket): void {
    this.checkOpen();
    this.overlayPackets += 1;
    const f = overlayFrame(p, this.offsetUs, this.compareFrom);
    if (!f) {
      this.overlayOnly += 1;
      this.recordO({ n: p.n, tsUs: p.raw.tsSec * 1e6 + p.raw.tsNsec / 1e3 + this.offsetUs, code: 'not-ethernet', detail: { linkType: p.raw.linkType } });
      return;
    }
    this.overlayEthernet += 1;
    this.inO.push(f);
    this.pump(false);
    const held = this.inO.size + this.liveO.size;
    if (held > this.done.peakOverlay) this.done.peakOverlay = held;
  }

  /** Flushes the window and returns the report. Later calls return the same report. */
  finish(): CorrelationReport {
    if (this.report) return this.report;
    this.pump(true);
    this.advance(Infinity);
    this.releaseHeld();
    this.report = this.buildReport();
    return this.report;
  }

  /**
   * The report so far, without closing the window (a live capture keeps adding packets):
   * frames still inside the window are not counted yet, so each figure lags by the window
   * and no frame is counted twice.
   */
  snapshot(): CorrelationReport {
    return this.report ?? this.buildReport();
  }

  /**
   * The inputs have been idle (a live capture with no new packet on either side for a while):
   * what is queued is merged and every frame whose window has passed by the newest time seen
   * is decided, as time going on would decide it. Later packets may still be added; one older
   * than the newest time seen would be judged against an already-closed window, so call this
   * only when no such packet can still come (both files read, nothing appended since).
   */
  flushIdle(): void {
    this.checkOpen();
    this.pump(true);
    if (!Number.isFinite(this.now)) return;
    // decide what is pending as if time had passed, without moving the clock: packets still to
    // come (newer than `now`) keep their whole window
    const t = this.now + 2 * this.windowUs + 1;
    const w = this.windowUs;
    for (let e = this.pendingU.peek(); e && e.f.tsUs + w < t; e = this.pendingU.peek()) this.finalizeU(this.pendingU.shift() as UnderlayEntry);
    for (let o = this.liveO.peek(); o && o.f.tsUs + 2 * w < t; o = this.liveO.peek()) this.finalizeO(this.liveO.shift() as OverlayEntry);
    // matches held for want of the local VTEP are given the direction the evidence so far gives
    this.releaseHeld();
  }

  sizes(): CorrelatorSizes {
    return {
      queuedUnderlay: this.inU.size,
      queuedOverlay: this.inO.size,
      pendingUnderlay: this.pendingU.size,
      liveOverlay: this.liveO.size,
      underlayBuckets: this.uIndex.size,
      overlayBuckets: this.index.size,
      heldMatches: this.held.length,
    };
  }

  /** The work done so far (comparisons, index steps, peak frames held per side). */
  work(): CorrelatorWork {
    return { ...this.done };
  }

  private checkOpen(): void {
    if (this.report) throw new Error('Correlator.finish() was already called: create a new Correlator');
  }

  // ---- merging the two sides by time ----

  private pump(final: boolean): void {
    for (;;) {
      this.trim();
      const u = this.inU.peek();
      const o = this.inO.peek();
      if (u && o) {
        if (u.tsUs <= o.tsUs) this.processU(this.inU.shift() as UnderlayFrame);
        else this.processO(this.inO.shift() as OverlayFrame);
      } else if (u && (final || this.inU.size > MAX_IN_FLIGHT || (this.inU.last() as UnderlayFrame).tsUs - u.tsUs > this.maxSkewUs)) {
        this.processU(this.inU.shift() as UnderlayFrame);
      } else if (o && (final || this.inO.size > 2 * MAX_IN_FLIGHT || (this.inO.last() as OverlayFrame).tsUs - o.tsUs > this.maxSkewUs)) {
        this.processO(this.inO.shift() as OverlayFrame);
      } else return;
    }
  }

  /**
   * A count bound besides the time bound: with a broken clock (every timestamp equal) or a very
   * high rate, nothing would ever leave the window. Past MAX_IN_FLIGHT underlay packets (2 ×
   * MAX_IN_FLIGHT bridge frames) held, queued or in the window, the oldest decides early with
   * what it has seen so far (pump() moves a queue on when the window is empty): memory stays
   * bounded whatever the input.
   */
  private trim(): void {
    if (this.pendingU.size > 0 && this.inU.size + this.pendingU.size > MAX_IN_FLIGHT) {
      // Bridge frames already due (at the same instant: on a tie the underlay goes first) join
      // the window before underlay packets decide early: frames at one instant still pair.
      for (let o = this.inO.peek(); o && o.tsUs <= this.now; o = this.inO.peek()) this.processO(this.inO.shift() as OverlayFrame);
    }
    while (this.pendingU.size > 0 && this.inU.size + this.pendingU.size > MAX_IN_FLIGHT) this.finalizeU(this.pendingU.shift() as UnderlayEntry);
    while (this.liveO.size > 0 && this.inO.size + this.liveO.size > 2 * MAX_IN_FLIGHT) this.finalizeO(this.liveO.shift() as OverlayEntry);
  }

  private processU(f: UnderlayFrame): void {
    this.advance(f.tsUs);
    this.uProcessed += 1;
    this.lastUTs = Math.max(this.lastUTs, f.tsUs);
    this.oTrailing.clear();
    const e: UnderlayEntry = { f, cls: undefined };
    if (f.bytes.length > 0) {
      e.cls = this.underlayClassOf(f);
      if (e.cls) {
        e.cls.rep = f;
        e.cls.pending += 1;
      } else {
        const c: UnderlayClass = { key: f.key, rep: f, pending: 1, cands: undefined, differs: undefined, dead: false };
        this.bucketOf(this.uIndex, f.key).classes.push(c);
        e.cls = c;
        // the classes of bridge frames seen so far that carry the same frame
        for (const o of this.recentClasses(this.index, f.key)) {
          const rep = o.members.last() as OverlayEntry;
          if (this.compare(f, rep.f).equal) this.link(c, o);
          else c.differs ??= rep;
        }
      }
    }
    this.pendingU.push(e);
  }

  private processO(f: OverlayFrame): void {
    this.advance(f.tsUs);
    this.firstOTs ??= f.tsUs;
    this.lastOTs = Math.max(this.lastOTs, f.tsUs);
    this.uTrailing.clear();
    const o: OverlayEntry = { f, cls: undefined, claims: undefined };
    if (f.bytes.length > 0) {
      let c = this.classOf(f);
      if (!c) {
        c = { key: f.key, members: new Fifo(), base: 0, cursors: undefined, cursorLimit: 64, dead: false };
        this.bucketOf(this.index, f.key).classes.push(c);
        // underlay packets that came first and carry the same frame
        for (const u of this.recentClasses(this.uIndex, f.key)) {
          if (this.compare(u.rep, f).equal) this.link(u, c);
          else u.differs ??= o;
        }
      }
      c.members.push(o);
      o.cls = c;
    }
    this.liveO.push(o);
  }

  /** Compares two frames of the same key (either side: an underlay frame is an overlay frame with more fields). */
  private compare(a: OverlayFrame, b: OverlayFrame): Comparison {
    this.done.comparisons += 1;
    return compareFrames(a.bytes, b.bytes, a.checksumAt >= 0 ? a.checksumAt : b.checksumAt);
  }

  /** The live classes of a key, the most recent first: at most MAX_SAME_KEY, after at most MAX_CLASS_STEPS steps. */
  private *recentClasses<C extends { dead: boolean }>(index: Map<number, Bucket<C>>, key: number): Generator<C> {
    const cs = index.get(key)?.classes;
    if (!cs) return;
    for (let i = cs.length - 1, looked = 0; i >= 0 && looked < MAX_SAME_KEY && i >= cs.length - MAX_CLASS_STEPS; i--) {
      const c = cs[i] as C;
      this.done.steps += 1;
      if (c.dead) continue;
      looked += 1;
      yield c;
    }
  }

  /** The class of bridge frames identical to `f` among the most recent of its key, if any. */
  private classOf(f: OverlayFrame): FrameClass | undefined {
    for (const c of this.recentClasses(this.index, f.key)) {
      const rep = (c.members.last() as OverlayEntry).f;
      if (rep.bytes.length === f.bytes.length && this.compare(f, rep).equal) return c;
    }
    return undefined;
  }

  /** The class of waiting underlay packets identical to `f` among the most recent of its key, if any. */
  private underlayClassOf(f: UnderlayFrame): UnderlayClass | undefined {
    for (const c of this.recentClasses(this.uIndex, f.key)) {
      if (c.rep.bytes.length === f.bytes.length && this.compare(f, c.rep).equal) return c;
    }
    return undefined;
  }

  /** Underlay packets of class `u` may take bridge frames of class `o`. */
  private link(u: UnderlayClass, o: FrameClass): void {
    if (u.cands === undefined) u.cands = [o];
    else {
      if (u.cands.length >= MAX_CANDIDATE_CLASSES) {
        this.done.steps += u.cands.length;
        u.cands = u.cands.filter((c) => !c.dead);
      }
      if (u.cands.length < MAX_CANDIDATE_CLASSES) u.cands.push(o);
    }
  }

  private bucketOf<C extends { dead: boolean }>(index: Map<number, Bucket<C>>, key: number): Bucket<C> {
    let bucket = index.get(key);
    if (!bucket) index.set(key, (bucket = { classes: [], dead: 0 }));
    return bucket;
  }

  /** A class lost its last member: it leaves its bucket (at once from the end, else by compaction). */
  private dropClass<C extends { dead: boolean; key: number }>(index: Map<number, Bucket<C>>, c: C): void {
    c.dead = true;
    const bucket = index.get(c.key) as Bucket<C>;
    const cs = bucket.classes;
    bucket.dead += 1;
    while (cs.length > 0 && (cs[cs.length - 1] as C).dead) {
      cs.pop();
      bucket.dead -= 1;
    }
    if (cs.length === 0) index.delete(c.key);
    else if (bucket.dead >= COMPACT_AFTER && bucket.dead * 2 >= cs.length) {
      this.done.steps += cs.length;
      bucket.classes = cs.filter((x) => !x.dead);
      bucket.dead = 0;
    }
  }

  /** Member `seq` of a class (between base and base + size). */
  private static member(c: FrameClass, seq: number): OverlayEntry {
    return c.members.at(seq - c.base) as OverlayEntry;
  }

  /** The first member numbered `from` or later seen at `tsMin` or later (members are in time order). */
  private seek(c: FrameClass, from: number, tsMin: number): number {
    const end = c.base + c.members.size;
    let lo = from;
    // in a stream the next candidate is at the cursor or close to it: a few steps, then halving
    for (let k = 0; k < 4; k++, lo++) {
      if (lo >= end) return end;
      this.done.steps += 1;
      if (Correlator.member(c, lo).f.tsUs >= tsMin) return lo;
    }
    let hi = end;
    while (lo < hi) {
      this.done.steps += 1;
      const mid = Math.floor((lo + hi) / 2);
      if (Correlator.member(c, mid).f.tsUs < tsMin) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private setCursor(c: FrameClass, pair: string, seq: number): void {
    let cursors = c.cursors;
    if (cursors === undefined) c.cursors = cursors = new Map();
    if (!cursors.has(pair) && cursors.size >= c.cursorLimit) {
      // drop the cursors at or before the window's oldest member: they say nothing any more
      this.done.steps += cursors.size;
      for (const [p, at] of cursors) if (at <= c.base) cursors.delete(p);
      c.cursorLimit = Math.max(64, 2 * cursors.size);
    }
    cursors.set(pair, seq);
  }

  /** Time moved to `now`: underlay packets older than a window decide, bridge frames older than two leave. */
  private advance(now: number): void {
    if (now > this.now) this.now = now;
    const w = this.windowUs;
    for (let e = this.pendingU.peek(); e && e.f.tsUs + w < this.now; e = this.pendingU.peek()) this.finalizeU(this.pendingU.shift() as UnderlayEntry);
    for (let o = this.liveO.peek(); o && o.f.tsUs + 2 * w < this.now; o = this.liveO.peek()) this.finalizeO(this.liveO.shift() as OverlayEntry);
  }

  /**
   * An underlay packet decides: in each class of bridge frames equal to its inner frame, the
   * first copy its VTEP pair has not taken and that is not too old; the nearest of those in the
   * window is its match. Otherwise the nearest copy says why not (taken: duplicate; too far).
   */
  private finalizeU(e: UnderlayEntry): void {
    const f = e.f;
    const w = this.windowUs;
    const uc = e.cls;
    if (uc) {
      uc.pending -= 1;
      if (uc.pending === 0) this.dropClass(this.uIndex, uc);
    }
    let best: { c: FrameClass; seq: number; o: OverlayEntry; apartUs: number } | undefined;
    let taken: OverlayEntry | undefined;
    let outside: { o: OverlayEntry; apartUs: number } | undefined;
    const differs = uc?.differs;
    const far = (o: OverlayEntry): void => {
      const apartUs = Math.abs(o.f.tsUs - f.tsUs);
      if (apartUs > w && (!outside || apartUs < outside.apartUs)) outside = { o, apartUs };
    };
    if (uc?.cands) {
      for (const c of uc.cands) {
        this.done.steps += 1;
        if (c.dead) continue;
        const cursor = Math.max(c.cursors?.get(f.pair) ?? c.base, c.base);
        const seq = this.seek(c, cursor, f.tsUs - w);
        if (seq > cursor) this.setCursor(c, f.pair, seq); // too old for this pair's later packets too
        if (seq < c.base + c.members.size) {
          const o = Correlator.member(c, seq);
          const apartUs = Math.abs(o.f.tsUs - f.tsUs);
          if (o.f.tsUs <= f.tsUs + w) {
            if (!best || apartUs < best.apartUs || (apartUs === best.apartUs && (o.f.tsUs < best.o.f.tsUs || (o.f.tsUs === best.o.f.tsUs && o.f.n < best.o.f.n)))) best = { c, seq, o, apartUs };
          } else far(o);
        }
        if (seq > c.base) {
          // the newest member before: taken by this pair (in the window), or too old
          const o = Correlator.member(c, seq - 1);
          if (Math.abs(o.f.tsUs - f.tsUs) > w) far(o);
          else if (!taken && o.claims?.some((cl) => cl.u.pair === f.pair)) taken = o;
        }
      }
    }
    if (best) {
      const { c, seq, o } = best;
      this.setCursor(c, f.pair, seq + 1);
      const claim: Claim = { u: f, cmp: this.compare(f, o.f) };
      if (o.claims === undefined) o.claims = [claim];
      else o.claims.push(claim);
      // A bridge sighting strictly earlier than eth1 only happens for a frame leaving the node:
      // an arriving frame is on eth1 first (or at the same instant: the same skb timestamp).
      if (o.f.tsUs < f.tsUs - STRICTLY_EARLIER_US) {
        inc(this.vtepScore, f.vtepSrc);
        inc(this.vtepScore, f.vtepDst, -1);
      }
      return;
    }
    let code: UnderlayReasonCode;
    const detail: ReasonDetail = { vni: f.vni, windowUs: this.windowUs };
    if (taken) {
      code = 'duplicate';
      detail.other = taken.f.n;
      detail.by = taken.claims?.find((cl) => cl.u.pair === f.pair)?.u.n;
    } else if (outside) {
      code = 'outside-window';
      detail.other = outside.o.f.n;
      detail.apartUs = outside.apartUs;
    } else if (f.bytes.length === 0) code = 'not-captured';
    else if (f.outerFragment) {
      code = 'fragment';
      detail.len = f.outerLen;
    } else if (differs) {
      code = 'differs';
      detail.other = differs.f.n;
    } else if (this.firstOTs === undefined) code = 'before-overlay';
    else {
      const local = this.localVtep();
      if (local !== undefined && local === f.vtepSrc) {
        detail.own = vxlanDeviceTraffic(f.frame);
        code = detail.own ? 'from-vxlan-device' : 'left-without-bridge';
        detail.vtep = f.vtepSrc;
      } else if (local !== undefined && local === f.vtepDst) {
        code = 'not-delivered';
        detail.vtep = f.vtepSrc;
      } else code = 'no-match';
      if (code !== 'from-vxlan-device' && f.tsUs > this.lastOTs + this.windowUs) inc(this.uTrailing, `${f.vni}|${code}`);
    }
    this.underlayOnly += 1;
    this.vniRow(f.vni).underlayOnly += 1;
    let m = this.uReasons.get(f.vni);
    if (!m) this.uReasons.set(f.vni, (m = new Map()));
    inc(m, code);
    if (this.listedU.length < this.maxListed) this.listedU.push({ n: f.n, tsUs: f.tsUs, code, detail, vni: f.vni });
    else this.listsCapped = true;
  }

  private finalizeO(o: OverlayEntry): void {
    const c = o.cls;
    if (c) {
      c.members.shift(); // o is its oldest member: classes fill and drain in the window's order
      c.base += 1;
      if (c.members.size === 0) {
        c.cursors = undefined;
        this.dropClass(this.index, c);
      }
    }
    if (o.claims !== undefined && o.claims.length > 0) {
      const flood = o.claims.length > 1;
      if (flood) this.floodedFrames += 1;
      for (const cl of o.claims) this.emit(cl.u, o, cl.cmp, flood);
      return;
    }
    const f = o.f;
    let code: OverlayReasonCode;
    const detail: ReasonDetail = {};
    const dstMac = f.dstMac;
    const srcMac = f.srcMac;
    if (this.uProcessed === 0) code = 'before-underlay';
    else if (f.groupDst) {
      code = 'bum-not-flooded';
      detail.mac = srcMac;
    } else if (f.frameLen > MAX_INNER_FRAME + 4) {
      code = 'too-big';
      detail.len = f.frameLen;
    } else {
      const dstVtep = this.remoteVtepOf(dstMac);
      const srcVtep = this.remoteVtepOf(srcMac);
      if (dstVtep !== undefined) {
        code = 'remote-dst';
        detail.mac = dstMac;
        detail.vtep = dstVtep;
      } else if (srcVtep !== undefined) {
        code = 'remote-src';
        detail.mac = srcMac;
        detail.vtep = srcVtep;
      } else {
        code = 'local';
        detail.mac = dstMac;
        detail.vtep = this.fdb.get(dstMac); // this node's own VTEP, or undefined: never seen on the underlay
      }
    }
    if (code !== 'before-underlay' && f.tsUs > this.lastUTs + this.windowUs) inc(this.oTrailing, code);
    this.overlayOnly += 1;
    this.recordO({ n: f.n, tsUs: f.tsUs, code, detail });
  }

  private recordO(l: Listed<OverlayReasonCode>): void {
    inc(this.oReasons, l.code);
    if (this.listedO.length < this.maxListed) this.listedO.push(l);
    else this.listsCapped = true;
  }

  /** The VTEP a MAC was seen behind, unless that VTEP is this node's own. */
  private remoteVtepOf(mac: number): string | undefined {
    const v = this.fdb.get(mac);
    return v !== undefined && v !== this.localVtep() ? v : undefined;
  }

  /**
   * The bridge node's own VTEP: given, or inferred from timing. Time order alone cannot give
   * the direction: a frame a guest sends is forwarded by the bridge to the VXLAN port (and on
   * to eth1) before a promiscuous bridge passes its copy up to tcpdump, so eth1 sees it first;
   * and a decapsulated frame keeps eth1's timestamp. But a bridge sighting strictly earlier
   * than the eth1 one only happens for frames that leave: their outer source is the node's VTEP.
   */
  localVtep(): string | undefined {
    if (this.givenLocalVtep !== undefined) return this.givenLocalVtep;
    let best: string | undefined;
    let bestScore = 0;
    for (const [v, n] of this.vtepScore) if (n > bestScore) [best, bestScore] = [v, n];
    return best;
  }

  private settled(): boolean {
    if (this.givenLocalVtep !== undefined) return true;
    const v = this.localVtep();
    return v !== undefined && (this.vtepScore.get(v) ?? 0) >= SETTLED_SCORE;
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const m of held) this.record(m);
  }

  private emit(f: UnderlayFrame, o: OverlayEntry, cmp: Comparison, flood: boolean): void {
    const m: Match = {
      underlay: { n: f.n, tsUs: f.tsUs },
      overlay: { n: o.f.n, tsUs: o.f.tsUs },
      direction: 'encap',
      deltaUs: Math.round(Math.abs(f.tsUs - o.f.tsUs) * 1000) / 1000,
      vni: f.vni,
      vtepSrc: f.vtepSrc,
      vtepDst: f.vtepDst,
      flood,
      frameLen: f.frameLen,
      comparedBytes: cmp.compared,
      snaplenCut: f.bytes.length !== o.f.bytes.length,
      checksumDiffers: cmp.checksumDiffers,
    };
    if (this.settled()) {
      if (this.held.length) this.releaseHeld();
      this.record(m);
    } else {
      this.held.push(m);
      if (this.held.length >= MAX_HELD) this.releaseHeld();
    }
  }

  /** Encapsulated if it left the bridge node's VTEP, decapsulated if it arrived there; by time order when unknown. */
  private directionOf(m: Match): 'encap' | 'decap' {
    const local = this.localVtep();
    if (local !== undefined) {
      if (m.vtepSrc === local) return 'encap';
      if (m.vtepDst === local) return 'decap';
    }
    return m.overlay.tsUs < m.underlay.tsUs ? 'encap' : 'decap';
  }

  private record(m: Match): void {
    m.direction = this.directionOf(m);
    this.matched += 1;
    if (m.direction === 'encap') {
      this.encap += 1;
      this.latencyEncap.add(m.deltaUs);
    } else {
      this.decap += 1;
      this.latencyDecap.add(m.deltaUs);
    }
    this.latency.add(m.deltaUs);
    if (m.snaplenCut) this.snaplenCut += 1;
    if (m.checksumDiffers) this.checksumDiffers += 1;
    this.vniRow(m.vni).matched += 1;
    const pair = this.byPair.get(`${m.vtepSrc}>${m.vtepDst}`)?.get(m.vni);
    if (pair) pair.matched += 1;
    if (this.matches.length < this.maxListed) this.matches.push(m);
    else this.listsCapped = true;
    this.onMatch?.(m);
  }

  private vniRow(vni: number): VniRow {
    let row = this.byVni.get(vni);
    if (!row) this.byVni.set(vni, (row = { matched: 0, underlayOnly: 0, packets: 0, bytes: 0 }));
    return row;
  }

  private pairRow(f: UnderlayFrame): VtepPairRow | undefined {
    let byVni = this.byPair.get(f.pair);
    if (!byVni) {
      if (this.pairRows >= MAX_PAIRS) return undefined;
      this.byPair.set(f.pair, (byVni = new Map()));
    }
    let row = byVni.get(f.vni);
    if (!row && this.pairRows < MAX_PAIRS) {
      byVni.set(f.vni, (row = { src: f.vtepSrc, dst: f.vtepDst, vni: f.vni, packets: 0, bytes: 0, matched: 0 }));
      this.pairRows += 1;
    }
    return row;
  }


  // ---- the report ----

  /** The final reason of an underlay packet, with what is known only at the end. */
  private finalUnderlayCode(code: UnderlayReasonCode, vni: number, tsUs: number): UnderlayReasonCode {
    if (this.overlayEthernet === 0) return 'no-overlay';
    if ((SOFT.has(code) || code === 'before-overlay') && (this.byVni.get(vni)?.matched ?? 0) === 0) return 'vni-not-on-bridge';
    if (SOFT.has(code) && tsUs > this.lastOTs + this.windowUs) return 'after-overlay';
    return code;
  }

  private finalOverlayCode(code: OverlayReasonCode, tsUs: number): OverlayReasonCode {
    if (code === 'not-ethernet') return code;
    if (this.underlayVxlan === 0) return 'no-underlay';
    if (code !== 'before-underlay' && tsUs > this.lastUTs + this.windowUs) return 'after-underlay';
    return code;
  }

  private buildReport(): CorrelationReport {
    const uCounts = new Map<string, number>();
    for (const [vni, codes] of this.uReasons) {
      for (const [code, n] of codes) {
        const trailing = this.uTrailing.get(`${vni}|${code}`) ?? 0;
        const finalCode = this.finalUnderlayCode(code, vni, -Infinity);
        if (finalCode === code && trailing > 0) {
          inc(uCounts, 'after-overlay', trailing);
          if (n > trailing) inc(uCounts, code, n - trailing);
        } else inc(uCounts, finalCode, n);
      }
    }
    const oCounts = new Map<string, number>();
    for (const [code, n] of this.oReasons) {
      const trailing = this.oTrailing.get(code) ?? 0;
      const finalCode = this.finalOverlayCode(code, -Infinity);
      if (finalCode === code && trailing > 0) {
        inc(oCounts, 'after-underlay', trailing);
        if (n > trailing) inc(oCounts, code, n - trailing);
      } else inc(oCounts, finalCode, n);
    }
    const unmatchedUnderlay: Unmatched[] = this.listedU.map((l) => {
      const vni = l.vni ?? 0;
      const code = this.finalUnderlayCode(l.code, vni, l.tsUs);
      return { n: l.n, tsUs: l.tsUs, code, reason: underlayReason(code, l.detail), vni };
    });
    const unmatchedOverlay: Unmatched[] = this.listedO.map((l) => {
      const code = this.finalOverlayCode(l.code, l.tsUs);
      return { n: l.n, tsUs: l.tsUs, code, reason: overlayReason(code, l.detail) };
    });
    const byVni: Record<string, VniRow> = {};
    for (const vni of [...this.byVni.keys()].sort((a, b) => a - b)) byVni[String(vni)] = { ...(this.byVni.get(vni) as VniRow) };
    const byVtepPair = [...this.byPair.values()].flatMap((m) => [...m.values()]).map((r) => ({ ...r })).sort((a, b) => b.packets - a.packets || a.vni - b.vni);
    return {
      windowUs: this.windowUs,
      overlayClockOffsetUs: this.offsetUs,
      underlayPackets: this.underlayPackets,
      underlayVxlan: this.underlayVxlan,
      overlayPackets: this.overlayPackets,
      matched: this.matched,
      underlayOnly: this.underlayOnly,
      overlayOnly: this.overlayOnly,
      floodedFrames: this.floodedFrames,
      encap: this.encap,
      decap: this.decap,
      ...(this.localVtep() !== undefined ? { localVtep: this.localVtep() } : {}),
      latencyUs: this.latency.summary(),
      latencyByDirection: { encap: this.latencyEncap.summary(), decap: this.latencyDecap.summary() },
      snaplenCut: this.snaplenCut,
      checksumDiffers: this.checksumDiffers,
      byVni,
      byVtepPair,
      reasons: { underlay: Object.fromEntries(uCounts), overlay: Object.fromEntries(oCounts) },
      unmatchedUnderlay,
      unmatchedOverlay,
      matches: this.matches,
      listsCapped: this.listsCapped,
    };
  }
}
