/**
 * `provision NODE… [--dry-run] [--multicast GROUP] [--inventory F] [--accept-new]`: build the
 * overlay the inventory describes on each node, applying only what differs.
 */
import type { Command } from 'commander';
import { UsageError, VxiError } from '../errors.js';
import { provision, type RunReport } from '../provision/apply.js';
import { SessionPool, type ConnectOptions } from '../remote/connection.js';
import { loadInventory, type Inventory } from '../remote/inventory.js';
import { multicastGroupProblem } from '../remote/quote.js';
import { addClassOptions, classMode, provisionClassCommand, type ClassFlags } from '../class/cli.js';
import type { CliIo } from './main.js';

/** Options every command that talks to nodes shares. */
export interface RemoteFlags {
  inventory?: string;
  acceptNew?: boolean;
  connectTimeout?: string;
}

export function addRemoteOptions(cmd: Command): Command {
  return cmd
    .option('--inventory <file>', 'inventory YAML (default: ./vxlan-inspect.yaml, else the built-in class lab)')
    .option('--accept-new', 'trust and record the host key of a node seen for the first time (like StrictHostKeyChecking=accept-new)')
    .option('--connect-timeout <seconds>', 'SSH connect timeout per hop', '10');
}

export async function openRemote(flags: RemoteFlags): Promise<{ inv: Inventory; pool: SessionPool }> {
  const t = Number(flags.connectTimeout ?? '10');
  if (!Number.isFinite(t) || t <= 0 || t > 300)
    throw new UsageError(`--connect-timeout must be a number of seconds between 0 and 300, not ${JSON.stringify(flags.connectTimeout)}`);
  const inv = await loadInventory(flags.inventory);
  const opts: ConnectOptions = { acceptNew: Boolean(flags.acceptNew), timeoutMs: t * 1000 };
  return { inv, pool: new SessionPool(opts) };
}

/** Per node: the commands (run or to run) with their reasons, notes, then one summary line. */
export function renderRunReport(verb: 'provision' | 'teardown', r: RunReport, liveApplied: boolean): string {
  const lines: string[] = [];
  for (const n of r.nodes) {
    const head = `${n.node} (${n.host})`;
    const count = n.plan.commands.length;
    if (count === 0 && n.plan.blockers.length === 0) lines.push(`${head}: nothing to change`);
    else if (r.dryRun) {
      lines.push(`${head}: would run ${count} command${count === 1 ? '' : 's'}`);
      n.plan.commands.forEach((c, i) => lines.push(`  ${n.commandLines[i] ?? ''}    # ${c.why}`));
    } else if (!liveApplied) {
      lines.push(`${head}:`);
      n.plan.commands
        .slice(0, n.applied)
        .forEach((c, i) => lines.push(`  ${verb === 'provision' ? '+' : '-'} ${n.commandLines[i] ?? ''}    # ${c.why}`));
    }
    for (const b of n.plan.blockers) lines.push(`  ! ${b}`);
  }
  // the same note on several nodes is said once, naming them
  const notes = new Map<string, string[]>();
  for (const n of r.nodes) for (const note of n.plan.notes) notes.set(note, [...(notes.get(note) ?? []), n.node]);
  for (const [note, nodes] of notes) lines.push(`note: ${note} (${nodes.join(', ')})`);
  for (const note of r.notes) lines.push(`note: ${note}`);
  const parts = r.nodes.map((n) => {
    const c = r.dryRun ? n.plan.commands.length : n.applied;
    return `${n.node} ${c === 0 ? 'nothing to change' : `${c} ${r.dryRun ? 'to apply' : 'applied'}`}`;
  });
  lines.push(`${r.dryRun ? `${verb} --dry-run (nothing changed)` : verb}: ${parts.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

interface ProvisionFlags extends RemoteFlags, ClassFlags {
  dryRun?: boolean;
  multicast?: string;
}

export function registerProvision(program: Command, io: CliIo): void {
  addClassOptions(
    addRemoteOptions(
      program
        .command('provision')
        .description(
          'create the bridge, the VXLAN interface, flood entries and firewalld rules the inventory describes; only what differs is applied',
        )
        .addHelpText(
          'after',
          '\nExamples:\n  vxlan-inspect provision kvm1 kvm2 --dry-run\n  vxlan-inspect provision kvm1 kvm2 ' +
            '--inventory vxlan-inspect.yaml\n  vxlan-inspect provision --class class.yaml --dry-run   ' +
            '# every group\n',
        )
        .argument('[nodes...]', 'node names from the inventory (e.g. kvm1 kvm2), or --class FILE')
        .option('--dry-run', 'print the exact commands per node and change nothing')
        .option('--multicast <group>', 'use multicast group mode (group GROUP dev UNDERLAY) instead of unicast flood entries'),
    ),
  ).action(async (nodes: string[], flags: ProvisionFlags) => {
    if (classMode(nodes, flags)) return provisionClassCommand(flags, io, (r) => renderRunReport('provision', r, false));
    if (flags.multicast !== undefined) {
      const p = multicastGroupProblem(flags.multicast);
      if (p) throw new UsageError(`--multicast ${p}`);
    }
    const { inv, pool } = await openRemote(flags);
    let current = '';
    try {
      const report = await provision(pool, inv, nodes, {
        dryRun: Boolean(flags.dryRun),
        ...(flags.multicast ? { group: flags.multicast } : {}),
        onApplied: (node, cmd, line) => {
          if (current !== node.name) {
            current = node.name;
            io.stdout.write(`${node.name} (${node.host}):\n`);
          }
          io.stdout.write(`  + ${line}    # ${cmd.why}\n`);
        },
      });
      io.stdout.write(renderRunReport('provision', report, true));
      if (report.dryRun && report.nodes.some((n) => n.plan.blockers.length > 0)) {
        throw new VxiError('VXI_REMOTE_COMMAND', 'provision would refuse to run: see the lines marked !');
      }
    } finally {
      await pool.closeAll();
    }
  });
}
