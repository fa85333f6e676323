/**
 * Correlating two captures: files (read as streams, merged by time, in bounded memory) or
 * packets already decoded.
 */
import { analyzeCaptures, wholeFile } from '../analysis/run.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import { Correlator } from './correlator.js';
import type { CorrelateOptions, CorrelationReport } from './types.js';

export type Side = 'underlay' | 'overlay';

export interface CorrelateFilesOptions extends CorrelateOptions {
  /** Sees every decoded packet of both sides, in the merged order (for topology, diagnostics, …). */
  onPacket?: (p: DecodedPacket, side: Side) => void;
}

function rawTsUs(p: RawPacket): number {
  return p.tsSec * 1e6 + p.tsNsec / 1e3;
}

/**
 * Correlates an underlay capture (eth1) with a bridge capture (vxlan_bridge): the one pass of
 * src/analysis over the two files, with the correlator as its listener. Damaged input does not
 * throw: what was read before the damage is correlated and `inputErrors` says where it is. A
 * file that cannot be opened or read throws VxiError VXI_IO.
 */
export async function correlateFiles(
  underlayPath: string,
  overlayPath: string,
  opts: CorrelateFilesOptions = {},
): Promise<CorrelationReport> {
  const { onPacket, ...rest } = opts;
  const run = await analyzeCaptures(
    { underlay: wholeFile(underlayPath), overlay: wholeFile(overlayPath) },
    { ...rest, correlationOnly: true, ...(onPacket ? { onPacket: (p: DecodedPacket, side: Side) => onPacket(p, side) } : {}) },
  );
  const report = run.figures.correlation as CorrelationReport;
  if (run.inputErrors.length) report.inputErrors = run.inputErrors;
  return report;
}

/** Correlates two sequences of decoded packets (each in time order), merging them by time. */
export function correlatePackets(
  underlay: Iterable<DecodedPacket>,
  overlay: Iterable<DecodedPacket>,
  opts: CorrelateOptions = {},
): CorrelationReport {
  const c = new Correlator(opts);
  const offsetUs = opts.overlayClockOffsetUs ?? 0;
  const ui = underlay[Symbol.iterator]();
  const oi = overlay[Symbol.iterator]();
  let u = ui.next();
  let o = oi.next();
  while (!u.done || !o.done) {
    if (!u.done && (o.done || rawTsUs(u.value.raw) <= rawTsUs(o.value.raw) + offsetUs)) {
      c.addUnderlay(u.value);
      u = ui.next();
    } else if (!o.done) {
      c.addOverlay(o.value);
      o = oi.next();
    }
  }
  return c.finish();
}
