/**
 * The byte view at each hop of a frame's path, worked out from the server's answer (pure: tested
 * in Node). At each sighting the server sends the record's bytes and its layers' fields with their
 * byte ranges (src/decode/format/fields.ts, what the packet detail draws); this only lines them
 * up: where the guest's frame starts in each (after the outer headers on the underlay, at its
 * Ethernet header on the bridge), which bytes and fields differ between the sightings, and why.
 *
 * The guest's frame should cross byte for byte: what differs in it is a finding (checksum offload
 * on the sender's capture, or a frame that was changed). The outer headers exist only on the
 * underlay; between the two underlay sightings a router changes the TTL, the header checksum and
 * the outer MACs, while the outer IP id stays (it is one of what pairs the two sightings).
 */
import type { FrameView, LayerView, PathPointName, PathSightingBytes } from '../api-types.js';
import { bytesOf, colourClass, innerOffset, segmentsOf } from './detail-data.js';

export const HOP_POINTS: readonly PathPointName[] = ['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge'];

export const POINT_LABEL: Record<PathPointName, string> = {
  srcBridge: 'source bridge',
  srcUnderlay: 'source underlay',
  dstUnderlay: 'destination underlay',
  dstBridge: 'destination bridge',
};

/** Bytes per row of the hex view. */
export const ROW = 16;

export interface HopBytes {
  point: PathPointName;
  bytes: Uint8Array;
  frame: FrameView;
  /**
   * Where the guest's frame starts in these bytes: after the outer headers in a tunnelled packet,
   * at its Ethernet header on the bridge; null when there is none to line up (a cooked bridge
   * capture keeps no Ethernet header, a packet whose inner frame was not captured).
   */
  inner: number | null;
}

/** Where the guest's frame starts in a sighting, as HopBytes.inner says. */
export function innerStart(frame: FrameView): number | null {
  if (frame.tunnelled) return innerOffset(frame) ?? null;
  return frame.layers.find((l) => l.type === 'eth')?.offset ?? null;
}

export function hopBytes(point: PathPointName, b: PathSightingBytes): HopBytes {
  return { point, bytes: bytesOf(b.hex), frame: b.frame, inner: innerStart(b.frame) };
}

/** The layers of the wrapping (the outer headers of a tunnelled packet), and of the guest's frame. */
function partOf(h: HopBytes, l: LayerView): 'outer' | 'inner' | null {
  if (h.frame.tunnelled) return l.depth > 0 ? 'inner' : 'outer';
  return h.inner !== null && l.offset >= h.inner ? 'inner' : null;
}

/** "outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 = 50 bytes", or null for a frame that is not wrapped. */
export function wrappingLine(h: HopBytes): string | null {
  if (!h.frame.tunnelled || h.inner === null) return null;
  const outer = h.frame.layers.filter((l) => l.depth === 0);
  return `outer ${outer.map((l) => `${l.name} ${l.length}`).join(' + ')} = ${h.inner} bytes`;
}

/** The sentence above a hop's bytes: the frame wrapped (on the underlay) or as the guest sent it (on the bridge). */
export function hopLine(h: HopBytes): string {
  const len = h.frame.len;
  if (h.inner === null)
    return h.frame.tunnelled
      ? `${len} bytes: the inner frame was not captured`
      : `${len} bytes: no Ethernet header to line up (a cooked capture)`;
  const frameLen = len - h.inner;
  const wrap = wrappingLine(h);
  return wrap ? `wrapped: ${wrap} around the ${frameLen}-byte frame` : `the frame itself, ${frameLen} bytes: unwrapped`;
}

/** Which bytes differ between the sightings: of the guest's frame (k counted from its start), of the outer headers (between the two underlay sightings). */
export interface ByteDiffs {
  inner: Set<number>;
  outer: Set<number>;
}

export function byteDiffs(hops: readonly HopBytes[]): ByteDiffs {
  const inner = new Set<number>();
  const lined = hops.filter((h) => h.inner !== null);
  const longest = Math.max(0, ...lined.map((h) => h.bytes.length - (h.inner as number)));
  for (let k = 0; k < longest; k++) {
    let first: number | undefined;
    for (const h of lined) {
      // a byte past one capture's snaplen is not a difference: it was not captured
      const v = h.bytes[(h.inner as number) + k];
      if (v === undefined) continue;
      if (first === undefined) first = v;
      else if (v !== first) {
        inner.add(k);
        break;
      }
    }
  }
  const outer = new Set<number>();
  const under = hops.filter((h) => h.frame.tunnelled && h.inner !== null);
  const a = under[0];
  const b = under[1];
  if (a && b) {
    const end = Math.max(a.inner as number, b.inner as number);
    for (let i = 0; i < end; i++) if (i >= (a.inner as number) || i >= (b.inner as number) || a.bytes[i] !== b.bytes[i]) outer.add(i);
  }
  return { inner, outer };
}

