/**
 * `vxlan-inspect serve [DIR|FILE…] [--inventory F] [--netns NS]`: the web view of a capture folder
 * or of files, with live capture of the inventory's nodes from the page.
 *
 * Live capture runs tcpdump over SSH from this process, except where that would send packets to
 * the wrong place: with `--netns NS`, or an inventory written by `lab up` (its lab.json says the
 * prefix) while this process is not inside the lab's frontend namespace, the capture CLI runs
 * inside that namespace instead (see src/web/live.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../capture/duration.js';
import { loadClassInventory } from '../class/inventory.js';
import { readClassLabState } from '../class/lab.js';
import { DEFAULT_PARALLEL, MAX_PARALLEL } from '../class/run.js';
import { UsageError, isVxiError } from '../errors.js';
import { readLabState } from '../lab/up.js';
import { netnsName } from '../lab/topology.js';
import { ClassBoard } from '../web/class/board.js';
import { newToken } from '../web/security.js';
import { BUILTIN_SOURCE, loadInventory } from '../remote/inventory.js';
import { inProcessCaptureStarter, netnsCaptureStarter } from '../web/live.js';
import { nodeSpecOption, sessionFromArgs, type CaptureFileSpec, type SessionSpec } from '../web/session.js';
import { startServer, type RunningServer, type ServeOptions } from '../web/server.js';
import type { CliIo } from './main.js';
import { collectPorts, parseIntInRange } from './options.js';

export interface ServeFlags {
  port?: number;
  host?: string;
  vxlanPort?: number[];
  /** Inventory for live capture (default ./vxlan-inspect.yaml, else the built-in class lab). */
  inventory?: string;
  /** Run live captures inside this network namespace. */
  netns?: string;
  acceptNew?: boolean;
  /** No live capture. */
  live?: boolean;
  /** Explicit pairs (--node kvm1=U.pcap,B.pcap), repeatable. */
  node?: CaptureFileSpec[];
  /** A class inventory: the class dashboard instead of captures. */
  class?: string;
  /** --class: each group checked again this long after its previous check (default 30s). */
  refresh?: string;
  /** --class: SSH sessions in flight at most. */
  parallel?: number;
}

/** How live capture is set up: the starter and the line that says so. */
export interface LiveSetup {
  startCapture: NonNullable<ServeOptions['startCapture']>;
  liveNodes: string[];
  note: string;
}

/** Whether this process runs inside the named network namespace (same namespace inode). */
export function insideNetns(name: string): boolean {
  try {
    const self = statSync('/proc/self/ns/net');
    const named = statSync(path.join('/run/netns', name));
    return self.ino === named.ino && self.dev === named.dev;
  } catch {
    return false;
  }
}

/**
 * The live-capture starter for `serve`: the inventory's nodes, captured into a new folder under
 * `outRoot` (the served folder, else a temporary one). Undefined, with the reason in `note`, when
 * the default inventory cannot be read; an explicit --inventory that cannot be read is an error.
 */
export async function liveSetup(flags: ServeFlags, outRoot: string | undefined): Promise<LiveSetup | { note: string }> {
  let inventory;
  try {
    inventory = await loadInventory(flags.inventory);
  } catch (err) {
    if (flags.inventory !== undefined || !isVxiError(err)) throw err;
    return { note: `live capture off: ${err.message}` };
  }
  const liveNodes = Object.keys(inventory.nodes);
  const where = outRoot ? `new folders under ${outRoot}` : 'a temporary folder';
  let netns = flags.netns;
  if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns))
    throw new UsageError(`--netns must be a namespace name (letters, digits, "_", ".", "-"), not ${JSON.stringify(netns)}`);
  if (netns === undefined && inventory.source !== BUILTIN_SOURCE) {
    // an inventory `lab up` wrote: its addresses exist only inside the lab's namespaces
    const lab = readLabState(path.dirname(inventory.source));
    if (lab) {
      const frontend = netnsName(lab.prefix, 'frontend');
      if (!insideNetns(frontend)) netns = frontend;
    }
  }
  if (netns !== undefined) {
    if (inventory.source === BUILTIN_SOURCE)
      throw new UsageError('--netns needs --inventory FILE (the capture run inside the namespace reads it)');
    return {
      startCapture: netnsCaptureStarter(netns, inventory.source, outRoot ? { outRoot } : {}),
      liveNodes,
      note: `live capture: ${liveNodes.join(', ')} of ${inventory.source}, run inside namespace ${netns}, into ${where}`,
    };
  }
  return {
    startCapture: inProcessCaptureStarter({ inventory, acceptNew: Boolean(flags.acceptNew), ...(outRoot ? { outRoot } : {}) }),
    liveNodes,
    note: `live capture: ${liveNodes.join(', ')} of ${inventory.source}, over SSH from here, into ${where}`,
  };
}

const parseServePort = parseIntInRange('--port', 0, 65535);

/** Whether an address to listen on reaches only this machine: localhost, 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z). */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.split('.')[0] === '127';
}

