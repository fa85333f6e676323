/** The overview charts' time axis, from the series the server sends (pure: tested in Node). */
import type { SeriesResponse } from '../api-types.js';

type Axis = Pick<SeriesResponse, 'bins' | 'binUs' | 't0Us'>;

/** Each bin's start, in seconds since the axis' start: 2 decimals under 0.1 s bins, 1 under 1 s, 0 above. */
export function binLabels(s: Axis): string[] {
  const digits = s.binUs < 1e5 ? 2 : s.binUs < 1e6 ? 1 : 0;
  const labels: string[] = [];
  for (let b = 0; b < s.bins; b++) labels.push(((b * s.binUs) / 1e6).toFixed(digits));
  return labels;
}

/** A tick every this many bins: a round number of them (1, 2, 5, 10…), about ten ticks at most twelve. */
export function tickEvery(s: Axis): number {
  const spanUs = s.bins * s.binUs;
  let every = 1;
  for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) {
    every = m;
    if (spanUs / (m * s.binUs) <= 12) break;
  }
  return every;
}

/** The axis' start as UTC time of day, HH:MM:SS. */
export function axisStart(s: Axis): string {
  return new Date(s.t0Us / 1000).toISOString().slice(11, 19);
}

/** The VNI groups of every side ("VNI 10", "VNI 20"…), by number: the order colours are given in. */
export function vniOrder(s: Pick<SeriesResponse, 'sides'>): string[] {
  const labels = new Set<string>();
  for (const side of Object.values(s.sides)) for (const g of Object.keys(side.groups)) if (g.startsWith('VNI')) labels.add(g);
  return [...labels].sort((x, y) => Number(x.slice(4)) - Number(y.slice(4)));
}

// Okabe-Ito, in the order VNIs get them; fixed colours for the two non-VNI groups.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#F0E442', '#D55E00'] as const;
export const GROUP_COLOURS: Readonly<Record<string, string>> = { 'underlay (not tunnelled)': '#8a8a8a', 'stayed on the node': '#000000' };

export function groupColour(label: string, order: readonly string[]): string {
  const fixed = GROUP_COLOURS[label];
  if (fixed) return fixed;
  const i = order.indexOf(label);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length] as string;
}
