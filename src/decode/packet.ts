/**
 * The layer walk: from the link type to the innermost header, through the dispatch tables.
 *
 * Decoding produces an ordered list of layers, each with its tunnel depth (not one slot
 * per protocol, so an inner Ethernet never overwrites the outer one). Tunnels nest up to
 * `maxTunnelDepth`, and a frame has at most `maxLayers` layers: no recursion, no loop
 * without a bound. Nothing here throws on bad bytes: a frame ends truncated, with an
 * error, or with warnings, and the next frame decodes as usual.
 */
import type { DecodedPacket, Layer, RawPacket } from './types.js';
import type { LayerDecoder, LayerInput } from './layer.js';
import { defaultRegistry, type DecoderRegistry } from './registry.js';

export interface DecodeOptions {
  registry?: DecoderRegistry;
  /** How many tunnels deep to decode (VXLAN in VXLAN in VXLAN is 3). Default 8. */
  maxTunnelDepth?: number;
  /** Layers per frame at most (bounds stacked VLAN tags). Default 64. */
  maxLayers?: number;
}

export const DEFAULT_MAX_TUNNEL_DEPTH = 8;
export const DEFAULT_MAX_LAYERS = 64;

/**
 * The walk's cursor, one for all packets: decoding is synchronous and decoders read it only
 * while they run (none keeps it), so one object serves every call.
 */
const reusedInput: LayerInput = {
  data: new Uint8Array(0),
  view: new DataView(new ArrayBuffer(0)),
  offset: 0,
  capEnd: 0,
  wireEnd: 0,
  depth: 0,
};

export function decodePacket(raw: RawPacket, n: number, options: DecodeOptions = {}): DecodedPacket {
  const registry = options.registry ?? defaultRegistry();
  const maxDepth = options.maxTunnelDepth ?? DEFAULT_MAX_TUNNEL_DEPTH;
  const maxLayers = options.maxLayers ?? DEFAULT_MAX_LAYERS;
  const data = raw.data;
  const layers: Layer[] = [];
  const packet: DecodedPacket = { n, raw, layers, payloadOffset: 0, payloadLength: data.length };

  const input = reusedInput;
  input.data = data;
  input.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  input.offset = 0;
  input.capEnd = data.length;
  input.wireEnd = Math.max(raw.len, data.length);
  input.depth = 0;

  let decoder: LayerDecoder | undefined = registry.lookup('link', raw.linkType);
  if (!decoder) {
    addWarning(packet, `unknown link type ${raw.linkType}: bytes kept undecoded`);
    return packet;
  }
  let steps = 0;
  while (decoder) {
    if (++steps > maxLayers) {
      packet.error = { layer: decoder.name, offset: input.offset, message: `more than ${maxLayers} layers in one frame` };
      break;
    }
    const out = decoder.decode(input);
    if (!out.ok) {
      if (out.kind === 'truncated') {
        packet.truncated = true;
        packet.truncatedLayer = decoder.name;
      } else packet.error = { layer: decoder.name, offset: out.offset, message: out.message };
      break;
    }
    if (out.layer) layers.push(out.layer);
    if (out.warning) addWarning(packet, out.warning);
    input.offset = out.nextOffset;
    if (out.capEnd !== undefined) input.capEnd = out.capEnd;
    if (out.wireEnd !== undefined) input.wireEnd = out.wireEnd;
    if (!out.next) break;
    const next = out.next;
    let found = registry.lookup(next.table, next.key);
    if (!found && next.altKey !== undefined) found = registry.lookup(next.table, next.altKey);
    if (!found) break;
    if (next.tunnel) {
      if (input.depth + 1 > maxDepth) {
        packet.error = { layer: found.name, offset: input.offset, message: `tunnels nested deeper than ${maxDepth}` };
        break;
      }
      input.depth += 1;
    }
    if (input.offset > input.capEnd) {
      // The header claims more than is captured: nothing left to decode.
      packet.truncated = true;
      break;
    }
    decoder = found;
  }
  packet.payloadOffset = Math.min(input.offset, data.length);
  packet.payloadLength = Math.max(0, Math.min(input.capEnd, data.length) - packet.payloadOffset);
  return packet;
}

function addWarning(packet: DecodedPacket, warning: string): void {
  (packet.warnings ??= []).push(warning);
}

/** The outermost layer of a type (at depth 0), or undefined. */
export function outerLayer<T extends Layer['type']>(packet: DecodedPacket, type: T): Extract<Layer, { type: T }> | undefined {
  for (const l of packet.layers) if (l.type === type && l.depth === 0) return l as Extract<Layer, { type: T }>;
  return undefined;
}

/** The first tunnel layer (VXLAN, GENEVE, VXLAN-GPE) of a packet, if any. */
export function firstTunnel(packet: DecodedPacket): Layer | undefined {
  for (const l of packet.layers) if (l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe') return l;
  return undefined;
}
