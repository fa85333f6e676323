/**
 * The `--class FILE` side of `check`, `capture` and `provision`: their options and actions, so
 * the commands' own files only add the options and hand over when `--class` is given.
 */
import { Option, type Command } from 'commander';
import { parseDuration } from '../capture/duration.js';
import { UsageError, VxiError } from '../errors.js';
import type { RunReport } from '../provision/apply.js';
import type { ConnectOptions } from '../remote/connection.js';
import { multicastGroupProblem } from '../remote/quote.js';
import { captureClass, renderClassCapture } from './capture.js';
import { checkClass } from './check.js';
import { loadClassInventory } from './inventory.js';
import { provisionClass } from './provision.js';
import { renderMatrix } from './render.js';
import { DEFAULT_PARALLEL, MAX_PARALLEL } from './run.js';

/** The output streams of the CLI (CliIo, without importing the CLI). */
export interface ClassIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface ClassFlags {
  class?: string;
  inventory?: string;
  group?: string[];
  parallel?: string;
  json?: boolean;
  acceptNew?: boolean;
  connectTimeout?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --class, --group (repeatable), --parallel. */
export function addClassOptions(cmd: Command): Command {
  return cmd
    .option('--class <file>', 'a class inventory (groups of nodes): every node of the selected groups, in parallel, instead of NODE…')
    .option('--group <name>', 'with --class: only this group (repeatable; default every group)', collect)
    .addOption(
      new Option('--parallel <n>', `with --class: SSH sessions in flight at most (1-${MAX_PARALLEL})`).default(String(DEFAULT_PARALLEL)),
    );
}

/** Whether the command runs over a class; refuses node names given with --class, and class options without it. */
export function classMode(nodes: readonly string[], flags: ClassFlags): boolean {
  if (flags.class === undefined) {
    if (flags.group !== undefined) throw new UsageError('--group needs --class FILE (a class inventory)');
    // commander's own words, as when NODE… was a required argument
    if (nodes.length === 0)
      throw new UsageError("missing required argument 'nodes': name the nodes (e.g. kvm1 kvm2), or give --class FILE");
    return false;
  }
  if (flags.inventory !== undefined)
    throw new UsageError("--class FILE replaces --inventory: the class inventory names every group's nodes");
  if (nodes.length > 0)
    throw new UsageError(
      `--class runs on every node of the selected groups: give groups with --group, not node names (${nodes.join(' ')})`,
    );
  return true;
}

function parallelOf(flags: ClassFlags): number {
  const v = flags.parallel ?? String(DEFAULT_PARALLEL);
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_PARALLEL)
    throw new UsageError(`--parallel must be a whole number from 1 to ${MAX_PARALLEL}, not ${JSON.stringify(v)}`);
  return Number(v);
}

function connectOf(flags: ClassFlags): ConnectOptions {
  const t = Number(flags.connectTimeout ?? '10');
  if (!Number.isFinite(t) || t <= 0 || t > 300)
    throw new UsageError(`--connect-timeout must be a number of seconds between 0 and 300, not ${JSON.stringify(flags.connectTimeout)}`);
  return { acceptNew: Boolean(flags.acceptNew), timeoutMs: t * 1000 };
}

/** Ctrl-C / TERM abort the signal while `fn` runs. */
async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  const on = (): void => ctl.abort();
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await fn(ctl.signal);
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}

export async function checkClassCommand(flags: ClassFlags & { multicast?: string; probe?: boolean }, io: ClassIo): Promise<void> {
  if (flags.probe || flags.multicast !== undefined)
    throw new UsageError('--probe and --multicast are for check NODE…; with --class, set the overlay (group:) in the class inventory');
  const parallel = parallelOf(flags);
  const connect = connectOf(flags);
  const cls = await loadClassInventory(flags.class as string);
  const m = await withInterrupt((signal) => checkClass(cls, { groups: flags.group ?? [], parallel, connect, signal }));
  io.stdout.write(flags.json ? `${JSON.stringify(m)}\n` : renderMatrix(m));
  if (!m.ok) {
    const bad = m.groups
      .filter((g) => g.status === 'fail' || g.status === 'error')
      .map(
        (g) =>
          `${g.group} (${
            g.error ??
            Object.entries(g.cells)
              .filter(([, c]) => c.status === 'fail')
              .map(([n]) => n)
              .join(', ')
          })`,
      );
    throw new VxiError('VXI_REMOTE_COMMAND', `check --class failed: ${bad.join('; ')}`, { exitCode: 1 });
  }
}

