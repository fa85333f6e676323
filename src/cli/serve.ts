/** `vxlan-inspect serve [DIR|FILE…]`: the web view of a capture folder or of files. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { sessionFromArgs, type SessionSpec } from '../web/session.js';
import { startServer, type RunningServer, type ServeOptions } from '../web/server.js';
import type { CliIo } from './main.js';
import { collectPorts, parseIntInRange } from './options.js';

export interface ServeFlags {
  port?: number;
  host?: string;
  vxlanPort?: number[];
}

const parseServePort = parseIntInRange('--port', 0, 65535);

function describe(server: RunningServer, where: string): string {
  const lines: string[] = [];
  const nodes = server.store.nodes();
  lines.push(`serving ${server.store.captures().length} capture(s)${where ? ` of ${where}` : ''}${nodes.length ? ` — ${nodes.length} node(s)` : ''}`);
  for (const n of nodes) {
    const u = n.underlay ? server.store.capture(n.underlay) : undefined;
    const o = n.overlay ? server.store.capture(n.overlay) : undefined;
    const side = (label: string, c: typeof u): string => (c ? `${label} ${c.name} (${c.index.count} packets)` : `${label} —`);
    const a = n.analysis;
    const corr = a && u && o ? `: ${a.matched} matched, ${a.underlayOnly} underlay only, ${a.overlayOnly} bridge only` : '';
    lines.push(`  ${n.name}: ${side('underlay', u)}, ${side('bridge', o)}${corr}`);
  }
  for (const p of server.store.problems) lines.push(`  skipped ${p}`);
  lines.push(`open ${server.openUrl}`);
  lines.push(`token (uploads and live capture need it; header X-VXI-Token): ${server.token}`);
  if (server.host !== '127.0.0.1' && server.host !== 'localhost' && server.host !== '::1') {
    lines.push(`warning: listening on ${server.host}: anyone who can reach this address can read the captures (uploads still need the token)`);
  }
  lines.push('press Ctrl-C to stop');
  return `${lines.join('\n')}\n`;
}

/** Serves until `signal` aborts (or SIGINT/SIGTERM when none is given). */
export async function runServer(session: SessionSpec | undefined, opts: ServeOptions, where: string, io: CliIo, signal?: AbortSignal): Promise<number> {
  const server = await startServer(session, opts);
  io.stdout.write(describe(server, where));
  await new Promise<void>((resolve) => {
    if (signal) {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  io.stdout.write('stopped\n');
  return 0;
}

export function serveOptions(flags: ServeFlags): ServeOptions {
  const o: ServeOptions = { port: flags.port ?? 8080, host: flags.host ?? '127.0.0.1' };
  if (flags.vxlanPort) o.vxlanPorts = flags.vxlanPort;
  return o;
}

export async function runServe(paths: string[], flags: ServeFlags, io: CliIo, signal?: AbortSignal): Promise<number> {
  if (flags.host !== undefined && flags.host.trim() === '') throw new UsageError('--host needs an address, e.g. 127.0.0.1');
  const session = paths.length ? sessionFromArgs(paths) : undefined;
  if (session && session.files.length === 0) {
    throw new UsageError(`no capture files (.pcap, .pcapng) in ${paths.join(' ')}: name them <node>-<interface>.pcap (e.g. kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap) or list them in session.json`);
  }
  return runServer(session, serveOptions(flags), paths.join(' '), io, signal);
}

export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('web view of captures: underlay and bridge side by side, packet lists and detail, topology, diagnostics')
    .argument('[paths...]', 'a capture folder (kvm1-eth1.pcap + kvm1-vxlan_bridge.pcap…, or session.json) or capture files; none: upload from the page')
    .option('--port <n>', 'TCP port (0: any free port)', parseServePort, 8080)
    .option('--host <addr>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable)', collectPorts)
    .addHelpText('after', '\nExamples:\n  vxlan-inspect serve captures/           # kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap, …\n  vxlan-inspect serve eth1.pcap vxlan_bridge.pcap --port 9000\n')
    .action(async (paths: string[], flags: ServeFlags) => {
      process.exitCode = await runServe(paths, flags, io);
    });
}
