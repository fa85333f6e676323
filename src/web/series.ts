/**
 * Time series for the overview charts: packets/s and bytes/s per group (a VNI, or traffic that
 * is not tunnelled), for several captures on one time axis. Computed from the index in one pass
 * per capture; the bin width is a round number (1 ms … 1 h) giving at most `maxBins` bins.
 */
import { FLAG, type CaptureIndex } from './capture-index.js';

export interface SeriesSide {
  key: string;
  index: CaptureIndex;
  /** Subtracted from the capture's timestamps (clock offset of its node). */
  offsetUs: number;
  /** Group label of packet i. */
  groupOf: (i: number) => string;
}

export interface SeriesResult {
  t0Us: number;
  binUs: number;
  bins: number;
  sides: Record<string, { groups: Record<string, { packetsPerSec: number[]; bytesPerSec: number[]; packets: number; bytes: number }> }>;
}

const NICE_US = [1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 3e7, 6e7, 1.2e8, 3e8, 6e8, 1.8e9, 3.6e9];

export function niceBinUs(spanUs: number, maxBins: number): number {
  for (const b of NICE_US) if (spanUs / b <= maxBins) return b;
  return Math.ceil(spanUs / maxBins / 3.6e9) * 3.6e9;
}

/** A capture's extent on the session's time axis: its first and last timestamps, less its node's clock offset. */
export interface CaptureSpan {
  count: number;
  firstTsUs: number;
  lastTsUs: number;
  /** Clock offset of its node, subtracted from its timestamps. */
  offsetUs: number;
}

/**
 * The time axis every node's charts share, so kvm1's and kvm2's line up: from the earliest to
 * the latest packet of the session, each capture moved by its node's clock offset. Undefined
 * when no capture has a packet.
 */
export function sessionTimeAxis(spans: readonly CaptureSpan[]): { t0Us: number; t1Us: number } | undefined {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of spans) {
    if (s.count === 0) continue;
    t0 = Math.min(t0, s.firstTsUs - s.offsetUs);
    t1 = Math.max(t1, s.lastTsUs - s.offsetUs);
  }
  return Number.isFinite(t0) ? { t0Us: t0, t1Us: t1 } : undefined;
}

/** `range` fixes the time axis (e.g. the whole session's), otherwise it spans these captures. */
export function computeSeries(sides: SeriesSide[], maxBins = 120, range?: { t0Us: number; t1Us: number }): SeriesResult {
  let t0 = range ? range.t0Us : Infinity;
  let t1 = range ? range.t1Us : -Infinity;
  if (!range) for (const s of sides) {
    if (s.index.count === 0) continue;
    t0 = Math.min(t0, s.index.firstTsUs - s.offsetUs);
    t1 = Math.max(t1, s.index.lastTsUs - s.offsetUs);
  }
  if (!Number.isFinite(t0)) return { t0Us: 0, binUs: 1e6, bins: 0, sides: Object.fromEntries(sides.map((s) => [s.key, { groups: {} }])) };
  const binUs = niceBinUs(Math.max(1, t1 - t0), maxBins);
  t0 = Math.floor(t0 / binUs) * binUs;
  const bins = Math.max(1, Math.floor((t1 - t0) / binUs) + 1);
  const perSec = 1e6 / binUs;
  const result: SeriesResult = { t0Us: t0, binUs, bins, sides: {} };
  for (const s of sides) {
    const groups: SeriesResult['sides'][string]['groups'] = {};
    for (let i = 0; i < s.index.count; i++) {
      const b = Math.min(bins - 1, Math.max(0, Math.floor(((s.index.tsUs[i] as number) - s.offsetUs - t0) / binUs)));
      const label = s.groupOf(i);
      let g = groups[label];
      if (!g) g = groups[label] = { packetsPerSec: new Array<number>(bins).fill(0), bytesPerSec: new Array<number>(bins).fill(0), packets: 0, bytes: 0 };
      const len = s.index.wireLen[i] as number;
      g.packetsPerSec[b] = (g.packetsPerSec[b] as number) + perSec;
      g.bytesPerSec[b] = (g.bytesPerSec[b] as number) + len * perSec;
      g.packets++;
      g.bytes += len;
    }
    result.sides[s.key] = { groups };
  }
  return result;
}

/** Underlay packets: `VNI n`, or `not tunnelled`. */
export function underlayGroup(index: CaptureIndex): (i: number) => string {
  return (i) => (((index.flags[i] as number) & FLAG.tunnel) !== 0 ? `VNI ${index.vni[i]}` : 'underlay (not tunnelled)');
}

/** Bridge frames: the VNI of the VXLAN packet that carried them, or `stayed local`. */
export function overlayGroup(overlay: CaptureIndex, underlay: CaptureIndex | undefined): (i: number) => string {
  return (i) => {
    const m = overlay.match[i] as number;
    if (m > 0 && underlay && m <= underlay.count) return `VNI ${underlay.vni[m - 1]}`;
    return 'stayed on the node';
  };
}
