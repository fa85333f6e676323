/**
 * The class's shapes: the inventory of groups (each one an ordinary per-group `Inventory`, so
 * every command works on one group unchanged), and the check matrix (group × check) that
 * `check --class`, its `--json` and the class dashboard read.
 */
import type { CheckResult } from '../provision/check.js';
import type { Inventory } from '../remote/inventory.js';

/** One student group: its own nodes and overlay. */
export interface ClassGroup {
  /** `g03`, or the name an explicit entry gives. */
  name: string;
  /** The group's number in a numbered series (the `{n}` of its patterns); absent for an explicit group. */
  n?: number;
  /** The group as a per-group inventory (its `source` names the class file and the group). */
  inventory: Inventory;
  /** Line of the class file the group comes from (its series or its entry), 1-based. */
  line: number;
}

export interface ClassInventory {
  /** The file read. */
  source: string;
  /** In file order; names are unique. */
  groups: ClassGroup[];
}

/** A cell's verdict: the checks' own three, and `error` when the check itself could not run (deadline, crash). */
export type CellStatus = 'pass' | 'warn' | 'fail' | 'error';

/** One cell of the matrix: one check of one group, over the group's nodes. */
export interface CheckCell {
  /** The worst status of the check on any node of the group. */
  status: CellStatus;
  /** One line: the failing or warning nodes' details (`kvm2: vxlan10 has VNI 11, …`), else the first pass's. */
  detail: string;
}

/** Traffic counters of one VXLAN device on one node (`ip -s -d -j link show type vxlan`). */
export interface VniTraffic {
  node: string;
  /** The device name (`vxlan10`). */
  device: string;
  vni: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

/** One group's row. */
export interface GroupCheck {
  group: string;
  /** Worst cell, or `error` when the group could not be checked at all. */
  status: CellStatus;
  /** When the check of this group started (ISO 8601). */
  checkedAt: string;
  durationMs: number;
  /** Check name → cell; a check that did not run on this group has no cell. */
  cells: Record<string, CheckCell>;
  /** Every node's result, as `check NODE…` gives them. */
  checks: CheckResult[];
  /** The VXLAN devices' counters per node and VNI (empty when they could not be read). */
  traffic: VniTraffic[];
  /** Why the group has no verdict (deadline passed, cancelled, unexpected failure). */
  error?: string;
}

export interface ClassCheckMatrix {
  source: string;
  /** Every selected group passed (no fail, no error; warnings allowed). */
  ok: boolean;
  checkedAt: string;
  durationMs: number;
  /** The bound on SSH sessions in flight (`--parallel`). */
  parallel: number;
  /** The most SSH sessions that were in flight at once (the runner's own count). */
  peakSessions: number;
  /** Check names in the order the checks run: the matrix's columns. */
  columns: string[];
  groups: GroupCheck[];
}
