/**
 * Which captures make a session, and how they pair up: for each node, the underlay interface
 * (eth1) and the bridge (vxlan_bridge). A capture folder pairs files by name,
 * `<node>-<interface>.pcap` (what `lab record` writes), or says it in `session.json`:
 *
 *   { "nodes": [ { "name": "kvm1", "underlay": "kvm1-eth1.pcap", "overlay": "kvm1-vxlan_bridge.pcap",
 *                  "clockOffsetUs": 0 } ],
 *     "vxlanPorts": [4789] }
 *
 * `clockOffsetUs` is how far that node's clock is ahead of the reference clock: it is
 * subtracted from the node's timestamps so two nodes line up on one time axis.
 * `overlayClockOffsetUs` (normally absent: one node, one clock) is added to the node's bridge
 * capture to line it up with its underlay capture. The correlation library reads the same file
 * (src/correlate/session.ts).
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError, VxiError } from '../errors.js';
import { parseSessionJson } from '../capture/session-file.js';
import { CAPTURE_EXT, roleOfInterface as sidesRole, splitCaptureName as splitName } from '../analysis/sides.js';

export type Role = 'underlay' | 'overlay' | 'unknown';

export interface CaptureFileSpec {
  path: string;
  /** File name shown on the page. */
  name: string;
  node: string;
  role: Role;
  /** Interface name from the file name, when it follows `<node>-<interface>.pcap`. */
  iface?: string;
  /** Named by session.json or --node: its node and side are taken as they are (no pairing by name or content). */
  explicit?: 'session.json' | 'explicit';
}

export interface NodeSpec {
  name: string;
  clockOffsetUs: number;
  /** Extra offset of the overlay capture against the underlay one (normally 0: same clock). */
  overlayClockOffsetUs: number;
}

export interface SessionSpec {
  /** Folder the session was read from (nothing outside it is served), when it came from one. */
  dir?: string;
  files: CaptureFileSpec[];
  nodes: NodeSpec[];
  vxlanPorts: number[];
  /** Files of the folder left out, each with why (a dangling symlink, a symlink out of the folder). */
  skipped?: string[];
}

/** Underlay or bridge, from an interface name (the rules of src/analysis/sides.ts). */
export function roleOfInterface(iface: string): Role {
  const r = sidesRole(iface);
  return r === 'underlay' || r === 'overlay' ? r : 'unknown';
}

/** `kvm1-vxlan_bridge.pcap` → node kvm1, interface vxlan_bridge (the rules of src/analysis/sides.ts). */
export function splitCaptureName(file: string): { node: string; iface?: string } {
  const s = splitName(file);
  return s.iface !== undefined ? { node: s.node ?? s.base, iface: s.iface } : { node: s.base };
}

export function specForFile(filePath: string, displayName = path.basename(filePath)): CaptureFileSpec {
  const { node, iface } = splitCaptureName(displayName);
  const spec: CaptureFileSpec = {
    path: filePath,
    name: displayName,
    node: iface ? node : displayName.replace(CAPTURE_EXT, ''),
    role: iface ? roleOfInterface(iface) : 'unknown',
  };
  if (iface) spec.iface = iface;
  return spec;
}

function num(v: unknown, what: string, file: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new UsageError(`${file}: ${what} must be a number of microseconds, not ${JSON.stringify(v)}`);
  return v;
}

/** Whether `p` is `dir` or inside it (`..kvm1.pcap` is a name inside it; `../x` is not). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Why a file of the folder `realDir` (its real path) is not served, or undefined when it is:
 * a symlink is followed only to a file inside the folder.
 */
function refusal(realDir: string, p: string): string | undefined {
  let st;
  try {
    st = lstatSync(p);
  } catch (err) {
    return `cannot read it: ${(err as Error).message}`;
  }
  if (!st.isSymbolicLink()) return undefined;
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    return 'is a symlink to nothing (its target does not exist)';
  }
  if (!isInside(realDir, real)) return 'is a symlink to a file outside the capture folder: not served';
  return undefined;
}

