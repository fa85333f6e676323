/**
 * Matches the inner frames of the underlay's VXLAN packets (eth1) with the frames of a bridge
 * capture (vxlan_bridge): same bytes, nearest in time within a window.
 *
 * Frames are slots of a ring per side (frame-ring.ts: numbers in typed arrays, no object per
 * frame), claims slots of a pool (claims.ts); classes and buckets are objects, one per distinct
 * frame at most.
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
 * side's snaplen cut it short). Once the local VTEP is known, a copy must also be on the
 * packet's side in time (at or after a decapsulation, at or before an encapsulation, give or
 * take SAME_CLOCK_SLACK_US): see finalizeU. Linear time and memory bounded by the window and by
 * counts, whatever the input.
 *
 * One bridge frame may be claimed by several underlay packets when it went to several VTEPs
 * (head-end replication of broadcast/multicast): a flood. An underlay packet never claims a
 * bridge frame already claimed for the same VTEP pair: that would be a duplicate.
 */
import type { DecodedPacket } from '../decode/types.js';
import { CHECKSUM_DIFFERS, EQUAL, compareAt } from './bytes.js';
import { ClaimPool } from './claims.js';
import { isGroupMac, pairOf, type CompareFrom } from './frame.js';
import { FrameRing, FrameWriter, type CapturedPacket } from './frame-ring.js';
import { KeyIndex } from './key-index.js';
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
/**
 * How far a bridge copy may be on the wrong side of its underlay packet, on one clock: a
 * decapsulated frame is on the bridge at or after eth1 (the same skb timestamp, or later), an
 * encapsulated one at or before, but for a promiscuous bridge's copy of a forwarded frame, which
 * may be timestamped after eth1's (bundled recording: up to 5 µs after; decapsulations never
 * before). 200 µs is 40 times that, and shorter than the gap between identical frames that are
 * not a storm (retries, pings: milliseconds to seconds), which are what it keeps apart.
 */
export const SAME_CLOCK_SLACK_US = 200;
/** Evidence after which the local VTEP is taken as known and matches are no longer held back. */
const SETTLED_SCORE = 32;
/** Matches held back at most while the local VTEP is unknown (bounded memory). */
const MAX_HELD = 4096;
/** Reasons that only say "not found": what is learnt by the end (VNI never matched, capture ended) says more. */
const SOFT: ReadonlySet<UnderlayReasonCode> = new Set<UnderlayReasonCode>(['no-match', 'left-without-bridge', 'not-delivered']);

/**
 * Underlay packets waiting for their window whose inner frames are byte for byte the same (the
 * checksum apart, the same captured length): what they are compared with, they share.
 */
interface UnderlayClass {
  /** Set again when the object is reused for another class (see Correlator.uFree). */
  key: number;
  /** The newest member (an underlay ring id), to compare with. */
  rep: number;
  /** Members not decided yet: the class dies at 0. */
  pending: number;
  /**
   * Classes of bridge frames equal to these frames, found when either came (at most
   * MAX_CANDIDATE_CLASSES live ones): `cand` while there is one, then `cands`. Each with the
   * class's generation when it was linked (`candGen`, `candGens`): a class object is reused once
   * its frames have left (Correlator.oFree), and a link to its earlier life must not hold.
   */
  cand: FrameClass | undefined;
  candGen: number;
  cands: FrameClass[] | undefined;
  candGens: number[] | undefined;
  /** The number of a bridge frame of the same key with other bytes (for the reason), -1 when none. */
  differs: number;
  /**
   * The last equal comparison that linked a bridge class: underlay and bridge ring ids and
   * compareAt's result. The claim of that very pair (distinct frames: nearly every match) reuses
   * it rather than comparing the same bytes again.
   */
  linkU: number;
  linkO: number;
  linkCmp: number;
  dead: boolean;
}

/**
 * Bridge frames of one key that are byte for byte the same (the TCP/UDP checksum apart, the same
 * captured length), in time order: a storm of identical frames is one class. Members are
 * numbered from 0 as they come (`seq`); `base` is the number of the oldest still in the window.
 * Members are overlay ring ids: `first` while the class has at most one, then `more` (most
 * classes, distinct frames, never have a second).
 */
interface FrameClass {
  /** Set again when the object is reused for another class (see Correlator.oFree). */
  key: number;
  /** Counts the object's lives: a link made in an earlier one (UnderlayClass.candGen) no longer holds. */
  gen: number;
  count: number;
  first: number;
  more: Fifo<number> | undefined;
  base: number;
  /**
   * Per VTEP pair, the number of the first member it may still take: the members before it are
   * taken by that pair or too old for its later packets (the underlay is in time order). The
   * first pair's cursor is kept inline (`pair`, `cursor`); a second pair moves both to `cursors`.
   */
  pair: string | undefined;
  cursor: number;
  cursors: Map<string, number> | undefined;
  /** Cursors kept at most before the stale ones (at or before `base`) are dropped. */
  cursorLimit: number;
  dead: boolean;
}

function memberPush(c: FrameClass, id: number): void {
  if (c.more !== undefined) c.more.push(id);
  else if (c.count === 0) c.first = id;
  else {
    c.more = new Fifo<number>();
    c.more.push(c.first);
    c.more.push(id);
  }
  c.count += 1;
}

function memberShift(c: FrameClass): void {
  if (c.more !== undefined) c.more.shift();
  c.count -= 1;
}

