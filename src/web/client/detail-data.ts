/**
 * What the packet detail draws, worked out from the server's answer (pure: tested in Node).
 * The server knows the protocols (each field's bytes, value, explanation:
 * src/decode/format/fields.ts); this only lays them out: the layer bar's segments, the field
 * table's rows, the titles.
 */
import type { FieldView, FrameView, LayerView } from '../api-types.js';

/** The frame's bytes from the API's hex text. */
export function bytesOf(hex: string): Uint8Array {
  const out = new Uint8Array(Math.floor(hex.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Hex digits of bytes from..to (inclusive), space separated: "08 00 00". */
export function hexBytes(bytes: Uint8Array, from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i <= to && i < bytes.length; i++) parts.push((bytes[i] as number).toString(16).padStart(2, '0'));
  return parts.join(' ');
}

/** One stretch of the layer bar and the hex dump: a layer's header, or the payload after the last. */
export interface Segment {
  /** Index of the layer (the payload's is the number of layers). */
  index: number;
  type: string;
  name: string;
  depth: number;
  from: number;
  /** Inclusive. */
  to: number;
}

export function segmentsOf(frame: FrameView, byteLength: number): Segment[] {
  const layers = frame.layers;
  const segs: Segment[] = layers.map((l, i) => ({
    index: i,
    type: l.type,
    name: l.name,
    depth: l.depth,
    from: l.offset,
    to: l.offset + l.length - 1,
  }));
  const last = layers[layers.length - 1];
  const payloadStart = last ? last.offset + last.length : 0;
  if (payloadStart < byteLength)
    segs.push({
      index: layers.length,
      type: 'payload',
      name: 'Payload',
      depth: last ? last.depth : 0,
      from: payloadStart,
      to: byteLength - 1,
    });
  return segs;
}

/** "inner Ethernet", "VXLAN" — the label on a segment of the layer bar. */
export function segmentLabel(s: Segment): string {
  return `${s.depth > 0 ? 'inner ' : ''}${s.name}`;
}

/** The tooltip of a segment. */
export function segmentTitle(s: Segment): string {
  return `${s.name}${s.depth > 0 ? ' (inner)' : ''}: bytes ${s.from}–${s.to} (${s.to - s.from + 1})`;
}

/** Class names of a layer's colour: `c-vxlan`, `c-eth inner`… */
export function colourClass(type: string, depth: number): string {
  return `c-${type}${depth > 0 ? ' inner' : ''}`;
}

/** The title of a layer's section: "Outer IPv4", "Inner Ethernet", "ARP". */
export function layerTitle(l: LayerView, tunnelled: boolean): string {
  return `${l.depth > 0 ? 'Inner ' : tunnelled ? 'Outer ' : ''}${l.name}`;
}

/** What follows the title: its bytes, and what it carries. */
export function layerSubtitle(l: LayerView): string {
  return ` — bytes ${l.offset}–${l.offset + l.length - 1} (${l.length})${l.describe}`;
}

/** Open at first: the VXLAN header; without a tunnel, the first and the last layer. */
export function layerOpen(frame: FrameView, i: number): boolean {
  const l = frame.layers[i];
  if (!l) return false;
  if (l.type === 'vxlan') return true;
  return !frame.tunnelled && (i === frame.layers.length - 1 || (l.depth === 0 && i === 0));
}

export interface FieldRow {
  from: number;
  /** Inclusive. */
  to: number;
  /** "46–48", or "14" for one byte. */
  range: string;
  name: string;
  value: string;
  explain: string;
  /** The bytes themselves, for fields of up to 6 bytes; "" for longer ones. */
  hex: string;
}

export function fieldRow(fd: FieldView, bytes: Uint8Array): FieldRow {
  const from = fd.offset;
  const to = fd.offset + fd.length - 1;
  return {
    from,
    to,
    range: from === to ? `${from}` : `${from}–${to}`,
    name: fd.name,
    value: fd.value,
    explain: fd.explain,
    hex: to - from < 6 ? hexBytes(bytes, from, to) : '',
  };
}

/** Where the inner frame starts in a tunnelled packet (the outer headers' length), if it has one. */
export function innerOffset(frame: FrameView): number | undefined {
  return frame.layers.find((l) => l.depth === 1)?.offset;
}

/** The sentence under a tunnelled packet's summary. */
export function encapsulationLine(frame: FrameView, byteLength: number): string | undefined {
  if (!frame.tunnelled) return undefined;
  const inner = innerOffset(frame);
  return inner === undefined
    ? undefined
    : `Encapsulation: ${inner} bytes of outer headers around a ${byteLength - inner}-byte inner frame.`;
}

/**
 * The same bytes on the other panel: the bridge frame is the underlay packet's inner frame,
 * `shift` bytes (the outer headers) further on. Undefined when the bytes are outer headers,
 * which the bridge frame does not have.
 */
export function mirrorRange(fromBridge: boolean, from: number, to: number, shift: number): { from: number; to: number } | undefined {
  const s = fromBridge ? shift : -shift;
  const a = Math.max(0, from + s);
  const b = to + s;
  if (b < a || (!fromBridge && to < shift)) return undefined;
  return { from: a, to: b };
}
