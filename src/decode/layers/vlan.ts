/**
 * IEEE 802.1Q VLAN tag (TPID 0x8100), 802.1ad S-tag (0x88a8) and the pre-standard QinQ
 * TPIDs 0x9100/0x9200. The TPID was the previous header's EtherType; the tag itself is:
 *
 *   0       2       4
 *  +-------+-------+
 *  |  TCI  | type  |    TCI = PCP (3 bits) | DEI (1) | VID (12)
 *  +-------+-------+
 *
 * Stacked tags (QinQ, triple tags) are successive layers; the walk's layer limit bounds them.
 */
import type { VlanLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const VLAN_TAG_LENGTH = 4;
export const VLAN_TPIDS = [0x8100, 0x88a8, 0x9100, 0x9200] as const;

export function vlanDecoder(tpid: number): LayerDecoder {
  return {
    name: 'vlan',
    decode(input: LayerInput): LayerOutcome {
      const { view, offset } = input;
      const short = need(input, offset, VLAN_TAG_LENGTH, '802.1Q tag');
      if (short) return short;
      const tci = view.getUint16(offset);
      const layer: VlanLayer = {
        type: 'vlan',
        offset,
        length: VLAN_TAG_LENGTH,
        depth: input.depth,
        tpid,
        pcp: tci >>> 13,
        dei: (tci & 0x1000) !== 0,
        vid: tci & 0x0fff,
        ethertype: view.getUint16(offset + 2),
      };
      return decoded(layer, offset + VLAN_TAG_LENGTH, nextProtocol('ethertype', layer.ethertype));
    },
  };
}
