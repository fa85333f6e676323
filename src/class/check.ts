/**
 * `check --class`: every selected group checked as `check NODE…` checks one overlay (runChecks,
 * unchanged), groups in parallel with at most `parallel` SSH sessions in flight, each group with
 * its own deadline; the result is a matrix of group × check, plus each group's VXLAN counters per
 * VNI. The class dashboard refreshes one group at a time with `checkGroup`.
 */
import { VxiError } from '../errors.js';
import { runChecks, type CheckResult } from '../provision/check.js';
import type { ConnectOptions } from '../remote/connection.js';
import { overlayMembers, resolveNode } from '../remote/inventory.js';
import { selectGroups } from './inventory.js';
import { GroupPool, SessionGauge } from './pool.js';
import { DEFAULT_PARALLEL, runBounded, type TaskOutcome } from './run.js';
import { readVxlanCounters } from './traffic.js';
import type { CellStatus, CheckCell, ClassCheckMatrix, ClassGroup, ClassInventory, GroupCheck, VniTraffic } from './types.js';

/** Per group: time for its SSH connections (the connect timeout, per node) and its checks; past it the group is an error row. */
export const DEFAULT_GROUP_DEADLINE_MS = 60_000;

export interface GroupCheckOptions {
  /** SSH: --accept-new, --connect-timeout. */
  connect?: ConnectOptions;
  /** Per group (default 60 s). */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface ClassCheckOptions extends GroupCheckOptions {
  /** Group names; default every group. */
  groups?: readonly string[];
  /** SSH sessions in flight at most (default 8). */
  parallel?: number;
  /** Each group's row as soon as it is known. */
  onGroup?: (g: GroupCheck) => void;
}

const RANK: Record<CellStatus, number> = { pass: 0, warn: 1, fail: 2, error: 3 };

export function worst(statuses: readonly CellStatus[]): CellStatus {
  return statuses.reduce<CellStatus>((w, s) => (RANK[s] > RANK[w] ? s : w), 'pass');
}

/** One cell per check name: the worst status over the group's nodes, the details that explain it. */
export function cellsOf(checks: readonly CheckResult[]): Record<string, CheckCell> {
  const by = new Map<string, CheckResult[]>();
  for (const c of checks) by.set(c.name, [...(by.get(c.name) ?? []), c]);
  const cells: Record<string, CheckCell> = {};
  for (const [name, rs] of by) {
    const status = worst(rs.map((r) => r.status));
    // a failing cell says what fails (and where); a passing one says what passed on each node
    const shown = status === 'pass' ? rs : rs.filter((r) => r.status === status);
    const detail = shown.map((r) => (r.node === 'overlay' ? r.detail : `${r.node}: ${r.detail}`)).join('; ');
    cells[name] = { status, detail };
  }
  return cells;
}

/** The matrix's columns: check names in the order the checks run, taken from the groups that got furthest. */
export function columnsOf(rows: readonly GroupCheck[]): string[] {
  const cols: string[] = [];
  for (const r of [...rows].sort((a, b) => b.checks.length - a.checks.length)) {
    for (const c of r.checks) if (!cols.includes(c.name)) cols.push(c.name);
  }
  return cols;
}

/** The checks of one group, over its own connections (closed at the end, or when `signal` fires). */
async function checkGroupNow(
  group: ClassGroup,
  connect: ConnectOptions,
  signal: AbortSignal,
  gauge: SessionGauge | undefined,
): Promise<GroupCheck> {
  const started = new Date();
  const inv = group.inventory;
  const members = overlayMembers(inv);
  if (members.length === 0)
    throw new VxiError('VXI_INVENTORY', `group ${group.name} has no overlay member (a node with bridgeAddress) in ${inv.source}`, {
      exitCode: 2,
    });
  const pool = new GroupPool(connect, gauge, signal, group.name);
  try {
    const report = await runChecks(pool, inv, members);
    // counters only where SSH works: a node that did not answer is not tried again
    const reachable = members.filter((m) => report.checks.some((c) => c.node === m && c.name === 'ssh' && c.status === 'pass'));
    const traffic: VniTraffic[] = (
      await Promise.all(
        reachable.map(async (m) => {
          try {
            return await readVxlanCounters(await pool.get(resolveNode(inv, m)), m);
          } catch {
            return [];
          }
        }),
      )
    ).flat();
    const cells = cellsOf(report.checks);
    return {
      group: group.name,
      status: worst(Object.values(cells).map((c) => c.status)),
      checkedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
      cells,
      checks: report.checks,
      traffic,
    };
  } finally {
    await pool.closeAll();
  }
}

function errorRow(group: string, o: Extract<TaskOutcome<unknown>, { ok: false }>): GroupCheck {
  return {
    group,
    status: 'error',
    checkedAt: (o.startedAt ?? new Date()).toISOString(),
    durationMs: o.ms,
    cells: {},
    checks: [],
    traffic: [],
    error: o.error,
  };
}

function rowOf(o: TaskOutcome<GroupCheck>): GroupCheck {
  return o.ok ? o.value : errorRow(o.key, o);
}

/** Checks the selected groups of the class; never rejects for a group's failure (that group's row says it). */
export async function checkClass(cls: ClassInventory, opts: ClassCheckOptions = {}): Promise<ClassCheckMatrix> {
  const groups = selectGroups(cls, opts.groups ?? []);
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const connect = opts.connect ?? {};
  const gauge = new SessionGauge();
  const started = new Date();
  const r = await runBounded<GroupCheck>(
    groups.map((g) => ({
      key: g.name,
      weight: overlayMembers(g.inventory).length,
      run: (signal) => checkGroupNow(g, connect, signal, gauge),
    })),
    {
      parallel,
      deadlineMs: opts.deadlineMs ?? DEFAULT_GROUP_DEADLINE_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onSettled: (o) => opts.onGroup?.(rowOf(o as TaskOutcome<GroupCheck>)),
    },
  );
  const rows = r.outcomes.map(rowOf);
  return {
    source: cls.source,
    ok: rows.every((g) => g.status === 'pass' || g.status === 'warn'),
    checkedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    parallel,
    peakSessions: gauge.peak,
    columns: columnsOf(rows),
    groups: rows,
  };
}

/** One group, with the same deadline and connections as in checkClass: what the dashboard refreshes. */
export async function checkGroup(group: ClassGroup, opts: GroupCheckOptions = {}): Promise<GroupCheck> {
  const weight = Math.max(1, overlayMembers(group.inventory).length);
  const r = await runBounded<GroupCheck>(
    [{ key: group.name, weight, run: (signal) => checkGroupNow(group, opts.connect ?? {}, signal, undefined) }],
    {
      parallel: weight,
      deadlineMs: opts.deadlineMs ?? DEFAULT_GROUP_DEADLINE_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  const o = r.outcomes[0];
  if (!o) throw new Error(`checkGroup ${group.name}: no outcome`);
  return rowOf(o);
}