export function describe(server: RunningServer, where: string, notes: string[] = []): string {
  const lines: string[] = [];
  const nodes = server.store.nodes();
  lines.push(
    `serving ${server.store.captures().length} capture(s)${where ? ` of ${where}` : ''}${nodes.length ? ` — ${nodes.length} node(s)` : ''}`,
  );
  for (const n of nodes) {
    const u = n.underlay ? server.store.capture(n.underlay) : undefined;
    const o = n.overlay ? server.store.capture(n.overlay) : undefined;
    const side = (label: string, c: typeof u): string => (c ? `${label} ${c.name} (${c.index.count} packets)` : `${label} —`);
    const a = n.analysis;
    const corr = a && u && o ? `: ${a.matched} matched, ${a.underlayOnly} underlay only, ${a.overlayOnly} bridge only` : '';
    lines.push(`  ${n.name}: ${side('underlay', u)}, ${side('bridge', o)}${corr}`);
  }
  for (const p of server.store.problems) lines.push(`  skipped ${p}`);
  lines.push(...notes);
  lines.push(`open ${server.openUrl}`);
  lines.push(`token (uploads and live capture need it; header X-VXI-Token): ${server.token}`);
  if (!isLoopback(server.host)) {
    lines.push(
      `warning: listening on ${server.host}: anyone who can reach this address can read the captures (uploads still need the token)`,
    );
  }
  lines.push('press Ctrl-C to stop');
  return `${lines.join('\n')}\n`;
}

/** Serves until `signal` aborts (or SIGINT/SIGTERM when none is given). */
export async function runServer(
  session: SessionSpec | undefined,
  opts: ServeOptions,
  where: string,
  io: CliIo,
  signal?: AbortSignal,
  notes: string[] = [],
  say: (server: RunningServer) => string = (server) => describe(server, where, notes),
): Promise<number> {
  const server = await startServer(session, opts);
  // Ctrl-C is ours from before the URL is printed: a pipe write is synchronous, and whoever reads
  // the URL may send SIGINT before the next statement runs (3 of 30 runs died of the signal,
  // exit code null, when the handler was installed after the write)
  let stopRequested = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopRequested = true;
    wake?.();
  };
  if (!signal) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
  try {
    io.stdout.write(say(server));
    await new Promise<void>((resolve) => {
      if (signal) {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      } else if (stopRequested) resolve();
      else wake = resolve;
    });
  } finally {
    if (!signal) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
  await server.close();
  io.stdout.write('stopped\n');
  return 0;
}

export function serveOptions(flags: ServeFlags): ServeOptions {
  const o: ServeOptions = { port: flags.port ?? 8080, host: flags.host ?? '127.0.0.1' };
  if (flags.vxlanPort) o.vxlanPorts = flags.vxlanPort;
  return o;
}

export const DEFAULT_REFRESH = '30s';

/** What `serve --class` says at start-up. */
export function describeClass(server: RunningServer, board: ClassBoard): string {
  const o = board.opts;
  const lines = [
    `class dashboard: ${board.cls.groups.length} group(s) of ${board.cls.source}, ` +
      `each checked every ${o.refreshMs / 1000} s (after its previous check), ` +
      `at most ${o.parallel} SSH sessions at once`,
    `open ${server.url.replace(/\/$/, '')}/class#token=${server.token}`,
    `token (\`check now\` and the groups' live capture need it; header X-VXI-Token): ${server.token}`,
  ];
  if (!isLoopback(server.host))
    lines.push(
      `warning: listening on ${server.host}: anyone who can reach this address sees the class's checks (actions still need the token)`,
    );
  lines.push('press Ctrl-C to stop');
  return `${lines.join('\n')}\n`;
}

/**
 * `serve --class FILE`: the class dashboard. Its checks (and the groups' live captures) go over
 * SSH from this process, so a class lab's inventory is served only from inside the lab's class
 * frontend namespace, the one place its addresses lead to the lab.
 */
