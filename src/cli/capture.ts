/**
 * `capture NODE… [--iface NAME]… [--out DIR] [--duration 10s] [--count N] [--snaplen N]
 * [--filter BPF] [--json] [--tcpdump PATH]`: remote tcpdump over SSH on the underlay and the
 * bridge of each node at once, written to OUT/<node>-<iface>.pcap, with live status lines.
 * A thin layer over startCapture (src/capture).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { VxiError } from '../errors.js';
import { defaultOutDirName, startCapture, type CaptureHandle } from '../capture/capture.js';
import { formatDuration, parseDuration } from '../capture/duration.js';
import { statusLine, summaryText } from '../capture/format.js';
import type { CaptureOptions, CaptureRunSummary } from '../capture/types.js';
import { loadInventory } from '../remote/inventory.js';
import { addClassOptions, captureClassCommand, classMode, type ClassFlags } from '../class/cli.js';
import type { CliIo } from './main.js';
import { parseIntInRange } from './options.js';
import { addRemoteOptions, type RemoteFlags } from './provision.js';

interface CaptureFlags extends RemoteFlags, ClassFlags {
  iface?: string[];
  out?: string;
  duration?: string;
  count?: number;
  snaplen?: number;
  filter?: string;
  json?: boolean;
  tcpdump?: string;
  keepalive?: number;
}

/** Seconds between status lines when stderr is not a terminal. */
const PLAIN_STATUS_EVERY_SEC = 5;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Live status: redrawn in place on a terminal; a line per stream every few seconds otherwise. */
class StatusView {
  private drawn = 0;
  private lastPlain = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly durationSec?: number,
  ) {
    this.tty = (out as { isTTY?: boolean }).isTTY === true;
  }

  update(h: CaptureHandle): void {
    const stats = h.stats();
    const width = Math.max(...stats.map((s) => s.node.length + 1 + s.iface.length));
    const lines = stats.map((s) =>
      statusLine(s, { nameWidth: width, ...(this.durationSec !== undefined ? { durationSec: this.durationSec } : {}) }),
    );
    if (this.tty) {
      let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
      for (const l of lines) text += `\x1b[2K\r${l}\n`;
      this.out.write(text);
      this.drawn = lines.length;
    } else if (Date.now() - this.lastPlain >= PLAIN_STATUS_EVERY_SEC * 1000) {
      this.lastPlain = Date.now();
      this.out.write(lines.map((l) => `${l}\n`).join(''));
    }
  }
}

