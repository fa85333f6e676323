/**
 * The nodes of a path analysis, from a capture folder or named one by one:
 *
 *  - a folder `capture kvm1 kvm2` wrote: its session.json names each node's underlay and bridge
 *    files and gives each node's clock offset;
 *  - a folder without session.json: its files paired by the rules of sides.ts (`kvm1-eth1.pcap`
 *    with `kvm1-vxlan_bridge.pcap`, a pcapng or `tcpdump -i any` file holding both sides), clock
 *    offsets 0;
 *  - `--node kvm1=UNDERLAY,BRIDGE` (one file holding both sides: `--node kvm1=FILE`), which
 *    replaces the folder's pairing of that node (its clock offset still comes from the folder).
 *
 * Each node's recorded overlay configuration (session.json nodes[].config, from `capture` or
 * `check --save`) comes with it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { overlayConfigOf, parseSessionJson, type OverlayConfigRecord } from '../../capture/session-file.js';
import { UsageError } from '../../errors.js';
import type { DecoderRegistry } from '../../decode/registry.js';
import { sessionFromDir } from '../../web/session.js';
import { findCookedSides } from '../cooked.js';
import { probeCapture } from '../probe.js';
import { sidesOfOneFile, wholeFile } from '../run.js';
import { pairFiles, type FileShape, type NodePairing, type SideSource } from '../sides.js';
import type { PathNodeInput } from './types.js';

export interface ExplicitNode {
  name: string;
  /** One file holding both sides, or the underlay and the bridge captures. */
  files: [string] | [string, string];
}

export interface PathInputs {
  inputs: PathNodeInput[];
  vxlanPorts: number[];
  /** The session.json read, if any. */
  sessionFile?: string;
  /** How the files were paired, when worth saying. */
  notes: string[];
}

const NEED =
  'path needs two or more nodes, each with an underlay (eth1) and a bridge (vxlan_bridge) capture: ' +
  'a folder written by `capture kvm1 kvm2` (with its session.json), ' +
  'files named NODE-eth1.pcap and NODE-vxlan_bridge.pcap, ' +
  'or --node kvm1=UNDERLAY,BRIDGE --node kvm2=UNDERLAY,BRIDGE';

function describe(p: NodePairing): string {
  const sides = [
    p.underlay ? `underlay ${p.underlay.name}` : 'no underlay capture',
    p.overlay ? `bridge ${p.overlay.name}` : 'no bridge capture',
  ];
  return `${p.node} (${sides.join(', ')})`;
}

/** A side given as `[ifindex, no names]` for a `tcpdump -i any` file: which interfaces, from its traffic. */
async function resolveCooked(p: NodePairing, registry: DecoderRegistry | undefined, notes: string[]): Promise<void> {
  for (const side of ['underlay', 'overlay'] as const) {
    const s = p[side];
    if (s?.select.kind !== 'ifindex' || s.select.ifindexes.length > 0) continue;
    const found = await findCookedSides(s.path, registry ? { registry } : {});
    if (!found)
      throw new UsageError(
        `${s.name}: a capture of every interface (tcpdump -i any) ` +
          'in which no interface carries VXLAN packets whose frames another interface carries: ' +
          'its sides cannot be told apart; capture the underlay and the bridge apart',
      );
    s.select = found[side];
    s.iface = found[side].names.join(',');
    if (side === 'underlay') notes.push(`${s.name}: ${found.note}`);
  }
}

