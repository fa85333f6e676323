/**
 * One node in the second run: its one pass (pass.ts) and the correlator (node.ts) with the
 * node's VTEP given, and beside them a record of every underlay VXLAN packet and bridge frame,
 * kept until the correlator has decided it. The correlator's matches (onMatch) link a bridge
 * frame to its underlay packet(s); a record is handed on ("released") once no match can still
 * come for it, in the order the pass delivered it.
 *
 * When can no match still come? The correlator decides an underlay packet one window after it,
 * and reports a match when the bridge frame leaves its index, two windows after the bridge frame
 * (itself at most a window after the packet). So a record is released four windows after its
 * time on the clock of the correlator's merge, which a gap in one side's traffic holds back behind
 * the newest time read (a bridge frame seconds after the underlay capture ended waits for
 * finish()), or earlier when more than MAX_HELD records wait (bounded memory; a match arriving
 * later is counted, not lost silently).
 */
import { NodeAnalyzer } from '../node.js';
import { NodePass, type PassPacket } from '../pass.js';
import { compareFromOf } from '../sides.js';
import { outerVxlan, overlayFrame, underlayFrame, type CompareFrom } from '../../correlate/frame.js';
import { fnv1a } from '../../correlate/bytes.js';
import { Fifo } from '../../correlate/queue.js';
import type { Match } from '../../correlate/types.js';
import type { DecoderRegistry } from '../../decode/registry.js';
import { tcpSegmentOf, type TcpSpan } from './gro.js';
import type { PathNodeInput } from './types.js';

/** Records a node holds at most before the oldest is released early. */
export const MAX_HELD = 300_000;
/** Bytes of the inner frame a cross-node digest covers (the checksum left out). */
export const DIGEST_BYTES = 256;

/** The link the correlator made for a record. */
export interface Link {
  direction: 'encap' | 'decap';
  flood: boolean;
  checksumDiffers: boolean;
}

/** An underlay VXLAN packet. Times in µs on the node's clock; `ref` on the reference clock. */
export interface URec {
  kind: 'u';
  node: number;
  n: number;
  frame: number;
  tsUs: number;
  ref: number;
  /** Index key across nodes: the inner frame's key mixed with the outer fields below. */
  xkey: number;
  /** The inner frame's key (wire length and hash of its first bytes, checksum left out). */
  innerKey: number;
  /** Hash of the first DIGEST_BYTES captured inner bytes (checksum left out), and how many. */
  digest: number;
  digestLen: number;
  /** The inner TCP/UDP checksum as captured, or -1. */
  csum: number;
  ipId: number;
  srcPort: number;
  dstPort: number;
  vni: number;
  vxlanFlags: number;
  vtepSrc: string;
  vtepDst: string;
  outerLen: number;
  outerFragment: boolean;
  innerSrcMac: number;
  innerDstMac: number;
  innerGroupDst: boolean;
  frameLen: number;
  /** The inner TCP segment, if it carries one (what a GRO-merged bridge frame is looked up by). */
  tcp: TcpSpan | undefined;
  /** The bridge frame the correlator matched it with, and how. */
  link: { o: ORec; l: Link } | undefined;
}

/** A bridge frame. */
export interface ORec {
  kind: 'o';
  node: number;
  n: number;
  frame: number;
  tsUs: number;
  ref: number;
  srcMac: number;
  dstMac: number;
  groupDst: boolean;
  frameLen: number;
  /** The TCP segment, if it carries one. */
  tcp: TcpSpan | undefined;
  /** Underlay packets that claimed it (a flood has several). */
  claims: number;
  direction: 'encap' | 'decap' | undefined;
  /** The VTEPs it was sent to (encapsulated copies), for a group-addressed frame. */
  sentTo: string[] | undefined;
}

export type Rec = URec | ORec;

const FNV_PRIME = 0x01000193;

function mix(h: number, v: number): number {
  let x = h;
  for (let i = 0; i < 4; i++) {
    x ^= (v >>> (i * 8)) & 0xff;
    x = Math.imul(x, FNV_PRIME);
  }
  return x >>> 0;
}

export class NodeTrack {
  readonly pass: NodePass;
  readonly analyzer: NodeAnalyzer;
  readonly offsetUs: number;
  /** Records delivered, not released yet, in delivery order. */
  private readonly held = new Fifo<Rec>();
  private readonly uByN = new Map<number, URec>();
  private readonly oByN = new Map<number, ORec>();
  private readonly holdUs: number;
  private readonly compareFrom: CompareFrom;
  /** Newest time the pass delivered (node clock). */
  lastTs = -Infinity;
  done = false;
  peakHeld = 0;
  forced = 0;
  lateLinks = 0;

  constructor(
    readonly index: number,
    readonly input: PathNodeInput,
    opts: { registry: DecoderRegistry; windowUs: number; vxlanPorts: number[]; vtep: string | undefined },
    private readonly release: (r: Rec) => void,
  ) {
    this.offsetUs = input.clockOffsetUs ?? 0;
    this.holdUs = 4 * opts.windowUs + 1;
    this.compareFrom = compareFromOf(input.overlay);
    this.pass = new NodePass(
      { underlay: input.underlay, overlay: input.overlay },
      { registry: opts.registry, ...(input.overlayClockOffsetUs ? { overlayClockOffsetUs: input.overlayClockOffsetUs } : {}) },
    );
    this.analyzer = new NodeAnalyzer({
      node: input.name,
      sides: { underlay: true, overlay: true },
      correlationOnly: true,
      windowUs: opts.windowUs,
      maxSkewUs: opts.windowUs,
      vxlanPorts: opts.vxlanPorts,
      compareFrom: this.compareFrom,
      ...(opts.vtep !== undefined ? { localVtep: opts.vtep } : {}),
      ...(input.overlayClockOffsetUs ? { overlayClockOffsetUs: input.overlayClockOffsetUs } : {}),
      onMatch: (m) => this.onMatch(m),
    });
    this.pass.listen(this.analyzer.listener);
    this.pass.listen((x) => this.add(x));
  }

