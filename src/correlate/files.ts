/**
 * Correlating two captures: files (read as streams, merged by time, in bounded memory) or
 * packets already decoded.
 */
import { CaptureFormatError } from '../errors.js';
import { packets } from '../decode/file/index.js';
import { decodePacket } from '../decode/packet.js';
import { createRegistry } from '../decode/registry.js';
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

interface Reader {
  side: Side;
  it: AsyncGenerator<RawPacket, void, undefined>;
  head: RawPacket | undefined;
  n: number;
  done: boolean;
}

/**
 * Correlates an underlay capture (eth1) with a bridge capture (vxlan_bridge). Damaged input
 * does not throw: what was read before the damage is correlated and `inputErrors` says where
 * it is. A file that cannot be opened or read throws VxiError VXI_IO.
 */
export async function correlateFiles(underlayPath: string, overlayPath: string, opts: CorrelateFilesOptions = {}): Promise<CorrelationReport> {
  const registry = createRegistry({ vxlanPorts: opts.vxlanPorts ?? [] });
  const correlator = new Correlator(opts);
  const offsetUs = opts.overlayClockOffsetUs ?? 0;
  const errors: { side: Side; message: string }[] = [];
  const readers: Reader[] = [
    { side: 'underlay', it: packets(underlayPath), head: undefined, n: 0, done: false },
    { side: 'overlay', it: packets(overlayPath), head: undefined, n: 0, done: false },
  ];
  const pull = async (r: Reader): Promise<void> => {
    try {
      const next = await r.it.next();
      if (next.done) {
        r.done = true;
        r.head = undefined;
      } else r.head = next.value;
    } catch (err) {
      if (!(err instanceof CaptureFormatError)) throw err;
      errors.push({ side: r.side, message: `${r.side} capture ${JSON.stringify(r.side === 'underlay' ? underlayPath : overlayPath)}: ${err.message}` });
      r.done = true;
      r.head = undefined;
    }
  };
  try {
    await Promise.all(readers.map(pull));
    const [u, o] = readers as [Reader, Reader];
    for (;;) {
      let r: Reader;
      if (u.head && o.head) r = rawTsUs(u.head) <= rawTsUs(o.head) + offsetUs ? u : o;
      else if (u.head) r = u;
      else if (o.head) r = o;
      else break;
      const raw = r.head as RawPacket;
      r.n += 1;
      const p = decodePacket(raw, r.n, { registry });
      if (r.side === 'underlay') correlator.addUnderlay(p);
      else correlator.addOverlay(p);
      opts.onPacket?.(p, r.side);
      await pull(r);
    }
  } finally {
    await Promise.all(readers.map((r) => (r.done ? undefined : r.it.return(undefined))));
  }
  const report = correlator.finish();
  if (errors.length) report.inputErrors = errors;
  return report;
}

/** Correlates two sequences of decoded packets (each in time order), merging them by time. */
export function correlatePackets(underlay: Iterable<DecodedPacket>, overlay: Iterable<DecodedPacket>, opts: CorrelateOptions = {}): CorrelationReport {
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
