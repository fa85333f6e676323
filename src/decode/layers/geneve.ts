/**
 * GENEVE (RFC 8926), UDP port 6081.
 *
 *  Ver (2) | Opt Len (6, in 4-byte words) | O (1) | C (1) | Rsvd (6) | Protocol Type (16)
 *  Virtual Network Identifier (24) | Reserved (8)
 *  Options: class (16) | type (8) | R (3) | length (5, in 4-byte words) | data
 *
 * Protocol type 0x6558 (Transparent Ethernet Bridging) carries an Ethernet frame; any
 * other value is an EtherType (0x0800 IPv4 with no Ethernet, as Google Cloud sends).
 */
import type { GeneveLayer } from '../types.js';
import { malformed, need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const GENEVE_PORT = 6081;
export const GENEVE_BASE_LENGTH = 8;
const TRANSPARENT_ETHERNET = 0x6558;

export const geneve: LayerDecoder = {
  name: 'geneve',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, GENEVE_BASE_LENGTH, 'GENEVE header');
    if (short) return short;
    const b0 = view.getUint8(offset);
    const b1 = view.getUint8(offset + 1);
    const version = b0 >>> 6;
    if (version !== 0) return malformed(offset, `GENEVE version ${version} (only 0 is defined)`);
    const optionsLength = (b0 & 0x3f) * 4;
    const layer: GeneveLayer = {
      type: 'geneve',
      offset,
      length: GENEVE_BASE_LENGTH + optionsLength,
      depth: input.depth,
      version,
      optionsLength,
      oam: (b1 & 0x80) !== 0,
      critical: (b1 & 0x40) !== 0,
      protocolType: view.getUint16(offset + 2),
      vni: view.getUint32(offset + 4) >>> 8,
      options: [],
    };
    const withOptions = need(input, offset, layer.length, 'GENEVE options');
    if (withOptions) return withOptions;
    // Options: at most optionsLength / 4 of them, so this loop is bounded by the header.
    let at = offset + GENEVE_BASE_LENGTH;
    const end = offset + layer.length;
    while (at + 4 <= end) {
      const length = 4 + (view.getUint8(at + 3) & 0x1f) * 4;
      if (at + length > end) return malformed(at, `GENEVE option of ${length} bytes runs past the options (${end - at} left)`);
      layer.options.push({ optClass: view.getUint16(at), optType: view.getUint8(at + 2), length });
      at += length;
    }
    const next =
      layer.protocolType === TRANSPARENT_ETHERNET
        ? nextProtocol('link', 1, undefined, true)
        : nextProtocol('ethertype', layer.protocolType, undefined, true);
    return decoded(layer, end, next);
  },
};