/** One field of one sighting, named so the same field of another sighting has the same key. */
export interface HopField {
  key: string;
  part: 'outer' | 'inner';
  /** "outer IPv4 TTL", "inner TCP Checksum". */
  label: string;
  layerType: string;
  name: string;
  /** Its bytes in this sighting (inclusive). */
  from: number;
  to: number;
  value: string;
}

/** A sighting's fields, each keyed by part, layer (its type and how many of that type came before in the part) and name. */
export function hopFields(h: HopBytes): HopField[] {
  const out: HopField[] = [];
  const seenLayer = new Map<string, number>();
  for (const l of h.frame.layers) {
    const part = partOf(h, l);
    if (!part) continue;
    const lk = `${part}|${l.type}`;
    const lo = seenLayer.get(lk) ?? 0;
    seenLayer.set(lk, lo + 1);
    const seenName = new Map<string, number>();
    for (const f of l.fields) {
      const fo = seenName.get(f.name) ?? 0;
      seenName.set(f.name, fo + 1);
      out.push({
        key: `${lk}#${lo}|${f.name}#${fo}`,
        part,
        label: `${part} ${l.name} ${f.name}`,
        layerType: l.type,
        name: f.name,
        from: f.offset,
        to: f.offset + f.length - 1,
        value: f.value,
      });
    }
  }
  return out;
}

/** The field of a sighting that byte i is in, if any. */
export function fieldAt(fields: readonly HopField[], i: number): HopField | undefined {
  return fields.find((f) => i >= f.from && i <= f.to);
}

/** A field compared across the sightings. */
export interface FieldDiff {
  key: string;
  part: 'outer' | 'inner';
  label: string;
  values: Partial<Record<PathPointName, string>>;
  differs: boolean;
  why: string;
}

/** The outer fields shown even when they do not differ: the hop count, and the IP id that pairs the two underlay sightings. */
const ALWAYS: ReadonlySet<string> = new Set(['ipv4|Identification', 'ipv4|TTL', 'ipv6|Hop limit']);
const CHECKSUMS: ReadonlySet<string> = new Set(['tcp', 'udp', 'icmp', 'icmpv6']);

function why(f: HopField, differs: boolean, checksumOffload: boolean): string {
  const kind = `${f.layerType}|${f.name}`;
  if (f.part === 'outer') {
    if (kind === 'ipv4|Identification')
      return differs
        ? 'changed on the way (something re-sent the packet: a NAT, a tunnel endpoint): it is one of what pairs the two sightings'
        : 'the same on both underlays: with the UDP ports and the payload, it pairs the two sightings';
    if (kind === 'ipv4|TTL' || kind === 'ipv6|Hop limit')
      return differs ? 'each router between the VTEPs takes one off' : 'no router between the VTEPs: they share a link';
    if (kind === 'ipv4|Header checksum') return 'recomputed by each router, as the TTL changed';
    if (f.layerType === 'eth' && f.name.endsWith('MAC')) return 'the outer Ethernet header is per link: each router rewrites it';
    if (kind === 'udp|Checksum') return 'recomputed on the way (a NAT, or a checksum filled in by the NIC)';
    return 'changed on the underlay';
  }
  if (f.name === 'Checksum' && CHECKSUMS.has(f.layerType)) {
    return checksumOffload
      ? 'checksum offload: the sender leaves the checksum for the NIC to fill in, ' +
          'so its own capture sees it unfinished ("bad udp/tcp cksum"): not a loss, not a fault'
      : 'the checksum differs between sightings (offload on the sender, or the frame was changed)';
  }
  return "the guest's frame changed on the way: it should cross the tunnel byte for byte";
}

/**
 * The fields that differ between the sightings (of the guest's frame across all four, of the
 * outer headers between the two underlay ones), and the outer hop count and IP id whatever they
 * are; differing bytes of the frame outside any field (a payload no decoder names) as runs of bytes.
 */
