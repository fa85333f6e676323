/**
 * `provision --class`: each selected group provisioned as `provision NODE…` does one overlay
 * (provision, unchanged: read, plan, apply only what differs), groups in parallel with at most
 * `parallel` SSH sessions in flight and a deadline each. A group that fails is a row with its
 * error; the others go on.
 */
import { provision, type RunReport } from '../provision/apply.js';
import type { ConnectOptions } from '../remote/connection.js';
import { overlayMembers } from '../remote/inventory.js';
import { selectGroups } from './inventory.js';
import { GroupPool, SessionGauge } from './pool.js';
import { DEFAULT_PARALLEL, runBounded } from './run.js';
import type { ClassInventory } from './types.js';

export interface ClassProvisionOptions {
  groups?: readonly string[];
  parallel?: number;
  dryRun?: boolean;
  /** Multicast group mode (as `provision --multicast`). */
  multicast?: string;
  connect?: ConnectOptions;
  /** Per group (default 120 s: provisioning runs a dozen commands per node). */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface GroupProvisionResult {
  group: string;
  ok: boolean;
  report?: RunReport;
  error?: string;
  durationMs: number;
}

export interface ClassProvisionSummary {
  ok: boolean;
  dryRun: boolean;
  parallel: number;
  peakSessions: number;
  durationMs: number;
  groups: GroupProvisionResult[];
}

export async function provisionClass(cls: ClassInventory, opts: ClassProvisionOptions = {}): Promise<ClassProvisionSummary> {
  const groups = selectGroups(cls, opts.groups ?? []);
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const gauge = new SessionGauge();
  const t0 = Date.now();
  const r = await runBounded<RunReport>(
    groups.map((g) => ({
      key: g.name,
      weight: overlayMembers(g.inventory).length,
      run: async (signal) => {
        const pool = new GroupPool(opts.connect ?? {}, gauge, signal, g.name);
        try {
          return await provision(pool, g.inventory, overlayMembers(g.inventory), {
            dryRun: Boolean(opts.dryRun),
            ...(opts.multicast ? { group: opts.multicast } : {}),
          });
        } finally {
          await pool.closeAll();
        }
      },
    })),
    { parallel, deadlineMs: opts.deadlineMs ?? 120_000, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  const rows: GroupProvisionResult[] = r.outcomes.map((o) => {
    if (!o.ok) return { group: o.key, ok: false, error: o.error, durationMs: o.ms };
    // a dry run that would refuse (a blocker) is not ok: provision NODE… --dry-run says so too
    const blocked = o.value.nodes.filter((n) => n.plan.blockers.length > 0).map((n) => n.node);
    const row: GroupProvisionResult = { group: o.key, ok: blocked.length === 0, report: o.value, durationMs: o.ms };
    if (blocked.length > 0) row.error = `would refuse to run on ${blocked.join(', ')}: see the lines marked !`;
    return row;
  });
  return {
    ok: rows.every((x) => x.ok),
    dryRun: Boolean(opts.dryRun),
    parallel,
    peakSessions: gauge.peak,
    durationMs: Date.now() - t0,
    groups: rows,
  };
}
