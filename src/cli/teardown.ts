/** `teardown NODE… [--dry-run]`: remove what provision made (the VXLAN interface; the bridge if provision created it and it is unused). */
import type { Command } from 'commander';
import { teardown } from '../provision/teardown.js';
import type { CliIo } from './main.js';
import { addRemoteOptions, openRemote, renderRunReport, type RemoteFlags } from './provision.js';

export function registerTeardown(program: Command, io: CliIo): void {
  addRemoteOptions(
    program
      .command('teardown')
      .description('remove what provision made on each node, nothing else')
      .addHelpText('after', '\nExample:\n  vxlan-inspect teardown kvm1 kvm2\n')
      .argument('<nodes...>', 'node names from the inventory')
      .option('--dry-run', 'print the exact commands per node and change nothing'),
  ).action(async (nodes: string[], flags: RemoteFlags & { dryRun?: boolean }) => {
    const { inv, pool } = await openRemote(flags);
    let current = '';
    try {
      const report = await teardown(pool, inv, nodes, {
        dryRun: Boolean(flags.dryRun),
        onApplied: (node, cmd, line) => {
          if (current !== node.name) {
            current = node.name;
            io.stdout.write(`${node.name} (${node.host}):\n`);
          }
          io.stdout.write(`  - ${line}    # ${cmd.why}\n`);
        },
      });
      io.stdout.write(renderRunReport('teardown', report, true));
    } finally {
      await pool.closeAll();
    }
  });
}
