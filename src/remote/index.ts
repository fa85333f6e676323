/** The remote layer: inventory, SSH sessions, host keys, quoting. Shared by provision, capture and the web server. */
export {
  loadInventory,
  parseInventory,
  resolveNode,
  overlayMembers,
  vxlanInterfaceName,
  expandPath,
  DEFAULT_INVENTORY_FILE,
  BUILTIN_INVENTORY_YAML,
} from './inventory.js';
export type { Inventory, NodeConfig, NodeEntry, JumpConfig, OverlayConfig, SshDefaults } from './inventory.js';
export { RemoteSession, SessionPool } from './connection.js';
export type { ConnectOptions, SshConnectionInfo } from './connection.js';
export { buildCommand, PID_MARKER } from './exec.js';
export type { RunOptions, RunResult as RemoteRunResult, SpawnOptions, RemoteProcess } from './exec.js';
export { fingerprint, knownHostsName, parseKnownHosts, verifyHostKey } from './hostkeys.js';
export type { HostKeyVerdict, KnownHostEntry } from './hostkeys.js';
export {
  shellQuote as remoteShellQuote,
  shellJoin,
  interfaceNameProblem,
  vniProblem,
  portProblem,
  ipv4Problem,
  cidrProblem,
  multicastGroupProblem,
  hostProblem,
  bpfFilterProblem,
  IFNAME_MAX,
} from './quote.js';
