/** The namespace lab: the class's two-hypervisor VXLAN topology on one Linux machine. */
export { labUp, labHandle, readLabState } from './up.js';
export type { LabOptions, LabNodeInfo, LabHandle, LabState } from './up.js';
export { labDown } from './down.js';
export { labStatus } from './status.js';
export type { LabStatus, LabNamespaceStatus, LabNodeStatus, LabReachability } from './status.js';
export { labTraffic } from './traffic.js';
export type { TrafficSummary, TrafficStep } from './traffic.js';
export { labRecord, recordFileName } from './record.js';
export type { RecordOptions, RecordResult, RecordedFile } from './record.js';
export { netnsExec } from './run.js';
export { labBreak, labFix, readBreak, parseBreakRecord, BREAK_KINDS, LAB_BREAK_KINDS, defaultBreakNode, isBreakKind } from './faults.js';
export type { BreakKind, BreakRecord, VxlanSnapshot, MtuSnapshot } from './faults.js';
export { labPreflight, assertLabPrerequisites } from './preflight.js';
export { LabError } from './errors.js';
export {
  DEFAULT_PREFIX as LAB_DEFAULT_PREFIX,
  LAB_ROLES,
  defaultLabDir,
  netnsName as labNetnsName,
  isLabRole,
  checkPrefix as checkLabPrefix,
} from './topology.js';
export type { LabRole, NodeName as LabNodeName, GuestName as LabGuestName } from './topology.js';
