/**
 * Matches the inner frames of the underlay's VXLAN packets (eth1) with the frames of a bridge
 * capture (vxlan_bridge): same bytes, nearest in time within a window.
 *
 * Streaming and bounded: the two sides are merged by time (each side must be in time order;
 * they may be fed up to `maxSkewUs` apart), an underlay packet waits for its bridge frame for
 * one window, a bridge frame stays for two (so every underlay packet that may claim it has
 * decided), then both leave the index. Each packet is hashed once and compared only with the
 * few frames of the same hash in the window: linear time.
 *
 * One bridge frame may be claimed by several underlay packets when it went to several VTEPs
 * (head-end replication of broadcast/multicast): a flood. An underlay packet never claims a
 * bridge frame already claimed for the same VTEP pair: that would be a duplicate.
 */
import type { DecodedPacket } from '../decode/types.js';
import { compareFrames, type Comparison } from './bytes.js';
import { isGroupMac, macAt, overlayFrame, underlayFrame, type OverlayFrame, type UnderlayFrame } from './frame.js';
import { LatencyHistogram } from './latency.js';
import { addToBucket, Fifo, removeFromBucket } from './queue.js';
import { overlayReason, underlayReason, type ReasonDetail } from './reasons.js';
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
const NO_CANDIDATES: Candidate[] = [];
/** Reasons that only say "not found": what is learnt by the end (VNI never matched, capture ended) says more. */
const SOFT: ReadonlySet<UnderlayReasonCode> = new Set<UnderlayReasonCode>(['no-match', 'left-without-bridge', 'not-delivered']);

interface Candidate {
  o: OverlayEntry;
  cmp: Comparison;
  apartUs: number;
}

interface UnderlayEntry {
  f: UnderlayFrame;
  cands: Candidate[] | undefined;
  outside?: { o: OverlayEntry; apartUs: number };
  differs?: OverlayEntry;
}

interface OverlayEntry {
  f: OverlayFrame;
  claims: { u: UnderlayEntry; cmp: Comparison }[] | undefined;
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
  underlayBuckets: number;
  overlayBuckets: number;
  /** Matches held back until the local VTEP is known (at most MAX_HELD). */
  heldMatches: number;
}

function inc<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

/** Frames per side held at once at most (about 100 MB of frames at the worst): see pump(). */
export const MAX_IN_FLIGHT = 50_000;
/**
 * Identical frames in flight compared with each new one at most (the most recent first): a
 * burst of 100,000 identical ARP requests stays linear, not quadratic.
 */
