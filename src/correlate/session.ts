/**
 * Clock offsets from a capture folder's session.json (the format the web view reads too):
 *
 *   { "nodes": [ { "name": "kvm1", "underlay": "kvm1-eth1.pcap", "overlay": "kvm1-vxlan_bridge.pcap",
 *                  "clockOffsetUs": 0, "overlayClockOffsetUs": 0 } ], "vxlanPorts": [4789] }
 *
 * A node's `clockOffsetUs` is how far its clock is ahead of the reference clock;
 * `overlayClockOffsetUs` is added to that node's bridge capture on top. A node's `ifindexNames`
 * (`[{"ifindex": 3, "name": "eth1"}, …]`, written by `capture`) names the interface indexes of a
 * `tcpdump -i any` capture made on it (readSessionIfindexNames).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError, VxiError } from '../errors.js';
import { ifindexNamesOf, parseSessionJson } from '../capture/session-file.js';

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
  ifindexNames?: unknown;
  interfaces?: unknown;
}

function num(v: unknown, what: string, file: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new UsageError(`${file}: ${what} must be a number of microseconds, not ${JSON.stringify(v)}`);
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

async function readSessionNodes(sessionFile: string): Promise<{ nodes: NodeJson[]; vxlanPorts: number[] }> {
  let text: string;
  try {
    text = await readFile(sessionFile, 'utf8');
  } catch (err) {
    throw new VxiError('VXI_IO', `cannot read session file ${sessionFile}: ${(err as Error).message}`, { cause: err, exitCode: 2 });
  }
  return parseSessionJson(text, sessionFile);
}

export async function readSessionOffsets(sessionFile: string, underlayFile: string, overlayFile: string): Promise<SessionOffsets> {
  const { nodes, vxlanPorts } = await readSessionNodes(sessionFile);
  const un = findNode(nodes, underlayFile, 'underlay');
  const on = findNode(nodes, overlayFile, 'overlay');
  const cu = num(un?.clockOffsetUs, 'clockOffsetUs', sessionFile);
  const co = num(on?.clockOffsetUs, 'clockOffsetUs', sessionFile);
  const extra = num(on?.overlayClockOffsetUs, 'overlayClockOffsetUs', sessionFile);
  const out: SessionOffsets = { overlayClockOffsetUs: cu - co + extra, vxlanPorts };
  if (typeof un?.name === 'string') out.underlayNode = un.name;
  if (typeof on?.name === 'string') out.overlayNode = on.name;
  return out;
}

/** The node a capture file of any interface belongs to: listed (underlay, overlay, or a stream's `file`), else by its `<node>-` prefix (the longest). */
function nodeOfFile(nodes: NodeJson[], file: string): NodeJson | undefined {
  const base = path.basename(file);
  const listed = nodes.find(
    (n) =>
      [n.underlay, n.overlay].some((f) => typeof f === 'string' && path.basename(f) === base) ||
      (Array.isArray(n.interfaces) &&
        n.interfaces.some(
          (i: unknown) =>
            typeof i === 'object' &&
            i !== null &&
            typeof (i as { file?: unknown }).file === 'string' &&
            path.basename((i as { file: string }).file) === base,
        )),
  );
  if (listed) return listed;
  return nodes
    .filter((n) => typeof n.name === 'string' && n.name !== '' && base.startsWith(`${n.name}-`))
    .sort((a, b) => (b.name as string).length - (a.name as string).length)[0];
}

export interface SessionIfindexNames {
  /** The session.json node the capture was found in (undefined: not listed). */
  node?: string;
  /** Its interfaces by index, as `capture` recorded them (undefined: the node has none recorded). */
  names?: Map<number, string>;
}

/**
 * The interface names of a `tcpdump -i any` capture's indexes (SLL2 records carry the index
 * only): the `ifindexNames` session.json gives for the node the capture was made on.
 */
export async function readSessionIfindexNames(sessionFile: string, captureFile: string): Promise<SessionIfindexNames> {
  const { nodes } = await readSessionNodes(sessionFile);
  const node = nodeOfFile(nodes, captureFile);
  if (!node) return {};
  const name = typeof node.name === 'string' ? node.name : undefined;
  const names = ifindexNamesOf(node.ifindexNames, `${sessionFile} node ${name ?? '?'}`);
  return { ...(name !== undefined ? { node: name } : {}), ...(names ? { names } : {}) };
}
