/**
 * ICMP for IPv4 (RFC 792).
 *
 *  type (1) | code (1) | checksum (2) | rest of header (4): identifier (2) | sequence (2) for echo
 *
 * Echo request (8) and reply (0), and the RFC 8335 extended echo (42/43), carry an
 * identifier and sequence number. The quoted packet in error messages is not decoded.
 */
import type { IcmpLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded } from './outcome.js';

const ECHO_TYPES = new Set([0, 8, 13, 14, 42, 43]);

export const icmp: LayerDecoder = {
  name: 'icmp',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, 4, 'ICMP header');
    if (short) return short;
    const layer: IcmpLayer = {
      type: 'icmp',
      offset,
      length: 4,
      depth: input.depth,
      icmpType: view.getUint8(offset),
      code: view.getUint8(offset + 1),
      checksum: view.getUint16(offset + 2),
    };
    if (offset + 8 <= input.capEnd) {
      layer.length = 8;
      if (ECHO_TYPES.has(layer.icmpType)) {
        layer.id = view.getUint16(offset + 4);
        layer.seq = layer.icmpType >= 42 ? view.getUint8(offset + 6) : view.getUint16(offset + 6);
      }
    }
    return decoded(layer, offset + layer.length);
  },
};
