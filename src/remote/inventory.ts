/**
 * The inventory: which nodes exist, how to reach them over SSH, and what overlay they carry.
 *
 * ```yaml
 * defaults: { user: root, identityFile: ~/.ssh/id_ed25519, knownHosts: ~/.ssh/known_hosts, sudo: false }
 * overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }
 * nodes:
 *   kvm1: { host: 10.3.1.156, bridgeAddress: 10.220.220.201/24 }
 *   kvm2: { host: 10.3.1.174, bridgeAddress: 10.220.220.202/24, jump: frontend }
 *   frontend: { host: 10.3.1.250 }          # no bridgeAddress: reachable, not an overlay member
 * ```
 *
 * - Every `defaults` key and every `overlay` key may be overridden on a node. On a node,
 *   `port` is the SSH port (like `defaults.port`); the VXLAN UDP port of one node is
 *   overridden with a nested `overlay: { port: … }` map.
 * - `jump` names another node, or is `user@host[:port]`, to go through (like `ssh -J`).
 * - `underlayAddress` (optional) is the node's address on its underlay interface. Without it,
 *   provisioning reads it over SSH from `ip -j addr show dev <underlay>` and falls back to `host`.
 * - Overlay members are the nodes with a `bridgeAddress`; the others (a frontend used as a jump
 *   host) are only reachable.
 * - `~` in paths is the local home directory; relative paths are relative to the inventory file.
 */
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { VxiError } from '../errors.js';
import {
  cidrProblem,
  hostProblem,
  interfaceNameProblem,
  ipv4Problem,
  mtuProblem,
  multicastGroupProblem,
  portProblem,
  userProblem,
  vniProblem,
} from './quote.js';

export interface SshDefaults {
  user: string;
  /** Absolute path (after `~` and relative-path expansion). */
  identityFile: string;
  knownHosts: string;
  sudo: boolean;
  /** SSH port. */
  port: number;
  jump?: string;
}

export interface OverlayConfig {
  vni: number;
  /** VXLAN UDP destination port. */
  port: number;
  bridge: string;
  underlay: string;
  mtu: number;
  /** Multicast group mode (`group G dev UNDERLAY`) instead of unicast flood entries. */
  group?: string;
  /** firewalld zone for the bridge; default: firewalld's default zone. */
  firewallZone?: string;
}

export interface NodeEntry {
  host: string;
  bridgeAddress?: string;
  underlayAddress?: string;
  ssh: Partial<SshDefaults>;
  overlay: Partial<OverlayConfig>;
}

export interface Inventory {
  /** The file read, or `"(built-in default)"`. */
  source: string;
  defaults: SshDefaults;
  overlay: OverlayConfig;
  nodes: Record<string, NodeEntry>;
}

/** A `jump` resolved: the host to connect to first. */
export interface JumpConfig {
  /** Node name when `jump` named a node, else the `user@host[:port]` text. */
  name: string;
  host: string;
  sshPort: number;
  user: string;
  identityFile: string;
  knownHosts: string;
  /** The jump host's own jump, when it names a node that has one. */
  jump?: JumpConfig;
}

/** Everything about one node, defaults and overrides merged. */
export interface NodeConfig {
  name: string;
  host: string;
  sshPort: number;
  user: string;
  identityFile: string;
  knownHosts: string;
  sudo: boolean;
  jump?: JumpConfig;
  /** Undefined for nodes that are not overlay members. */
  bridgeAddress?: string;
  underlayAddress?: string;
  overlay: OverlayConfig;
}

export const DEFAULT_INVENTORY_FILE = 'vxlan-inspect.yaml';
export const BUILTIN_SOURCE = '(built-in default)';

export const BUILTIN_INVENTORY_YAML = `# The class lab (see class-lab-tp.fr.md)
defaults: { user: root, identityFile: ~/.ssh/id_ed25519, knownHosts: ~/.ssh/known_hosts, sudo: false, port: 22 }
overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }
nodes:
  kvm1: { host: 10.3.1.156, bridgeAddress: 10.220.220.201/24 }
  kvm2: { host: 10.3.1.174, bridgeAddress: 10.220.220.202/24 }
`;

