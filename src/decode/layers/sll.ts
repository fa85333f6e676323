/**
 * Linux "cooked" capture headers, written by `tcpdump -i any`.
 *
 * SLL (LINKTYPE_LINUX_SLL 113), 16 bytes:
 *   packet type (2) | ARPHRD type (2) | address length (2) | address (8) | protocol (2)
 * SLL2 (LINKTYPE_LINUX_SLL2 276), 20 bytes:
 *   protocol (2) | reserved (2) | interface index (4) | ARPHRD type (2) | packet type (1) |
 *   address length (1) | address (8)
 *
 * The protocol is an EtherType for the usual ARPHRD types.
 */
import type { SllLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

function addrView(data: Uint8Array, at: number, len: number): Uint8Array {
  return data.subarray(at, at + Math.min(8, len));
}

export const sll: LayerDecoder = {
  name: 'sll',
  decode(input: LayerInput): LayerOutcome {
    const { view, data, offset } = input;
    const short = need(input, offset, 16, 'Linux cooked (SLL) header');
    if (short) return short;
    const layer: SllLayer = {
      type: 'sll',
      offset,
      length: 16,
      depth: input.depth,
      version: 1,
      packetType: view.getUint16(offset),
      arphrdType: view.getUint16(offset + 2),
      addr: addrView(data, offset + 6, view.getUint16(offset + 4)),
      protocol: view.getUint16(offset + 14),
    };
    return decoded(layer, offset + 16, nextProtocol('ethertype', layer.protocol));
  },
};

export const sll2: LayerDecoder = {
  name: 'sll',
  decode(input: LayerInput): LayerOutcome {
    const { view, data, offset } = input;
    const short = need(input, offset, 20, 'Linux cooked v2 (SLL2) header');
    if (short) return short;
    const layer: SllLayer = {
      type: 'sll',
      offset,
      length: 20,
      depth: input.depth,
      version: 2,
      protocol: view.getUint16(offset),
      ifindex: view.getUint32(offset + 4),
      arphrdType: view.getUint16(offset + 8),
      packetType: view.getUint8(offset + 10),
      addr: addrView(data, offset + 12, view.getUint8(offset + 11)),
    };
    return decoded(layer, offset + 20, nextProtocol('ethertype', layer.protocol));
  },
};
