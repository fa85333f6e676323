/**
 * `OUT/session.json`: what was captured, where, how, and each node's clock against ours — in the
 * shape the web view and `correlate` read (`nodes[].underlay`, `nodes[].overlay`, `clockOffsetUs`,
 * `overlayClockOffsetUs`, `vxlanPorts`), with everything else alongside.
 *
 * `nodes[].ifindexNames` (optional: absent in files of older versions, and when the node could
 * not list its links) is each interface index of the node and its name when the capture started,
 * as `ip -j link show` gave them: what names the records of a `tcpdump -i any` capture (Linux
 * cooked v2, which carry the index only). `ifindexNamesOf` reads it back, checked.
 */
import { closeSync, constants, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { CaptureRunSummary, NodeSummary } from './types.js';

export const SESSION_FILE = 'session.json';

/** One interface of a node: its index (what SLL2 records carry) and its name. */
export interface IfindexName {
  ifindex: number;
  name: string;
}

/** Why `name` cannot be a Linux interface name as `ip link` reports it, or null: 1..15 bytes, no `/`, no white space or control characters. */
export function linkNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'must be text';
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > 15) return `must be 1 to 15 bytes long (it is ${bytes})`;
  // eslint-disable-next-line no-control-regex
  if (/[\s/\x00-\x1f\x7f]/.test(name)) return 'must hold no white space, "/" or control characters';
  return null;
}

/** Why `ifindex` cannot be an interface index, or null: a whole number from 1 to 2^31 - 1 (the kernel's int). */
export function ifindexProblem(ifindex: unknown): string | null {
  if (typeof ifindex !== 'number' || !Number.isInteger(ifindex)) return 'must be a whole number';
  if (ifindex < 1 || ifindex > 0x7fffffff) return 'must be between 1 and 2147483647';
  return null;
}

/**
 * A node's `ifindexNames` from session.json as a map; undefined when the field is absent (a
 * session.json of an older version). Anything else than a list of `{ifindex, name}` with
 * distinct indexes is refused: `what` (the file and the node) names the place in the message.
 */
export function ifindexNamesOf(value: unknown, what: string): Map<number, string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new UsageError(`${what}: "ifindexNames" must be a list of {"ifindex", "name"} (as capture writes it), not ${value === null ? 'null' : typeof value}`);
  const map = new Map<number, string>();
  value.forEach((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new UsageError(`${what}: ifindexNames[${i}] must be an object {"ifindex", "name"}, not ${JSON.stringify(e)}`);
    const { ifindex, name } = e as { ifindex?: unknown; name?: unknown };
    const pi = ifindexProblem(ifindex);
    if (pi) throw new UsageError(`${what}: ifindexNames[${i}].ifindex ${pi}, not ${JSON.stringify(ifindex)}`);
    const pn = linkNameProblem(name);
    if (pn) throw new UsageError(`${what}: ifindexNames[${i}].name ${pn}: ${JSON.stringify(name)}`);
    if (map.has(ifindex as number)) throw new UsageError(`${what}: ifindexNames lists ifindex ${String(ifindex)} twice (${JSON.stringify(map.get(ifindex as number))} and ${JSON.stringify(name)})`);
    map.set(ifindex as number, name as string);
  });
  return map;
}

