/**
 * Clock offsets from a capture folder's session.json (the format the web view reads too):
 *
 *   { "nodes": [ { "name": "kvm1", "underlay": "kvm1-eth1.pcap", "overlay": "kvm1-vxlan_bridge.pcap",
 *                  "clockOffsetUs": 0, "overlayClockOffsetUs": 0 } ], "vxlanPorts": [4789] }
 *
 * A node's `clockOffsetUs` is how far its clock is ahead of the reference clock;
 * `overlayClockOffsetUs` is added to that node's bridge capture on top.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError, VxiError } from '../errors.js';

export interface SessionOffsets {
  /** To add to the overlay capture's timestamps to line them up with the underlay's. */
  overlayClockOffsetUs: number;
  vxlanPorts: number[];
  /** Which session.json nodes the two files were found in (undefined: not listed). */
  underlayNode?: string;
  overlayNode?: string;
}

interface NodeJson {
  name?: unknown;
  underlay?: unknown;
  overlay?: unknown;
  clockOffsetUs?: unknown;
  overlayClockOffsetUs?: unknown;
}

function num(v: unknown, what: string, file: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError(`${file}: ${what} must be a number of microseconds, not ${JSON.stringify(v)}`);
  return v;
}

/** The node a capture belongs to: listed under `role` by file name, else by the `<node>-<iface>.pcap` name. */
function findNode(nodes: NodeJson[], file: string, role: 'underlay' | 'overlay'): NodeJson | undefined {
  const base = path.basename(file);
  const listed = nodes.find((n) => typeof n[role] === 'string' && path.basename(n[role] as string) === base);
  if (listed) return listed;
  const dash = base.indexOf('-');
  const prefix = dash > 0 ? base.slice(0, dash) : undefined;
  return prefix === undefined ? undefined : nodes.find((n) => n.name === prefix);
}

export async function readSessionOffsets(sessionFile: string, underlayFile: string, overlayFile: string): Promise<SessionOffsets> {
  let text: string;
  try {
    text = await readFile(sessionFile, 'utf8');
  } catch (err) {
    throw new VxiError('VXI_IO', `cannot read session file ${sessionFile}: ${(err as Error).message}`, { cause: err, exitCode: 2 });
  }
  let json: { nodes?: unknown; vxlanPorts?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (err) {
    throw new UsageError(`${sessionFile} is not valid JSON (${(err as Error).message})`);
  }
  const nodes = (Array.isArray(json.nodes) ? json.nodes : []) as NodeJson[];
  const un = findNode(nodes, underlayFile, 'underlay');
  const on = findNode(nodes, overlayFile, 'overlay');
  const cu = num(un?.clockOffsetUs, 'clockOffsetUs', sessionFile);
  const co = num(on?.clockOffsetUs, 'clockOffsetUs', sessionFile);
  const extra = num(on?.overlayClockOffsetUs, 'overlayClockOffsetUs', sessionFile);
  const ports = Array.isArray(json.vxlanPorts) ? json.vxlanPorts.filter((p): p is number => Number.isInteger(p) && p > 0 && p < 65536) : [];
  const out: SessionOffsets = { overlayClockOffsetUs: cu - co + extra, vxlanPorts: ports };
  if (typeof un?.name === 'string') out.underlayNode = un.name;
  if (typeof on?.name === 'string') out.overlayNode = on.name;
  return out;
}