const BASE_DEFAULTS: SshDefaults = {
  user: 'root',
  identityFile: '~/.ssh/id_ed25519',
  knownHosts: '~/.ssh/known_hosts',
  sudo: false,
  port: 22,
};
const BASE_OVERLAY: OverlayConfig = { vni: 10, port: 4789, bridge: 'vxlan_bridge', underlay: 'eth1', mtu: 1450 };

const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

function invError(source: string, path: string, what: string): VxiError {
  const where = path ? `${path}: ` : '';
  return new VxiError('VXI_INVENTORY', `invalid inventory ${source}: ${where}${what}`, { exitCode: 2 });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Expands `~` and makes relative paths relative to `baseDir`. */
export function expandPath(p: string, baseDir: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

type Check = (v: unknown) => string | null;

const stringCheck: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty string');
const boolCheck: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const ifnameCheck: Check = (v) => (typeof v === 'string' ? interfaceNameProblem(v) : 'must be an interface name');
const jumpCheck: Check = (v) =>
  typeof v === 'string' && /^([A-Za-z_][A-Za-z0-9_.-]*@)?[A-Za-z0-9_.-]+(:\d{1,5})?$/.test(v)
    ? null
    : 'must be a node name or user@host[:port]';
const zoneCheck: Check = (v) => (typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : 'must be a firewalld zone name');

const SSH_KEYS: Record<keyof SshDefaults, Check> = {
  user: userProblem,
  identityFile: stringCheck,
  knownHosts: stringCheck,
  sudo: boolCheck,
  port: portProblem,
  jump: jumpCheck,
};
const OVERLAY_KEYS: Record<keyof OverlayConfig, Check> = {
  vni: vniProblem,
  port: portProblem,
  bridge: ifnameCheck,
  underlay: ifnameCheck,
  mtu: mtuProblem,
  group: multicastGroupProblem,
  firewallZone: zoneCheck,
};

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function readSection<T extends object>(source: string, path: string, raw: unknown, keys: Record<string, Check>): Partial<T> {
  if (raw === undefined || raw === null) return {};
  if (!isMap(raw)) throw invError(source, path, 'must be a map of keys to values');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const check = keys[k];
    if (!check) throw invError(source, `${path}.${k}`, `unknown key (known: ${Object.keys(keys).join(', ')})`);
    const problem = check(v);
    if (problem) throw invError(source, `${path}.${k}`, `${problem} (got ${describe(v)})`);
    out[k] = v;
  }
  return out as Partial<T>;
}

/** Parses and validates inventory text. `source` names the file in messages; relative paths resolve from `baseDir`. */
export function parseInventory(text: string, source: string, baseDir: string = process.cwd()): Inventory {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.linePos?.[0];
    const at = pos ? `line ${pos.line}, column ${pos.col}: ` : '';
    throw invError(source, '', `not valid YAML: ${at}${(e?.message ?? 'parse error').split('\n')[0] ?? ''}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml refuses documents whose aliases expand without bound ("billion laughs")
    throw invError(source, '', `not a usable YAML document: ${(err as Error).message}`);
  }
  if (!isMap(root)) throw invError(source, '', 'the file must be a map with keys defaults, overlay, nodes');
  for (const k of Object.keys(root)) {
    if (!['defaults', 'overlay', 'nodes'].includes(k)) throw invError(source, k, 'unknown key (known: defaults, overlay, nodes)');
  }
  const defaultsRaw = readSection<SshDefaults>(source, 'defaults', root.defaults, SSH_KEYS);
  const overlayRaw = readSection<OverlayConfig>(source, 'overlay', root.overlay, OVERLAY_KEYS);
  const defaults: SshDefaults = { ...BASE_DEFAULTS, ...defaultsRaw };
  defaults.identityFile = expandPath(defaults.identityFile, baseDir);
  defaults.knownHosts = expandPath(defaults.knownHosts, baseDir);
  const overlay: OverlayConfig = { ...BASE_OVERLAY, ...overlayRaw };

  if (!isMap(root.nodes) || Object.keys(root.nodes).length === 0) {
    throw invError(source, 'nodes', 'must be a map with at least one node (e.g. kvm1: { host: 10.3.1.156 })');
  }
  // Null prototype: a node name such as "constructor" or "__proto__" is an ordinary key, and a
  // name that is not in the file never finds Object.prototype's members.
  const nodes: Record<string, NodeEntry> = Object.create(null) as Record<string, NodeEntry>;
  for (const [name, rawNode] of Object.entries(root.nodes)) {
    const path = `nodes.${name}`;
    if (!NODE_NAME.test(name)) throw invError(source, path, 'a node name may contain letters, digits, "_", "." and "-"');
    if (!isMap(rawNode)) throw invError(source, path, 'must be a map (e.g. { host: 10.3.1.156, bridgeAddress: 10.220.220.201/24 })');
    const ssh: Record<string, unknown> = {};
    const ov: Record<string, unknown> = {};
    let host: string | undefined;
    let bridgeAddress: string | undefined;
    let underlayAddress: string | undefined;
    for (const [k, v] of Object.entries(rawNode)) {
      const kp = `${path}.${k}`;
      if (k === 'host') {
        const p = hostProblem(v);
        if (p) throw invError(source, kp, p);
        host = v as string;
      } else if (k === 'bridgeAddress') {
        const p = cidrProblem(v);
        if (p) throw invError(source, kp, p);
        bridgeAddress = v as string;
      } else if (k === 'underlayAddress') {
        const p = ipv4Problem(v);
        if (p) throw invError(source, kp, p);
        underlayAddress = v as string;
      } else if (k === 'overlay') {
        Object.assign(ov, readSection<OverlayConfig>(source, kp, v, OVERLAY_KEYS));
      } else if (k in SSH_KEYS) {
        const p = (SSH_KEYS as Record<string, Check>)[k]?.(v) ?? null;
        if (p) throw invError(source, kp, `${p} (got ${describe(v)})`);
        ssh[k] = k === 'identityFile' || k === 'knownHosts' ? expandPath(v as string, baseDir) : v;
      } else if (k in OVERLAY_KEYS) {
        // `port` is taken by SSH above; every other overlay key may sit directly on the node.
        const p = (OVERLAY_KEYS as Record<string, Check>)[k]?.(v) ?? null;
        if (p) throw invError(source, kp, `${p} (got ${describe(v)})`);
        ov[k] = v;
      } else {
        throw invError(
          source,
          kp,
          'unknown key (known: host, bridgeAddress, underlayAddress, overlay, user, identityFile, knownHosts, ' +
            'sudo, port, jump, vni, bridge, underlay, mtu, group, firewallZone)',
        );
      }
    }
    if (host === undefined) throw invError(source, `${path}.host`, 'is missing (the address to reach the node over SSH)');
    const entry: NodeEntry = { host, ssh: ssh as Partial<SshDefaults>, overlay: ov as Partial<OverlayConfig> };
    if (bridgeAddress !== undefined) entry.bridgeAddress = bridgeAddress;
    if (underlayAddress !== undefined) entry.underlayAddress = underlayAddress;
    nodes[name] = entry;
  }
  const inv: Inventory = { source, defaults, overlay, nodes };
  // Resolve every node once so that bad jumps (unknown, cycles) are reported at load time.
  for (const name of Object.keys(nodes)) {
    try {
      resolveNode(inv, name);
    } catch (err) {
      if (err instanceof VxiError && err.code === 'VXI_INVENTORY') throw err;
      throw invError(source, `nodes.${name}`, (err as Error).message);
    }
  }
  return inv;
}

/**
 * Loads the inventory: `path` when given, else `vxlan-inspect.yaml` in the working directory
 * when it exists, else the built-in class-lab default.
 */
export async function loadInventory(path?: string): Promise<Inventory> {
  const file = path ?? resolve(process.cwd(), DEFAULT_INVENTORY_FILE);
  let text: string;
  try {
    text = await readInventoryText(file);
  } catch (err) {
    if (err instanceof VxiError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (path === undefined && code === 'ENOENT') return parseInventory(BUILTIN_INVENTORY_YAML, BUILTIN_SOURCE, process.cwd());
    throw new VxiError('VXI_INVENTORY', `cannot read inventory ${file}: ${(err as Error).message}`, { exitCode: 2, cause: err });
  }
  return parseInventory(text, file, dirname(resolve(file)));
}

/** An inventory is a few kilobytes; more than this is not one (`--inventory /dev/zero`). */
export const MAX_INVENTORY_BYTES = 1024 * 1024;

/**
 * The text of a small file, or null when it holds more than `max` bytes: reads at most `max` + 1
 * bytes, so a device or a huge file (`--inventory /dev/zero`) is refused, not slurped.
 */
export async function readSmallText(file: string, max: number = MAX_INVENTORY_BYTES): Promise<string | null> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got > max ? null : buf.subarray(0, got).toString('utf8');
  } finally {
    await fh.close();
  }
}

async function readInventoryText(file: string): Promise<string> {
  const text = await readSmallText(file);
  if (text === null) {
    throw new VxiError(
      'VXI_INVENTORY',
      `invalid inventory ${file}: larger than ${MAX_INVENTORY_BYTES / 1024} KiB, so not an inventory (a YAML file of nodes)`,
      { exitCode: 2 },
    );
  }
  return text;
}

function parseJumpSpec(inv: Inventory, spec: string, base: SshDefaults): JumpConfig {
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(spec);
  if (!m) throw invError(inv.source, '', `jump "${spec}" is not a node name or user@host[:port]`);
  const port = m[3] === undefined ? 22 : Number(m[3]);
  const portP = portProblem(port);
  if (portP) throw invError(inv.source, '', `jump "${spec}": port ${portP}`);
  const hostP = hostProblem(m[2]);
  if (hostP) throw invError(inv.source, '', `jump "${spec}": ${hostP}`);
  return {
    name: spec,
    host: m[2] ?? '',
    sshPort: port,
    user: m[1] ?? base.user,
    identityFile: base.identityFile,
    knownHosts: base.knownHosts,
  };
}

function resolveJump(inv: Inventory, spec: string, from: SshDefaults, seen: string[]): JumpConfig {
  if (nodeEntry(inv, spec) === undefined) return parseJumpSpec(inv, spec, from);
  if (seen.includes(spec)) {
    throw invError(inv.source, `nodes.${seen[0] ?? spec}.jump`, `jump hosts form a loop: ${[...seen, spec].join(' -> ')}`);
  }
  const n = resolveNodeInner(inv, spec, [...seen, spec]);
  const j: JumpConfig = {
    name: n.name,
    host: n.host,
    sshPort: n.sshPort,
    user: n.user,
    identityFile: n.identityFile,
    knownHosts: n.knownHosts,
  };
  if (n.jump) j.jump = n.jump;
  return j;
}

/** The inventory's own entry for `name`; never a member inherited from Object.prototype. */
export function nodeEntry(inv: Inventory, name: string): NodeEntry | undefined {
  return Object.hasOwn(inv.nodes, name) ? inv.nodes[name] : undefined;
}

function resolveNodeInner(inv: Inventory, name: string, seen: string[]): NodeConfig {
  const entry = nodeEntry(inv, name);
  if (!entry) {
    throw new VxiError('VXI_INVENTORY', `no node "${name}" in the inventory ${inv.source} (nodes: ${Object.keys(inv.nodes).join(', ')})`, {
      exitCode: 2,
    });
  }
  const ssh: SshDefaults = { ...inv.defaults, ...entry.ssh };
  const node: NodeConfig = {
    name,
    host: entry.host,
    sshPort: ssh.port,
    user: ssh.user,
    identityFile: ssh.identityFile,
    knownHosts: ssh.knownHosts,
    sudo: ssh.sudo,
    overlay: { ...inv.overlay, ...entry.overlay },
  };
  if (entry.bridgeAddress !== undefined) node.bridgeAddress = entry.bridgeAddress;
  if (entry.underlayAddress !== undefined) node.underlayAddress = entry.underlayAddress;
  if (ssh.jump !== undefined && ssh.jump !== name) node.jump = resolveJump(inv, ssh.jump, ssh, seen);
  return node;
}

/** The fully merged configuration of one node (defaults < overlay < node overrides). */
export function resolveNode(inv: Inventory, name: string): NodeConfig {
  return resolveNodeInner(inv, name, [name]);
}

/** Names of the overlay members (nodes with a bridgeAddress), in inventory order. */
export function overlayMembers(inv: Inventory): string[] {
  return Object.entries(inv.nodes)
    .filter(([, n]) => n.bridgeAddress !== undefined)
    .map(([name]) => name);
}

/** `vxlan<VNI>`: the interface name provision gives the VXLAN device. */
export function vxlanInterfaceName(overlay: Pick<OverlayConfig, 'vni'>): string {
  return `vxlan${overlay.vni}`;
}
