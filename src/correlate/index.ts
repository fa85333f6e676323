/** Underlay ↔ overlay correlation, topology from traffic, and diagnostics. */
export { Correlator, DEFAULT_WINDOW_US, DEFAULT_MAX_LISTED, MAX_INNER_FRAME, type CorrelatorSizes } from './correlator.js';
export { correlateFiles, correlatePackets, type CorrelateFilesOptions, type Side } from './files.js';
export { readSessionOffsets, type SessionOffsets } from './session.js';
export { TopologyBuilder, buildTopology, type Topology, type TopologyVtep, type TopologyVni, type FdbEntry } from './topology.js';
export { Diagnostics, correlationDiagnostics, OVERLAY_FRAME_LIMIT, type Diagnostic, type Severity } from './diagnostics.js';
export { underlayFrame, overlayFrame, isGroupMac, type UnderlayFrame, type OverlayFrame } from './frame.js';
export { fnv1a, frameKey, compareFrames, HASH_PREFIX } from './bytes.js';
export { LatencyHistogram, type LatencySummary } from './latency.js';
export type {
  CorrelateOptions,
  Sighting,
  Match,
  CorrelationReport,
  Unmatched,
  UnderlayReasonCode,
  OverlayReasonCode,
  VniRow,
  VtepPairRow,
} from './types.js';