export function registerCapture(program: Command, io: CliIo): void {
  addClassOptions(
    addRemoteOptions(
      program
        .command('capture')
        .description(
          'tcpdump over SSH on the underlay and the bridge of each node at once, written to OUT/<node>-<iface>.pcap as it arrives, with live stats',
        )
        .addHelpText(
          'after',
          '\nExamples:\n  vxlan-inspect capture kvm1 --duration 10s\n  vxlan-inspect capture kvm1 kvm2 ' +
            '--count 100 --filter "udp port 4789" --out captures/\n  ip netns exec vxi-frontend vxlan-inspect ' +
            'capture kvm1 --inventory .lab/vxi/inventory.yaml   # in the lab\n  vxlan-inspect capture --class ' +
            'class.yaml --duration 60s --out class-capture/   # every group, into class-capture/<group>/\n',
        )
        .argument('[nodes...]', 'node names from the inventory (e.g. kvm1 kvm2), or --class FILE')
        .option('--iface <name>', "interface to capture (repeatable; default: the inventory's underlay and bridge)", collect)
        .option('--out <dir>', 'folder for the pcap files and session.json (default: ./capture-YYYYmmdd-HHMMSS)')
        .option('--duration <time>', 'stop after this long: 10s, 500ms, 2m, 1h')
        .option('--count <n>', 'stop each interface after N packets', parseIntInRange('--count', 1, 1_000_000_000))
        .option('--snaplen <bytes>', 'bytes kept per packet (tcpdump -s; 0 = whole packets)', parseIntInRange('--snaplen', 0, 262_144))
        .option('--filter <bpf>', 'BPF filter ANDed with the one that leaves out our own SSH session (one argument to tcpdump)')
        .option('--tcpdump <path>', 'tcpdump program name or path on the nodes', 'tcpdump')
        .option(
          '--keepalive <seconds>',
          'SSH keepalive interval; 3 unanswered = the node is declared lost and its files closed (default 5; ssh -o ServerAliveInterval)',
          parseIntInRange('--keepalive', 1, 300),
        )
        .option('--json', 'no status lines; print the summary as one JSON object on stdout'),
    ),
  ).action(async (nodes: string[], flags: CaptureFlags) => {
    if (classMode(nodes, flags)) return captureClassCommand(flags, io);
    const durationSec = flags.duration === undefined ? undefined : parseDuration(flags.duration);
    const t = Number(flags.connectTimeout ?? '10');
    if (!Number.isFinite(t) || t <= 0 || t > 300)
      throw new VxiError(
        'VXI_USAGE',
        `--connect-timeout must be a number of seconds between 0 and 300, not ${JSON.stringify(flags.connectTimeout)}`,
        { exitCode: 2 },
      );
    const inventory = await loadInventory(flags.inventory);
    const outDir = path.resolve(flags.out ?? defaultOutDirName());
    const opts: CaptureOptions = { inventory, nodes, outDir, acceptNew: Boolean(flags.acceptNew), connectTimeoutMs: t * 1000 };
    if (flags.iface) opts.ifaces = flags.iface;
    if (durationSec !== undefined) opts.durationSec = durationSec;
    if (flags.count !== undefined) opts.count = flags.count;
    if (flags.snaplen !== undefined) opts.snaplen = flags.snaplen;
    if (flags.filter !== undefined) opts.filter = flags.filter;
    if (flags.tcpdump !== undefined && flags.tcpdump !== 'tcpdump') opts.tcpdumpPath = flags.tcpdump;
    if (flags.keepalive !== undefined) opts.keepaliveMs = flags.keepalive * 1000;

    // Ctrl-C (and TERM) stop the capture cleanly, also while it is still starting
    let handle: CaptureHandle | undefined;
    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) {
        if (!flags.json) io.stderr.write('capture: still stopping the remote tcpdumps…\n');
        return;
      }
      interrupted = true;
      if (!flags.json) io.stderr.write('\ncapture: stopping…\n');
      void handle?.stop('stopped');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let summary: CaptureRunSummary;
    try {
      if (!flags.json) io.stderr.write(`capture: connecting to ${nodes.join(', ')}…\n`);
      handle = await startCapture(opts);
      if (interrupted) void handle.stop('stopped');
      if (!flags.json) {
        const what = handle.streams.map((s) => `${s.node} ${s.iface}`).join(', ');
        const until =
          durationSec !== undefined
            ? ` for ${formatDuration(durationSec)}`
            : flags.count !== undefined
              ? ` until ${flags.count} packets per interface`
              : ' until Ctrl-C';
        io.stderr.write(`capture: ${what} -> ${outDir}${until}\n`);
      }
      const view = flags.json ? undefined : new StatusView(io.stderr, durationSec);
      const h = handle;
      const tick = view ? setInterval(() => view.update(h), 1000) : undefined;
      try {
        summary = await handle.done;
      } finally {
        clearInterval(tick);
      }
      view?.update(handle);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    io.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : summaryText(summary));
    if (!flags.json) {
      // the configuration is evidence for `path`, not a condition of capturing: say what is missing, go on
      for (const n of summary.nodes)
        if (n.config?.error !== undefined)
          io.stderr.write(
            `capture: ${n.node}'s overlay configuration could not be recorded (${n.config.error}); ` +
              `path will rest on the traffic alone for it (or record it later: check ${n.node} --save ${outDir})\n`,
          );
    }
    if (!summary.ok) throw new VxiError('VXI_CAPTURE', summary.errors.join('\n'), { exitCode: 1 });
  });
}
