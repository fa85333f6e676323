/**
 * Ethernet II (IEEE 802.3 with an EtherType).
 *
 *   0                   6                   12      14
 *  +-------------------+-------------------+-------+
 *  |  destination MAC  |    source MAC     | type  |
 *  +-------------------+-------------------+-------+
 *
 * A type/length value below 0x0600 is an 802.3 length (LLC follows): not decoded further.
 */
import type { EthLayer } from '../types.js';
import { need, readMac, type LayerDecoder, type LayerOutcome, type LayerInput } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const ETH_HEADER_LENGTH = 14;

export const ethernet: LayerDecoder = {
  name: 'eth',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, ETH_HEADER_LENGTH, 'Ethernet header');
    if (short) return short;
    const layer: EthLayer = {
      type: 'eth',
      offset,
      length: ETH_HEADER_LENGTH,
      depth: input.depth,
      dst: readMac(view, offset),
      src: readMac(view, offset + 6),
      ethertype: view.getUint16(offset + 12),
    };
    const nextOffset = offset + ETH_HEADER_LENGTH;
    if (layer.ethertype < 0x0600) {
      // 802.3 length field: the frame ends there (the rest is padding).
      const end = Math.min(input.wireEnd, nextOffset + layer.ethertype);
      return decoded(layer, nextOffset, undefined, Math.min(input.capEnd, end), end);
    }
    return decoded(layer, nextOffset, nextProtocol('ethertype', layer.ethertype));
  },
};
