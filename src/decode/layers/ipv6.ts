/**
 * IPv6 (RFC 8200) and its extension headers.
 *
 *  Version (4) | Traffic Class (8) | Flow Label (20)
 *  Payload Length (16) | Next Header (8) | Hop Limit (8)
 *  Source Address (128) | Destination Address (128)
 *
 * Extension headers walked here, each bounded: hop-by-hop (0), routing (43), fragment (44),
 * destination options (60): `next header (1) | length in 8-octet units not counting the
 * first (1) | ...`; fragment is always 8 bytes; AH (51) counts 4-octet units minus 2.
 * A payload length of 0 is a jumbogram (RFC 2675, the Jumbo option in hop-by-hop) or a
 * GSO/BIG TCP super-frame seen on the sending host.
 */
import type { Ipv6Layer } from '../types.js';
import { END_IN_LATER_FRAGMENTS, malformed, need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const IPV6_HEADER_LENGTH = 40;
/** More extension headers than this is a loop or an attack. */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AH = 51;
const DEST_OPTS = 60;

function findJumbo(view: DataView, start: number, end: number): number | undefined {
  // Hop-by-hop options: type (1) | length (1) | data. Pad1 (0) is a single byte. Jumbo is 0xC2.
  let at = start;
  while (at < end) {
    const type = view.getUint8(at);
    if (type === 0) {
      at += 1;
      continue;
    }
    if (at + 2 > end) return undefined;
    const len = view.getUint8(at + 1);
    if (type === 0xc2 && len === 4 && at + 6 <= end) return view.getUint32(at + 2);
    at += 2 + len;
  }
  return undefined;
}

export const ipv6: LayerDecoder = {
  name: 'ipv6',
  decode(input: LayerInput): LayerOutcome {
    const { view, data, offset } = input;
    const short = need(input, offset, IPV6_HEADER_LENGTH, 'IPv6 header');
    if (short) return short;
    const word = view.getUint32(offset);
    const version = word >>> 28;
    if (version !== 6) return malformed(offset, `IPv6 header with IP version ${version}`);
    const payloadLength = view.getUint16(offset + 4);
    const layer: Ipv6Layer = {
      type: 'ipv6',
      offset,
      length: IPV6_HEADER_LENGTH,
      depth: input.depth,
      trafficClass: (word >>> 20) & 0xff,
      flowLabel: word & 0xfffff,
      payloadLength,
      nextHeader: view.getUint8(offset + 6),
      proto: view.getUint8(offset + 6),
      hopLimit: view.getUint8(offset + 7),
      src: data.subarray(offset + 8, offset + 24),
      dst: data.subarray(offset + 24, offset + 40),
      extHeaders: [],
    };
    let at = offset + IPV6_HEADER_LENGTH;
    let next = layer.nextHeader;
    let count = 0;
    while (next === HOP_BY_HOP || next === ROUTING || next === FRAGMENT || next === DEST_OPTS || next === AH) {
      if (++count > MAX_IPV6_EXTENSION_HEADERS) {
        return malformed(at, `more than ${MAX_IPV6_EXTENSION_HEADERS} IPv6 extension headers`);
      }
      const head = need(input, at, 8, 'IPv6 extension header');
      if (head) return { ...head, offset: at };
      const type = next;
      let extLength: number;
      if (type === FRAGMENT) {
        extLength = 8;
        const fragWord = view.getUint16(at + 2);
        layer.fragment = { offset: fragWord & 0xfff8, more: (fragWord & 1) !== 0, id: view.getUint32(at + 4) };
      } else if (type === AH) {
        extLength = (view.getUint8(at + 1) + 2) * 4;
      } else {
        extLength = (view.getUint8(at + 1) + 1) * 8;
      }
      const body = need(input, at, extLength, 'IPv6 extension header');
      if (body) return body;
      if (type === HOP_BY_HOP && payloadLength === 0) {
        const jumbo = findJumbo(view, at + 2, at + extLength);
        if (jumbo !== undefined) layer.jumboLength = jumbo;
      }
      layer.extHeaders.push(type);
      next = view.getUint8(at);
      at += extLength;
    }
    layer.proto = next;
    layer.length = at - offset;

    let warning: string | undefined;
    let end = input.wireEnd;
    const declared = payloadLength === 0 ? layer.jumboLength : payloadLength;
    if (declared === undefined) {
      warning =
        'IPv6 payload length 0 without a Jumbo option: presumed GSO or BIG TCP, using the frame length ' +
        `(${input.wireEnd - offset - IPV6_HEADER_LENGTH})`;
    } else if (offset + IPV6_HEADER_LENGTH + declared > input.wireEnd) {
      warning = `IPv6 payload length ${declared} exceeds the ${input.wireEnd - offset - IPV6_HEADER_LENGTH} bytes on the wire`;
    } else {
      end = offset + IPV6_HEADER_LENGTH + declared;
    }
    if (at > end)
      return malformed(
        offset + 4,
        `IPv6 extension headers (${at - offset - IPV6_HEADER_LENGTH} bytes) exceed the payload length ${declared ?? 0}`,
      );
    const result = decoded(layer, at, undefined, Math.min(input.capEnd, end), end, warning);
    if (next === 59) return result; // no next header
    if (layer.fragment && layer.fragment.offset !== 0) return result;
    result.next = nextProtocol('ipproto', next);
    if (layer.fragment?.more) result.wireEnd = END_IN_LATER_FRAGMENTS;
    return result;
  },
};
