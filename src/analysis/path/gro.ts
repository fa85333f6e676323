/**
 * GRO on the receiver: the kernel merges consecutive TCP segments of one flow into one larger
 * frame before the bridge sees it, so the destination's underlay shows several VXLAN packets and
 * its bridge one frame whose bytes equal none of them. Each segment is still delivered: its
 * sequence range lies inside the merged frame's. This module reads a TCP segment's flow and
 * sequence range from a frame's bytes, and keeps the destination bridge's unmatched TCP frames
 * for a while, so an arrival no bridge frame matched can be looked up in them.
 *
 *   Ethernet (802.1Q tags skipped) | IPv4 (no fragment) or IPv6 (next header TCP) | TCP | payload
 *
 * Every read is checked against the captured bytes; a frame cut short by the snaplen still has
 * its headers, and the payload length comes from the IP header, not from what was captured.
 */
import { Fifo } from '../../correlate/queue.js';

/** A TCP segment: its flow (a hash of the addresses and ports) and its sequence range. */
export interface TcpSpan {
  flow: number;
  seq: number;
  /** Payload bytes (from the IP header's length). */
  len: number;
}

function u16(d: Uint8Array, at: number): number {
  return ((d[at] as number) << 8) | (d[at + 1] as number);
}

function u32(d: Uint8Array, at: number): number {
  return u16(d, at) * 65536 + u16(d, at + 2);
}

/** FNV-1a over bytes [from, to) on top of `h`: a flow key costs no string per frame (a 1M-frame capture reads them all). */
function fnv(h: number, d: Uint8Array, from: number, to: number): number {
  let x = h;
  for (let i = from; i < to; i++) x = Math.imul(x ^ (d[i] as number), 0x01000193);
  return x >>> 0;
}

/**
 * The TCP segment a frame carries, or undefined. `fromNetwork`: the bytes start at the IP header
 * (a Linux cooked bridge capture), else at the Ethernet header.
 */
export function tcpSegmentOf(d: Uint8Array, fromNetwork = false): TcpSpan | undefined {
  let at = 0;
  if (!fromNetwork) {
    if (d.length < 14) return undefined;
    let type = u16(d, 12);
    at = 14;
    while ((type === 0x8100 || type === 0x88a8) && at + 4 <= d.length) {
      type = u16(d, at + 2);
      at += 4;
    }
    if (type !== 0x0800 && type !== 0x86dd) return undefined;
  }
  if (at + 1 > d.length) return undefined;
  const version = (d[at] as number) >> 4;
  let flow: number;
  let ipLen: number;
  let l4: number;
  if (version === 4) {
    if (at + 20 > d.length) return undefined;
    const ihl = ((d[at] as number) & 0x0f) * 4;
    const fragment = u16(d, at + 6) & 0x3fff; // more fragments, or an offset: not a whole segment
    if (ihl < 20 || fragment !== 0 || d[at + 9] !== 6) return undefined;
    flow = fnv(0x811c9dc5, d, at + 12, at + 20);
    ipLen = u16(d, at + 2);
    l4 = at + ihl;
  } else if (version === 6) {
    if (at + 40 > d.length || d[at + 6] !== 6) return undefined;
    flow = fnv(0x811c9dc5, d, at + 8, at + 40);
    ipLen = u16(d, at + 4) + 40;
    l4 = at + 40;
  } else return undefined;
  if (l4 + 20 > d.length) return undefined;
  const tcpLen = ((d[l4 + 12] as number) >> 4) * 4;
  const len = ipLen - (l4 - at) - tcpLen;
  if (tcpLen < 20 || len < 0) return undefined;
  return { flow: fnv(flow, d, l4, l4 + 4), seq: u32(d, l4 + 4), len };
}

/** The first `len` bytes from `seq` lie inside the `into` segment (sequence numbers wrap at 2^32). */
export function coveredBy(seq: number, len: number, into: TcpSpan): boolean {
  const offset = (seq - into.seq + 0x100000000) % 0x100000000;
  return len > 0 && offset + len <= into.len;
}

/** Bridge frames kept per node at most (then the oldest goes). */
export const MAX_GRO_HELD = 100_000;

interface Held<T> {
  item: T;
  tsUs: number;
  ref: number;
  span: TcpSpan;
  gone: boolean;
}

/** One node's bridge frames that carry TCP and matched no underlay packet, by flow, for two windows. */
export class GroIndex<T> {
  private readonly byFlow = new Map<number, Fifo<Held<T>>>();
  private readonly order = new Fifo<Held<T>>();

  add(item: T, span: TcpSpan, tsUs: number, ref: number): void {
    if (span.len <= 0) return;
    const h: Held<T> = { item, tsUs, ref, span, gone: false };
    let list = this.byFlow.get(span.flow);
    if (!list) this.byFlow.set(span.flow, (list = new Fifo()));
    list.push(h);
    this.order.push(h);
    if (this.order.size > MAX_GRO_HELD) this.drop(this.order.shift() as Held<T>);
  }

  /** Lets go of the frames older than `ref` (reference clock). */
  expire(ref: number): void {
    for (let h = this.order.peek(); h !== undefined && h.ref < ref; h = this.order.peek()) this.drop(this.order.shift() as Held<T>);
  }

  private drop(h: Held<T>): void {
    h.gone = true;
    const list = this.byFlow.get(h.span.flow);
    if (!list) return;
    while (list.peek()?.gone) list.shift();
    if (list.size === 0) this.byFlow.delete(h.span.flow);
  }

  /** The larger frame of the segment's flow, at most `windowUs` after it (node clock), whose sequence range holds it. */
  covering(seg: TcpSpan, tsUs: number, windowUs: number): T | undefined {
    const list = this.byFlow.get(seg.flow);
    if (!list) return undefined;
    for (let i = 0; i < list.size; i++) {
      const h = list.at(i) as Held<T>;
      if (h.gone || h.tsUs < tsUs) continue;
      if (h.tsUs > tsUs + windowUs) break;
      // larger than the segment: merged (an equal one is the segment itself, unmatched for another reason)
      if (h.span.len > seg.len && coveredBy(seg.seq, seg.len, h.span)) return h.item;
    }
    return undefined;
  }
}
