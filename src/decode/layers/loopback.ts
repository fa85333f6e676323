/**
 * BSD loopback encapsulations: a 4-byte address family, then the IP packet.
 * LINKTYPE_NULL (0) stores it in the capturing host's byte order; LINKTYPE_LOOP (108),
 * OpenBSD's, in network byte order. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
 * OpenBSD), 28 (FreeBSD) or 30 (macOS). Raw IP link types (101, 228, 229) have no header
 * at all: `rawIp` dispatches on the version nibble.
 */
import type { LoopbackLayer } from '../types.js';
import { need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

const AF_INET6 = new Set([24, 28, 30, 10]);

function familyToEthertype(family: number): number | undefined {
  if (family === 2) return 0x0800;
  if (AF_INET6.has(family)) return 0x86dd;
  return undefined;
}

function loopbackDecoder(bigEndianOnly: boolean): LayerDecoder {
  return {
    name: 'loopback',
    decode(input: LayerInput): LayerOutcome {
      const { view, offset } = input;
      const short = need(input, offset, 4, 'loopback header');
      if (short) return short;
      let family = view.getUint32(offset, false);
      // LINKTYPE_NULL is in the writer's byte order: a value with only high bytes set is little-endian.
      if (!bigEndianOnly && family > 0xffff) family = view.getUint32(offset, true);
      const layer: LoopbackLayer = { type: 'loopback', offset, length: 4, depth: input.depth, family };
      const ethertype = familyToEthertype(family);
      if (ethertype === undefined) return decoded(layer, offset + 4);
      return decoded(layer, offset + 4, nextProtocol('ethertype', ethertype));
    },
  };
}

export const loopbackNull = loopbackDecoder(false);
export const loopbackLoop = loopbackDecoder(true);

/** LINKTYPE_RAW (101): the IP version nibble says IPv4 or IPv6. */
export const rawIp: LayerDecoder = {
  name: 'raw',
  decode(input: LayerInput): LayerOutcome {
    const short = need(input, input.offset, 1, 'raw IP packet');
    if (short) return short;
    const version = input.view.getUint8(input.offset) >>> 4;
    if (version === 4) return decoded(undefined, input.offset, nextProtocol('ethertype', 0x0800));
    if (version === 6) return decoded(undefined, input.offset, nextProtocol('ethertype', 0x86dd));
    return { ok: false, kind: 'malformed', offset: input.offset, message: `raw IP packet with IP version ${version}` };
  },
};

/** LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229): a fixed next protocol. */
export function rawFixed(ethertype: number): LayerDecoder {
  return {
    name: 'raw',
    decode(input: LayerInput): LayerOutcome {
      return decoded(undefined, input.offset, nextProtocol('ethertype', ethertype));
    },
  };
}
