/**
 * ICMPv6 (RFC 4443) with neighbour discovery (RFC 4861).
 *
 *  type (1) | code (1) | checksum (2) | message body
 *  Echo request/reply (128/129): identifier (2) | sequence (2)
 *  Neighbour solicitation (135) / advertisement (136): flags/reserved (4) | target (16) | options
 *  Redirect (137): reserved (4) | target (16) | destination (16) | options
 *  ND option: type (1) | length in 8-octet units (1) | value; 1 = source, 2 = target link-layer address.
 */
import type { Icmpv6Layer } from '../types.js';
import { need, readMac, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded } from './outcome.js';

/** Bounds the option walk of one message. */
const MAX_ND_OPTIONS = 32;

export const icmpv6: LayerDecoder = {
  name: 'icmpv6',
  decode(input: LayerInput): LayerOutcome {
    const { view, data, offset, capEnd } = input;
    const short = need(input, offset, 4, 'ICMPv6 header');
    if (short) return short;
    const layer: Icmpv6Layer = {
      type: 'icmpv6',
      offset,
      length: 4,
      depth: input.depth,
      icmpType: view.getUint8(offset),
      code: view.getUint8(offset + 1),
      checksum: view.getUint16(offset + 2),
    };
    const t = layer.icmpType;
    if ((t === 128 || t === 129) && offset + 8 <= capEnd) {
      layer.id = view.getUint16(offset + 4);
      layer.seq = view.getUint16(offset + 6);
      layer.length = 8;
    } else if ((t === 135 || t === 136 || t === 137) && offset + 24 <= capEnd) {
      layer.target = data.subarray(offset + 8, offset + 24);
      let at = offset + (t === 137 ? 40 : 24);
      for (let i = 0; i < MAX_ND_OPTIONS && at + 8 <= capEnd; i++) {
        const optType = view.getUint8(at);
        const optLen = view.getUint8(at + 1) * 8;
        if (optLen === 0) break; // invalid: a zero-length option would loop
        if ((optType === 1 || optType === 2) && optLen === 8) layer.lladdr = readMac(view, at + 2);
        at += optLen;
      }
      layer.length = 24;
    } else if ((t === 133 || t === 134) && offset + 8 <= capEnd) {
      layer.length = 8;
    }
    return decoded(layer, offset + layer.length);
  },
};