export interface ClassCaptureFlags extends ClassFlags {
  out?: string;
  duration?: string;
  count?: number;
  snaplen?: number;
  filter?: string;
  iface?: string[];
  tcpdump?: string;
}

export async function captureClassCommand(flags: ClassCaptureFlags, io: ClassIo): Promise<void> {
  if (flags.out === undefined) throw new UsageError('capture --class needs --out DIR: each group is captured into DIR/<group>/');
  if (flags.duration === undefined && flags.count === undefined)
    throw new UsageError('capture --class needs --duration (or --count): it stops every group together');
  const parallel = parallelOf(flags);
  const connect = { ...connectOf(flags), keepaliveMs: 5_000 };
  const cls = await loadClassInventory(flags.class as string);
  const s = await withInterrupt((signal) =>
    captureClass(cls, {
      groups: flags.group ?? [],
      parallel,
      connect,
      signal,
      outDir: flags.out as string,
      ...(flags.duration !== undefined ? { durationSec: parseDuration(flags.duration) } : {}),
      ...(flags.count !== undefined ? { count: flags.count } : {}),
      ...(flags.snaplen !== undefined ? { snaplen: flags.snaplen } : {}),
      ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
      ...(flags.iface !== undefined ? { ifaces: flags.iface } : {}),
      ...(flags.tcpdump !== undefined && flags.tcpdump !== 'tcpdump' ? { tcpdumpPath: flags.tcpdump } : {}),
      onStarted: (g, h) => {
        if (!flags.json) io.stderr.write(`capture --class: ${g}: ${h.streams.length} streams listening -> ${h.outDir}\n`);
      },
    }),
  );
  io.stdout.write(flags.json ? `${JSON.stringify(s)}\n` : renderClassCapture(s));
  if (!s.ok)
    throw new VxiError(
      'VXI_CAPTURE',
      `capture --class failed: ${s.groups
        .filter((g) => !g.ok)
        .map((g) => `${g.group}: ${g.error ?? 'failed'}`)
        .join('; ')}`,
      { exitCode: 1 },
    );
}

export async function provisionClassCommand(
  flags: ClassFlags & { dryRun?: boolean; multicast?: string },
  io: ClassIo,
  renderReport: (r: RunReport) => string,
): Promise<void> {
  if (flags.multicast !== undefined) {
    const p = multicastGroupProblem(flags.multicast);
    if (p) throw new UsageError(`--multicast ${p}`);
  }
  const parallel = parallelOf(flags);
  const connect = connectOf(flags);
  const cls = await loadClassInventory(flags.class as string);
  const s = await withInterrupt((signal) =>
    provisionClass(cls, {
      groups: flags.group ?? [],
      parallel,
      connect,
      signal,
      dryRun: Boolean(flags.dryRun),
      ...(flags.multicast ? { multicast: flags.multicast } : {}),
    }),
  );
  if (flags.json) io.stdout.write(`${JSON.stringify(s)}\n`);
  else {
    for (const g of s.groups) {
      io.stdout.write(`== ${g.group}${g.ok ? '' : ' FAILED'} (${(g.durationMs / 1000).toFixed(1)}s)\n`);
      if (g.report) io.stdout.write(renderReport(g.report));
      if (g.error) io.stdout.write(`  ! ${g.error}\n`);
    }
    const failed = s.groups.filter((g) => !g.ok).map((g) => g.group);
    io.stdout.write(
      `provision --class${s.dryRun ? ' --dry-run' : ''}: ${s.groups.length - failed.length} ` +
        `of ${s.groups.length} groups ok${failed.length ? `, failed: ${failed.join(', ')}` : ''}; ` +
        `at most ${s.peakSessions} SSH sessions at once (--parallel ${s.parallel})\n`,
    );
  }
  if (!s.ok)
    throw new VxiError(
      'VXI_REMOTE_COMMAND',
      `provision --class failed: ${s.groups
        .filter((g) => !g.ok)
        .map((g) => `${g.group}: ${g.error ?? 'failed'}`)
        .join('; ')}`,
      { exitCode: 1 },
    );
}
