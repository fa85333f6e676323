/**
 * `check NODE… [--json] [--probe] [--save DIR]`: pass/warn/fail diagnostics of the overlay; exit 1
 * when any check fails. `--save DIR` also records each node's overlay configuration into
 * DIR/session.json (nodes[].config), for `path DIR` to compare with the traffic.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError, VxiError } from '../errors.js';
import { overlayConfigRecord, recordOverlayConfig } from '../capture/node.js';
import { saveOverlayConfigs, type ConfigToSave } from '../capture/session-file.js';
import { runChecks, type CheckReport } from '../provision/check.js';
import type { SessionPool } from '../remote/connection.js';
import { resolveNode, type Inventory } from '../remote/inventory.js';
import { multicastGroupProblem } from '../remote/quote.js';
import { addClassOptions, checkClassCommand, classMode, type ClassFlags } from '../class/cli.js';
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

/** Each node's overlay configuration, read over the pool's connections (a node that cannot be reached is recorded with the error). */
async function recordConfigs(pool: SessionPool, inv: Inventory, nodes: readonly string[]): Promise<ConfigToSave[]> {
  const out: ConfigToSave[] = [];
  for (const name of nodes) {
    const node = resolveNode(inv, name);
    let config;
    try {
      config = await recordOverlayConfig(await pool.get(node), node, 'check');
    } catch (err) {
      config = overlayConfigRecord(node, { error: (err as Error).message }, { at: new Date(), by: 'check' });
    }
    out.push({ name, host: node.host, underlay: node.overlay.underlay, bridge: node.overlay.bridge, config });
  }
  return out;
}

export function registerCheck(program: Command, io: CliIo): void {
  addClassOptions(
    addRemoteOptions(
      program
        .command('check')
        .description(
          'diagnose the overlay on each node: interfaces, VNI/port, flood entries, MTU, firewall, peers; exit 1 when a check fails',
        )
        .addHelpText(
          'after',
          '\nExamples:\n  vxlan-inspect check kvm1 kvm2\n  vxlan-inspect check kvm1 kvm2 --json --probe\n  ' +
            'vxlan-inspect check kvm1 kvm2 --save captures/   # record the configuration beside the captures, ' +
            'for path\n  vxlan-inspect check --class class.yaml --parallel 8   # every group: ' +
            'a matrix of group × check\n',
        )
        .argument('[nodes...]', 'node names from the inventory (or --class FILE)')
        .option('--json', 'print {"ok":…,"checks":[{node,name,status,detail}]}')
        .option('--probe', 'also capture briefly on the underlay while pinging a peer through the overlay, and check the VNI on the wire')
        .option('--multicast <group>', 'expect multicast group mode with this group')
        .option(
          '--save <dir>',
          "also record each node's overlay configuration (VXLAN devices, FDB, firewalld, nftables) into DIR/session.json, for `path DIR`",
        ),
    ),
  ).action(
    async (nodes: string[], flags: RemoteFlags & ClassFlags & { json?: boolean; probe?: boolean; multicast?: string; save?: string }) => {
      if (classMode(nodes, flags)) {
        if (flags.save !== undefined) throw new UsageError('--save is for check NODE…; with --class, capture --class records each group');
        return checkClassCommand(flags, io);
      }
      if (flags.multicast !== undefined) {
        const p = multicastGroupProblem(flags.multicast);
        if (p) throw new UsageError(`--multicast ${p}`);
      }
      const saveDir = flags.save === undefined ? undefined : path.resolve(flags.save);
      if (saveDir !== undefined && !(existsSync(saveDir) && statSync(saveDir).isDirectory()))
        throw new UsageError(`--save ${flags.save}: no such folder (give a capture folder, or create it first)`);
      const { inv, pool } = await openRemote(flags);
      let report: CheckReport;
      let configs: ConfigToSave[] = [];
      try {
        report = await runChecks(pool, inv, nodes, { probe: Boolean(flags.probe), ...(flags.multicast ? { group: flags.multicast } : {}) });
        if (saveDir !== undefined) configs = await recordConfigs(pool, inv, nodes);
      } finally {
        await pool.closeAll();
      }
      io.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : renderChecks(report));
      if (saveDir !== undefined) {
        const file = saveOverlayConfigs(saveDir, configs);
        const failed = configs.filter((c) => c.config.error !== undefined).map((c) => c.name);
        io.stderr.write(
          `check: overlay configuration of ${configs.map((c) => c.name).join(', ')} recorded ` +
            `in ${file}${failed.length ? ` (not readable on ${failed.join(', ')}: the error is recorded instead)` : ''}\n`,
        );
      }
      if (!report.ok) {
        const failed = report.checks.filter((c) => c.status === 'fail').map((c) => `${c.node} ${c.name}`);
        throw new VxiError('VXI_REMOTE_COMMAND', `check failed: ${failed.join(', ')}`, { exitCode: 1 });
      }
    },
  );
}
