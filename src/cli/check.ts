/** `check NODE… [--json] [--probe]`: pass/warn/fail diagnostics of the overlay; exit 1 when any check fails. */
import type { Command } from 'commander';
import { UsageError, VxiError } from '../errors.js';
import { runChecks, type CheckReport } from '../provision/check.js';
import { multicastGroupProblem } from '../remote/quote.js';
import type { CliIo } from './main.js';
import { addRemoteOptions, openRemote, type RemoteFlags } from './provision.js';

export function renderChecks(r: CheckReport): string {
  const nodeW = Math.max(4, ...r.checks.map((c) => c.node.length));
  const nameW = Math.max(4, ...r.checks.map((c) => c.name.length));
  const label = { pass: 'pass', warn: 'WARN', fail: 'FAIL' } as const;
  const lines = r.checks.map((c) => `${c.node.padEnd(nodeW)}  ${label[c.status]}  ${c.name.padEnd(nameW)}  ${c.detail}`);
  const count = (s: string): number => r.checks.filter((c) => c.status === s).length;
  lines.push(`check: ${r.ok ? 'ok' : 'FAILED'} (${count('pass')} passed, ${count('warn')} warnings, ${count('fail')} failed)`);
  return `${lines.join('\n')}\n`;
}

export function registerCheck(program: Command, io: CliIo): void {
  addRemoteOptions(
    program
      .command('check')
      .description('diagnose the overlay on each node: interfaces, VNI/port, flood entries, MTU, firewall, peers; exit 1 when a check fails')
      .addHelpText('after', '\nExamples:\n  vxlan-inspect check kvm1 kvm2\n  vxlan-inspect check kvm1 kvm2 --json --probe\n')
      .argument('<nodes...>', 'node names from the inventory')
      .option('--json', 'print {"ok":…,"checks":[{node,name,status,detail}]}')
      .option('--probe', 'also capture briefly on the underlay while pinging a peer through the overlay, and check the VNI on the wire')
      .option('--multicast <group>', 'expect multicast group mode with this group'),
  ).action(async (nodes: string[], flags: RemoteFlags & { json?: boolean; probe?: boolean; multicast?: string }) => {
    if (flags.multicast !== undefined) {
      const p = multicastGroupProblem(flags.multicast);
      if (p) throw new UsageError(`--multicast ${p}`);
    }
    const { inv, pool } = await openRemote(flags);
    let report: CheckReport;
    try {
      report = await runChecks(pool, inv, nodes, { probe: Boolean(flags.probe), ...(flags.multicast ? { group: flags.multicast } : {}) });
    } finally {
      await pool.closeAll();
    }
    io.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : renderChecks(report));
    if (!report.ok) {
      const failed = report.checks.filter((c) => c.status === 'fail').map((c) => `${c.node} ${c.name}`);
      throw new VxiError('VXI_REMOTE_COMMAND', `check failed: ${failed.join(', ')}`, { exitCode: 1 });
    }
  });
}
