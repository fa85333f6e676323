/** Remote capture over SSH: tcpdump streams → pcap files, live decoding and stats. */
export { startCapture, CaptureHandle, captureFileName, defaultOutDirName, validateCaptureOptions } from './capture.js';
export type {
  CaptureOptions,
  CaptureRunSummary,
  CaptureEvents,
  CapturedPacket,
  CaptureStreamError,
  NodeSummary,
  StreamSummary,
  StreamEnd,
  StreamRole,
  StopReason,
} from './types.js';
export type { StreamStats } from './live-stats.js';
export { PcapFileSink, type PcapSinkResult } from './pcap-sink.js';
export { parseDuration, formatDuration } from './duration.js';
export { measureClockOffset, offsetFromSamples, parseEpochText, type ClockOffset, type ClockSample } from './clock.js';
export {
  parseSshConnection,
  selfExclusionFilter,
  combineFilters,
  checkUserFilter,
  tcpdumpArgv,
  parseTcpdumpCounters,
  type SshEndpoints,
  type TcpdumpCounters,
} from './tcpdump.js';
export {
  sessionJson,
  writeSessionJson,
  ifindexNamesOf,
  SESSION_FILE,
  type SessionJson,
  type SessionJsonNode,
  type IfindexName,
} from './session-file.js';
export { statusLine, summaryText, progressBar, formatBytes } from './format.js';
