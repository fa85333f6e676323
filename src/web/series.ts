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

/**
 * A grouping the series can compute as numbers: a group id per packet (a VNI, or OTHER), read
 * straight from the index's columns, and the label of each id. underlayGroup and overlayGroup
 * carry one, so a chart over a million packets makes no string per packet.
 */
export interface NumericGrouping {
  /** Group id of packet i: a VNI (≥ -1), or OTHER. */
  id(i: number): number;
  /** The label of a group id (the same text groupOf gives). */
  label(id: number): string;
  /** The columns the ids are read from: a result computed over the same columns is reused. */
  columns: readonly object[];
}

/** The group id of packets outside every VNI (untunnelled, or frames that stayed on the node). */
const OTHER = -2;

export type GroupOf = ((i: number) => string) & { numeric?: NumericGrouping };

/** Results kept for the same columns and axis (a finished capture's charts are computed once). */
const MAX_CACHED = 16;
// Weak: the cache never keeps the columns of a capture the store has let go.
const cache: { columns: readonly WeakRef<object>[]; key: string; result: SeriesResult }[] = [];

function cachedSeries(columns: readonly object[], key: string): SeriesResult | undefined {
  for (const e of cache) {
    if (e.key === key && e.columns.length === columns.length && e.columns.every((x, k) => x.deref() === columns[k])) return e.result;
  }
  return undefined;
}

/** `range` fixes the time axis (e.g. the whole session's), otherwise it spans these captures. */
export function computeSeries(sides: SeriesSide[], maxBins = 120, range?: { t0Us: number; t1Us: number }): SeriesResult {
  const numeric = sides.every((x) => (x.groupOf as GroupOf).numeric !== undefined);
  // the columns read, and everything else the result depends on: a finished capture's columns
  // never change (a live one gets new arrays as it grows), so the same ones give the same result
  const columns = numeric
    ? sides.flatMap((x) => [x.index.tsUs, x.index.wireLen, ...((x.groupOf as GroupOf).numeric as NumericGrouping).columns])
    : [];
  const key = JSON.stringify([
    maxBins,
    range ?? null,
    sides.map((x) => [x.key, x.offsetUs, x.index.count, x.index.firstTsUs, x.index.lastTsUs]),
  ]);
  if (numeric) {
    const hit = cachedSeries(columns, key);
    if (hit) return hit;
  }
  const result = seriesOf(sides, maxBins, range);
  if (numeric) {
    if (cache.length >= MAX_CACHED) cache.shift();
    cache.push({ columns: columns.map((x) => new WeakRef(x)), key, result });
  }
  return result;
}

type Groups = SeriesResult['sides'][string]['groups'];

function seriesOf(sides: SeriesSide[], maxBins: number, range?: { t0Us: number; t1Us: number }): SeriesResult {
  let t0 = range ? range.t0Us : Infinity;
  let t1 = range ? range.t1Us : -Infinity;
  if (!range)
    for (const s of sides) {
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
    const g = (s.groupOf as GroupOf).numeric;
    result.sides[s.key] = { groups: g ? numericGroups(s, g, t0, binUs, bins, perSec) : labelledGroups(s, t0, binUs, bins, perSec) };
  }
  return result;
}

/** Any grouping: a label per packet. */
function labelledGroups(s: SeriesSide, t0: number, binUs: number, bins: number, perSec: number): Groups {
  const groups: Groups = {};
  for (let i = 0; i < s.index.count; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((s.index.tsUs[i] as number) - s.offsetUs - t0) / binUs)));
    const label = s.groupOf(i);
    let g = groups[label];
    if (!g)
      g = groups[label] = {
        packetsPerSec: new Array<number>(bins).fill(0),
        bytesPerSec: new Array<number>(bins).fill(0),
        packets: 0,
        bytes: 0,
      };
    const len = s.index.wireLen[i] as number;
    g.packetsPerSec[b] = (g.packetsPerSec[b] as number) + perSec;
    g.bytesPerSec[b] = (g.bytesPerSec[b] as number) + len * perSec;
    g.packets++;
    g.bytes += len;
  }
  return groups;
}

/**
 * A numeric grouping: the same sums in the same order as labelledGroups (so the same figures to
 * the last bit), into typed bins per group id, the labels made once per group.
 */
function numericGroups(s: SeriesSide, grouping: NumericGrouping, t0: number, binUs: number, bins: number, perSec: number): Groups {
  interface Acc {
    pps: Float64Array;
    bps: Float64Array;
    packets: number;
    bytes: number;
  }
  const byId = new Map<number, Acc>();
  const { tsUs, wireLen, count } = s.index;
  const off = s.offsetUs;
  let lastId = NaN;
  let acc: Acc | undefined;
  for (let i = 0; i < count; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((tsUs[i] as number) - off - t0) / binUs)));
    const id = grouping.id(i);
    if (id !== lastId || acc === undefined) {
      acc = byId.get(id);
      if (!acc) byId.set(id, (acc = { pps: new Float64Array(bins), bps: new Float64Array(bins), packets: 0, bytes: 0 }));
      lastId = id;
    }
    const len = wireLen[i] as number;
    acc.pps[b] = (acc.pps[b] as number) + perSec;
    acc.bps[b] = (acc.bps[b] as number) + len * perSec;
    acc.packets++;
    acc.bytes += len;
  }
  const groups: Groups = {};
  for (const [id, a] of byId)
    groups[grouping.label(id)] = { packetsPerSec: Array.from(a.pps), bytesPerSec: Array.from(a.bps), packets: a.packets, bytes: a.bytes };
  return groups;
}

/** Underlay packets: `VNI n`, or `not tunnelled`. */
export function underlayGroup(index: CaptureIndex): GroupOf {
  const { flags, vni } = index;
  const id = (i: number): number => (((flags[i] as number) & FLAG.tunnel) !== 0 ? (vni[i] as number) : OTHER);
  const label = (g: number): string => (g === OTHER ? 'underlay (not tunnelled)' : `VNI ${g}`);
  return Object.assign((i: number) => label(id(i)), { numeric: { id, label, columns: [flags, vni] } });
}

/** Bridge frames: the VNI of the VXLAN packet that carried them, or `stayed local`. */
export function overlayGroup(overlay: CaptureIndex, underlay: CaptureIndex | undefined): GroupOf {
  const { match } = overlay;
  const uvni = underlay?.vni;
  const ucount = underlay?.count ?? 0;
  const id = (i: number): number => {
    const m = match[i] as number;
    return m > 0 && uvni && m <= ucount ? (uvni[m - 1] as number) : OTHER;
  };
  const label = (g: number): string => (g === OTHER ? 'stayed on the node' : `VNI ${g}`);
  return Object.assign((i: number) => label(id(i)), { numeric: { id, label, columns: uvni ? [match, uvni] : [match] } });
}