export const MAX_SAME_KEY = 16;

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
  private readonly uIndex = new Map<number, UnderlayEntry[]>();
  private readonly liveO = new Fifo<OverlayEntry>();
  private readonly oIndex = new Map<number, OverlayEntry[]>();

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
  }

  /** A packet of the underlay capture (eth1), in time order. Packets that are not VXLAN are counted only. */
  addUnderlay(p: DecodedPacket): void {
    this.checkOpen();
    this.underlayPackets += 1;
    const f = underlayFrame(p);
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
    const srcMac = macAt(f.bytes, 6);
    if (Number.isFinite(srcMac) && !isGroupMac(srcMac) && (this.fdb.size < MAX_FDB || this.fdb.has(srcMac))) this.fdb.set(srcMac, f.vtepSrc);
    this.inU.push(f);
    this.pump(false);
  }

  /** A frame of the bridge capture (vxlan_bridge), in time order. */
  addOverlay(p: DecodedPacket): void {
    this.checkOpen();
    this.overlayPackets += 1;
    const f = overlayFrame(p, this.offsetUs);
    if (!f) {
      this.overlayOnly += 1;
      this.recordO({ n: p.n, tsUs: p.raw.tsSec * 1e6 + p.raw.tsNsec / 1e3 + this.offsetUs, code: 'not-ethernet', detail: { linkType: p.raw.linkType } });
      return;
    }
    this.overlayEthernet += 1;
    this.inO.push(f);
    this.pump(false);
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

  sizes(): CorrelatorSizes {
    return {
      queuedUnderlay: this.inU.size,
      queuedOverlay: this.inO.size,
      pendingUnderlay: this.pendingU.size,
      liveOverlay: this.liveO.size,
      underlayBuckets: this.uIndex.size,
      overlayBuckets: this.oIndex.size,
      heldMatches: this.held.length,
    };
  }

  private checkOpen(): void {
    if (this.report) throw new Error('Correlator.finish() was already called: create a new Correlator');
  }

  // ---- merging the two sides by time ----

  private pump(final: boolean): void {
    // A count bound besides the time bound: with a broken clock (every timestamp equal) or a
    // very high rate, nothing would ever leave the window. Past MAX_IN_FLIGHT frames per side the
    // oldest decides early with what it has seen so far: memory stays bounded whatever the input.
    const full = (q: { size: number }): boolean => q.size > MAX_IN_FLIGHT;
    for (;;) {
      const u = this.inU.peek();
      const o = this.inO.peek();
      if (u && o) {
        if (u.tsUs <= o.tsUs) this.processU(this.inU.shift() as UnderlayFrame);
        else this.processO(this.inO.shift() as OverlayFrame);
      } else if (u && (final || full(this.inU) || (this.inU.last() as UnderlayFrame).tsUs - u.tsUs > this.maxSkewUs)) {
        this.processU(this.inU.shift() as UnderlayFrame);
      } else if (o && (final || full(this.inO) || (this.inO.last() as OverlayFrame).tsUs - o.tsUs > this.maxSkewUs)) {
        this.processO(this.inO.shift() as OverlayFrame);
      } else return;
    }
  }

  private processU(f: UnderlayFrame): void {
    this.advance(f.tsUs);
    this.uProcessed += 1;
    this.lastUTs = Math.max(this.lastUTs, f.tsUs);
    this.oTrailing.clear();
    const e: UnderlayEntry = { f, cands: undefined };
    const bucket = this.oIndex.get(f.key);
    if (bucket) for (let i = bucket.length - 1, k = 0; i >= 0 && k < MAX_SAME_KEY; i--, k++) this.consider(e, bucket[i] as OverlayEntry);
    addToBucket(this.uIndex, f.key, e);
    this.pendingU.push(e);
  }

  private processO(f: OverlayFrame): void {
    this.advance(f.tsUs);
    this.firstOTs ??= f.tsUs;
    this.lastOTs = Math.max(this.lastOTs, f.tsUs);
    this.uTrailing.clear();
    const o: OverlayEntry = { f, claims: undefined };
    const bucket = this.uIndex.get(f.key);
    if (bucket) for (let i = bucket.length - 1, k = 0; i >= 0 && k < MAX_SAME_KEY; i--, k++) this.consider(bucket[i] as UnderlayEntry, o);
    addToBucket(this.oIndex, f.key, o);
    this.liveO.push(o);
  }

  /** Compares an underlay packet's inner frame with a bridge frame of the same key. */
  private consider(u: UnderlayEntry, o: OverlayEntry): void {
    const at = u.f.checksumAt >= 0 ? u.f.checksumAt : o.f.checksumAt;
    const cmp = compareFrames(u.f.bytes, o.f.bytes, at);
    if (!cmp.equal || cmp.compared === 0) {
      u.differs ??= o;
      return;
    }
    const apartUs = Math.abs(u.f.tsUs - o.f.tsUs);
    if (apartUs <= this.windowUs) {
      const c: Candidate = { o, cmp, apartUs };
      if (u.cands === undefined) u.cands = [c];
      else u.cands.push(c);
    }
    else if (!u.outside || apartUs < u.outside.apartUs) u.outside = { o, apartUs };
  }

  /** Time moved to `now`: underlay packets older than a window decide, bridge frames older than two leave. */
  private advance(now: number): void {
    if (now > this.now) this.now = now;
    const w = this.windowUs;
    for (let e = this.pendingU.peek(); e && (e.f.tsUs + w < this.now || this.pendingU.size > MAX_IN_FLIGHT); e = this.pendingU.peek()) this.finalizeU(this.pendingU.shift() as UnderlayEntry);
    for (let o = this.liveO.peek(); o && (o.f.tsUs + 2 * w < this.now || this.liveO.size > 2 * MAX_IN_FLIGHT); o = this.liveO.peek()) this.finalizeO(this.liveO.shift() as OverlayEntry);
  }

  private finalizeU(e: UnderlayEntry): void {
    removeFromBucket(this.uIndex, e.f.key, e);
    const cands = e.cands ?? NO_CANDIDATES;
    if (cands.length > 1) cands.sort((a, b) => a.apartUs - b.apartUs);
    for (const c of cands) {
      if (!c.o.claims?.some((cl) => cl.u.f.pair === e.f.pair)) {
        const claim = { u: e, cmp: c.cmp };
        if (c.o.claims === undefined) c.o.claims = [claim];
        else c.o.claims.push(claim);
        e.cands = undefined; // the other candidates may go
        // A bridge sighting strictly earlier than eth1 only happens for a frame leaving the node:
        // an arriving frame is on eth1 first (or at the same instant: the same skb timestamp).
        if (c.o.f.tsUs < e.f.tsUs - STRICTLY_EARLIER_US) {
          inc(this.vtepScore, e.f.vtepSrc);
          inc(this.vtepScore, e.f.vtepDst, -1);
        }
        return;
      }
    }
    const f = e.f;
    let code: UnderlayReasonCode;
    const detail: ReasonDetail = { vni: f.vni, windowUs: this.windowUs };
    const first = cands[0];
    if (first) {
      code = 'duplicate';
      detail.other = first.o.f.n;
      detail.by = first.o.claims?.find((cl) => cl.u.f.pair === e.f.pair)?.u.f.n;
    } else if (e.outside) {
      code = 'outside-window';
      detail.other = e.outside.o.f.n;
      detail.apartUs = e.outside.apartUs;
    } else if (f.bytes.length === 0) code = 'not-captured';
    else if (f.outerFragment) {
      code = 'fragment';
      detail.len = f.outerLen;
    } else if (e.differs) {
      code = 'differs';
      detail.other = e.differs.f.n;
    } else if (this.firstOTs === undefined) code = 'before-overlay';
    else {
      const local = this.localVtep();
      if (local !== undefined && local === f.vtepSrc) {
        code = 'left-without-bridge';
        detail.vtep = f.vtepSrc;
      } else if (local !== undefined && local === f.vtepDst) {
        code = 'not-delivered';
        detail.vtep = f.vtepSrc;
      } else code = 'no-match';
      if (f.tsUs > this.lastOTs + this.windowUs) inc(this.uTrailing, `${f.vni}|${code}`);
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
    removeFromBucket(this.oIndex, o.f.key, o);
    if (o.claims !== undefined && o.claims.length > 0) {
      const flood = o.claims.length > 1;
      if (flood) this.floodedFrames += 1;
      for (const cl of o.claims) this.emit(cl.u, o, cl.cmp, flood);
      return;
    }
    const f = o.f;
    let code: OverlayReasonCode;
    const detail: ReasonDetail = {};
    const dstMac = macAt(f.bytes, 0);
    const srcMac = macAt(f.bytes, 6);
    if (this.uProcessed === 0) code = 'before-underlay';
    else if (isGroupMac(dstMac)) {
      code = 'bum-not-flooded';
      detail.mac = srcMac;
    } else if (f.wireLen > MAX_INNER_FRAME + 4) {
      code = 'too-big';
      detail.len = f.wireLen;
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

  private emit(u: UnderlayEntry, o: OverlayEntry, cmp: Comparison, flood: boolean): void {
    const f = u.f;
    const m: Match = {
      underlay: { n: f.n, tsUs: f.tsUs },
      overlay: { n: o.f.n, tsUs: o.f.tsUs },
      direction: 'encap',
      deltaUs: Math.round(Math.abs(f.tsUs - o.f.tsUs) * 1000) / 1000,
      vni: f.vni,
      vtepSrc: f.vtepSrc,
      vtepDst: f.vtepDst,
      flood,
      frameLen: f.wireLen,
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
