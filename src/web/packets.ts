/**
 * Pages of the packet list and one packet's detail, re-read from disk through the index.
 */
import { formatIPv4 } from '../decode/format/addr.js';
import { formatTimeOfDay } from '../decode/format/time.js';
import { packetFields } from '../decode/format/fields.js';
import { packetToJson } from '../decode/format/json.js';
import { summarizeLayers } from '../decode/format/text.js';
import { decodePacket } from '../decode/packet.js';
import { TUNNEL_TYPES, type DecodedPacket, type RawPacket } from '../decode/types.js';
import type { FrameView, PacketDetail, PacketPage, PacketRow, PacketView } from './api-types.js';
import { FLAG, MATCH_DIR, PROTO_NAMES, frameOf, readRecords } from './capture-index.js';
import { filterIndex, filterKey, parseFilterCached } from './filter.js';
import type { CaptureStore, StoredCapture } from './store.js';

export type { PacketDetail, PacketPage, PacketRow, PacketView } from './api-types.js';

export const MAX_PAGE = 500;

/**
 * The packets a filter selects in a capture: `positions` (0-based, ascending), or undefined when
 * it selects every packet (no filter, or one every packet passes): the page is then a plain
 * range of the index and no array of a million positions is made or kept.
 */
export interface Selection {
  total: number;
  positions: Uint32Array | undefined;
}

/** Filters kept per capture (most recently used last). */
const MAX_CACHED_FILTERS = 8;
const filterCache = new WeakMap<StoredCapture, Map<string, { selection: Selection; generation: number }>>();

/**
 * What `text` selects in `c`, computed once per filter and store generation (a capture that
 * grows, or gets its matches, changes the generation): the clients paging through a list ask
 * the cache, not the index. Several filters are kept per capture, so a client filtering by VNI
 * does not evict the list of another.
 */
export function selection(c: StoredCapture, text: string, generation: number): Selection {
  const terms = parseFilterCached(text);
  if (terms.length === 0) return { total: c.index.count, positions: undefined };
  const key = filterKey(terms);
  let perCapture = filterCache.get(c);
  if (!perCapture) filterCache.set(c, (perCapture = new Map()));
  const hit = perCapture.get(key);
  if (hit && hit.generation === generation) {
    perCapture.delete(key);
    perCapture.set(key, hit);
    return hit.selection;
  }
  const positions = filterIndex(c.index, terms);
  const all = positions.length === c.index.count;
  const sel: Selection = { total: positions.length, positions: all ? undefined : positions };
  perCapture.delete(key);
  if (perCapture.size >= MAX_CACHED_FILTERS) perCapture.delete(perCapture.keys().next().value as string);
  perCapture.set(key, { selection: sel, generation });
  return sel;
}

/** The positions of rows offset … offset + limit of a selection. */
function pageOf(sel: Selection, offset: number, limit: number): number[] {
  const end = Math.min(sel.total, offset + limit);
  const out: number[] = [];
  for (let k = offset; k < end; k++) out.push(sel.positions ? (sel.positions[k] as number) : k);
  return out;
}

function flagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & FLAG.truncated) out.push('truncated');
  if (flags & FLAG.malformed) out.push('malformed');
  if (flags & FLAG.outerFragment) out.push('fragment');
  if (flags & FLAG.warning) out.push('warning');
  if (flags & FLAG.nonStandardPort) out.push('non-standard port');
  return out;
}

function decode(store: CaptureStore, raw: RawPacket, n: number): DecodedPacket {
  return decodePacket(raw, n, { registry: store.registry });
}

export async function packetPage(
  store: CaptureStore,
  c: StoredCapture,
  offset: number,
  limit: number,
  filter: string,
  generation: number,
): Promise<PacketPage> {
  const sel = selection(c, filter, generation);
  const slice = pageOf(sel, offset, limit);
  const raws = await readRecords(c.index, slice);
  const ix = c.index;
  const rows: PacketRow[] = [];
  for (const i of slice) {
    const raw = raws.get(i);
    if (!raw) continue;
    const p = decode(store, raw, i + 1);
    const vni = ix.vni[i] as number;
    const m = ix.match[i] as number;
    rows.push({
      n: i + 1,
      frame: frameOf(ix, i),
      time: formatTimeOfDay(raw),
      tsUs: ix.tsUs[i] as number,
      len: raw.len,
      caplen: raw.caplen,
      vni: vni >= 0 ? vni : null,
      proto: PROTO_NAMES[ix.proto[i] as number] ?? 'other',
      summary: summarizeLayers(p.layers) || `link type ${raw.linkType}`,
      match: m > 0 ? m : null,
      flags: flagNames(ix.flags[i] as number),
    });
  }
  return { captureId: c.id, total: sel.total, all: ix.count, offset, filter, rows };
}

