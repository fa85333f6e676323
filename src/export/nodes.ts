/**
 * Which nodes a capture folder (or a list of files) holds, and each node's two sides: the
 * session rules of src/web/session.ts (session.json, or files paired by name) and the pairing
 * rules of src/analysis/sides.ts (pairFiles: one file with both sides, `<node>-<interface>`),
 * as the web view's store applies them, with a `tcpdump -i any` capture split by its traffic
 * (analysis/cooked.ts). Nothing is decoded here but the first MiB of each file (probeCapture).
 */
import path from 'node:path';
import { findCookedSides } from '../analysis/cooked.js';
import { probeCapture } from '../analysis/probe.js';
import {
  pairFiles,
  roleOfInterface,
  splitCaptureName,
  type FileShape,
  type NodePairing,
  type Side,
  type SideSource,
} from '../analysis/sides.js';
import type { DecoderRegistry } from '../decode/registry.js';
import { isVxiError } from '../errors.js';
import type { CaptureFileSpec, SessionSpec } from '../web/session.js';

export interface ExportNode {
  pairing: NodePairing;
  /** How far the node's clock is ahead of the reference clock (session.json), µs: subtracted from its times. */
  clockOffsetUs: number;
  /** Added to the bridge side's times to line them up with the underlay's (session.json), µs. */
  overlayClockOffsetUs: number;
}

export interface SessionNodes {
  nodes: ExportNode[];
  /** How files were paired, when worth saying (an `any` capture split, two underlays of one node…). */
  notes: string[];
  /** Files left out, each with why (not a capture, a symlink out of the folder…). */
  problems: string[];
}

function sourceOf(f: CaptureFileSpec): SideSource {
  const s: SideSource = { path: f.path, name: f.name, select: { kind: 'all' } };
  const iface = f.iface ?? splitCaptureName(f.name).iface;
  if (iface !== undefined && roleOfInterface(iface) !== 'any') s.iface = iface;
  return s;
}

/** The nodes of a session: session.json's pairs as given, every other file by the pairing rules. */
export async function nodesOfSession(spec: SessionSpec, registry: DecoderRegistry): Promise<SessionNodes> {
  const notes: string[] = [];
  const problems: string[] = [...(spec.skipped ?? [])];
  const pairings: NodePairing[] = [];
  const explicit = new Map<string, NodePairing>();
  for (const f of spec.files.filter((x) => x.explicit && x.role !== 'unknown')) {
    const p: NodePairing = explicit.get(f.node) ?? { node: f.node, rule: f.explicit === 'explicit' ? 'explicit' : 'session.json' };
    p[f.role as Side] = sourceOf(f);
    explicit.set(f.node, p);
  }
  pairings.push(...explicit.values());
  const shapes: FileShape[] = [];
  for (const f of spec.files.filter((x) => !x.explicit || x.role === 'unknown')) {
    try {
      const probed = await probeCapture(f.path, f.name, registry);
      if (probed.error && probed.packets === 0 && probed.error.offset === 0) {
        problems.push(`${f.name}: not a pcap or pcapng capture (${probed.error.message}); left out`);
        continue;
      }
      const shape: FileShape = { path: f.path, name: f.name, interfaces: probed.interfaces };
      if (probed.packets > 0) shape.tunnelledShare = probed.tunnelled / probed.packets;
      shapes.push(shape);
    } catch (err) {
      problems.push(`${f.name}: ${isVxiError(err) || err instanceof Error ? err.message : String(err)}; left out`);
    }
  }
  const paired = pairFiles(shapes);
  pairings.push(...paired.nodes);
  notes.push(...paired.notes);

  const nodes: ExportNode[] = [];
  for (const p of pairings) {
    let usable = true;
    for (const side of ['underlay', 'overlay'] as const) {
      const s = p[side];
      if (s?.select.kind !== 'ifindex' || s.select.ifindexes.length > 0) continue;
      const found = await findCookedSides(s.path, { registry });
      if (!found) {
        problems.push(
          `${s.name}: a capture of every interface (tcpdump -i any) ` +
            'in which no interface carries both VXLAN and the frames it tunnels: its sides cannot be told apart; ' +
            'capture the underlay and the bridge apart. Left out',
        );
        usable = false;
        break;
      }
      s.select = found[side];
      s.iface = found[side].names.join(',');
      if (side === 'underlay') notes.push(`${s.name}: ${found.note}`);
    }
    if (!usable) continue;
    const n = spec.nodes.find((x) => x.name === p.node);
    nodes.push({ pairing: p, clockOffsetUs: n?.clockOffsetUs ?? 0, overlayClockOffsetUs: n?.overlayClockOffsetUs ?? 0 });
  }
  return { nodes, notes, problems };
}

/** The name a side's rows carry in their `interface` column. */
export function interfaceOf(s: SideSource, side: Side): string {
  return s.iface ?? splitCaptureName(s.name).iface ?? (side === 'underlay' ? 'underlay' : 'bridge');
}

/** The file a side's rows carry in their `file` column (its base name). */
export function fileOf(s: SideSource): string {
  return path.basename(s.name);
}
