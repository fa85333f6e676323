/**
 * What a node looks like now, read with the tools' own JSON output:
 * `ip -j -d link show`, `ip -j addr show`, `bridge -j fdb show dev vxlanN`, and firewalld's
 * `firewall-cmd` queries. The parsers are pure (recorded JSON in, state out); `readNodeState`
 * runs the commands over a session.
 */
import { VxiError } from '../errors.js';
import type { RunOptions, RunResult } from '../remote/exec.js';
import { vxlanInterfaceName, type NodeConfig } from '../remote/inventory.js';

export interface VxlanInfo {
  id: number;
  /** UDP destination port. */
  port: number;
  local?: string;
  /** The underlay device (`dev` when created). */
  dev?: string;
  /** Multicast group (`group`), or a unicast `remote`. */
  group?: string;
  remote?: string;
}

export interface LinkState {
  name: string;
  /** `linkinfo.info_kind`: bridge, vxlan, veth, … (undefined for plain devices). */
  kind?: string;
  /** Administratively up (the UP flag). */
  up: boolean;
  operstate: string;
  mtu: number;
  /** The link-layer address (`address`), lower case. */
  address?: string;
  master?: string;
  alias?: string;
  vxlan?: VxlanInfo;
  /**
   * How the kernel got the address (sysfs `addr_assign_type`: 0 permanent, 1 random, 2 stolen
   * from a port, 3 set by a user); read for the overlay's bridge only, undefined when unknown.
   * iproute2's JSON does not say it.
   */
  addrAssignType?: number;
}

export interface FdbEntry {
  mac: string;
  dst?: string;
  dev?: string;
  flags: string[];
  state?: string;
}

/** firewalld's view in one mode (runtime or permanent). */
export interface FirewallView {
  /** Zone the bridge is bound to, undefined when none. */
  bridgeZone?: string;
  /** Zone the underlay is bound to, undefined when none (then the default zone applies). */
  underlayZone?: string;
  /** Masquerade enabled in the zone the bridge should be in. */
  masquerade: boolean;
  /** PORT/udp open in the underlay's effective zone. */
  portOpen: boolean;
}

export type FirewallState =
  | { running: false; reason: string }
  | { running: true; defaultZone: string; runtime: FirewallView; permanent: FirewallView };

export interface NodeState {
  links: LinkState[];
  /** IPv4 addresses with prefix length, by interface name. */
  addrs: Record<string, string[]>;
  /** Entries of the VXLAN interface `vxlan<VNI>` (empty when it does not exist). */
  fdb: FdbEntry[];
  firewall: FirewallState;
}

