/**
 * One fuzz case: the bytes go through everything a user's file goes through — the streaming
 * reader (in chunks of varying size), the layer walk, both output formats, the correlator
 * and the analyses built on decoded packets (stats, topology, diagnostics) — and the outcome is recorded. Any exception that escapes, or a broken
 * invariant, is a crash; the time the case took is measured.
 */
import { CaptureFormatError } from '../errors.js';
import { decodeCapture } from '../decode/decode-capture.js';
import { packetToText } from '../decode/format/text.js';
import { packetToJsonLine } from '../decode/format/json.js';
import { Correlator } from '../correlate/correlator.js';
import { TopologyBuilder } from '../correlate/topology.js';
import { Diagnostics } from '../correlate/diagnostics.js';
import { StatsCollector } from '../stats/stats.js';
import type { DecodedPacket } from '../decode/types.js';
import type { DecoderRegistry } from '../decode/registry.js';
import { packetProblem } from './invariants.js';

export interface CaseOutcome {
  /** Packets delivered before the end or the damage. */
  packets: number;
  /** The reader's verdict on the file (damaged input is an expected outcome, not a crash). */
  readerError?: string;
  /** Frames decoded with a `[malformed …]` error. */
  malformedFrames: number;
  /** Something escaped or an invariant broke: the finding. */
  crash?: { where: 'decode' | 'format' | 'correlate' | 'analysis' | 'invariant'; message: string; stack?: string };
  /**
   * The case's cost: CPU milliseconds of this process (user + system), not the wall clock. A
   * machine busy with other work delays a case without adding to its CPU time, so a bound on it
   * sees a decoder that does too much work, not a neighbour that takes the cores.
   */
  ms: number;
}

/** CPU milliseconds this process has used so far (user + system). */
function cpuMsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface CaseOptions {
  /** Chunk sizes to feed the reader with, cycled (empty: the whole input at once). */
  chunkSizes?: readonly number[];
  /** Also run the correlator and the analyses (default true). */
  correlate?: boolean;
  /** Dispatch tables to decode with (default: the standard ones). */
  registry?: DecoderRegistry;
}

async function* chunked(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  if (sizes.length === 0) {
    yield bytes;
    return;
  }
  let i = 0;
  for (let o = 0; o < bytes.length; ) {
    const n = Math.max(1, sizes[i++ % sizes.length] as number);
    yield bytes.subarray(o, o + n);
    o += n;
  }
}

function describe(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error)
    return err.stack === undefined
      ? { message: `${err.name}: ${err.message}` }
      : { message: `${err.name}: ${err.message}`, stack: err.stack };
  return { message: String(err) };
}

/** Runs one case. Never throws: what would have escaped is in `crash`. */
export async function runCase(bytes: Uint8Array, opts: CaseOptions = {}): Promise<CaseOutcome> {
  const t0 = cpuMsNow();
  const out: CaseOutcome = { packets: 0, malformedFrames: 0, ms: 0 };
  const decoded: DecodedPacket[] = [];
  let stage: 'decode' | 'format' = 'decode';
  try {
    const summary = await decodeCapture(
      chunked(bytes, opts.chunkSizes ?? []),
      (p) => {
        const problem = packetProblem(p);
        if (problem !== undefined && out.crash === undefined) out.crash = { where: 'invariant', message: `packet ${p.n}: ${problem}` };
        if (p.error) out.malformedFrames++;
        stage = 'format';
        packetToText(p);
        packetToJsonLine(p);
        stage = 'decode';
        decoded.push(p);
      },
      opts.registry ? { registry: opts.registry } : {},
    );
    out.packets = summary.packets;
    if (summary.error) {
      if (!(summary.error instanceof CaptureFormatError))
        out.crash ??= { where: 'decode', message: `summary.error is not a CaptureFormatError: ${String(summary.error)}` };
      else if (!Number.isInteger(summary.error.offset) || summary.error.offset < 0 || summary.error.kind === undefined) {
        out.crash ??= { where: 'decode', message: `error without a byte offset or a kind: ${summary.error.message}` };
      }
      out.readerError = summary.error.message;
    }
    if (summary.packets !== decoded.length)
      out.crash ??= { where: 'decode', message: `summary says ${summary.packets} packets, ${decoded.length} were delivered` };
  } catch (err) {
    out.crash ??= { where: stage, ...describe(err) };
  }
  if (opts.correlate !== false && out.crash === undefined) {
    try {
      // The file against itself, as both sides: every VXLAN packet has its inner frame as a
      // bridge frame. Mutated timestamps arrive out of order, as in a damaged file.
      const c = new Correlator({ windowUs: 1_000_000, maxListed: 100 });
      for (const p of decoded) {
        c.addUnderlay(p);
        c.addOverlay(p);
      }
      const report = c.finish();
      try {
        const stats = new StatsCollector();
        const topology = new TopologyBuilder();
        const diagnostics = new Diagnostics();
        for (const p of decoded) {
          stats.add(p);
          topology.add(p, 'kvm1');
          diagnostics.add(p, 'underlay');
          diagnostics.add(p, 'overlay');
        }
        diagnostics.addCorrelation(report);
        JSON.stringify(stats.result());
        JSON.stringify(topology.result());
        diagnostics.result();
      } catch (err) {
        out.crash = { where: 'analysis', ...describe(err) };
      }
    } catch (err) {
      out.crash = { where: 'correlate', ...describe(err) };
    }
  }
  out.ms = cpuMsNow() - t0;
  return out;
}
