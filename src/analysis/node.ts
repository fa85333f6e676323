/**
 * One node's analysis: the listeners that the one pass (pass.ts) feeds, and the figures they
 * own. Every view (the CLI's `correlate`, the web page, exports) reads a node's figures here:
 *
 *  - matching, direction, flood, latency, reasons: the Correlator (src/correlate/correlator.ts);
 *  - counts per VNI and VTEP pair, inner MACs behind each VTEP, overhead: a StatsCollector per
 *    side (the same counter `stats FILE` runs, so the page and `stats --json` agree);
 *  - the VTEPs and the forwarding table traffic teaches: the TopologyBuilder;
 *  - what looks wrong and why: Diagnostics, fed by the packets and then by the correlation.
 */
import { Correlator } from '../correlate/correlator.js';
import { Diagnostics, type Diagnostic } from '../correlate/diagnostics.js';
import { TopologyBuilder } from '../correlate/topology.js';
import type { CorrelateOptions, CorrelationReport, Match } from '../correlate/types.js';
import type { DecodedPacket } from '../decode/types.js';
import type { PacketFacts } from '../stats/facts.js';
import { udpPortTable } from '../stats/fast-decode.js';
import { StatsCollector, type CaptureStats } from '../stats/stats.js';
import { FastSamples } from './fast-samples.js';
import type { PassListener, PassPacket } from './pass.js';
import type { Side } from './sides.js';

export interface NodeAnalyzerOptions extends Omit<CorrelateOptions, 'onMatch'> {
  node: string;
  /** Which sides the node has captures of (the correlator runs only when it has both). */
  sides: { underlay: boolean; overlay: boolean };
  /** Every match, as the correlator decides it (in bridge-frame order). */
  onMatch?: (m: Match) => void;
  /** Only the correlator listens (the CLI's correlate, which prints nothing else): no statistics, topology or diagnostics. */
  correlationOnly?: boolean;
}

export interface NodeFigures {
  node: string;
  /** Null when the node lacks one side: nothing to match. */
  correlation: CorrelationReport | null;
  stats: { underlay: CaptureStats | null; overlay: CaptureStats | null };
  diagnostics: Diagnostic[];
  /** Time span of each side, µs (null when it has no packet). */
  span: { underlay: [number, number] | null; overlay: [number, number] | null };
  /** The two sides' captures share no moment: nothing can match. */
  disjoint: boolean;
}

export class NodeAnalyzer {
  readonly correlator: Correlator | undefined;
  readonly topology = new TopologyBuilder();
  private readonly diagnostics = new Diagnostics();
  private readonly stats: Record<Side, StatsCollector | undefined>;
  private readonly first: Record<Side, number> = { underlay: Infinity, overlay: Infinity };
  private readonly last: Record<Side, number> = { underlay: -Infinity, overlay: -Infinity };
  private finished: NodeFigures | undefined;

  constructor(private readonly opts: NodeAnalyzerOptions) {
    if (opts.sides.underlay && opts.sides.overlay) {
      const c: CorrelateOptions = { ...opts };
      if (opts.onMatch) c.onMatch = opts.onMatch;
      this.correlator = new Correlator(c);
    }
    const stats = !opts.correlationOnly;
    const ports = opts.vxlanPorts ?? [];
    const collector = (): StatsCollector => new StatsCollector({ vxlanPorts: ports });
    this.stats = {
      underlay: stats && opts.sides.underlay ? collector() : undefined,
      overlay: stats && opts.sides.overlay ? collector() : undefined,
    };
    this.statsPorts = udpPortTable(ports).ports;
    this.full = stats;
    // the correlator alone copies what it holds of a packet: the pass may reuse the bytes it read
    this.listener = Object.assign((x: PassPacket): void => this.add(x), { keepsNoBytes: !stats });
  }

  /** The listener to give the pass. */
  readonly listener: PassListener;

  /** Statistics, topology and diagnostics listen too (not correlationOnly). */
  private readonly full: boolean;
  private readonly samples = new FastSamples();
  /** The UDP port table the collectors count with, and whether the pass's is the same (then its facts are counted as they are). */
  private readonly statsPorts: Uint8Array;
  private passPorts: Uint8Array | undefined;
  private samePorts = false;

  private add(x: PassPacket): void {
    const { side, tsUs } = x;
    if (tsUs < this.first[side]) this.first[side] = tsUs;
    if (tsUs > this.last[side]) this.last[side] = tsUs;
    if (this.full) {
      const f = x.facts;
      if (f === undefined) this.countDecoded(x.p, side);
      else this.countFacts(x, f);
    }
    if (side === 'underlay') this.correlator?.addUnderlayPacket(x);
    else this.correlator?.addOverlayPacket(x);
  }

  /** Statistics, diagnostics and topology from the full decode (a packet the facts cannot describe). */
  private countDecoded(p: DecodedPacket, side: Side): void {
    this.stats[side]?.add(p);
    this.diagnostics.add(p, side);
    if (side === 'underlay') this.topology.add(p, this.opts.node);
  }

  /** The same, from the facts the pass read from the bytes: no layer objects. */
  private countFacts(x: PassPacket, f: PacketFacts): void {
    const { side, raw } = x;
    const stats = this.stats[side];
    if (stats) {
      if (x.udpPorts !== this.passPorts) {
        this.passPorts = x.udpPorts;
        this.samePorts = sameTable(x.udpPorts, this.statsPorts);
      }
      // the pass's facts, read with the same UDP ports as the collector's: counted as they are
      if (this.samePorts) stats.addFacts(f);
      else stats.add(x.p);
    }
    const d = this.samples.diagnosticOf(raw, x.n, f, side);
    if (d) this.diagnostics.addSample(d, side);
    else this.diagnostics.add(x.p, side);
    if (side === 'underlay') this.topology.addSample(this.samples.topologyOf(raw, f), this.opts.node);
  }

  /** The figures once every packet was given (the correlator decides what was still in its window). */
  finish(): NodeFigures {
    if (this.finished) return this.finished;
    this.finished = this.figures(this.correlator?.finish() ?? null);
    return this.finished;
  }

  /** No packet came for a while (a live capture paused): decide what the window still holds. */
  idle(): void {
    if (!this.finished) this.correlator?.flushIdle();
  }

  /**
   * The figures so far, while packets still come (a live capture): frames still inside the
   * correlator's window are not counted yet, so every figure lags by the window and never
   * counts a frame twice.
   */
  snapshot(): NodeFigures {
    if (this.finished) return this.finished;
    return this.figures(this.correlator?.snapshot() ?? null);
  }

  private figures(correlation: CorrelationReport | null): NodeFigures {
    if (correlation && this.full) this.diagnostics.addCorrelation(correlation);
    const span = (s: Side): [number, number] | null => (Number.isFinite(this.first[s]) ? [this.first[s], this.last[s]] : null);
    const u = span('underlay');
    const o = span('overlay');
    const w = this.opts.windowUs ?? 0;
    return {
      node: this.opts.node,
      correlation,
      stats: { underlay: this.stats.underlay?.result() ?? null, overlay: this.stats.overlay?.result() ?? null },
      diagnostics: this.diagnostics.result(),
      span: { underlay: u, overlay: o },
      disjoint: u !== null && o !== null && (u[1] + w < o[0] || o[1] + w < u[0]),
    };
  }
}

/** Two UDP port tables say the same for every port (compared once per table). */
function sameTable(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
