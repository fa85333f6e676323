/**
 * `capture --class`: every node of the selected groups at once, each group an ordinary capture
 * (startCapture, unchanged) into OUT/<group>/, so each group folder is a session folder that
 * `path` and `serve` read as they read any capture. Connections open in parallel with at most
 * `parallel` SSH sessions connecting at once (a group's start is one task of the bounded runner,
 * with its deadline); once every group listens, one timer stops them all together. A group that
 * cannot start is an error row; the others capture.
 *
 * "Lost by the tool" is, per stream, what tcpdump says it captured minus what reached the file:
 * the counters capture already reports (StreamSummary.packets and tcpdump.captured).
 */
import path from 'node:path';
import { startCapture, type CaptureHandle } from '../capture/capture.js';
import type { CaptureOptions, CaptureRunSummary, StopReason } from '../capture/types.js';
import { UsageError } from '../errors.js';
import type { ConnectOptions } from '../remote/connection.js';
import { overlayMembers } from '../remote/inventory.js';
import { selectGroups } from './inventory.js';
import { GroupPool } from './pool.js';
import { DEFAULT_PARALLEL, runBounded } from './run.js';
import type { ClassInventory } from './types.js';

export interface ClassCaptureOptions {
  groups?: readonly string[];
  parallel?: number;
  /** OUT: each group is captured into OUT/<group>/. */
  outDir: string;
  durationSec?: number;
  count?: number;
  snaplen?: number;
  filter?: string;
  ifaces?: string[];
  tcpdumpPath?: string;
  connect?: ConnectOptions;
  /** Per group, for its connections and tcpdumps to start (default 60 s). */
  startDeadlineMs?: number;
  /** Stops every group (Ctrl-C). */
  signal?: AbortSignal;
  /** Each group once it listens (the CLI's progress). */
  onStarted?: (group: string, handle: CaptureHandle) => void;
}

export interface GroupCaptureResult {
  group: string;
  outDir: string;
  ok: boolean;
  /** Why the group was not captured (or what went wrong while it was). */
  error?: string;
  summary?: CaptureRunSummary;
  streams: number;
  packets: number;
  /** tcpdump's "captured" minus what reached the files, summed over the group's streams. */
  lostByTool: number;
  /** tcpdump's "dropped by kernel", summed (the node could not keep up; not the tool). */
  droppedByKernel: number;
  /** Streams whose tcpdump counters did not come back (connection lost): their loss is unknown. */
  streamsWithoutCounters: number;
}

export interface ClassCaptureSummary {
  ok: boolean;
  outDir: string;
  startedAt: string;
  durationSec: number;
  parallel: number;
  /** The most SSH sessions that were being opened (groups starting) at once: the runner's count, ≤ parallel. */
  peakConnecting: number;
  groups: GroupCaptureResult[];
  streams: number;
  packets: number;
  lostByTool: number;
  droppedByKernel: number;
}

/** The loss figures of one group's capture, from the counters its summary already has. */
export function lossOf(
  s: CaptureRunSummary,
): Pick<GroupCaptureResult, 'streams' | 'packets' | 'lostByTool' | 'droppedByKernel' | 'streamsWithoutCounters'> {
  const streams = s.nodes.flatMap((n) => n.streams);
  let lost = 0;
  let dropped = 0;
  let unknown = 0;
  for (const st of streams) {
    const captured = st.tcpdump?.captured;
    if (captured === null || captured === undefined) unknown++;
    else lost += Math.max(0, captured - st.packets);
    dropped += st.tcpdump?.droppedByKernel ?? 0;
  }
  return {
    streams: streams.length,
    packets: streams.reduce((a, st) => a + st.packets, 0),
    lostByTool: lost,
    droppedByKernel: dropped,
    streamsWithoutCounters: unknown,
  };
}

