/**
 * The one analysis of a node's captures, run to the end: what `correlate` prints, what the web
 * view shows of a node, what exports write. One pass (pass.ts), its listeners (node.ts).
 */
import type { CorrelateOptions } from '../correlate/types.js';
import type { DecodedPacket } from '../decode/types.js';
import { createRegistry, type DecoderRegistry } from '../decode/registry.js';
import { NodeAnalyzer, type NodeFigures } from './node.js';
import { NodePass, runPass, type PassPacket } from './pass.js';
import { findCookedSides } from './cooked.js';
import { probeCapture } from './probe.js';
import { LINKTYPE_SLL, compareFromOf, pairFiles, type NodePairing, type Side, type SideSource } from './sides.js';
import { UsageError } from '../errors.js';

export interface AnalyzeOptions extends Omit<CorrelateOptions, 'onMatch'> {
  registry?: DecoderRegistry;
  /** Node name in figures and topology (default: the pairing's). */
  node?: string;
  onMatch?: CorrelateOptions['onMatch'];
  /** Only the correlator (no statistics, topology, diagnostics). */
  correlationOnly?: boolean;
  /** Sees every decoded packet of both sides, in the merged order. */
  onPacket?: (p: DecodedPacket, side: Side, x: PassPacket) => void;
  /**
   * Sees every packet of both sides in the merged order, undecoded: the listener reads `x.facts`
   * and asks `x.p` (the full decode) only where the facts do not say enough.
   */
  onPass?: (x: PassPacket) => void;
}

export interface AnalysisRun {
  figures: NodeFigures;
  /** A side whose file is damaged: what was read before the damage was analysed. */
  inputErrors: { side: Side; message: string }[];
}

/** A whole capture file taken as one side. */
export function wholeFile(path: string, name = path): SideSource {
  return { path, name, select: { kind: 'all' } };
}

/** Runs the one pass over the node's captures (complete files, or `-`) and returns its figures. */
export async function analyzeCaptures(
  sides: { underlay?: SideSource; overlay?: SideSource },
  opts: AnalyzeOptions = {},
): Promise<AnalysisRun> {
  const registry = opts.registry ?? createRegistry({ vxlanPorts: opts.vxlanPorts ?? [] });
  const pass = new NodePass(sides, {
    registry,
    ...(opts.overlayClockOffsetUs !== undefined ? { overlayClockOffsetUs: opts.overlayClockOffsetUs } : {}),
  });
  const { registry: _r, onPacket, onPass, node, ...correlate } = opts;
  void _r;
  const analyzer = new NodeAnalyzer({
    compareFrom: compareFromOf(sides.overlay),
    ...correlate,
    node: node ?? 'node',
    sides: { underlay: sides.underlay !== undefined, overlay: sides.overlay !== undefined },
  });
  pass.listen(analyzer.listener);
  if (onPacket) pass.listen((x) => onPacket(x.p, x.side, x));
  if (onPass) pass.listen(onPass);
  await runPass(pass);
  const inputErrors: AnalysisRun['inputErrors'] = [];
  for (const side of ['underlay', 'overlay'] as const) {
    const s = sides[side];
    const err = s ? pass.feed(s.path)?.parser.error : undefined;
    if (s && err && !inputErrors.some((e) => e.message.includes(JSON.stringify(s.path)))) {
      inputErrors.push({ side, message: `${side} capture ${JSON.stringify(s.path)}: ${err.message}` });
    }
  }
  return { figures: analyzer.finish(), inputErrors };
}

/**
 * The sides inside ONE file that holds both (a multi-interface pcapng, a `tcpdump -i any`
 * capture): the pairing rules of sides.ts, the traffic itself for a cooked capture that names
 * no interface. A file that holds one side only is a usage error that says what to give.
 * `ifindexNames` (what `capture` recorded in session.json) names a cooked capture's interfaces.
 */
export async function sidesOfOneFile(
  path: string,
  registry?: DecoderRegistry,
  ifindexNames?: ReadonlyMap<number, string>,
): Promise<{ pairing: NodePairing; note: string }> {
  const probed = await probeCapture(path, path, registry);
  if (probed.error && probed.packets === 0 && probed.error.offset === 0) throw probed.error;
  const [pairing] = pairFiles([{ path, name: path, interfaces: probed.interfaces }]).nodes;
  if (!pairing?.underlay || !pairing.overlay) {
    const names = probed.interfaces.map((i) => i.name ?? `if${i.id}`).join(', ');
    throw new UsageError(
      `${path} holds one side only (interfaces: ${names || 'one, unnamed'}): ` +
        'give the bridge capture too (correlate UNDERLAY OVERLAY), or capture both in one file ' +
        '(dumpcap -i eth1 -i vxlan_bridge, or tcpdump -i any)',
    );
  }
  let note =
    pairing.rule === 'pcapng interfaces'
      ? `one file, split by interface: underlay ${pairing.underlay.iface ?? '?'}, bridge ${pairing.overlay.iface ?? '?'}`
      : '';
  if (pairing.underlay.select.kind === 'ifindex' && pairing.underlay.select.ifindexes.length === 0) {
    if (probed.interfaces.every((i) => i.linkType === LINKTYPE_SLL)) {
      throw new UsageError(
        `${path} is a Linux cooked capture of version 1 (SLL), whose records say no interface: ` +
          'its sides cannot be told apart; tcpdump 4.99 and later write SLL2 for -i any (--interface any), ' +
          'or capture the underlay and the bridge apart',
      );
    }
    const found = await findCookedSides(path, { ...(registry ? { registry } : {}), ...(ifindexNames ? { names: ifindexNames } : {}) });
    if (!found)
      throw new UsageError(
        `${path}: a capture of every interface (tcpdump -i any) ` +
          'in which no interface carries VXLAN packets whose frames another interface carries: ' +
          'its sides cannot be told apart; capture the underlay and the bridge apart',
      );
    pairing.underlay = { ...pairing.underlay, iface: found.underlay.names.join(','), select: found.underlay };
    pairing.overlay = { ...pairing.overlay, iface: found.overlay.names.join(','), select: found.overlay };
    note = found.note;
  }
  return { pairing, note };
}
