/** vxlan-inspect's public API. Everything a user may import is re-exported here. */
export * from './errors.js';
export * from './decode/index.js';
export * from './stats/stats.js';
export { collectStats, type CollectStatsOptions } from './stats/parallel.js';
export * from './lab/index.js';
export * from './correlate/index.js';
export * from './remote/index.js';
export * from './provision/index.js';
export * from './web/index.js';
export * from './capture/index.js';
export {
  inProcessCaptureStarter,
  netnsCaptureStarter,
  type InProcessStarterOptions,
  type NetnsStarterOptions,
  type LiveStartEvent,
  type LiveStatsEvent,
  type LiveErrorEvent,
  type LiveEndEvent,
} from './web/live.js';
export {
  checkClass,
  checkGroup,
  captureClass,
  provisionClass,
  loadClassInventory,
  parseClassInventory,
  type ClassInventory,
  type ClassGroup,
  type ClassCheckMatrix,
  type GroupCheck,
  type CheckCell,
  type VniTraffic,
} from './class/index.js';