function waitFor(ms: number | undefined, signal: AbortSignal | undefined): Promise<StopReason> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve('stopped');
    const timer = ms === undefined ? undefined : setTimeout(() => done('duration'), ms);
    const onAbort = (): void => done('stopped');
    const done = (r: StopReason): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function captureClass(cls: ClassInventory, opts: ClassCaptureOptions): Promise<ClassCaptureSummary> {
  const groups = selectGroups(cls, opts.groups ?? []);
  if (opts.durationSec === undefined && opts.count === undefined && opts.signal === undefined) {
    throw new UsageError('capture --class needs --duration or --count (or a way to stop it)');
  }
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const outDir = path.resolve(opts.outDir);
  const started = new Date();
  const pools = new Map<string, GroupPool>();
  const handles = new Map<string, CaptureHandle>();
  const stopAll = new AbortController();
  const onOuter = (): void => stopAll.abort();
  opts.signal?.addEventListener('abort', onOuter, { once: true });

  try {
    const r = await runBounded<CaptureHandle>(
      groups.map((g) => ({
        key: g.name,
        weight: overlayMembers(g.inventory).length,
        run: async (signal) => {
          const pool = new GroupPool(opts.connect ?? {}, undefined, signal, g.name);
          pools.set(g.name, pool);
          const co: CaptureOptions = {
            inventory: g.inventory,
            nodes: overlayMembers(g.inventory),
            outDir: path.join(outDir, g.name),
            pool,
          };
          if (opts.ifaces) co.ifaces = opts.ifaces;
          if (opts.count !== undefined) co.count = opts.count;
          if (opts.snaplen !== undefined) co.snaplen = opts.snaplen;
          if (opts.filter !== undefined) co.filter = opts.filter;
          if (opts.tcpdumpPath !== undefined) co.tcpdumpPath = opts.tcpdumpPath;
          const h = await startCapture(co);
          // started after its deadline (or after a stop): nobody would stop it later
          if (signal.aborted || stopAll.signal.aborted) await h.stop('stopped');
          else {
            handles.set(g.name, h);
            opts.onStarted?.(g.name, h);
          }
          return h;
        },
      })),
      { parallel, deadlineMs: opts.startDeadlineMs ?? 60_000, signal: stopAll.signal },
    );

    // every group that started captures until the duration (counted from here), its --count, or a stop
    const running = [...handles.values()];
    if (running.length > 0) {
      const allDone = Promise.all(running.map((h) => h.done)).then(() => 'count' as const);
      const reason = await Promise.race([
        waitFor(opts.durationSec === undefined ? undefined : opts.durationSec * 1000, stopAll.signal),
        allDone,
      ]);
      if (reason !== 'count') await Promise.all(running.map((h) => h.stop(reason)));
    }

    const results: GroupCaptureResult[] = [];
    for (const [i, g] of groups.entries()) {
      const o = r.outcomes[i];
      const dir = path.join(outDir, g.name);
      const h = handles.get(g.name);
      if (!h || !o?.ok) {
        const error = o && !o.ok ? o.error : 'stopped before it started';
        results.push({
          group: g.name,
          outDir: dir,
          ok: false,
          error,
          streams: 0,
          packets: 0,
          lostByTool: 0,
          droppedByKernel: 0,
          streamsWithoutCounters: 0,
        });
        continue;
      }
      const summary = await h.done;
      const loss = lossOf(summary);
      const res: GroupCaptureResult = { group: g.name, outDir: dir, ok: summary.ok && loss.lostByTool === 0, summary, ...loss };
      if (!summary.ok) res.error = summary.errors.join('; ');
      else if (loss.lostByTool > 0) res.error = `${loss.lostByTool} packet(s) tcpdump captured did not reach the files`;
      results.push(res);
    }
    const sum = (k: 'streams' | 'packets' | 'lostByTool' | 'droppedByKernel'): number => results.reduce((a, x) => a + x[k], 0);
    return {
      ok: results.every((x) => x.ok),
      outDir,
      startedAt: started.toISOString(),
      durationSec: (Date.now() - started.getTime()) / 1000,
      parallel,
      peakConnecting: r.peakInFlight,
      groups: results,
      streams: sum('streams'),
      packets: sum('packets'),
      lostByTool: sum('lostByTool'),
      droppedByKernel: sum('droppedByKernel'),
    };
  } finally {
    opts.signal?.removeEventListener('abort', onOuter);
    await Promise.all([...pools.values()].map((p) => p.closeAll()));
  }
}

/** Text summary: one line per group, then the totals. */
export function renderClassCapture(s: ClassCaptureSummary): string {
  const w = Math.max(5, ...s.groups.map((g) => g.group.length));
  const lines = s.groups.map((g) =>
    g.summary === undefined
      ? `${g.group.padEnd(w)}  FAILED  ${g.error ?? ''}`
      : `${g.group.padEnd(w)}  ${g.ok ? 'ok    ' : 'FAILED'}  ${g.streams} streams, ${g.packets} packets, ` +
        `lost by the tool ${g.lostByTool}${g.streamsWithoutCounters ? ` (${g.streamsWithoutCounters} stream(s) without tcpdump counters)` : ''}, ` +
        `dropped by kernel ${g.droppedByKernel} -> ${g.outDir}${g.error ? `: ${g.error}` : ''}`,
  );
  const failed = s.groups.filter((g) => !g.ok).map((g) => g.group);
  lines.push(
    `capture --class ${s.ok ? 'done' : 'FAILED'}: ${s.groups.length - failed.length} ` +
      `of ${s.groups.length} groups${failed.length ? ` (failed: ${failed.join(', ')})` : ''}, ` +
      `${s.streams} streams, ${s.packets} packets, lost by the tool ${s.lostByTool}, dropped by kernel ${s.droppedByKernel}, ${s.durationSec.toFixed(1)}s, ` +
      `at most ${s.peakConnecting} SSH sessions opening at once (--parallel ${s.parallel}) -> ${s.outDir}`,
  );
  return `${lines.join('\n')}\n`;
}
