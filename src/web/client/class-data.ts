/**
 * The class dashboard's figures and words, without the DOM (tested in Node): how a verdict is
 * marked (a symbol and a word as well as a colour, so it reads without colour), how long ago a
 * check was, traffic rates, the board kept up to date by the server's events, and the address of
 * a group's own page.
 */
import type { ClassBoardResponse, ClassCellStatus, ClassEvents, ClassGroupRow, VniRateView } from '../class-types.js';

/** Symbol and word per verdict; the colour (class.css) only repeats them. */
export const MARKS: Readonly<Record<ClassCellStatus, { symbol: string; word: string; label: string }>> = {
  pass: { symbol: '✓', word: 'ok', label: 'passes' },
  warn: { symbol: '!', word: 'warn', label: 'warning' },
  fail: { symbol: '✗', word: 'FAIL', label: 'fails' },
  error: { symbol: '?', word: 'ERR', label: 'could not be checked' },
};

/** `just now`, `12 s ago`, `3 min ago`, `2 h 05 min ago`; `in the future` is said as just now (clocks differ). */
export function agoText(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 2) return 'just now';
  if (s < 120) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min ago`;
}

/** Packets per second, short: `0`, `0.4`, `12`, `1.3k`, `2.1M`; `—` when there is no rate yet. */
export function rateText(perSec: number | null): string {
  if (perSec === null || !Number.isFinite(perSec)) return '—';
  if (perSec === 0) return '0';
  if (perSec < 10) return perSec.toFixed(1);
  if (perSec < 1000) return String(Math.round(perSec));
  if (perSec < 1e6) return `${(perSec / 1000).toFixed(1)}k`;
  return `${(perSec / 1e6).toFixed(1)}M`;
}

/** One VNI's traffic as the grid says it, under a "packets/s" header: `10: rx 12 · tx 12`. */
export function vniText(v: VniRateView): string {
  return `${v.vni}: rx ${rateText(v.rxPerSec)} · tx ${rateText(v.txPerSec)}`;
}

/** The words behind a VNI's figures (a tooltip): totals, and what the rates are. */
export function vniTitle(v: VniRateView): string {
  const rate = v.rxPerSec === null ? 'no rate yet (it needs two checks)' : 'packets per second since the previous check';
  return `VNI ${v.vni}: ${v.rxPackets} packets received from the tunnel, ${v.txPackets} sent into it (all nodes, since the devices were made); ${rate}`;
}

/** A VNI sends but nothing arrives: packets go into the tunnel and none come out anywhere. */
export function vniSilent(v: VniRateView): boolean {
  return v.txPerSec !== null && v.rxPerSec !== null && v.txPerSec > 0 && v.rxPerSec === 0;
}

/** The board after a server event (a new object: the old one is not changed). */
export function applyEvent<K extends keyof ClassEvents>(
  board: ClassBoardResponse | null,
  kind: K,
  data: ClassEvents[K],
): ClassBoardResponse | null {
  if (kind === 'hello') return data as ClassEvents['hello'];
  if (!board) return board;
  if (kind === 'checking') {
    const e = data as ClassEvents['checking'];
    return { ...board, now: e.now, groups: board.groups.map((g) => (g.group === e.group ? { ...g, checking: true } : g)) };
  }
  const e = data as ClassEvents['group'];
  const known = board.groups.some((g) => g.group === e.row.group);
  return {
    ...board,
    now: e.now,
    columns: e.columns,
    groups: known ? board.groups.map((g) => (g.group === e.row.group ? e.row : g)) : [...board.groups, e.row],
  };
}

/** The server's clock minus this one's, from a `now` the server just sent. */
export function skewMs(serverNowIso: string, localNowMs: number): number {
  const t = Date.parse(serverNowIso);
  return Number.isFinite(t) ? t - localNowMs : 0;
}

/** How long ago the group's latest check ended, by the server's clock; null before the first. */
export function sinceChecked(row: ClassGroupRow, localNowMs: number, skew: number): number | null {
  if (!row.last) return null;
  const end = Date.parse(row.last.checkedAt) + row.last.durationMs;
  return Number.isFinite(end) ? Math.max(0, localNowMs + skew - end) : null;
}

/** What is not a pass in the group's latest check, one line per cell (the reasons shown under the grid). */
export function problems(row: ClassGroupRow, columns: readonly string[]): { status: ClassCellStatus; check: string; detail: string }[] {
  const last = row.last;
  if (!last) return [];
  const out: { status: ClassCellStatus; check: string; detail: string }[] = [];
  if (last.error !== undefined) out.push({ status: 'error', check: 'group', detail: last.error });
  const names = [...columns, ...Object.keys(last.cells).filter((c) => !columns.includes(c))];
  for (const c of names) {
    const cell = last.cells[c];
    if (cell && cell.status !== 'pass') out.push({ status: cell.status, check: c, detail: cell.detail });
  }
  return out;
}

/** Counts of groups per verdict (a group not checked yet is `pending`). */
export function tally(board: ClassBoardResponse): Record<ClassCellStatus | 'pending', number> {
  const t = { pass: 0, warn: 0, fail: 0, error: 0, pending: 0 };
  for (const g of board.groups) t[g.last ? g.last.status : 'pending']++;
  return t;
}

/**
 * The group's own page: its port on the host the dashboard was opened by (so it works through
 * whatever name or address the browser used), with the token in the fragment, which the browser
 * never sends to a server.
 */
export function groupViewUrl(loc: { protocol: string; hostname: string }, port: number, token: string | null): string {
  const host = loc.hostname.includes(':') && !loc.hostname.startsWith('[') ? `[${loc.hostname}]` : loc.hostname;
  return `${loc.protocol}//${host}:${port}/${token ? `#token=${encodeURIComponent(token)}` : ''}`;
}
