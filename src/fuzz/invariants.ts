/**
 * What must hold for every decoded packet, whatever its bytes: each layer's header lies inside
 * the captured bytes, layers come in order, tunnels never nest deeper than the limit, the
 * undecoded payload is inside the frame. A violation is a decoder bug even when nothing throws.
 */
import type { DecodedPacket } from '../decode/types.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_MAX_TUNNEL_DEPTH } from '../decode/packet.js';

export interface Limits {
  maxTunnelDepth?: number;
  maxLayers?: number;
}

/** The first broken invariant of `p`, or undefined. */
export function packetProblem(p: DecodedPacket, limits: Limits = {}): string | undefined {
  const maxDepth = limits.maxTunnelDepth ?? DEFAULT_MAX_TUNNEL_DEPTH;
  const maxLayers = limits.maxLayers ?? DEFAULT_MAX_LAYERS;
  const size = p.raw.data.length;
  if (p.layers.length > maxLayers) return `${p.layers.length} layers, more than the limit ${maxLayers}`;
  let prevEnd = 0;
  let prevDepth = 0;
  for (const [i, l] of p.layers.entries()) {
    if (!Number.isInteger(l.offset) || !Number.isInteger(l.length) || l.offset < 0 || l.length < 0)
      return `layer ${i} (${l.type}) has offset ${l.offset} length ${l.length}`;
    if (l.offset + l.length > size) return `layer ${i} (${l.type}) at ${l.offset}+${l.length} ends past the ${size} captured bytes`;
    if (l.offset < prevEnd) return `layer ${i} (${l.type}) at ${l.offset} starts inside the previous layer (ends at ${prevEnd})`;
    if (l.depth < prevDepth || l.depth > maxDepth)
      return `layer ${i} (${l.type}) has depth ${l.depth} (previous ${prevDepth}, limit ${maxDepth})`;
    prevEnd = l.offset + l.length;
    prevDepth = l.depth;
  }
  if (p.payloadOffset < 0 || p.payloadLength < 0 || p.payloadOffset + p.payloadLength > size)
    return `payload ${p.payloadOffset}+${p.payloadLength} is outside the ${size} captured bytes`;
  if (p.error && (p.error.offset < 0 || p.error.offset > size))
    return `error offset ${p.error.offset} is outside the ${size} captured bytes`;
  return undefined;
}