export async function runServeClass(paths: string[], flags: ServeFlags, io: CliIo, signal?: AbortSignal): Promise<number> {
  const file = flags.class as string;
  if (paths.length > 0 || flags.node?.length)
    throw new UsageError(
      '--class serves the class dashboard: give no capture folder or files (open a group from the dashboard for its own view)',
    );
  if (flags.inventory !== undefined || flags.netns !== undefined)
    throw new UsageError("--class FILE names every group's nodes: no --inventory or --netns with it");
  if (flags.live === false)
    throw new UsageError(
      "--no-live is for a capture folder; the class dashboard always offers live capture from a group's page (with the token)",
    );
  const refreshSec = parseDuration(flags.refresh ?? DEFAULT_REFRESH, '--refresh');
  if (refreshSec < 1) throw new UsageError(`--refresh must be at least 1s, not ${JSON.stringify(flags.refresh)}`);
  const lab = readClassLabState(path.dirname(path.resolve(file)));
  if (lab) {
    const fe = netnsName(lab.prefix, 'frontend');
    if (!insideNetns(fe)) {
      throw new UsageError(
        `${file} is the inventory of the class lab '${lab.prefix}': ` +
          'its nodes are reachable only from its class frontend namespace; run the dashboard there: ' +
          `ip netns exec ${fe} vxlan-inspect serve --class ${file}`,
      );
    }
  }
  const cls = await loadClassInventory(file);
  const opts = serveOptions(flags);
  const token = newToken();
  const acceptNew = Boolean(flags.acceptNew);
  const board = new ClassBoard(cls, {
    refreshMs: refreshSec * 1000,
    parallel: flags.parallel ?? DEFAULT_PARALLEL,
    connect: { acceptNew },
    host: opts.host ?? '127.0.0.1',
    token,
    acceptNew,
    ...(opts.vxlanPorts ? { vxlanPorts: opts.vxlanPorts } : {}),
  });
  return runServer(undefined, { ...opts, token, classBoard: board }, file, io, signal, [], (server) => describeClass(server, board));
}

export async function runServe(paths: string[], flags: ServeFlags, io: CliIo, signal?: AbortSignal): Promise<number> {
  if (flags.host !== undefined && flags.host.trim() === '') throw new UsageError('--host needs an address, e.g. 127.0.0.1');
  if (flags.class !== undefined) return runServeClass(paths, flags, io, signal);
  if (flags.refresh !== undefined || flags.parallel !== undefined)
    throw new UsageError('--refresh and --parallel are for the class dashboard: serve --class FILE');
  let session = paths.length ? sessionFromArgs(paths) : undefined;
  if (flags.node?.length) {
    session ??= { files: [], nodes: [], vxlanPorts: [] };
    session.files.push(...flags.node);
  }
  if (session && session.files.length === 0) {
    throw new UsageError(
      `no capture files (.pcap, .pcapng) in ${paths.join(' ')}: ` +
        'name them <node>-<interface>.pcap (e.g. kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap) ' +
        'or list them in session.json',
    );
  }
  const opts = serveOptions(flags);
  const notes: string[] = [];
  if (flags.live !== false) {
    const dirs = paths.filter((p) => existsSync(p) && statSync(p).isDirectory());
    const live = await liveSetup(flags, paths.length === 1 && dirs.length === 1 ? path.resolve(dirs[0] as string) : undefined);
    if ('startCapture' in live) {
      opts.startCapture = live.startCapture;
      opts.liveNodes = live.liveNodes;
    }
    notes.push(live.note);
  }
  return runServer(session, opts, paths.join(' '), io, signal, notes);
}

export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('web view of captures: underlay and bridge side by side, packet lists and detail, topology, diagnostics')
    .argument(
      '[paths...]',
      'a capture folder (kvm1-eth1.pcap + kvm1-vxlan_bridge.pcap…, or session.json) or capture files; none: upload from the page',
    )
    .option('--port <n>', 'TCP port (0: any free port)', parseServePort, 8080)
    .option('--host <addr>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable)', collectPorts)
    .option('--inventory <file>', 'nodes the page can capture live (default: ./vxlan-inspect.yaml, else the built-in class lab)')
    .option('--netns <name>', 'run live captures inside this network namespace (automatic for an inventory written by `lab up`)')
    .option('--accept-new', 'live capture: trust and record the host key of a node seen for the first time')
    .option('--no-live', 'no live capture from the page')
    .option(
      '--class <file>',
      'the class dashboard: every group of this class inventory checked in the background, ' +
        "a grid of verdicts and traffic per VNI; a click opens a group's own view",
    )
    .option('--refresh <time>', `with --class: check each group again this long after its previous check (default ${DEFAULT_REFRESH})`)
    .option(
      '--parallel <n>',
      `with --class: SSH sessions in flight at most (default ${DEFAULT_PARALLEL})`,
      parseIntInRange('--parallel', 1, MAX_PARALLEL),
    )
    .option(
      '--node <node=underlay,bridge>',
      'pair two captures as one node, whatever their names (repeatable; either side may be empty)',
      (v: string, prev: CaptureFileSpec[] = []) => [...prev, ...nodeSpecOption(v)],
    )
    .addHelpText(
      'after',
      '\nExamples:\n  vxlan-inspect serve captures/           # kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap, ' +
        '…\n  vxlan-inspect serve --node kvm1=a.pcap,b.pcap --node kvm2=c.pcap,d.pcap\n  vxlan-inspect serve ' +
        'eth1.pcap vxlan_bridge.pcap --port 9000\n  vxlan-inspect serve --inventory lab/inventory.yaml   # ' +
        'Live: capture kvm1/kvm2 from the page\n  vxlan-inspect serve --class class.yaml --refresh 30s  # ' +
        'the class dashboard\n',
    )
    .action(async (paths: string[], flags: ServeFlags) => {
      process.exitCode = await runServe(paths, flags, io);
    });
}