export async function pathInputsFromDir(
  dir: string | undefined,
  opts: { explicit?: ExplicitNode[]; registry?: DecoderRegistry } = {},
): Promise<PathInputs> {
  const notes: string[] = [];
  const pairings: NodePairing[] = [];
  const offsets = new Map<string, { clockOffsetUs: number; overlayClockOffsetUs: number }>();
  const configs = new Map<string, OverlayConfigRecord>();
  const windows = new Map<string, NonNullable<PathNodeInput['captureWindowUs']>>();
  let vxlanPorts: number[] = [];
  let sessionFile: string | undefined;
  if (dir !== undefined) {
    if (!existsSync(dir)) throw new UsageError(`no such capture folder: ${dir}`);
    const spec = sessionFromDir(dir);
    vxlanPorts = spec.vxlanPorts;
    for (const n of spec.nodes) offsets.set(n.name, { clockOffsetUs: n.clockOffsetUs, overlayClockOffsetUs: n.overlayClockOffsetUs });
    for (const s of spec.skipped ?? []) notes.push(`left out ${s}`);
    const session = path.join(path.resolve(dir), 'session.json');
    if (existsSync(session)) {
      sessionFile = session;
      for (const [i, n] of parseSessionJson(readFileSync(session, 'utf8'), session).nodes.entries()) {
        const rec = overlayConfigOf(n.config, `${session}: nodes[${i}]${typeof n.name === 'string' ? ` (${n.name})` : ''}`);
        if (rec && typeof n.name === 'string') configs.set(n.name, rec);
        if (typeof n.name === 'string') {
          const w = captureWindows(n, offsets.get(n.name)?.clockOffsetUs ?? 0);
          if (w) windows.set(n.name, w);
        }
      }
    }
    const explicit = new Map<string, NodePairing>();
    for (const f of spec.files.filter((x) => x.explicit && x.role !== 'unknown')) {
      const p = explicit.get(f.node) ?? { node: f.node, rule: 'session.json' as const };
      p[f.role as 'underlay' | 'overlay'] = { path: f.path, name: f.name, select: { kind: 'all' } };
      explicit.set(f.node, p);
    }
    pairings.push(...explicit.values());
    const shapes: FileShape[] = [];
    for (const f of spec.files.filter((x) => !x.explicit || x.role === 'unknown')) {
      const probed = await probeCapture(f.path, f.name, opts.registry);
      if (probed.error && probed.packets === 0 && probed.error.offset === 0) {
        notes.push(`left out ${f.name}: not a capture file (${probed.error.message})`);
        continue;
      }
      const shape: FileShape = { path: f.path, name: f.name, interfaces: probed.interfaces };
      if (probed.packets > 0) shape.tunnelledShare = probed.tunnelled / probed.packets;
      shapes.push(shape);
    }
    const paired = pairFiles(shapes);
    pairings.push(...paired.nodes);
    notes.push(...paired.notes);
  }
  for (const e of opts.explicit ?? []) {
    const at = pairings.findIndex((p) => p.node === e.name);
    if (at >= 0) pairings.splice(at, 1);
    for (const f of e.files) if (!existsSync(f)) throw new UsageError(`--node ${e.name}: no such capture file: ${f}`);
    if (e.files.length === 1) {
      const one = await sidesOfOneFile(e.files[0], opts.registry);
      pairings.push({ ...one.pairing, node: e.name, rule: 'explicit' });
      if (one.note) notes.push(`${e.name}: ${one.note}`);
    } else {
      pairings.push({ node: e.name, underlay: wholeFile(e.files[0]), overlay: wholeFile(e.files[1]), rule: 'explicit' });
    }
  }
  const complete = pairings.filter((p) => p.underlay && p.overlay);
  if (complete.length < 2) {
    const where = dir === undefined ? 'the --node options' : `${dir}${sessionFile ? ' (its session.json)' : ''}`;
    const found = pairings.length === 0 ? 'no capture files' : `node${pairings.length > 1 ? 's' : ''} ${pairings.map(describe).join('; ')}`;
    throw new UsageError(`${where}: found ${found}. ${NEED}`);
  }
  for (const p of pairings) if (!complete.includes(p)) notes.push(`left out node ${describe(p)}: a path needs both sides of a node`);
  const inputs: PathNodeInput[] = [];
  for (const p of complete) {
    await resolveCooked(p, opts.registry, notes);
    const off = offsets.get(p.node);
    inputs.push({
      name: p.node,
      underlay: p.underlay as SideSource,
      overlay: p.overlay as SideSource,
      clockOffsetUs: off?.clockOffsetUs ?? 0,
      overlayClockOffsetUs: off?.overlayClockOffsetUs ?? 0,
      ...(configs.has(p.node) ? { config: configs.get(p.node) as OverlayConfigRecord } : {}),
      ...(windows.has(p.node) ? { captureWindowUs: windows.get(p.node) } : {}),
    });
  }
  return { inputs, vxlanPorts, ...(sessionFile ? { sessionFile } : {}), notes };
}

/**
 * When each of a node's captures surely ran, on the node's clock (µs): from tcpdump's "listening
 * on" (else the stream's start) to the stop request (else its stop), as capture wrote them in
 * session.json on this machine's clock, moved by the node's clock offset. Absent or unreadable
 * times give no window (the frames' own span is used).
 */
export function captureWindows(node: Record<string, unknown>, clockOffsetUs: number): PathNodeInput['captureWindowUs'] | undefined {
  const list = node.interfaces;
  if (!Array.isArray(list)) return undefined;
  const at = (v: unknown): number | undefined => {
    if (typeof v !== 'string') return undefined;
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? ms * 1000 + clockOffsetUs : undefined;
  };
  const out: NonNullable<PathNodeInput['captureWindowUs']> = {};
  for (const e of list as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const x = e as Record<string, unknown>;
    const side = x.role === 'underlay' ? 'underlay' : x.role === 'bridge' ? 'overlay' : undefined;
    if (!side || out[side] || typeof x.file !== 'string') continue;
    const from = at(x.listeningAt) ?? at(x.startedAt);
    const to = at(x.stopRequestedAt) ?? at(x.stoppedAt);
    if (from !== undefined && to !== undefined && from <= to) out[side] = [from, to];
  }
  return out.underlay || out.overlay ? out : undefined;
}
