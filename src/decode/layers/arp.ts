/**
 * ARP (RFC 826).
 *
 *  hardware type (2) | protocol type (2) | hlen (1) | plen (1) | opcode (2)
 *  sender hardware address (hlen) | sender protocol address (plen)
 *  target hardware address (hlen) | target protocol address (plen)
 *
 * Ethernet/IPv4 ARP has hlen 6, plen 4 (28 bytes); other lengths are decoded as they come.
 */
import type { ArpLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded } from './outcome.js';

export const arp: LayerDecoder = {
  name: 'arp',
  decode(input: LayerInput): LayerOutcome {
    const { view, data, offset } = input;
    const fixed = need(input, offset, 8, 'ARP header');
    if (fixed) return fixed;
    const hlen = view.getUint8(offset + 4);
    const plen = view.getUint8(offset + 5);
    const length = 8 + 2 * (hlen + plen);
    const short = need(input, offset, length, 'ARP addresses');
    if (short) return short;
    let at = offset + 8;
    const take = (n: number): Uint8Array => {
      const v = data.subarray(at, at + n);
      at += n;
      return v;
    };
    const layer: ArpLayer = {
      type: 'arp',
      offset,
      length,
      depth: input.depth,
      htype: view.getUint16(offset),
      ptype: view.getUint16(offset + 2),
      hlen,
      plen,
      op: view.getUint16(offset + 6),
      sha: take(hlen),
      spa: take(plen),
      tha: take(hlen),
      tpa: take(plen),
    };
    return decoded(layer, offset + length);
  },
};
