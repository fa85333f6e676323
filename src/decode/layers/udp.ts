/**
 * UDP (RFC 768).
 *
 *  source port (2) | destination port (2) | length (2) | checksum (2)
 *
 * The length field bounds the payload when it is consistent; a length of 0 happens in
 * GSO and BIG TCP super-frames (the IP layer's end is used instead). What the payload is
 * comes from the registry's UDP port table: the destination port first, then the source.
 */
import type { UdpLayer } from '../types.js';
import { END_IN_LATER_FRAGMENTS, malformed, need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const UDP_HEADER_LENGTH = 8;

export const udp: LayerDecoder = {
  name: 'udp',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, UDP_HEADER_LENGTH, 'UDP header');
    if (short) return short;
    const udpLength = view.getUint16(offset + 4);
    const layer: UdpLayer = {
      type: 'udp',
      offset,
      length: UDP_HEADER_LENGTH,
      depth: input.depth,
      srcPort: view.getUint16(offset),
      dstPort: view.getUint16(offset + 2),
      udpLength,
      checksum: view.getUint16(offset + 6),
    };
    const available = input.wireEnd - offset;
    let warning: string | undefined;
    let end = input.wireEnd;
    if (udpLength === 0) {
      // GSO/BIG TCP super-frame: the length cannot be expressed in 16 bits; the IP end is used.
    } else if (udpLength < UDP_HEADER_LENGTH) {
      return malformed(offset + 4, `UDP length ${udpLength} is below the 8-byte header`);
    } else if (udpLength > available && input.wireEnd !== END_IN_LATER_FRAGMENTS) {
      warning = `UDP length ${udpLength} exceeds the ${available} bytes of IP payload`;
    } else if (udpLength <= available) {
      end = offset + udpLength;
    }
    return decoded(
      layer,
      offset + UDP_HEADER_LENGTH,
      nextProtocol('udp', layer.dstPort, layer.srcPort),
      Math.min(input.capEnd, end),
      end,
      warning,
    );
  },
};