function memberAt(c: FrameClass, i: number): number {
  return c.more !== undefined ? (c.more.at(i) as number) : c.first;
}

function memberLast(c: FrameClass): number {
  return c.more !== undefined ? (c.more.last() as number) : c.first;
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
/**
 * Free class objects kept for reuse at most, per side. A free list never holds more classes than
 * were alive at once (each of them was), which the count caps bound already; at 4,096 it dropped
 * classes when the rate fell and made new ones when it rose again, each promoted to the old
 * generation to die there (140,000 new bridge classes for 1M frames of the realistic pair).
 */
const MAX_FREE_CLASSES = 2 * MAX_IN_FLIGHT;
/** Classes, dead ones included, looked at per frame at most. */
const MAX_CLASS_STEPS = 4 * MAX_SAME_KEY;

export class Correlator {
  private readonly windowUs: number;
  private readonly maxSkewUs: number;
  private readonly maxListed: number;
  private readonly offsetUs: number;
  /** How far a copy may be on the wrong side of its packet in time (see SAME_CLOCK_SLACK_US); the window when the sides are on two clocks. */
  private readonly slackUs: number;
  private readonly onMatch: ((m: Match) => void) | undefined;

  // the frames of each side: queued for the merge by time, then in the window (see FrameRing)
  private readonly rU = new FrameRing();
  private readonly rO = new FrameRing();
  private readonly claims = new ClaimPool();
  private readonly writer: FrameWriter;
  // matching state
  private now = -Infinity;
  /** Bridge frames in the window by key, in classes of identical frames; underlay packets waiting, likewise. */
  private readonly index = new KeyIndex<FrameClass>();
  private readonly uIndex = new KeyIndex<UnderlayClass>();
  /**
   * Underlay classes nothing refers to any more, reused for new ones (at most MAX_FREE_CLASSES):
   * a class object per distinct frame, each living about a window, was most of what the old
   * generation collected. `uLeaving`: those the index let go of during the current finalizeU,
   * free once its packet has left the ring (which still refers to its class until then).
   */
  private readonly uFree: UnderlayClass[] = [];
  private readonly uLeaving: UnderlayClass[] = [];
  /**
   * Bridge classes the index let go of (their last frame left the window), reused for new ones
   * (at most MAX_FREE_CLASSES): one per distinct bridge frame, living two windows, they were most
   * of what reached the old generation (about 100 MB per million frames). Underlay classes may
   * still refer to one: a reused class has a new generation (FrameClass.gen), which such a link
   * does not have.
   */
  private readonly oFree: FrameClass[] = [];
  private readonly done: CorrelatorWork = { comparisons: 0, steps: 0, peakUnderlay: 0, peakOverlay: 0 };

  // what we learn along the way
  private readonly fdb = new Map<number, string>();
  /** Evidence for "this VTEP is the bridge node's own": bridge frames strictly earlier than eth1 (see localVtep). */
  private readonly vtepScore = new Map<string, number>();
  /** localVtep(), valid until vtepScore changes. */
  private localCached = false;
  private localValue: string | undefined;
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
    if (!(this.windowUs >= 0) || !Number.isFinite(this.windowUs))
      throw new RangeError(`window must be a finite number of µs >= 0, not ${opts.windowUs}`);
    this.maxSkewUs = opts.maxSkewUs ?? this.windowUs;
    this.maxListed = opts.maxListed ?? DEFAULT_MAX_LISTED;
    this.offsetUs = opts.overlayClockOffsetUs ?? 0;
    // An overlay clock offset means the bridge was captured on another clock: its error (half a
    // round trip over SSH, see src/capture/clock.ts) is unknown here, so time order says nothing.
    this.slackUs = this.offsetUs === 0 ? Math.min(SAME_CLOCK_SLACK_US, this.windowUs) : this.windowUs;
    this.onMatch = opts.onMatch;
    this.givenLocalVtep = opts.localVtep;
    this.compareFrom = opts.compareFrom ?? 'ethernet';
    this.writer = new FrameWriter(this.compareFrom);
    this.uIndex.onFree = (c) => this.uLeaving.push(c);
    // no frame of the ring refers to it any more: it left with its last member (finalizeO)
    this.index.onFree = (c) => {
      if (this.oFree.length < MAX_FREE_CLASSES) this.oFree.push(c);
    };
  }

  private readonly compareFrom: CompareFrom;

  /** A packet of the underlay capture (eth1), in time order. Packets that are not VXLAN are counted only. */
  addUnderlay(p: DecodedPacket): void {
    this.checkOpen();
    this.underlayPackets += 1;
    if (this.writer.underlayFromDecode(this.rU, p)) this.underlayAdded();
  }

  /**
   * addUnderlay for a packet of the one pass: its frame is read from the record's bytes when the
   * fast decoder knows its shape, from its full decode (made then) otherwise.
   */
  addUnderlayPacket(x: CapturedPacket): void {
    this.checkOpen();
    this.underlayPackets += 1;
    if (this.writer.underlay(this.rU, x)) this.underlayAdded();
  }

  /** The underlay frame just written at the ring's tail. */
  private underlayAdded(): void {
    const r = this.rU;
    const i = (r.tail - 1) & r.mask;
    this.underlayVxlan += 1;
    const vni = r.vni[i] as number;
    const outerLen = r.outerLen[i] as number;
    const row = this.vniRow(vni);
    row.packets += 1;
    row.bytes += outerLen;
    const vtepSrc = r.vtepSrc[i] as string;
    const pair = this.pairRow(r.pair[i] as string, vni, vtepSrc, r.vtepDst[i] as string);
    if (pair) {
      pair.packets += 1;
      pair.bytes += outerLen;
    }
    const srcMac = r.srcMac[i] as number;
    if (Number.isFinite(srcMac) && !isGroupMac(srcMac) && (this.fdb.size < MAX_FDB || this.fdb.has(srcMac))) this.fdb.set(srcMac, vtepSrc);
    this.pump(false);
    const held = r.tail - r.head;
    if (held > this.done.peakUnderlay) this.done.peakUnderlay = held;
  }

  /** A frame of the bridge capture (vxlan_bridge), in time order. */
  addOverlay(p: DecodedPacket): void {
    this.checkOpen();
    this.overlayPackets += 1;
    if (this.writer.overlayFromDecode(this.rO, p, this.offsetUs)) this.overlayAdded();
    else this.notEthernet(p);
  }

  /** addOverlay for a packet of the one pass (see addUnderlayPacket). */
  addOverlayPacket(x: CapturedPacket): void {
    this.checkOpen();
    this.overlayPackets += 1;
    if (this.writer.overlay(this.rO, x, this.offsetUs)) this.overlayAdded();
    else this.notEthernet(x.p);
  }

  private notEthernet(p: DecodedPacket): void {
    this.overlayOnly += 1;
    this.recordO({
      n: p.n,
      tsUs: p.raw.tsSec * 1e6 + p.raw.tsNsec / 1e3 + this.offsetUs,
      code: 'not-ethernet',
      detail: { linkType: p.raw.linkType },
    });
  }

  private overlayAdded(): void {
    this.overlayEthernet += 1;
    this.pump(false);
    const held = this.rO.tail - this.rO.head;
    if (held > this.done.peakOverlay) this.done.peakOverlay = held;
  }

  /** Frames read from the record's bytes and from the full decode (see FrameWriter). */
  framesRead(): { fast: number; full: number } {
    return { fast: this.writer.fast, full: this.writer.full };
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
    this.decideBefore(this.now + 2 * this.windowUs + 1);
    // matches held for want of the local VTEP are given the direction the evidence so far gives
    this.releaseHeld();
  }

  /**
   * How far the merge of the two sides has got (µs, underlay clock; -Infinity before the first
   * packet). Time moves only as packets are merged, not as they are added: a side that jumps
   * ahead waits up to maxSkewUs, and with the other side ended it waits until finish(). An
   * underlay packet is decided a window after its time and its match reported when its bridge
   * frame leaves, two windows after that frame: nothing older than this minus three windows can
   * still be matched.
   */
  mergedUpTo(): number {
    return this.now;
  }

  sizes(): CorrelatorSizes {
    return {
      queuedUnderlay: this.rU.queued,
      queuedOverlay: this.rO.queued,
      pendingUnderlay: this.rU.held,
      liveOverlay: this.rO.held,
      underlayBuckets: this.uIndex.size,
      overlayBuckets: this.index.size,
      heldMatches: this.held.length,
    };
  }

  /** The work done so far (comparisons, index steps, peak frames held per side). */
  work(): CorrelatorWork {
    return { ...this.done, steps: this.done.steps + this.index.compactSteps + this.uIndex.compactSteps };
  }

  private checkOpen(): void {
    if (this.report) throw new Error('Correlator.finish() was already called: create a new Correlator');
  }

  // ---- merging the two sides by time ----

  private pump(final: boolean): void {
    const rU = this.rU;
    const rO = this.rO;
    for (;;) {
      this.trim();
      const hasU = rU.mid < rU.tail;
      const hasO = rO.mid < rO.tail;
      if (hasU && hasO) {
        if ((rU.ts[rU.mid & rU.mask] as number) <= (rO.ts[rO.mid & rO.mask] as number)) this.processU();
        else this.processO();
      } else if (
        hasU &&
        (final ||
          rU.queued > MAX_IN_FLIGHT ||
          (rU.ts[(rU.tail - 1) & rU.mask] as number) - (rU.ts[rU.mid & rU.mask] as number) > this.maxSkewUs)
      ) {
        this.processU();
      } else if (
        hasO &&
        (final ||
          rO.queued > 2 * MAX_IN_FLIGHT ||
          (rO.ts[(rO.tail - 1) & rO.mask] as number) - (rO.ts[rO.mid & rO.mask] as number) > this.maxSkewUs)
      ) {
        this.processO();
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
    const rU = this.rU;
    const rO = this.rO;
    if (rU.held > 0 && rU.tail - rU.head > MAX_IN_FLIGHT) {
      // Bridge frames already due (at the same instant: on a tie the underlay goes first) join
      // the window before underlay packets decide early: frames at one instant still pair.
      while (rO.mid < rO.tail && (rO.ts[rO.mid & rO.mask] as number) <= this.now) this.processO();
    }
    while (rU.held > 0 && rU.tail - rU.head > MAX_IN_FLIGHT) this.finalizeU();
    while (rO.held > 0 && rO.tail - rO.head > 2 * MAX_IN_FLIGHT) this.finalizeO();
  }

  /** The next queued underlay packet joins the window. */
  private processU(): void {
    const r = this.rU;
    const id = r.mid++;
    const i = id & r.mask;
    const ts = r.ts[i] as number;
    this.advance(ts);
    this.uProcessed += 1;
    if (ts > this.lastUTs) this.lastUTs = ts;
    if (this.oTrailing.size > 0) this.oTrailing.clear();
    if ((r.len[i] as number) === 0) return;
    const key = r.key[i] as number;
    let cls = this.underlayClassOf(id, key);
    if (cls) {
      cls.rep = id;
      cls.pending += 1;
    } else {
      cls = this.uFree.pop();
      if (cls === undefined)
        cls = {
          key,
          rep: id,
          pending: 1,
          cand: undefined,
          candGen: 0,
          cands: undefined,
          candGens: undefined,
          differs: -1,
          linkU: -1,
          linkO: -1,
          linkCmp: 0,
          dead: false,
        };
      else {
        cls.key = key;
        cls.rep = id;
        cls.pending = 1;
        cls.cand = undefined;
        cls.cands = undefined;
        cls.candGens = undefined;
        cls.differs = -1;
        cls.linkU = -1;
        cls.linkO = -1;
        cls.linkCmp = 0;
        cls.dead = false;
      }
      this.uIndex.add(cls);
      // the classes of bridge frames seen so far that carry the same frame
      const s = this.index.find(key);
      if (s >= 0) {
        const one = this.index.single(s);
        const b = one === undefined ? this.index.bucket(s) : undefined;
        const cs = b?.classes;
        const count = b === undefined ? 1 : b.count;
        for (let k = count - 1, looked = 0; k >= 0 && looked < MAX_SAME_KEY && k >= count - MAX_CLASS_STEPS; k--) {
          const o = (cs === undefined ? one : cs[k]) as FrameClass;
          this.done.steps += 1;
          if (o.dead) continue;
          looked += 1;
          const rep = memberLast(o);
          const cmp = this.compare(this.rU, id, this.rO, rep);
          if ((cmp & EQUAL) !== 0) this.link(cls, o, id, rep, cmp);
          else if (cls.differs < 0) cls.differs = this.rO.n[rep & this.rO.mask] as number;
        }
      }
    }
    r.cls[i] = cls;
  }

  /** The next queued bridge frame joins the window. */
  private processO(): void {
    const r = this.rO;
    const id = r.mid++;
    const i = id & r.mask;
    const ts = r.ts[i] as number;
    this.advance(ts);
    this.firstOTs ??= ts;
    if (ts > this.lastOTs) this.lastOTs = ts;
    if (this.uTrailing.size > 0) this.uTrailing.clear();
    r.claimCount[i] = 0;
    if ((r.len[i] as number) === 0) return;
    const key = r.key[i] as number;
    let c = this.classOf(id, key);
    if (!c) {
      c = this.oFree.pop();
      if (c === undefined)
        c = {
          key,
          gen: 0,
          count: 0,
          first: -1,
          more: undefined,
          base: 0,
          pair: undefined,
          cursor: 0,
          cursors: undefined,
          cursorLimit: 64,
          dead: false,
        };
      else {
        // a new life: links made to the old one no longer hold (UnderlayClass.candGen)
        c.key = key;
        c.gen += 1;
        c.count = 0;
        c.first = -1;
        c.more = undefined;
        c.base = 0;
        c.pair = undefined;
        c.cursor = 0;
        c.cursors = undefined;
        c.cursorLimit = 64;
        c.dead = false;
      }
      this.index.add(c);
      // underlay packets that came first and carry the same frame
      const s = this.uIndex.find(key);
      if (s >= 0) {
        const one = this.uIndex.single(s);
        const b = one === undefined ? this.uIndex.bucket(s) : undefined;
        const cs = b?.classes;
        const count = b === undefined ? 1 : b.count;
        for (let k = count - 1, looked = 0; k >= 0 && looked < MAX_SAME_KEY && k >= count - MAX_CLASS_STEPS; k--) {
          const u = (cs === undefined ? one : cs[k]) as UnderlayClass;
          this.done.steps += 1;
          if (u.dead) continue;
          looked += 1;
          const cmp = this.compare(this.rU, u.rep, r, id);
          if ((cmp & EQUAL) !== 0) this.link(u, c, u.rep, id, cmp);
          else if (u.differs < 0) u.differs = r.n[i] as number;
        }
      }
    }
    memberPush(c, id);
    r.cls[i] = c;
  }

  /**
   * Compares two frames of the same key (either side: an underlay frame is an overlay frame with
   * more fields); compareAt's packed result, or 0 (not equal) when their fingerprints tell them
   * apart without reading the bytes (the same length and checksum offset: see fingerprintAt).
   */
  private compare(ra: FrameRing, a: number, rb: FrameRing, b: number): number {
    const i = a & ra.mask;
    const j = b & rb.mask;
    const at = ra.checksumAt[i] as number;
    if (ra.len[i] === rb.len[j] && at === rb.checksumAt[j] && ra.fp[i] !== rb.fp[j]) return 0;
    this.done.comparisons += 1;
    return compareAt(
      ra.buf[i] as Uint8Array,
      ra.off[i] as number,
      ra.len[i] as number,
      rb.buf[j] as Uint8Array,
      rb.off[j] as number,
      rb.len[j] as number,
      at >= 0 ? at : (rb.checksumAt[j] as number),
    );
  }

  /**
   * The class of bridge frames identical to frame `id` among the most recent of its key (at most
   * MAX_SAME_KEY, after at most MAX_CLASS_STEPS steps), if any.
   */
  private classOf(id: number, key: number): FrameClass | undefined {
    const s = this.index.find(key);
    if (s < 0) return undefined;
    const one = this.index.single(s);
    const b = one === undefined ? this.index.bucket(s) : undefined;
    const cs = b?.classes;
    const count = b === undefined ? 1 : b.count;
    const r = this.rO;
    const len = r.len[id & r.mask] as number;
    for (let k = count - 1, looked = 0; k >= 0 && looked < MAX_SAME_KEY && k >= count - MAX_CLASS_STEPS; k--) {
      const c = (cs === undefined ? one : cs[k]) as FrameClass;
      this.done.steps += 1;
      if (c.dead) continue;
      looked += 1;
      const rep = memberLast(c);
      if ((r.len[rep & r.mask] as number) === len && (this.compare(r, id, r, rep) & EQUAL) !== 0) return c;
    }
    return undefined;
  }

  /** The class of waiting underlay packets identical to frame `id` among the most recent of its key, if any. */
  private underlayClassOf(id: number, key: number): UnderlayClass | undefined {
    const s = this.uIndex.find(key);
    if (s < 0) return undefined;
    const one = this.uIndex.single(s);
    const b = one === undefined ? this.uIndex.bucket(s) : undefined;
    const cs = b?.classes;
    const count = b === undefined ? 1 : b.count;
    const r = this.rU;
    const len = r.len[id & r.mask] as number;
    for (let k = count - 1, looked = 0; k >= 0 && looked < MAX_SAME_KEY && k >= count - MAX_CLASS_STEPS; k--) {
      const c = (cs === undefined ? one : cs[k]) as UnderlayClass;
      this.done.steps += 1;
      if (c.dead) continue;
      looked += 1;
      if ((r.len[c.rep & r.mask] as number) === len && (this.compare(r, id, r, c.rep) & EQUAL) !== 0) return c;
    }
    return undefined;
  }

  /** Underlay packets of class `u` may take bridge frames of class `o` (underlay `uId` and bridge `oId` compared equal: `cmp`). */
  private link(u: UnderlayClass, o: FrameClass, uId: number, oId: number, cmp: number): void {
    u.linkU = uId;
    u.linkO = oId;
    u.linkCmp = cmp;
    if (u.cands === undefined || u.candGens === undefined) {
      if (u.cand === undefined) {
        u.cand = o;
        u.candGen = o.gen;
      } else {
        u.cands = [u.cand, o];
        u.candGens = [u.candGen, o.gen];
        u.cand = undefined;
      }
      return;
    }
    let cands = u.cands;
    let gens = u.candGens;
    if (cands.length >= MAX_CANDIDATE_CLASSES) {
      this.done.steps += cands.length;
      const liveCands: FrameClass[] = [];
      const liveGens: number[] = [];
      for (let k = 0; k < cands.length; k++) {
        const c = cands[k] as FrameClass;
        const g = gens[k] as number;
        if (!c.dead && c.gen === g) {
          liveCands.push(c);
          liveGens.push(g);
        }
      }
      u.cands = cands = liveCands;
      u.candGens = gens = liveGens;
    }
    if (cands.length < MAX_CANDIDATE_CLASSES) {
      cands.push(o);
      gens.push(o.gen);
    }
  }

  /** The time of member `seq` of a class (between base and base + count). */
  private memberTs(c: FrameClass, seq: number): number {
    const r = this.rO;
    return r.ts[memberAt(c, seq - c.base) & r.mask] as number;
  }

  /** The first member numbered `from` or later seen at `tsMin` or later (members are in time order). */
  private seek(c: FrameClass, from: number, tsMin: number): number {
    const end = c.base + c.count;
    let lo = from;
    // in a stream the next candidate is at the cursor or close to it: a few steps, then halving
    for (let k = 0; k < 4; k++, lo++) {
      if (lo >= end) return end;
      this.done.steps += 1;
      if (this.memberTs(c, lo) >= tsMin) return lo;
    }
    let hi = end;
    while (lo < hi) {
      this.done.steps += 1;
      const mid = Math.floor((lo + hi) / 2);
      if (this.memberTs(c, mid) < tsMin) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private cursorOf(c: FrameClass, pair: string): number | undefined {
    if (c.cursors !== undefined) return c.cursors.get(pair);
    return c.pair === pair ? c.cursor : undefined;
  }

  private setCursor(c: FrameClass, pair: string, seq: number): void {
    if (c.cursors === undefined) {
      if (c.pair === undefined || c.pair === pair) {
        c.pair = pair;
        c.cursor = seq;
        return;
      }
      c.cursors = new Map([[c.pair, c.cursor]]);
      c.pair = undefined;
    }
    const cursors = c.cursors;
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
    this.decideBefore(this.now);
  }

  /** Underlay packets older than a window at `t` decide, bridge frames older than two leave. */
  private decideBefore(t: number): void {
    const w = this.windowUs;
    const rU = this.rU;
    const rO = this.rO;
    while (rU.head < rU.mid && (rU.ts[rU.head & rU.mask] as number) + w < t) this.finalizeU();
    while (rO.head < rO.mid && (rO.ts[rO.head & rO.mask] as number) + 2 * w < t) this.finalizeO();
  }

  /** The first claim of bridge frame `o` by a packet of VTEP pair `pair`, or -1. */
  private claimOf(o: number, pair: string): number {
    const r = this.rO;
    const i = o & r.mask;
    const cl = this.claims;
    for (let c = (r.claimCount[i] as number) > 0 ? (r.claimHead[i] as number) : -1; c >= 0; c = cl.next[c] as number) {
      if (cl.pair[c] === pair) return c;
    }
    return -1;
  }

  /**
   * The oldest underlay packet decides: in each class of bridge frames equal to its inner
   * frame, the first copy its VTEP pair has not taken and that is not too old; the nearest of
   * those in the window is its match. Otherwise the nearest copy says why not (taken:
   * duplicate; too far).
   *
   * When its direction is known (the local VTEP given or inferred so far), the copy must be on
   * its side in time: at or after the packet for a decapsulation, at or before it for an
   * encapsulation, give or take slackUs. A copy on the other side is another frame's: taking it
   * would leave that frame's packet without its copy (issue 12). When the direction is not known
   * yet (no evidence of the local VTEP yet, or a packet between two other VTEPs), the whole
   * window counts, as it must for the evidence to come at all.
   */
  private finalizeU(): void {
    const r = this.rU;
    const id = r.head;
    const i = id & r.mask;
    const w = this.windowUs;
    const uc = r.cls[i] as UnderlayClass | undefined;
    if (uc) {
      uc.pending -= 1;
      if (uc.pending === 0) this.uIndex.drop(uc);
    }
    const ts = r.ts[i] as number;
    const pair = r.pair[i] as string;
    // the copies this packet may take: [lo, hi] (a pair's bound only moves forward while its direction holds)
    const local = this.localVtep();
    const lo = local !== undefined && local === r.vtepDst[i] ? ts - this.slackUs : ts - w;
    const hi = local !== undefined && local === r.vtepSrc[i] ? ts + this.slackUs : ts + w;
    let bestC: FrameClass | undefined;
    let bestSeq = 0;
    let bestO = -1;
    let bestApart = 0;
    let taken = -1;
    let outside = -1;
    let outsideApart = 0;
    if (uc !== undefined && (uc.cand !== undefined || uc.cands !== undefined)) {
      const rO = this.rO;
      const list = uc.cands;
      const gens = uc.candGens;
      const count = list === undefined ? 1 : list.length;
      for (let k = 0; k < count; k++) {
        const c = list === undefined ? (uc.cand as FrameClass) : (list[k] as FrameClass);
        this.done.steps += 1;
        // dead, or reused for other frames since the link (then it is alive with another generation)
        if (c.dead || c.gen !== (gens === undefined ? uc.candGen : gens[k])) continue;
        const cursor = Math.max(this.cursorOf(c, pair) ?? c.base, c.base);
        const seq = this.seek(c, cursor, lo);
        if (seq > cursor) this.setCursor(c, pair, seq); // too old for this pair's later packets too
        if (seq < c.base + c.count) {
          const o = memberAt(c, seq - c.base);
          const oTs = rO.ts[o & rO.mask] as number;
          const apartUs = Math.abs(oTs - ts);
          if (oTs <= hi) {
            if (bestO < 0 || apartUs < bestApart) [bestC, bestSeq, bestO, bestApart] = [c, seq, o, apartUs];
            else if (apartUs === bestApart) {
              const bTs = rO.ts[bestO & rO.mask] as number;
              if (oTs < bTs || (oTs === bTs && (rO.n[o & rO.mask] as number) < (rO.n[bestO & rO.mask] as number)))
                [bestC, bestSeq, bestO, bestApart] = [c, seq, o, apartUs];
            }
          } else if (apartUs > w && (outside < 0 || apartUs < outsideApart)) [outside, outsideApart] = [o, apartUs];
        }
        if (seq > c.base) {
          // the newest member before: taken by this pair (in the window), too old, or on the wrong side in time (another frame's: says nothing)
          const o = memberAt(c, seq - 1 - c.base);
          const oTs = rO.ts[o & rO.mask] as number;
          const apartUs = Math.abs(oTs - ts);
          if (apartUs > w) {
            if (outside < 0 || apartUs < outsideApart) [outside, outsideApart] = [o, apartUs];
          } else if (oTs >= lo && taken < 0 && this.claimOf(o, pair) >= 0) taken = o;
        }
      }
    }
    if (bestC !== undefined) {
      this.setCursor(bestC, pair, bestSeq + 1);
      this.claim(id, bestO, uc);
      r.release(id);
      r.head += 1;
      if (this.uLeaving.length > 0) this.recycle();
      return;
    }
    let code: UnderlayReasonCode;
    const vni = r.vni[i] as number;
    const detail: ReasonDetail = { vni, windowUs: this.windowUs };
    const rO = this.rO;
    if (taken >= 0) {
      code = 'duplicate';
      detail.other = rO.n[taken & rO.mask] as number;
      detail.by = this.claims.uN[this.claimOf(taken, pair)];
    } else if (outside >= 0) {
      code = 'outside-window';
      detail.other = rO.n[outside & rO.mask] as number;
      detail.apartUs = outsideApart;
    } else if ((r.len[i] as number) === 0) code = 'not-captured';
    else if ((r.outerFragment[i] as number) === 1) {
      code = 'fragment';
      detail.len = r.outerLen[i] as number;
    } else if (uc !== undefined && uc.differs >= 0) {
      code = 'differs';
      detail.other = uc.differs;
    } else if (this.firstOTs === undefined) code = 'before-overlay';
    else {
      const local = this.localVtep();
      const vtepSrc = r.vtepSrc[i] as string;
      if (local !== undefined && local === vtepSrc) {
        detail.own = vxlanDeviceTraffic(r.frameBytes(id));
        code = detail.own ? 'from-vxlan-device' : 'left-without-bridge';
        detail.vtep = vtepSrc;
      } else if (local !== undefined && local === r.vtepDst[i]) {
        code = 'not-delivered';
        detail.vtep = vtepSrc;
      } else code = 'no-match';
      if (code !== 'from-vxlan-device' && ts > this.lastOTs + this.windowUs) inc(this.uTrailing, `${vni}|${code}`);
    }
    this.underlayOnly += 1;
    this.vniRow(vni).underlayOnly += 1;
    let m = this.uReasons.get(vni);
    if (!m) this.uReasons.set(vni, (m = new Map()));
    inc(m, code);
    if (this.listedU.length < this.maxListed) this.listedU.push({ n: r.n[i] as number, tsUs: ts, code, detail, vni });
    else this.listsCapped = true;
    r.release(id);
    r.head += 1;
    if (this.uLeaving.length > 0) this.recycle();
  }

  /** The underlay classes the index let go of during this finalizeU are free: their last packet has left the ring. */
  private recycle(): void {
    for (const c of this.uLeaving) if (this.uFree.length < MAX_FREE_CLASSES) this.uFree.push(c);
    this.uLeaving.length = 0;
  }

  /** Underlay packet `u` (of class `uc`) takes bridge frame `o`: the match is emitted when `o` leaves the window. */
  private claim(u: number, o: number, uc: UnderlayClass | undefined): void {
    const rU = this.rU;
    const rO = this.rO;
    const i = u & rU.mask;
    const j = o & rO.mask;
    const cl = this.claims;
    const c = cl.alloc();
    cl.uN[c] = rU.n[i] as number;
    const uTs = rU.ts[i] as number;
    cl.uTs[c] = uTs;
    cl.vni[c] = rU.vni[i] as number;
    cl.frameLen[c] = rU.frameLen[i] as number;
    cl.uLen[c] = rU.len[i] as number;
    cl.cmp[c] = uc !== undefined && uc.linkU === u && uc.linkO === o ? uc.linkCmp : this.compare(rU, u, rO, o);
    cl.pair[c] = rU.pair[i] as string;
    const vtepSrc = rU.vtepSrc[i] as string;
    const vtepDst = rU.vtepDst[i] as string;
    cl.vtepSrc[c] = vtepSrc;
    cl.vtepDst[c] = vtepDst;
    cl.next[c] = -1;
    if ((rO.claimCount[j] as number) === 0) rO.claimHead[j] = c;
    else cl.next[rO.claimTail[j] as number] = c;
    rO.claimTail[j] = c;
    rO.claimCount[j] = (rO.claimCount[j] as number) + 1;
    // A bridge sighting strictly earlier than eth1 only happens for a frame leaving the node:
    // an arriving frame is on eth1 first (or at the same instant: the same skb timestamp).
    if ((rO.ts[j] as number) < uTs - STRICTLY_EARLIER_US) {
      inc(this.vtepScore, vtepSrc);
      inc(this.vtepScore, vtepDst, -1);
      this.localCached = false;
    }
  }

  /** The oldest bridge frame leaves the window: its matches are emitted, or it says why it has none. */
  private finalizeO(): void {
    const r = this.rO;
    const id = r.head;
    const i = id & r.mask;
    const c = r.cls[i] as FrameClass | undefined;
    if (c) {
      memberShift(c); // the frame is its oldest member: classes fill and drain in the window's order
      c.base += 1;
      if (c.count === 0) {
        c.cursors = undefined;
        c.pair = undefined;
        this.index.drop(c);
      }
    }
    const claims = r.claimCount[i] as number;
    if (claims > 0) {
      const flood = claims > 1;
      if (flood) this.floodedFrames += 1;
      const cl = this.claims;
      for (let k = r.claimHead[i] as number, left = claims; left > 0; left--) {
        const next = cl.next[k] as number;
        this.emit(k, id, flood);
        cl.release(k);
        k = next;
      }
      r.release(id);
      r.head += 1;
      return;
    }
    const tsUs = r.ts[i] as number;
    let code: OverlayReasonCode;
    // the detail's fields: an object is made only for a frame that is listed (most are not: a
    // detail per unmatched frame, its first ones kept, was allocated straight into the old generation)
    let mac = Number.NaN;
    let vtep: string | undefined;
    const dstMac = r.dstMac[i] as number;
    const srcMac = r.srcMac[i] as number;
    const frameLen = r.frameLen[i] as number;
    if (this.uProcessed === 0) code = 'before-underlay';
    else if ((r.groupDst[i] as number) === 1) {
      code = 'bum-not-flooded';
      mac = srcMac;
    } else if (frameLen > MAX_INNER_FRAME + 4) code = 'too-big';
    else {
      const dstVtep = this.remoteVtepOf(dstMac);
      const srcVtep = this.remoteVtepOf(srcMac);
      if (dstVtep !== undefined) {
        code = 'remote-dst';
        mac = dstMac;
        vtep = dstVtep;
      } else if (srcVtep !== undefined) {
        code = 'remote-src';
        mac = srcMac;
        vtep = srcVtep;
      } else {
        code = 'local';
        mac = dstMac;
        vtep = this.fdb.get(dstMac); // this node's own VTEP, or undefined: never seen on the underlay
      }
    }
    if (code !== 'before-underlay' && tsUs > this.lastUTs + this.windowUs) inc(this.oTrailing, code);
    this.overlayOnly += 1;
    inc(this.oReasons, code);
    if (this.listedO.length < this.maxListed) {
      const detail: ReasonDetail = {};
      if (code === 'too-big') detail.len = frameLen;
      else if (code !== 'before-underlay') detail.mac = mac;
      if (code === 'remote-dst' || code === 'remote-src' || code === 'local') detail.vtep = vtep;
      this.listedO.push({ n: r.n[i] as number, tsUs, code, detail });
    } else this.listsCapped = true;
    r.release(id);
    r.head += 1;
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
    if (this.localCached) return this.localValue;
    let best: string | undefined;
    let bestScore = 0;
    for (const [v, n] of this.vtepScore) {
      if (n > bestScore) {
        best = v;
        bestScore = n;
      }
    }
    this.localCached = true;
    this.localValue = best;
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

  /** Claim `c` of bridge frame `o` becomes a match. */
  private emit(c: number, o: number, flood: boolean): void {
    const cl = this.claims;
    const r = this.rO;
    const j = o & r.mask;
    const uTs = cl.uTs[c] as number;
    const oTs = r.ts[j] as number;
    const cmp = cl.cmp[c] as number;
    const settled = this.settled();
    if (settled && this.held.length === 0 && this.onMatch === undefined && this.matches.length >= this.maxListed) {
      // nobody sees the match itself: its figures only, without making it
      const vtepSrc = cl.vtepSrc[c] as string;
      const vtepDst = cl.vtepDst[c] as string;
      const direction = this.directionFor(vtepSrc, vtepDst, oTs, uTs);
      this.tally(
        direction,
        Math.round(Math.abs(uTs - oTs) * 1000) / 1000,
        cl.uLen[c] !== r.len[j],
        (cmp & CHECKSUM_DIFFERS) !== 0,
        cl.vni[c] as number,
        vtepSrc,
        vtepDst,
      );
      this.listsCapped = true;
      return;
    }
    const m: Match = {
      underlay: { n: cl.uN[c] as number, tsUs: uTs },
      overlay: { n: r.n[j] as number, tsUs: oTs },
      direction: 'encap',
      deltaUs: Math.round(Math.abs(uTs - oTs) * 1000) / 1000,
      vni: cl.vni[c] as number,
      vtepSrc: cl.vtepSrc[c] as string,
      vtepDst: cl.vtepDst[c] as string,
      flood,
      frameLen: cl.frameLen[c] as number,
      comparedBytes: Math.floor(cmp / 4),
      snaplenCut: cl.uLen[c] !== r.len[j],
      checksumDiffers: (cmp & CHECKSUM_DIFFERS) !== 0,
    };
    if (settled) {
      if (this.held.length) this.releaseHeld();
      this.record(m);
    } else {
      this.held.push(m);
      if (this.held.length >= MAX_HELD) this.releaseHeld();
    }
  }

  /** Encapsulated if it left the bridge node's VTEP, decapsulated if it arrived there; by time order when unknown. */
  private directionFor(vtepSrc: string, vtepDst: string, overlayTs: number, underlayTs: number): 'encap' | 'decap' {
    const local = this.localVtep();
    if (local !== undefined) {
      if (vtepSrc === local) return 'encap';
      if (vtepDst === local) return 'decap';
    }
    return overlayTs < underlayTs ? 'encap' : 'decap';
  }

  /** A match's figures. */
  private tally(
    direction: 'encap' | 'decap',
    deltaUs: number,
    snaplenCut: boolean,
    checksumDiffers: boolean,
    vni: number,
    vtepSrc: string,
    vtepDst: string,
  ): void {
    this.matched += 1;
    if (direction === 'encap') {
      this.encap += 1;
      this.latencyEncap.add(deltaUs);
    } else {
      this.decap += 1;
      this.latencyDecap.add(deltaUs);
    }
    this.latency.add(deltaUs);
    if (snaplenCut) this.snaplenCut += 1;
    if (checksumDiffers) this.checksumDiffers += 1;
    this.vniRow(vni).matched += 1;
    const pair = this.byPair.get(pairOf(vtepSrc, vtepDst))?.get(vni);
    if (pair) pair.matched += 1;
  }

  private record(m: Match): void {
    m.direction = this.directionFor(m.vtepSrc, m.vtepDst, m.overlay.tsUs, m.underlay.tsUs);
    this.tally(m.direction, m.deltaUs, m.snaplenCut, m.checksumDiffers, m.vni, m.vtepSrc, m.vtepDst);
    if (this.matches.length < this.maxListed) this.matches.push(m);
    else this.listsCapped = true;
    this.onMatch?.(m);
  }

  private vniRow(vni: number): VniRow {
    let row = this.byVni.get(vni);
    if (!row) this.byVni.set(vni, (row = { matched: 0, underlayOnly: 0, packets: 0, bytes: 0 }));
    return row;
  }

  private pairRow(pair: string, vni: number, src: string, dst: string): VtepPairRow | undefined {
    let byVni = this.byPair.get(pair);
    if (!byVni) {
      if (this.pairRows >= MAX_PAIRS) return undefined;
      this.byPair.set(pair, (byVni = new Map()));
    }
    let row = byVni.get(vni);
    if (!row && this.pairRows < MAX_PAIRS) {
      byVni.set(vni, (row = { src, dst, vni, packets: 0, bytes: 0, matched: 0 }));
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
    const byVtepPair = [...this.byPair.values()]
      .flatMap((m) => [...m.values()])
      .map((r) => ({ ...r }))
      .sort((a, b) => b.packets - a.packets || a.vni - b.vni);
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
