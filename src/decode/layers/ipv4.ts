/**
 * IPv4 (RFC 791).
 *
 *   0       4       8               16      19                      32
 *  +-------+-------+---------------+-------------------------------+
 *  |Version|  IHL  |      ToS      |         Total Length          |
 *  |         Identification        |Flags|    Fragment Offset      |
 *  |      TTL      |   Protocol    |        Header Checksum        |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  |                    Options (IHL > 5)                          |
 *
 * The total length bounds what follows (Ethernet padding is trimmed). A total length of 0
 * is a GSO/TSO or BIG TCP super-frame as captured on the sending host: the frame's own
 * length is used instead. Only a first fragment has a transport header; what it carries is
 * decoded as far as the fragment goes (as tshark and tcpdump do), later fragments not at all.
 */
import type { Ipv4Layer } from '../types.js';
import { END_IN_LATER_FRAGMENTS, malformed, need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded, nextProtocol } from './outcome.js';

export const IPV4_MIN_HEADER = 20;

export const ipv4: LayerDecoder = {
  name: 'ipv4',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, IPV4_MIN_HEADER, 'IPv4 header');
    if (short) return short;
    const b0 = view.getUint8(offset);
    const version = b0 >>> 4;
    if (version !== 4) return malformed(offset, `IPv4 header with IP version ${version}`);
    const ihl = (b0 & 0x0f) * 4;
    if (ihl < IPV4_MIN_HEADER) return malformed(offset, `IPv4 header length ${ihl} is below 20`);
    const withOptions = need(input, offset, ihl, 'IPv4 options');
    if (withOptions) return withOptions;
    const totalLength = view.getUint16(offset + 2);
    const fragWord = view.getUint16(offset + 6);
    const layer: Ipv4Layer = {
      type: 'ipv4',
      offset,
      length: ihl,
      depth: input.depth,
      ihl,
      tos: view.getUint8(offset + 1),
      totalLength,
      id: view.getUint16(offset + 4),
      flags: fragWord >>> 13,
      fragOffset: (fragWord & 0x1fff) * 8,
      ttl: view.getUint8(offset + 8),
      proto: view.getUint8(offset + 9),
      checksum: view.getUint16(offset + 10),
      src: view.getUint32(offset + 12),
      dst: view.getUint32(offset + 16),
      optionsLength: ihl - IPV4_MIN_HEADER,
    };
    let warning: string | undefined;
    let end = input.wireEnd;
    if (totalLength === 0) {
      warning = `IPv4 total length 0: presumed TSO/GSO or BIG TCP, using the frame length (${input.wireEnd - offset})`;
    } else if (totalLength < ihl) {
      return malformed(offset + 2, `IPv4 total length ${totalLength} is smaller than its header (${ihl})`);
    } else if (offset + totalLength > input.wireEnd) {
      warning = `IPv4 total length ${totalLength} exceeds the ${input.wireEnd - offset} bytes on the wire`;
    } else {
      end = offset + totalLength;
    }
    const isFragment = (layer.flags & 0x1) !== 0 || layer.fragOffset !== 0;
    const result = decoded(layer, offset + ihl, undefined, Math.min(input.capEnd, end), end, warning);
    if (layer.fragOffset !== 0) return result; // later fragment: its payload starts mid-stream, no header
    result.next = nextProtocol('ipproto', layer.proto);
    if (isFragment) result.wireEnd = END_IN_LATER_FRAGMENTS; // first fragment: decode as far as it goes
    return result;
  },
};
