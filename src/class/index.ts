/** The whole class: the class inventory, the bounded runner, and check/capture/provision across groups. */
export { parseClassInventory, loadClassInventory, selectGroups, classGroup, fillPattern, MAX_GROUPS } from './inventory.js';
export { runBounded, DEFAULT_PARALLEL, MAX_PARALLEL } from './run.js';
export type { BoundedTask, TaskOutcome, RunnerOptions, RunResult } from './run.js';
export { checkClass, checkGroup, cellsOf, columnsOf, worst, DEFAULT_GROUP_DEADLINE_MS } from './check.js';
export type { ClassCheckOptions, GroupCheckOptions } from './check.js';
export { captureClass, renderClassCapture, lossOf } from './capture.js';
export type { ClassCaptureOptions, ClassCaptureSummary, GroupCaptureResult } from './capture.js';
export { provisionClass } from './provision.js';
export type { ClassProvisionOptions, ClassProvisionSummary, GroupProvisionResult } from './provision.js';
export { renderMatrix, shortName } from './render.js';
export { parseVxlanCounters, readVxlanCounters, trafficByVni } from './traffic.js';
export { SessionGauge, GroupPool } from './pool.js';
export type { ClassGroup, ClassInventory, CellStatus, CheckCell, VniTraffic, GroupCheck, ClassCheckMatrix } from './types.js';
