/**
 * The contract between the layer walk (packet.ts) and each protocol decoder (layers/*.ts).
 *
 * A decoder reads one header at `offset` through the bounds checks below and says what
 * comes next (a key into one of the registry's dispatch tables). It never throws and
 * never reads past `capEnd`.
 */
import type { Layer } from './types.js';

export interface LayerInput {
  data: Uint8Array;
  /** A DataView over exactly `data` (built with its byteOffset). */
  view: DataView;
  offset: number;
  /** End of the captured bytes this layer may read (already clamped by outer length fields). */
  capEnd: number;
  /** End of the bytes on the wire for this layer (capEnd <= wireEnd unless the file is broken). */
  wireEnd: number;
  depth: number;
}

/**
 * `wireEnd` inside a first IP fragment: the rest of the payload is in later fragments, so
 * running short there is neither the snaplen's doing nor malformed — it is reported as
 * truncated, as tcpdump does (`[|vxlan]`).
 */
export const END_IN_LATER_FRAGMENTS = Number.MAX_SAFE_INTEGER;

export type DispatchTable = 'link' | 'ethertype' | 'ipproto' | 'udp';

export interface NextProtocol {
  table: DispatchTable;
  key: number;
  /** For UDP: the source port, tried when the destination port has no decoder. */
  altKey?: number;
  /** The next layer is inside a tunnel: its depth is one more. */
  tunnel?: boolean;
}

export interface LayerOk {
  ok: true;
  /** Undefined for pseudo-layers with no header of their own (raw IP link type). */
  layer?: Layer;
  /** Where the next header starts. */
  nextOffset: number;
  next?: NextProtocol;
  /** New (smaller) ends for what follows, e.g. from the IP total length: trims Ethernet padding. */
  capEnd?: number;
  wireEnd?: number;
  warning?: string;
}

export interface LayerFail {
  ok: false;
  /** `truncated`: the snaplen cut the header (not an error). `malformed`: the bytes contradict the protocol. */
  kind: 'truncated' | 'malformed';
  offset: number;
  message: string;
}

export type LayerOutcome = LayerOk | LayerFail;

export interface LayerDecoder {
  /** The layer type name used in errors ("ipv4", "vxlan", ...). */
  readonly name: string;
  decode(input: LayerInput): LayerOutcome;
}

/**
 * Checks that `n` bytes from `at` can be read. Returns undefined when they can; otherwise
 * the right failure: truncated when the wire had them but the capture did not, malformed
 * when the frame itself is too short for the header.
 */
export function need(input: LayerInput, at: number, n: number, what: string): LayerFail | undefined {
  const end = at + n;
  if (end <= input.capEnd) return undefined;
  if (end <= input.wireEnd) {
    const where =
      input.wireEnd === END_IN_LATER_FRAGMENTS ? 'by the end of this IP fragment or the capture length' : 'by the capture length';
    return {
      ok: false,
      kind: 'truncated',
      offset: at,
      message: `${what} cut short ${where} (${n} bytes needed, ${Math.max(0, input.capEnd - at)} captured)`,
    };
  }
  return {
    ok: false,
    kind: 'malformed',
    offset: at,
    message: `${what} runs past the end of the frame (${n} bytes needed, ${Math.max(0, input.wireEnd - at)} on the wire)`,
  };
}

export function malformed(offset: number, message: string): LayerFail {
  return { ok: false, kind: 'malformed', offset, message };
}

/** Reads a 48-bit MAC address as a number (exact: below 2^53). Caller has bounds-checked. */
export function readMac(view: DataView, at: number): number {
  return view.getUint16(at) * 0x100000000 + view.getUint32(at + 2);
}
