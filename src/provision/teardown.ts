/**
 * `teardown`: remove what provision made on each named node — the VXLAN interface (and with it
 * its flood entries) and the bridge when provision created it and nothing else is plugged in.
 */
import type { SessionPool } from '../remote/connection.js';
import { resolveMembers } from './gather.js';
import type { Inventory } from '../remote/inventory.js';
import { applyPlan, blockersError, commandLine, type ProvisionOptions, type RunReport, type NodeRunResult } from './apply.js';
import { planTeardown } from './plan.js';
import { readNodeState } from './state.js';

export async function teardown(
  pool: SessionPool,
  inv: Inventory,
  names: readonly string[],
  opts: Pick<ProvisionOptions, 'dryRun' | 'onApplied'> = {},
): Promise<RunReport> {
  const nodes = resolveMembers(inv, names);
  const work = [];
  for (const node of nodes) {
    const session = await pool.get(node);
    const state = await readNodeState(session, node);
    const plan = planTeardown({ node, state });
    const result: NodeRunResult = {
      node: node.name,
      host: node.host,
      plan,
      commandLines: plan.commands.map((c) => commandLine(node, c.argv)),
      applied: 0,
    };
    work.push({ node, session, result });
  }
  const report: RunReport = { dryRun: Boolean(opts.dryRun), nodes: work.map((w) => w.result), notes: [] };
  if (opts.dryRun) return report;
  const blocked = blockersError(
    'teardown',
    work.map((w) => w.result.plan),
  );
  if (blocked) throw blocked;
  for (const w of work) {
    w.result.applied = await applyPlan(w.session, w.result.plan, (cmd, line) => opts.onApplied?.(w.node, cmd, line));
  }
  return report;
}
