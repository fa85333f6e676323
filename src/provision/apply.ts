/**
 * `provision`: read every named node, plan each one, refuse if any plan has a blocker, then run
 * each plan's commands in order over the node's session (privileged: `sudo -n` when the
 * inventory says so). `dryRun` stops after planning.
 */
import { VxiError } from '../errors.js';
import type { SessionPool, RemoteSession } from '../remote/connection.js';
import { buildCommand } from '../remote/exec.js';
import type { Inventory, NodeConfig } from '../remote/inventory.js';
import { gather } from './gather.js';
import { planProvision, type Plan, type PlannedCommand } from './plan.js';

export interface NodeRunResult {
  node: string;
  host: string;
  plan: Plan;
  /** The command strings as sent (quoted, with `sudo -n --` when used), in plan order. */
  commandLines: string[];
  /** How many were run (0 with dryRun). */
  applied: number;
}

export interface RunReport {
  dryRun: boolean;
  nodes: NodeRunResult[];
  notes: string[];
}

export interface ProvisionOptions {
  dryRun?: boolean;
  /** Multicast group mode. */
  group?: string;
  /** Called after each command succeeds (live output). */
  onApplied?: (node: NodeConfig, cmd: PlannedCommand, line: string) => void;
}

export function commandLine(node: NodeConfig, argv: readonly string[]): string {
  return buildCommand({ name: node.name, host: node.host, user: node.user, sudo: node.sudo }, argv, { sudo: true });
}

/** Runs a plan's commands in order; the first failure stops it with an error naming the node and command. */
export async function applyPlan(
  session: RemoteSession,
  plan: Plan,
  onApplied?: (cmd: PlannedCommand, line: string) => void,
): Promise<number> {
  let n = 0;
  for (const cmd of plan.commands) {
    const line = commandLine(session.node, cmd.argv);
    const r = await session.run(cmd.argv, { sudo: true });
    if (r.code !== 0) {
      throw new VxiError(
        'VXI_REMOTE_COMMAND',
        `${session.label}: \`${line}\` failed (exit ${r.code ?? r.signal ?? '?'}): ${r.stderr.trim() || r.stdout.trim()}` +
          (n > 0
            ? ` — ${n} earlier command(s) were applied; fix the cause and run provision again (it continues from the current state)`
            : ''),
      );
    }
    n++;
    onApplied?.(cmd, line);
  }
  return n;
}

export function blockersError(verb: string, plans: readonly Plan[]): VxiError | null {
  const lines = plans.flatMap((p) => p.blockers.map((b) => `${p.node}: ${b}`));
  if (lines.length === 0) return null;
  return new VxiError('VXI_REMOTE_COMMAND', `${verb} changed nothing, because:\n  ${lines.join('\n  ')}`);
}

export async function provision(
  pool: SessionPool,
  inv: Inventory,
  names: readonly string[],
  opts: ProvisionOptions = {},
): Promise<RunReport> {
  const g = await gather(pool, inv, names);
  const results: NodeRunResult[] = g.nodes.map(({ node, state, underlay }) => {
    const input = {
      node,
      state,
      localAddress: underlay.address,
      peers: g.members.filter((m) => m.name !== node.name).map((m) => ({ name: m.name, address: m.address })),
      ...(opts.group ? { group: opts.group } : {}),
    };
    const plan = planProvision(input);
    return { node: node.name, host: node.host, plan, commandLines: plan.commands.map((c) => commandLine(node, c.argv)), applied: 0 };
  });
  const report: RunReport = { dryRun: Boolean(opts.dryRun), nodes: results, notes: g.notes };
  if (opts.dryRun) return report;
  const blocked = blockersError(
    'provision',
    results.map((r) => r.plan),
  );
  if (blocked) throw blocked;
  for (const r of results) {
    const gn = g.nodes.find((n) => n.node.name === r.node);
    if (!gn) continue;
    r.applied = await applyPlan(gn.session, r.plan, (cmd, line) => opts.onApplied?.(gn.node, cmd, line));
  }
  return report;
}
