/** Numbers, sizes and durations as the page writes them (pure: tested in Node). */
import type { CaptureSummary, MatchDirection, Side } from '../api-types.js';

export function fmtNum(n: number): string {
  return Number(n).toLocaleString('en-US');
}

export function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

/** Microseconds as µs, ms or s; "–" when there is no figure (nothing matched). */
export function fmtUs(us: number | null | undefined): string {
  if (us === null || us === undefined) return '–';
  const a = Math.abs(us);
  if (a >= 1e6) return `${(us / 1e6).toFixed(3)} s`;
  if (a >= 1e3) return `${(us / 1e3).toFixed(2)} ms`;
  return `${Math.round(us * 10) / 10} µs`;
}

/** "Underlay eth1", "Bridge vxlan_bridge". */
export function sideLabel(c: Pick<CaptureSummary, 'role' | 'iface'> | null | undefined): string {
  if (!c) return '';
  return c.role === 'underlay' ? `Underlay ${c.iface ?? ''}`.trim() : `Bridge ${c.iface ?? ''}`.trim();
}

/**
 * The line that links a packet to the same frame on the other side. The direction is the
 * correlator's (`match.direction`, from the node's VTEP), never the sign of the time
 * difference: on Linux both sightings of a received frame often carry the same timestamp.
 */
export function matchLine(side: Side, match: { n: number; direction: MatchDirection; deltaUs: number }): string {
  const dir = match.direction === 'encap' ? 'encapsulated' : 'decapsulated';
  const gap = Math.abs(match.deltaUs);
  const same = gap < 0.5;
  const when =
    side === 'overlay'
      ? match.direction === 'encap'
        ? same
          ? 'sent on the underlay in the same microsecond'
          : `sent on the underlay ${fmtUs(gap)} later`
        : same
          ? 'arrived on the underlay in the same microsecond'
          : `arrived on the underlay ${fmtUs(gap)} earlier`
      : match.direction === 'encap'
        ? same
          ? 'left the bridge in the same microsecond'
          : `left the bridge ${fmtUs(gap)} earlier`
        : same
          ? 'reached the bridge in the same microsecond'
          : `reached the bridge ${fmtUs(gap)} later`;
  return side === 'overlay'
    ? `Carried on the underlay by packet #${match.n} (${dir}: ${when}).`
    : `This is bridge frame #${match.n}, ${dir} (${when}).`;
}
