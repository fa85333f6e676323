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
import { FLAG, MATCH_DIR, PROTO_NAMES, readRecords } from './capture-index.js';
import { filterIndex, parseFilter } from './filter.js';
import type { CaptureStore, StoredCapture } from './store.js';

export type { PacketDetail, PacketPage, PacketRow, PacketView } from './api-types.js';

export const MAX_PAGE = 500;

/** The filtered positions of a capture, cached per capture for the last filter text. */
const filterCache = new WeakMap<StoredCapture, { text: string; positions: Uint32Array; generation: number }>();

export function filteredPositions(c: StoredCapture, text: string, generation: number): Uint32Array {
  const cached = filterCache.get(c);
  if (cached && cached.text === text && cached.generation === generation) return cached.positions;
  const positions = filterIndex(c.index, parseFilter(text));
  filterCache.set(c, { text, positions, generation });
  return positions;
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

export async function packetPage(store: CaptureStore, c: StoredCapture, offset: number, limit: number, filter: string, generation: number): Promise<PacketPage> {
  const positions = filteredPositions(c, filter, generation);
  const slice = Array.from(positions.subarray(offset, offset + limit));
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
      frame: (ix.frame[i] as number) || i + 1,
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
  return { captureId: c.id, total: positions.length, all: ix.count, offset, filter, rows };
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
    else if (c.role === 'underlay' && ((c.index.flags[i] as number) & FLAG.tunnel) === 0) unmatched = 'not a VXLAN packet: the underlay\'s own traffic';
    else unmatched = 'not matched';
  }
  const copies: PacketDetail['copies'] = [];
  if (c.role === 'overlay' && partner && m > 0) {
    const u = partner.index;
    for (let k = 0; k < u.count && copies.length < 64; k++) if (u.match[k] === n) copies.push({ n: k + 1, vtep: formatIPv4(u.outerDst[k] as number) });
  }
  return { ...v, match, unmatched, copies: copies.length > 1 ? copies : [] };
}

/** 0-based row of packet n in the filtered list, or null when the filter hides it. */
export function positionOf(c: StoredCapture, n: number, filter: string, generation: number): number | null {
  const positions = filteredPositions(c, filter, generation);
  const target = n - 1;
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
