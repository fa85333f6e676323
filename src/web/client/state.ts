/** The page's state, every field declared. `window.vxi` shows it (the browser tests read it). */
import type { LiveCaptureStatus, LiveStatsEvent, NodeEntry, PacketRow, SessionResponse, Side } from '../api-types.js';

export type View = 'overview' | 'packets' | 'path' | 'topology' | 'diagnostics';
export const VIEWS: readonly View[] = ['overview', 'packets', 'path', 'topology', 'diagnostics'];
export const SIDES: readonly Side[] = ['underlay', 'overlay'];
/** Rows per page of a packet list. */
export const PAGE = 100;

export interface ListState {
  offset: number;
  filter: string;
  total: number;
  rows: PacketRow[];
}

export interface PacketRef {
  side: Side;
  n: number;
}

/** A live capture as the Live panel lists it. */
export interface LiveEntry extends LiveCaptureStatus {
  /** The latest figures per interface. */
  stats: Record<string, LiveStatsEvent>;
  /** Set when it ended: whether it ended well. */
  ok?: boolean;
}

/** The two detail panels of a matched pair: hovering bytes in one lights them in the other. */
export interface Mirror {
  bridge: HTMLElement;
  underlay: HTMLElement;
  /** Bytes of outer headers before the inner frame. */
  shift: number;
}

export interface State {
  session: SessionResponse | null;
  node: string | null;
  view: View;
  token: string | null;
  lists: Record<Side, ListState>;
  /** The packet shown in the main detail panel, and the same frame on the other side. */
  selected: PacketRef | null;
  linked: PacketRef | null;
  /** A row to scroll into view once its list is drawn. */
  scrollTo: PacketRef | null;
  /** Counts packet selections: only the latest one's answer is drawn. */
  selectSeq: number;
  mirror: Mirror | null;
  /** A refresh asked for by a server event, pending. */
  refreshTimer: ReturnType<typeof setTimeout> | null;
  live: Map<string, LiveEntry>;
}

function emptyList(): ListState {
  return { offset: 0, filter: '', total: 0, rows: [] };
}

export const state: State = {
  session: null,
  node: null,
  view: 'overview',
  token: null,
  lists: { underlay: emptyList(), overlay: emptyList() },
  selected: null,
  linked: null,
  scrollTo: null,
  selectSeq: 0,
  mirror: null,
  refreshTimer: null,
  live: new Map(),
};

/** Back to the first page, no filter, on both lists. */
export function resetLists(): void {
  for (const s of SIDES) Object.assign(state.lists[s], { offset: 0, filter: '' });
}

export function currentNode(): NodeEntry | null {
  return state.session?.nodes.find((n) => n.name === state.node) ?? null;
}
