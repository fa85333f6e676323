/**
 * TCP (RFC 9293).
 *
 *  source port (2) | destination port (2) | sequence number (4) | acknowledgment (4)
 *  data offset (4 bits) | reserved (3) | flags (9: NS CWR ECE URG ACK PSH RST SYN FIN) |
 *  window (2) | checksum (2) | urgent pointer (2) | options (data offset * 4 - 20)
 */
import type { TcpLayer } from '../types.js';
import { END_IN_LATER_FRAGMENTS, malformed, need, type LayerDecoder, type LayerInput, type LayerOutcome } from '../layer.js';
import { decoded } from './outcome.js';

export const TCP_MIN_HEADER = 20;

export const TCP_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [0x002, 'S'],
  [0x001, 'F'],
  [0x004, 'R'],
  [0x008, 'P'],
  [0x020, 'U'],
  [0x040, 'E'],
  [0x080, 'W'],
  [0x010, '.'],
];

export const tcp: LayerDecoder = {
  name: 'tcp',
  decode(input: LayerInput): LayerOutcome {
    const { view, offset } = input;
    const short = need(input, offset, TCP_MIN_HEADER, 'TCP header');
    if (short) return short;
    const word = view.getUint16(offset + 12);
    const dataOffset = (word >>> 12) * 4;
    if (dataOffset < TCP_MIN_HEADER) return malformed(offset + 12, `TCP data offset ${dataOffset} is below 20`);
    const options = need(input, offset, dataOffset, 'TCP options');
    if (options) return options;
    const layer: TcpLayer = {
      type: 'tcp',
      offset,
      length: dataOffset,
      depth: input.depth,
      srcPort: view.getUint16(offset),
      dstPort: view.getUint16(offset + 2),
      seq: view.getUint32(offset + 4),
      ack: view.getUint32(offset + 8),
      dataOffset,
      flags: word & 0x01ff,
      window: view.getUint16(offset + 14),
      checksum: view.getUint16(offset + 16),
      urgent: view.getUint16(offset + 18),
      optionsLength: dataOffset - TCP_MIN_HEADER,
      payloadLength: Math.max(0, (input.wireEnd === END_IN_LATER_FRAGMENTS ? input.capEnd : input.wireEnd) - offset - dataOffset),
    };
    return decoded(layer, offset + dataOffset);
  },
};