function hex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** The decoded frame as the page draws it: each layer's fields with their bytes, built here once. */
export function frameView(p: DecodedPacket): FrameView {
  return {
    len: p.raw.len,
    caplen: p.raw.caplen,
    truncated: p.truncated === true,
    warnings: p.warnings ? [...p.warnings] : [],
    error: p.error ? { ...p.error } : null,
    tunnelled: p.layers.some((l) => TUNNEL_TYPES.has(l.type)),
    layers: packetFields(p),
  };
}

async function view(store: CaptureStore, c: StoredCapture, i: number): Promise<PacketView | undefined> {
  const raw = (await readRecords(c.index, [i])).get(i);
  if (!raw) return undefined;
  const p = decode(store, raw, i + 1);
  return {
    capture: { id: c.id, name: c.name, role: c.role, node: c.node },
    n: i + 1,
    time: formatTimeOfDay(raw),
    summary: summarizeLayers(p.layers),
    packet: packetToJson(p),
    frame: frameView(p),
    hex: hex(raw.data),
  };
}

export async function packetDetail(store: CaptureStore, c: StoredCapture, n: number): Promise<PacketDetail | undefined> {
  const i = n - 1;
  const v = await view(store, c, i);
  if (!v) return undefined;
  const partner = store.partner(c);
  const m = c.index.match[i] as number;
  let match: PacketDetail['match'] = null;
  let unmatched: string | null = null;
  if (partner && m > 0) {
    const pv = await view(store, partner, m - 1);
    if (pv) {
      const node = store.node(c.node);
      const off = node?.overlayClockOffsetUs ?? 0;
      const tU = c.role === 'underlay' ? (c.index.tsUs[i] as number) : (partner.index.tsUs[m - 1] as number);
      const tO = (c.role === 'overlay' ? (c.index.tsUs[i] as number) : (partner.index.tsUs[m - 1] as number)) + off;
      const deltaUs = Math.round((tU - tO) * 10) / 10;
      // the correlator's direction (from the node's VTEP), never the sign of the time difference:
      // the two sightings of a received frame often carry the same timestamp on Linux
      const dir = c.index.dir[i] as number;
      match = { ...pv, deltaUs, direction: dir === MATCH_DIR.decap ? 'decap' : 'encap' };
    }
  } else {
    const a = store.node(c.node)?.analysis;
    const list = c.role === 'underlay' ? a?.unmatchedUnderlay : a?.unmatchedOverlay;
    const found = list?.find((x) => x.n === n);
    if (!partner) unmatched = `no ${c.role === 'underlay' ? 'bridge' : 'underlay'} capture for node ${c.node}`;
    else if (found) unmatched = found.reason;
    else if (c.role === 'underlay' && ((c.index.flags[i] as number) & FLAG.tunnel) === 0)
      unmatched = "not a VXLAN packet: the underlay's own traffic";
    else unmatched = 'not matched';
  }
  const copies: PacketDetail['copies'] = [];
  if (c.role === 'overlay' && partner && m > 0) {
    const u = partner.index;
    for (const k of floodCopies(partner, store.generation).get(n) ?? [])
      copies.push({ n: k + 1, vtep: formatIPv4(u.ipTable[u.outerDstId[k] as number] as number) });
  }
  return { ...v, match, unmatched, copies: copies.length > 1 ? copies : [] };
}

/** Most copies of one flooded frame listed in its detail. */
const MAX_COPIES = 64;
const copiesCache = new WeakMap<StoredCapture, { generation: number; lists: Map<number, number[]> }>();

/**
 * For an underlay capture: each bridge frame (1-based n) that several VXLAN packets carried
 * (a flood), with those packets' 0-based positions. Found in two passes over the match column
 * once per store generation, so a packet's detail never scans the capture.
 */
function floodCopies(u: StoredCapture, generation: number): Map<number, number[]> {
  const hit = copiesCache.get(u);
  if (hit && hit.generation === generation) return hit.lists;
  const { match, count } = u.index;
  let max = 0;
  for (let k = 0; k < count; k++) if ((match[k] as number) > max) max = match[k] as number;
  const seen = new Uint8Array(max + 1);
  for (let k = 0; k < count; k++) {
    const n = match[k] as number;
    if (n > 0 && (seen[n] as number) < 2) seen[n] = (seen[n] as number) + 1;
  }
  const lists = new Map<number, number[]>();
  for (let k = 0; k < count; k++) {
    const n = match[k] as number;
    if (n <= 0 || seen[n] !== 2) continue;
    let list = lists.get(n);
    if (!list) lists.set(n, (list = []));
    if (list.length < MAX_COPIES) list.push(k);
  }
  copiesCache.set(u, { generation, lists });
  return lists;
}

/** 0-based row of packet n in the filtered list, or null when the filter hides it. */
export function positionOf(c: StoredCapture, n: number, filter: string, generation: number): number | null {
  const { positions, total } = selection(c, filter, generation);
  const target = n - 1;
  if (!positions) return target >= 0 && target < total ? target : null;
  let lo = 0;
  let hi = positions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = positions[mid] as number;
    if (v === target) return mid;
    if (v < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}