export function fieldDiffs(hops: readonly HopBytes[], diffs: ByteDiffs, checksumOffload: boolean): FieldDiff[] {
  const rows = new Map<string, { f: HopField; values: Partial<Record<PathPointName, string>> }>();
  const covered = new Set<number>();
  for (const h of hops) {
    for (const f of hopFields(h)) {
      let r = rows.get(f.key);
      if (!r) rows.set(f.key, (r = { f, values: {} }));
      r.values[h.point] = f.value;
      if (f.part === 'inner' && h.inner !== null) for (let i = f.from; i <= f.to; i++) covered.add(i - h.inner);
    }
  }
  const out: FieldDiff[] = [];
  for (const { f, values } of rows.values()) {
    const differs = new Set(Object.values(values)).size > 1;
    if (!differs && !(f.part === 'outer' && ALWAYS.has(`${f.layerType}|${f.name}`))) continue;
    out.push({ key: f.key, part: f.part, label: f.label, values, differs, why: why(f, differs, checksumOffload) });
  }
  const loose = [...diffs.inner].filter((k) => !covered.has(k)).sort((a, b) => a - b);
  for (let a = 0; a < loose.length; ) {
    let z = a;
    while (z + 1 < loose.length && (loose[z + 1] as number) === (loose[z] as number) + 1) z++;
    const from = loose[a] as number;
    const to = loose[z] as number;
    const values: Partial<Record<PathPointName, string>> = {};
    for (const h of hops) {
      if (h.inner === null) continue;
      let v = '';
      for (let k = from; k <= to; k++) v += h.bytes[h.inner + k]?.toString(16).padStart(2, '0') ?? '';
      if (v) values[h.point] = `0x${v}`;
    }
    out.push({
      key: `inner|bytes|${from}-${to}`,
      part: 'inner',
      label: `inner frame bytes ${from === to ? from : `${from}–${to}`}`,
      values,
      differs: true,
      why: checksumOffload
        ? 'a checksum left for the NIC to fill in (checksum offload on the sender): not a loss, not a fault'
        : "the guest's frame changed on the way: it should cross the tunnel byte for byte",
    });
    a = z + 1;
  }
  // outer fields first, in header order; then the guest's frame's
  return [...out.filter((d) => d.part === 'outer'), ...out.filter((d) => d.part === 'inner')];
}

/** One byte of the hex view. */
export interface HexCell {
  /** Offset in the sighting's bytes. */
  i: number;
  /** Offset in the guest's frame, the same at every hop; null for the wrapping. */
  k: number | null;
  hex: string;
  /** Colour of its layer (as the packet detail's); the guest's frame striped at every hop, so it looks the same wherever it is. */
  cls: string;
  differs: boolean;
}

export interface HexRow {
  part: 'outer' | 'inner';
  /** Offset of the row's first byte: in the sighting's bytes for the wrapping, in the guest's frame for the rest (so the rows line up across hops). */
  label: string;
  cells: HexCell[];
}

/**
 * The rows of a sighting's hex view: the wrapping's rows, then the guest's frame's from a new
 * row, 16 bytes a row from its first byte, so byte k of the frame is at the same place in every
 * hop's view; at most `maxInnerRows` rows of the frame.
 */
export function hexRows(h: HopBytes, diffs: ByteDiffs, maxInnerRows = Infinity): HexRow[] {
  const segs = segmentsOf(h.frame, h.bytes.length);
  const cls: string[] = new Array<string>(h.bytes.length).fill('');
  for (const s of segs) {
    const inner = h.inner !== null && s.from >= h.inner;
    for (let i = s.from; i <= s.to && i < h.bytes.length; i++) cls[i] = colourClass(s.type, inner ? Math.max(1, s.depth) : s.depth);
  }
  const cell = (i: number, k: number | null): HexCell => ({
    i,
    k,
    hex: (h.bytes[i] as number).toString(16).padStart(2, '0'),
    cls: cls[i] ?? '',
    differs: k !== null ? diffs.inner.has(k) : h.frame.tunnelled && diffs.outer.has(i),
  });
  const rows: HexRow[] = [];
  const start = h.inner ?? h.bytes.length;
  for (let r = 0; r < start; r += ROW) {
    const cells: HexCell[] = [];
    for (let i = r; i < Math.min(r + ROW, start); i++) cells.push(cell(i, null));
    rows.push({ part: 'outer', label: r.toString(16).padStart(4, '0'), cells });
  }
  for (let k = 0, n = 0; start + k < h.bytes.length && n < maxInnerRows; k += ROW, n++) {
    const cells: HexCell[] = [];
    for (let j = k; j < k + ROW && start + j < h.bytes.length; j++) cells.push(cell(start + j, j));
    rows.push({ part: 'inner', label: k.toString(16).padStart(4, '0'), cells });
  }
  return rows;
}

/** Rows of the guest's frame a sighting has (for "show all"). */
export function innerRowCount(h: HopBytes): number {
  return h.inner === null ? 0 : Math.ceil(Math.max(0, h.bytes.length - h.inner) / ROW);
}
