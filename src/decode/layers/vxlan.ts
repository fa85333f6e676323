/**
 * VXLAN (RFC 7348), UDP port 4789 (IANA) and 8472 (the Linux kernel's old default).
 *
 *   0               8                               32
 *  +-+-+-+-+-+-+-+-+-------------------------------+
 *  |R|R|R|R|I|R|R|R|            Reserved           |
 *  +-+-+-+-+-+-+-+-+-------------------------------+
 *  |      VXLAN Network Identifier (VNI)  |Reserved|
 *  +--------------------------------------+--------+
 *
 * The I flag (0x08) says the VNI is valid. Group Based Policy (draft-smith-vxlan-group-policy)
 * sets G (0x80) in the flags, D (0x40) in the second byte and A (0x08) too, and a 16-bit
 * group policy id in bytes 2-3. The payload is an Ethernet frame (no FCS).
 */
import type { VxlanLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const VXLAN_HEADER_LENGTH = 8;
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_FLAG_G = 0x80;
export const VXLAN_PORTS = [4789, 8472] as const;
/** What follows: an Ethernet frame, one tunnel deeper. */
const INNER_ETHERNET = nextProtocol('link', 1, undefined, true);

export const vxlan: LayerDecoder = {
  name: 'vxlan',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, VXLAN_HEADER_LENGTH, 'VXLAN header');
    if (short) return short;
    const flags = view.getUint8(offset);
    const word2 = view.getUint32(offset + 4);
    const layer: VxlanLayer = {
      type: 'vxlan',
      offset,
      length: VXLAN_HEADER_LENGTH,
      depth: input.depth,
      flags,
      reserved1: view.getUint32(offset) & 0x00ffffff,
      vni: word2 >>> 8,
      reserved2: word2 & 0xff,
    };
    let warning: string | undefined;
    if ((flags & VXLAN_FLAG_I) === 0) warning = `VXLAN I flag clear (flags 0x${hex2(flags)}): the VNI is not marked valid`;
    if (flags & VXLAN_FLAG_G) {
      const b1 = view.getUint8(offset + 1);
      layer.gbp = { groupId: view.getUint16(offset + 2), dontLearn: (b1 & 0x40) !== 0, applied: (b1 & 0x08) !== 0 };
    } else if (flags & ~VXLAN_FLAG_I & 0xff) {
      const reserved = `VXLAN reserved flag bits set (flags 0x${hex2(flags)})`;
      warning = warning === undefined ? reserved : `${warning}; ${reserved}`;
    }
    return decoded(layer, offset + VXLAN_HEADER_LENGTH, INNER_ETHERNET, undefined, undefined, warning);
  },
};

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
