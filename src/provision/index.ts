/** Provisioning the overlay: read state → plan → apply; check; teardown. */
export { provision, applyPlan, commandLine as provisionCommandLine } from './apply.js';
export type { ProvisionOptions, RunReport as ProvisionReport, NodeRunResult } from './apply.js';
export { teardown } from './teardown.js';
export { runChecks, evaluateNode, evaluateConsistency } from './check.js';
export type { CheckReport, CheckResult, CheckStatus, CheckOptions, NodeObservation } from './check.js';
export { planProvision, planTeardown, bridgeMac, CREATED_BY, VXLAN_OVERHEAD_IPV4 } from './plan.js';
export type { Plan, PlannedCommand, ProvisionInput, TeardownInput } from './plan.js';
export { readNodeState, parseIpLink, parseIpAddr, parseFdb, underlayAddressOf } from './state.js';
export type { NodeState, LinkState, VxlanInfo, FdbEntry as BridgeFdbEntry, FirewallState, FirewallView } from './state.js';
export { vxlanPacketsInCapture, probeOverlay } from './probe.js';
