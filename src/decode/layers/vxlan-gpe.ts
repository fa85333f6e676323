/**
 * VXLAN Generic Protocol Extension (draft-ietf-nvo3-vxlan-gpe), UDP port 4790.
 *
 *  R R Ver(2) I P B O (8) | Reserved (16) | Next Protocol (8)
 *  VXLAN Network Identifier (24) | Reserved (8)
 *
 * Next protocol: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH (not decoded), 5 MPLS (not decoded).
 */
import type { VxlanGpeLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome, type NextProtocol } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const VXLAN_GPE_PORT = 4790;

const NEXT: Record<number, NextProtocol> = {
  1: nextProtocol('ethertype', 0x0800, undefined, true),
  2: nextProtocol('ethertype', 0x86dd, undefined, true),
  3: nextProtocol('link', 1, undefined, true),
};

export const vxlanGpe: LayerDecoder = {
  name: 'vxlan-gpe',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, 8, 'VXLAN-GPE header');
    if (short) return short;
    const layer: VxlanGpeLayer = {
      type: 'vxlan-gpe',
      offset,
      length: 8,
      depth: input.depth,
      flags: view.getUint8(offset),
      nextProtocol: view.getUint8(offset + 3),
      vni: view.getUint32(offset + 4) >>> 8,
    };
    const next = NEXT[layer.nextProtocol];
    if (!next) return decoded(layer, offset + 8);
    return decoded(layer, offset + 8, next);
  },
};