/** Something that can run a command on the node: a RemoteSession, or a local runner in tests. */
export interface CommandRunner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function parseJsonArray(text: string, what: string): unknown[] {
  const t = text.trim();
  if (t === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (err) {
    throw new VxiError('VXI_REMOTE_COMMAND', `${what} did not print JSON (is iproute2 too old for -j?): ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new VxiError('VXI_REMOTE_COMMAND', `${what} printed JSON that is not a list`);
  return v;
}

/** Parses `ip -j -d link show`. */
export function parseIpLink(text: string): LinkState[] {
  const out: LinkState[] = [];
  for (const raw of parseJsonArray(text, 'ip -j -d link show')) {
    if (!isRecord(raw)) continue;
    const name = str(raw.ifname);
    if (!name) continue;
    const flags = Array.isArray(raw.flags) ? raw.flags.filter((f): f is string => typeof f === 'string') : [];
    const link: LinkState = { name, up: flags.includes('UP'), operstate: str(raw.operstate) ?? 'UNKNOWN', mtu: num(raw.mtu) ?? 0 };
    const address = str(raw.address);
    if (address) link.address = address.toLowerCase();
    const master = str(raw.master);
    if (master) link.master = master;
    const alias = str(raw.ifalias);
    if (alias) link.alias = alias;
    const info = isRecord(raw.linkinfo) ? raw.linkinfo : undefined;
    const kind = info ? str(info.info_kind) : undefined;
    if (kind) link.kind = kind;
    if (kind === 'vxlan' && info && isRecord(info.info_data)) {
      const d = info.info_data;
      const vx: VxlanInfo = { id: num(d.id) ?? -1, port: num(d.port) ?? 0 };
      const local = str(d.local);
      if (local) vx.local = local;
      const dev = str(d.link);
      if (dev) vx.dev = dev;
      const group = str(d.group);
      if (group) vx.group = group;
      const remote = str(d.remote);
      if (remote) vx.remote = remote;
      link.vxlan = vx;
    }
    out.push(link);
  }
  return out;
}

/** Parses `ip -j addr show`: IPv4 `address/prefix` by interface. */
export function parseIpAddr(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const raw of parseJsonArray(text, 'ip -j addr show')) {
    if (!isRecord(raw)) continue;
    const name = str(raw.ifname);
    if (!name) continue;
    const list: string[] = (out[name] ??= []);
    const infos = Array.isArray(raw.addr_info) ? raw.addr_info : [];
    for (const a of infos) {
      if (!isRecord(a) || a.family !== 'inet') continue;
      const local = str(a.local);
      const len = num(a.prefixlen);
      if (local && len !== undefined) list.push(`${local}/${len}`);
    }
  }
  return out;
}

/** Parses `bridge -j fdb show`. */
export function parseFdb(text: string): FdbEntry[] {
  const out: FdbEntry[] = [];
  for (const raw of parseJsonArray(text, 'bridge -j fdb show')) {
    if (!isRecord(raw)) continue;
    const mac = str(raw.mac);
    if (!mac) continue;
    const e: FdbEntry = { mac, flags: Array.isArray(raw.flags) ? raw.flags.filter((f): f is string => typeof f === 'string') : [] };
    const dst = str(raw.dst);
    if (dst) e.dst = dst;
    const dev = str(raw.ifname) ?? str(raw.dev);
    if (dev) e.dev = dev;
    const state = str(raw.state);
    if (state) e.state = state;
    out.push(e);
  }
  return out;
}

export const FLOOD_MAC = '00:00:00:00:00:00';

/** Destinations of the all-zeros (flood) entries. */
export function floodDestinations(fdb: readonly FdbEntry[]): string[] {
  return fdb.filter((e) => e.mac === FLOOD_MAC && e.dst !== undefined).map((e) => e.dst as string);
}

export function findLink(state: NodeState, name: string): LinkState | undefined {
  return state.links.find((l) => l.name === name);
}

/** The first IPv4 address (without prefix) on `ifname`. */
export function firstIpv4(state: Pick<NodeState, 'addrs'>, ifname: string): string | undefined {
  return state.addrs[ifname]?.[0]?.split('/')[0];
}

async function mustRun(r: CommandRunner, argv: string[], what: string, opts: RunOptions = {}): Promise<string> {
  const res = await r.run(argv, opts);
  if (res.code !== 0)
    throw new VxiError('VXI_REMOTE_COMMAND', `${what}: \`${argv.join(' ')}\` failed (exit ${res.code ?? '?'}): ${res.stderr.trim()}`);
  return res.stdout;
}

/** firewalld's state as provision needs it. Not running / not installed is a state, not an error. */
export async function readFirewallState(r: CommandRunner, node: NodeConfig): Promise<FirewallState> {
  // Look without sudo first: sudo matches no rule for a program that is not there, so
  // `sudo -n firewall-cmd` on a host without firewalld says "a password is required".
  const present = await r.run(['sh', '-c', 'command -v firewall-cmd || test -x /usr/sbin/firewall-cmd || test -x /usr/bin/firewall-cmd']);
  if (present.code !== 0) return { running: false, reason: 'firewalld is not installed' };
  let st: RunResult;
  try {
    st = await r.run(['firewall-cmd', '--state'], { sudo: true });
  } catch (err) {
    if (err instanceof VxiError && /firewall-cmd is not installed/.test(err.message))
      return { running: false, reason: 'firewalld is not installed' };
    throw err;
  }
  if (/firewall-cmd: (command )?not found/.test(st.stderr)) return { running: false, reason: 'firewalld is not installed' };
  if (st.code !== 0) return { running: false, reason: `firewalld is not running (${(st.stdout + st.stderr).trim() || `exit ${st.code}`})` };
  const fw = async (args: string[]): Promise<RunResult> => r.run(['firewall-cmd', ...args], { sudo: true });
  const defaultZone = (await mustRun(r, ['firewall-cmd', '--get-default-zone'], node.name, { sudo: true })).trim();
  const { bridge, underlay, port } = node.overlay;
  const zone = node.overlay.firewallZone ?? defaultZone;
  const view = async (perm: string[]): Promise<FirewallView> => {
    const zoneOf = async (ifname: string): Promise<string | undefined> => {
      const res = await fw([...perm, `--get-zone-of-interface=${ifname}`]);
      const z = res.stdout.trim();
      return res.code === 0 && z !== '' && z !== 'no zone' ? z : undefined;
    };
    const bridgeZone = await zoneOf(bridge);
    const underlayZone = await zoneOf(underlay);
    const masquerade = (await fw([...perm, `--zone=${zone}`, '--query-masquerade'])).code === 0;
    const portOpen = (await fw([...perm, `--zone=${underlayZone ?? defaultZone}`, `--query-port=${port}/udp`])).code === 0;
    const v: FirewallView = { masquerade, portOpen };
    if (bridgeZone) v.bridgeZone = bridgeZone;
    if (underlayZone) v.underlayZone = underlayZone;
    return v;
  };
  return { running: true, defaultZone, runtime: await view([]), permanent: await view(['--permanent']) };
}

/** Reads links, addresses, the VXLAN interface's fdb and firewalld. */
export async function readNodeState(r: CommandRunner, node: NodeConfig): Promise<NodeState> {
  const links = parseIpLink(await mustRun(r, ['ip', '-j', '-d', 'link', 'show'], node.name));
  const addrs = parseIpAddr(await mustRun(r, ['ip', '-j', 'addr', 'show'], node.name));
  const vx = vxlanInterfaceName(node.overlay);
  const fdb = links.some((l) => l.name === vx)
    ? parseFdb(await mustRun(r, ['bridge', '-j', 'fdb', 'show', 'dev', vx], node.name, { sudo: true }))
    : [];
  const bridge = links.find((l) => l.name === node.overlay.bridge && l.kind === 'bridge');
  if (bridge) bridge.addrAssignType = await readAddrAssignType(r, bridge.name);
  const firewall = await readFirewallState(r, node);
  return { links, addrs, fdb, firewall };
}

/** NET_ADDR_SET in sysfs `addr_assign_type`: the address was given (`ip link set … address`), it stays as ports come and go. */
export const ADDR_ASSIGN_SET = 3;

/**
 * A device's sysfs `addr_assign_type`, or undefined when it cannot be read (no sysfs, a runner
 * that does not know the command): then provision pins a bridge's MAC again, which is harmless.
 */
async function readAddrAssignType(r: CommandRunner, dev: string): Promise<number | undefined> {
  try {
    const res = await r.run(['cat', `/sys/class/net/${dev}/addr_assign_type`]);
    const n = Number(res.stdout.trim());
    return res.code === 0 && Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A node's address on its underlay: the inventory's `underlayAddress` when set, else the first
 * IPv4 address of the underlay interface read over SSH, else the SSH `host` (documented fallback:
 * right for the class lab, where the SSH address is the eth1 address).
 */
export function underlayAddressOf(
  node: NodeConfig,
  state?: Pick<NodeState, 'addrs'>,
): { address: string; source: 'inventory' | 'interface' | 'host' } {
  if (node.underlayAddress) return { address: node.underlayAddress, source: 'inventory' };
  const a = state ? firstIpv4(state, node.overlay.underlay) : undefined;
  if (a) return { address: a, source: 'interface' };
  return { address: node.host, source: 'host' };
}