/** A session.json as read: its nodes (objects; their fields checked by whoever uses them) and its extra VXLAN ports. */
export interface SessionJsonRead {
  nodes: Record<string, unknown>[];
  vxlanPorts: number[];
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

/**
 * The one reader of session.json's shape, for every command that reads one (correlate, path,
 * serve, export): valid JSON, an object, `nodes` (when present) a list of objects, `vxlanPorts`
 * the valid port numbers it lists. A usage error names the file and the key.
 */
export function parseSessionJson(text: string, file: string): SessionJsonRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message}): fix it, or remove it to pair captures by file name`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UsageError(`${file} is not a session file: it must hold a JSON object with a "nodes" list (as capture writes it), not ${kindOf(json)}`);
  }
  const { nodes, vxlanPorts } = json as { nodes?: unknown; vxlanPorts?: unknown };
  if (nodes !== undefined && !Array.isArray(nodes)) throw new UsageError(`${file}: "nodes" must be a list of nodes, not ${kindOf(nodes)}`);
  const list = (nodes ?? []) as unknown[];
  list.forEach((n, i) => {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) throw new UsageError(`${file}: nodes[${i}] must be an object (name, underlay, overlay, clockOffsetUs), not ${kindOf(n)}`);
  });
  const ports = Array.isArray(vxlanPorts) ? vxlanPorts.filter((p): p is number => Number.isInteger(p) && p > 0 && p < 65536) : [];
  return { nodes: list as Record<string, unknown>[], vxlanPorts: ports };
}

export interface SessionJsonNode {
  name: string;
  host: string;
  /** File name (in the folder) of the underlay capture. */
  underlay?: string;
  /** File name of the bridge capture. */
  overlay?: string;
  /** Node clock minus local clock, µs. */
  clockOffsetUs: number;
  /** The bridge capture runs on the same clock as the underlay one. */
  overlayClockOffsetUs: number;
  clockRttUs: number | null;
  tcpdumpVersion: string;
  libpcapVersion: string | null;
  ssh: NodeSummary['ssh'];
  sudo: boolean;
  /** Every interface of the node at capture start, by index (absent when the node could not list them). */
  ifindexNames?: IfindexName[];
  interfaces: {
    iface: string;
    role: string;
    file: string | null;
    filter: string;
    packets: number;
    bytes: number;
    vxlanPackets: number;
    vnis: number[];
    captured: number | null;
    receivedByFilter: number | null;
    droppedByKernel: number | null;
    end: string;
    startedAt: string;
    listeningAt: string | null;
    stopRequestedAt: string | null;
    stoppedAt: string;
    error?: string;
  }[];
}

export interface SessionJson {
  tool: 'vxlan-inspect capture';
  version: 1;
  localHost: string;
  startedAt: string;
  stoppedAt: string;
  durationSec: number;
  reason: string;
  filter: string | null;
  vxlanPorts: number[];
  nodes: SessionJsonNode[];
  errors: string[];
}

export function sessionJson(s: CaptureRunSummary, vxlanPorts: number[]): SessionJson {
  return {
    tool: 'vxlan-inspect capture',
    version: 1,
    localHost: hostname(),
    startedAt: s.startedAt,
    stoppedAt: s.stoppedAt,
    durationSec: s.durationSec,
    reason: s.reason,
    filter: s.filter,
    vxlanPorts,
    nodes: s.nodes.map((n) => {
      const under = n.streams.find((x) => x.role === 'underlay' && x.file);
      const over = n.streams.find((x) => x.role === 'bridge' && x.file);
      const j: SessionJsonNode = {
        name: n.node,
        host: n.host,
        clockOffsetUs: n.clock?.offsetUs ?? 0,
        overlayClockOffsetUs: 0,
        clockRttUs: n.clock?.rttUs ?? null,
        tcpdumpVersion: n.tcpdumpVersion,
        libpcapVersion: n.libpcapVersion,
        ssh: n.ssh,
        sudo: n.sudo,
        interfaces: n.streams.map((x) => {
          const i: SessionJsonNode['interfaces'][number] = {
            iface: x.iface,
            role: x.role,
            file: x.file ? path.basename(x.file) : null,
            filter: x.filter,
            packets: x.packets,
            bytes: x.bytes,
            vxlanPackets: x.vxlanPackets,
            vnis: x.vnis,
            captured: x.tcpdump?.captured ?? null,
            receivedByFilter: x.tcpdump?.receivedByFilter ?? null,
            droppedByKernel: x.tcpdump?.droppedByKernel ?? null,
            end: x.end,
            startedAt: x.startedAt,
            listeningAt: x.listeningAt,
            stopRequestedAt: x.stopRequestedAt,
            stoppedAt: x.stoppedAt,
          };
          if (x.error) i.error = x.error;
          return i;
        }),
      };
      if (n.ifindexNames) j.ifindexNames = n.ifindexNames.map(({ ifindex, name }) => ({ ifindex, name }));
      if (under?.file) j.underlay = path.basename(under.file);
      if (over?.file) j.overlay = path.basename(over.file);
      return j;
    }),
    errors: s.errors,
  };
}

/**
 * Written to a temporary name and renamed: a reader never sees half a file. The temporary file
 * is created new (a file or symlink already there under its name is removed first, never
 * written through), and removed again when writing or renaming fails (a full disk): nothing
 * is left behind but the error, which names the file.
 */
export function writeSessionJson(dir: string, json: SessionJson): string {
  const file = path.join(dir, SESSION_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  let created = false;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    created = true;
    try {
      writeFileSync(fd, `${JSON.stringify(json, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    if (created) rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}