function realDirOf(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

function readSessionJson(dir: string, file: string): SessionSpec {
  // the one reader of the file's shape (src/capture/session-file.ts), then what serving needs
  const json = parseSessionJson(readFileSync(file, 'utf8'), file);
  const realDir = realDirOf(dir);
  const files: CaptureFileSpec[] = [];
  const nodes: NodeSpec[] = [];
  const skipped: string[] = [];
  for (const [i, n] of json.nodes.entries()) {
    if (typeof n.name !== 'string' || !n.name) throw new UsageError(`${file}: nodes[${i}] needs a "name"`);
    for (const role of ['underlay', 'overlay'] as const) {
      const f = n[role];
      if (f === undefined) continue;
      if (typeof f !== 'string') throw new UsageError(`${file}: nodes[${i}].${role} must be a file name`);
      const p = path.resolve(dir, f);
      if (!isInside(dir, p)) {
        throw new UsageError(`${file}: nodes[${i}].${role} ${JSON.stringify(f)} is outside the capture folder ${dir}`);
      }
      const why = refusal(realDir, p);
      if (why?.startsWith('is a symlink')) {
        skipped.push(`${path.basename(p)}: ${why}`);
        continue;
      }
      files.push({ path: p, name: path.basename(p), node: n.name, role, explicit: 'session.json' });
    }
    nodes.push({
      name: n.name,
      clockOffsetUs: num(n.clockOffsetUs, 'clockOffsetUs', file),
      overlayClockOffsetUs: num(n.overlayClockOffsetUs, 'overlayClockOffsetUs', file),
    });
  }
  return { dir, files, nodes, vxlanPorts: json.vxlanPorts, ...(skipped.length ? { skipped } : {}) };
}

function nodesOf(files: CaptureFileSpec[]): NodeSpec[] {
  const names = [...new Set(files.map((f) => f.node))];
  return names.map((name) => ({ name, clockOffsetUs: 0, overlayClockOffsetUs: 0 }));
}

/** A folder: its session.json, or its capture files paired by name. */
export function sessionFromDir(dir: string): SessionSpec {
  const abs = path.resolve(dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch (err) {
    throw new VxiError('VXI_IO', `cannot read capture folder ${abs}: ${(err as Error).message}`, { cause: err });
  }
  if (entries.includes('session.json')) return readSessionJson(abs, path.join(abs, 'session.json'));
  const realDir = realDirOf(abs);
  const files: CaptureFileSpec[] = [];
  const skipped: string[] = [];
  for (const e of entries.filter((x) => CAPTURE_EXT.test(x)).sort()) {
    const p = path.join(abs, e);
    const why = refusal(realDir, p);
    if (why) {
      skipped.push(`${e}: ${why}`);
      continue;
    }
    if (statSafe(p)?.isFile()) files.push(specForFile(p));
  }
  return { dir: abs, files, nodes: nodesOf(files), vxlanPorts: [], ...(skipped.length ? { skipped } : {}) };
}

/** Command-line arguments: folders and files (each file may be anywhere; only those files are served). */
export function sessionFromArgs(args: readonly string[]): SessionSpec {
  if (args.length === 1 && statSafe(args[0] as string)?.isDirectory()) return sessionFromDir(args[0] as string);
  const files: CaptureFileSpec[] = [];
  const nodes: NodeSpec[] = [];
  const ports: number[] = [];
  const skipped: string[] = [];
  for (const a of args) {
    const st = statSafe(a);
    if (!st) throw new UsageError(`no such capture file or folder: ${a}`);
    if (st.isDirectory()) {
      const s = sessionFromDir(a);
      files.push(...s.files);
      nodes.push(...s.nodes);
      ports.push(...s.vxlanPorts);
      skipped.push(...(s.skipped ?? []));
    } else {
      files.push(specForFile(path.resolve(a)));
    }
  }
  for (const n of nodesOf(files)) if (!nodes.some((x) => x.name === n.name)) nodes.push(n);
  return { files, nodes, vxlanPorts: [...new Set(ports)], ...(skipped.length ? { skipped } : {}) };
}

function statSafe(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * `serve --node kvm1=UNDERLAY.pcap,BRIDGE.pcap`: a node's two captures named outright (either
 * may be left empty: `kvm1=,BRIDGE.pcap`). They are paired as given, before any rule by name.
 */
export function nodeSpecOption(value: string): CaptureFileSpec[] {
  const m = /^([^=]+)=([^,]*),([^,]*)$/.exec(value);
  if (!m || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(m[1] as string) || (m[2] === '' && m[3] === '')) {
    throw new UsageError(
      `--node must be NODE=UNDERLAY.pcap,BRIDGE.pcap (e.g. kvm1=kvm1-eth1.pcap,kvm1-vxlan_bridge.pcap), not ${JSON.stringify(value)}`,
    );
  }
  const node = m[1] as string;
  const out: CaptureFileSpec[] = [];
  for (const [role, f] of [
    ['underlay', m[2]],
    ['overlay', m[3]],
  ] as const) {
    if (!f) continue;
    const st = statSafe(f);
    if (!st?.isFile()) throw new UsageError(`--node ${node}: no such capture file: ${f}`);
    out.push({ path: path.resolve(f), name: path.basename(f), node, role, explicit: 'explicit' });
  }
  return out;
}