  /** The reference time before which every record of this node was released (+∞ once done). */
  frontier(): number {
    if (this.done) return Infinity;
    const head = this.held.peek();
    return (head ? Math.min(head.tsUs, this.lastTs) : this.lastTs) - this.offsetUs;
  }

  /** How far the pass has read, on the reference clock (which node reads next). */
  progress(): number {
    return this.lastTs - this.offsetUs;
  }

  private add(x: PassPacket): void {
    if (x.tsUs > this.lastTs) this.lastTs = x.tsUs;
    if (x.side === 'underlay') {
      const f = underlayFrame(x.p, this.compareFrom);
      if (!f) return;
      const outer = outerVxlan(x.p);
      const ipId = outer && outer.ip.type === 'ipv4' ? outer.ip.id : 0;
      const srcPort = outer?.udp.srcPort ?? 0;
      const digestLen = Math.min(f.bytes.length, DIGEST_BYTES);
      const csum =
        f.checksumAt >= 0 && f.checksumAt + 1 < f.bytes.length
          ? ((f.bytes[f.checksumAt] as number) << 8) | (f.bytes[f.checksumAt + 1] as number)
          : -1;
      let h = mix(f.key >>> 0, ipId);
      h = mix(h, srcPort * 65536 + f.udpDstPort);
      h = mix(h, f.vni);
      const r: URec = {
        kind: 'u',
        node: this.index,
        n: x.n,
        frame: x.frame,
        tsUs: x.tsUs,
        ref: x.tsUs - this.offsetUs,
        xkey: Math.min(f.wireLen, 0x1fffff) * 0x100000000 + h,
        innerKey: f.key,
        digest: fnv1a(f.bytes, digestLen, f.checksumAt),
        digestLen,
        csum,
        ipId,
        srcPort,
        dstPort: f.udpDstPort,
        vni: f.vni,
        vxlanFlags: f.vxlanFlags,
        vtepSrc: f.vtepSrc,
        vtepDst: f.vtepDst,
        outerLen: f.outerLen,
        outerFragment: f.outerFragment,
        innerSrcMac: f.srcMac,
        innerDstMac: f.dstMac,
        innerGroupDst: f.groupDst,
        frameLen: f.frameLen,
        tcp: tcpSegmentOf(f.bytes, this.compareFrom === 'network'),
        link: undefined,
      };
      this.uByN.set(x.n, r);
      this.push(r);
    } else {
      const f = overlayFrame(x.p, 0, this.compareFrom);
      if (!f) return;
      const r: ORec = {
        kind: 'o',
        node: this.index,
        n: x.n,
        frame: x.frame,
        tsUs: x.tsUs,
        ref: x.tsUs - this.offsetUs,
        srcMac: f.srcMac,
        dstMac: f.dstMac,
        groupDst: f.groupDst,
        frameLen: f.frameLen,
        tcp: tcpSegmentOf(f.bytes, this.compareFrom === 'network'),
        claims: 0,
        direction: undefined,
        sentTo: undefined,
      };
      this.oByN.set(x.n, r);
      this.push(r);
    }
  }

  private push(r: Rec): void {
    this.held.push(r);
    if (this.held.size > this.peakHeld) this.peakHeld = this.held.size;
  }

  private onMatch(m: Match): void {
    const u = this.uByN.get(m.underlay.n);
    const o = this.oByN.get(m.overlay.n);
    if (!u || !o) {
      this.lateLinks += 1;
      return;
    }
    u.link = { o, l: { direction: m.direction, flood: m.flood, checksumDiffers: m.checksumDiffers } };
    o.claims += 1;
    o.direction = m.direction;
    if (o.groupDst && m.direction === 'encap' && (o.sentTo === undefined || o.sentTo.length < 64)) (o.sentTo ??= []).push(m.vtepDst);
  }

  /**
   * Releases the records no match can still come for (all of them with `all`). Measured on the
   * correlator's clock, not on the newest time read: after a gap (the underlay capture ended, the
   * bridge's next frame seconds later) the correlator holds that frame back and its older matches
   * are still to come (a lab run released three matched frames as lost).
   */
  settle(all = false): void {
    const merged = this.analyzer.correlator?.mergedUpTo() ?? this.lastTs;
    const limit = Math.min(this.lastTs, merged) - this.holdUs;
    for (let r = this.held.peek(); r !== undefined; r = this.held.peek()) {
      const over = this.held.size > MAX_HELD;
      if (!all && !over && r.tsUs >= limit) return;
      if (over && !all && r.tsUs >= limit) this.forced += 1;
      this.held.shift();
      if (r.kind === 'u') this.uByN.delete(r.n);
      else this.oByN.delete(r.n);
      this.release(r);
    }
  }

  /** Every file read: the correlator decides what its window still holds, then every record is released. */
  finish(): void {
    if (this.done) return;
    this.analyzer.finish();
    this.settle(true);
    this.done = true;
  }
}
