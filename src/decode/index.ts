/** The decoder's public surface: reading, the layer walk, dispatch tables, formats. */
export * from './types.js';
export { decodePacket, outerLayer, firstTunnel, DEFAULT_MAX_LAYERS, DEFAULT_MAX_TUNNEL_DEPTH, type DecodeOptions } from './packet.js';
export { decodeCapture, type DecodeCaptureOptions } from './decode-capture.js';
export { DecoderRegistry, createRegistry, defaultRegistry, LINKTYPE, type RegistryOptions } from './registry.js';
export {
  need,
  malformed,
  type LayerDecoder,
  type LayerInput,
  type LayerOutcome,
  type LayerOk,
  type LayerFail,
  type NextProtocol,
  type DispatchTable,
} from './layer.js';
export { formatMac, parseMac, formatIPv4, parseIPv4, formatIPv6, formatHexBytes, formatAddressBytes } from './format/addr.js';
export { formatEpoch, formatTimeOfDay, isInvalidTimestamp, tsSeconds } from './format/time.js';
export { layerToJson, packetToJson, packetToJsonLine, type JsonObject, type JsonValue } from './format/json.js';
export { packetToText, summarizeLayers, tcpFlags } from './format/text.js';
export * from './file/index.js';
export { decodeInParallel, type ParallelOptions, type BatchResult } from './parallel/pool.js';
export { workersFor, PARALLEL_MIN_BYTES } from './parallel/policy.js';
