/**
 * Everything about one node before its streams start, on its one SSH connection: where we are
 * as the node sees us ($SSH_CONNECTION, for the self-exclusion filter), which tcpdump it has
 * (and whether sudo lets us run it), which interfaces exist, its clock against ours, and its
 * overlay configuration (recordOverlayConfig, also used by `check --save`).
 */
import { VxiError, isVxiError } from '../errors.js';
import { readNftables, type NftablesView } from '../provision/check.js';
import { parseFdb, readNodeState, type CommandRunner, type FdbEntry, type NodeState } from '../provision/state.js';
import type { RemoteSession } from '../remote/connection.js';
import { vxlanInterfaceName, type NodeConfig } from '../remote/inventory.js';
import { measureRemoteClock, type ClockOffset } from './clock.js';
import { parseSshConnection, selfExclusionFilter, type SshEndpoints } from './tcpdump.js';
import {
  CONFIG_LIMITS,
  ifindexProblem,
  linkNameProblem,
  type IfindexName,
  type OverlayConfigRecord,
  type RecordedFdbEntry,
  type RecordedLink,
} from './session-file.js';

export interface NodeFacts {
  ssh: SshEndpoints | null;
  exclusionFilter: string;
  tcpdumpVersion: string;
  libpcapVersion: string | null;
  interfaces: string[];
  /** Each interface's index (what a `tcpdump -i any` record carries) and name; null when the node could not list them. */
  ifindexNames: IfindexName[] | null;
  clock: ClockOffset | null;
}

/** Names in `ls -1 /sys/class/net`, or from `ip -o link show` when /sys is not there. */
export function parseInterfaceList(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:/.exec(t);
    if (m?.[1]) names.add(m[1]);
    // /sys/class/net also holds bonding_masters (a file) when the bonding driver is loaded
    else if (/^[A-Za-z0-9_.-]+$/.test(t) && t !== 'bonding_masters') names.add(t);
  }
  return [...names].sort();
}

/**
 * Index and name of every link in `ip -j link show` (JSON), or in `ip -o link show` (one line per
 * link, `3: eth1@if4: <…>`: iproute2 before JSON output); sorted by index. Undefined when the
 * text is neither, or lists no link; entries with an index or a name that cannot be one are left out.
 */
export function parseLinkIndexes(text: string): IfindexName[] | undefined {
  const found = new Map<number, string>();
  const add = (ifindex: unknown, name: unknown): void => {
    if (ifindexProblem(ifindex) === null && linkNameProblem(name) === null && !found.has(ifindex as number))
      found.set(ifindex as number, name as string);
  };
  const t = text.trim();
  if (t.startsWith('[')) {
    let j: unknown;
    try {
      j = JSON.parse(t);
    } catch {
      return undefined;
    }
    if (!Array.isArray(j)) return undefined;
    for (const e of j as unknown[])
      if (typeof e === 'object' && e !== null) add((e as { ifindex?: unknown }).ifindex, (e as { ifname?: unknown }).ifname);
  } else {
    for (const line of t.split('\n')) {
      const m = /^(\d+):\s+([^:@\s]+)(?:@\S+)?:/.exec(line.trim());
      if (m?.[1] && m[2]) add(Number(m[1]), m[2]);
    }
  }
  if (found.size === 0) return undefined;
  return [...found].sort((a, b) => a[0] - b[0]).map(([ifindex, name]) => ({ ifindex, name }));
}

/**
 * The node's links by index, over the session's connection: `ip -j link show`, else `ip -o link show`; null when
 * neither works (nothing else depends on it).
 */
async function listLinkIndexes(session: RemoteSession): Promise<IfindexName[] | null> {
  for (const argv of [
    ['ip', '-j', 'link', 'show'],
    ['ip', '-o', 'link', 'show'],
  ]) {
    const r = await session.run(argv, { timeoutMs: 15_000 }).catch(() => undefined);
    const list = r?.code === 0 ? parseLinkIndexes(r.stdout) : undefined;
    if (list) return list;
  }
  return null;
}

/** `tcpdump version 4.99.3` and `libpcap version 1.10.3 (with TPACKET_V3)` from `tcpdump --version`. */
export function parseTcpdumpVersion(text: string): { tcpdump: string; libpcap: string | null } | undefined {
  const t = /^tcpdump version (.+)$/m.exec(text)?.[1]?.trim();
  if (!t) return undefined;
  return { tcpdump: t, libpcap: /^libpcap version (.+)$/m.exec(text)?.[1]?.trim() ?? null };
}

/** The interfaces that may be captured on a node: those it has, plus tcpdump's pseudo-device `any`. */
export function missingInterfaces(wanted: readonly string[], present: readonly string[]): string[] {
  return wanted.filter((i) => i !== 'any' && !present.includes(i));
}

function rethrowNaming(session: RemoteSession, ifaces: readonly string[], program: string) {
  return (err: unknown): never => {
    if (!isVxiError(err)) throw err;
    const msg = err.message.startsWith(`${session.label}: `) ? err.message.slice(session.label.length + 2) : err.message;
    const where = `${session.label} ${ifaces.join(', ')}`;
    if (/is not installed/.test(msg) && msg.includes(program)) {
      throw new VxiError('VXI_PREREQ', `${where}: ${msg}; install it there (apt install tcpdump) or name it with --tcpdump PATH`, {
        exitCode: 2,
        cause: err,
      });
    }
    throw new VxiError(err.code, `${where}: ${msg}`, { exitCode: err.exitCode, cause: err });
  };
}

/**
 * The clock samples go over one open channel (a line per sample): opening an exec channel per
 * sample costs a fork of sshd and a shell *before* the clock is read, which makes the round trip
 * lopsided and the midpoint wrong by up to half of it. The reader (clock.ts) uses the shell's
 * own clock where it has one, so no program is started between the question and the answer.
 */
function measureClock(session: RemoteSession, samples = 16, timeoutMs = 10_000): Promise<ClockOffset | undefined> {
  return measureRemoteClock((argv) => session.spawn(argv), { samples, timeoutMs });
}

export async function gatherNodeFacts(session: RemoteSession, ifaces: readonly string[], program: string): Promise<NodeFacts> {
  const fail = rethrowNaming(session, ifaces, program);
  const [conn, version, links, ifindexNames] = await Promise.all([
    session.run(['printenv', 'SSH_CONNECTION'], { timeoutMs: 15_000 }).catch(fail),
    session.run([program, '--version'], { sudo: true, timeoutMs: 15_000 }).catch(fail),
    session.run(['ls', '-1', '/sys/class/net'], { timeoutMs: 15_000 }).catch(fail),
    listLinkIndexes(session),
  ]);
  const v = parseTcpdumpVersion(`${version.stdout}\n${version.stderr}`);
  if (!v && /(^|: )(command )?not found/m.test(version.stderr)) {
    // `sudo: tcpdump: command not found` (exit 1): sudo's secure_path has no tcpdump either
    const u = session.node.user;
    throw new VxiError(
      'VXI_PREREQ',
      `${session.label} ${ifaces.join(', ')}: ${program} is not installed ` +
        `(or not on the PATH${session.node.sudo ? ' sudo uses' : ` of ${u}`}): ${version.stderr.trim().split('\n')[0] ?? ''}; ` +
        'install it there (apt install tcpdump) or name it with --tcpdump PATH',
      { exitCode: 2 },
    );
  }
  if (!v) {
    const said = (version.stderr.trim() || version.stdout.trim()).split('\n').slice(0, 2).join(' / ');
    throw new VxiError(
      'VXI_PREREQ',
      `${session.label} ${ifaces.join(', ')}: \`${program} --version\` did not print a tcpdump version ` +
        `(exit ${version.code ?? version.signal ?? '?'}): ${said || 'no output'}; is ${program} tcpdump?`,
      { exitCode: 2 },
    );
  }
  let present = links.code === 0 ? parseInterfaceList(links.stdout) : [];
  if (present.length === 0) {
    const ip = await session.run(['ip', '-o', 'link', 'show'], { timeoutMs: 15_000 }).catch(fail);
    present = parseInterfaceList(ip.stdout);
  }
  const missing = missingInterfaces(ifaces, present);
  if (missing.length > 0) {
    throw new VxiError(
      'VXI_CAPTURE',
      `${session.label} ${missing.join(', ')}: ` +
        `interface${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} ` +
        `not exist on the node (it has: ${present.join(', ') || 'none found'}); ` +
        'pick one with --iface, or fix underlay/bridge in the inventory',
      { exitCode: 2 },
    );
  }
  const ssh = parseSshConnection(conn.stdout) ?? null;
  const clock = await measureClock(session).catch(() => undefined);
  return {
    ssh,
    exclusionFilter: selfExclusionFilter(ssh ?? undefined, session.node.sshPort),
    tcpdumpVersion: v.tcpdump,
    libpcapVersion: v.libpcap,
    interfaces: present,
    ifindexNames,
    clock: clock ?? null,
  };
}

// ---- the node's overlay configuration (session.json nodes[].config) ----

/** Hooks where a packet is dropped before the VXLAN device sees it: the nftables chains worth recording. */
const RECEIVE_HOOKS = new Set(['ingress', 'prerouting', 'input']);

/** The nftables view cut to what concerns a UDP port on the receive path: base chains there, their rules on a UDP destination port. */
export function nftablesForRecord(view: NftablesView): NftablesView {
  if (!view.installed || 'error' in view) return view;
  const chains = view.chains
    .filter((c) => c.hook !== undefined && RECEIVE_HOOKS.has(c.hook))
    .map((c) => ({ ...c, rules: c.rules.filter((r) => r.udpDport !== undefined).slice(0, CONFIG_LIMITS.rules) }))
    .filter((c) => c.rules.length > 0 || c.policy === 'drop')
    .slice(0, CONFIG_LIMITS.chains);
  return { installed: true, chains };
}

/**
 * The record of a node's overlay configuration from what was read (pure: the tests feed it
 * recorded `ip -j`/`bridge -j`/`nft -j` output): every VXLAN device, the inventory's bridge and
 * underlay, the VXLAN devices' FDB, firewalld, the nftables rules on the receive path.
 */
export function overlayConfigRecord(
  node: NodeConfig,
  read: { state: NodeState; fdb: FdbEntry[]; nftables: NftablesView | null } | { error: string },
  meta: { at: Date; by: 'capture' | 'check' },
): OverlayConfigRecord {
  const o = node.overlay;
  const rec: OverlayConfigRecord = {
    recordedAt: meta.at.toISOString(),
    recordedBy: meta.by,
    inventory: { vni: o.vni, port: o.port, bridge: o.bridge, underlay: o.underlay, mtu: o.mtu, group: o.group ?? null },
    vxlan: [],
    bridge: null,
    underlay: null,
    fdb: [],
    firewalld: null,
    nftables: null,
  };
  if ('error' in read) {
    rec.error = read.error;
    return rec;
  }
  const { state } = read;
  for (const l of state.links) {
    if (!l.vxlan || rec.vxlan.length >= CONFIG_LIMITS.vxlan) continue;
    const v = l.vxlan;
    rec.vxlan.push({
      name: l.name,
      vni: v.id,
      port: v.port,
      local: v.local ?? null,
      group: v.group ?? null,
      remote: v.remote ?? null,
      dev: v.dev ?? null,
      mtu: l.mtu,
      up: l.up,
      master: l.master ?? null,
    });
  }
  const link = (name: string): RecordedLink | null => {
    const l = state.links.find((x) => x.name === name);
    return l ? { name, mtu: l.mtu, up: l.up, addresses: (state.addrs[name] ?? []).slice(0, CONFIG_LIMITS.addresses) } : null;
  };
  rec.bridge = link(o.bridge);
  rec.underlay = link(o.underlay);
  const fdb: RecordedFdbEntry[] = read.fdb.map((e) => ({
    dev: e.dev ?? '',
    mac: e.mac.toLowerCase(),
    dst: e.dst ?? null,
    state: e.state ? e.state : null,
  }));
  rec.fdb = fdb.filter((e) => e.dev !== '').slice(0, CONFIG_LIMITS.fdb);
  if (fdb.length > CONFIG_LIMITS.fdb) rec.fdbLeftOut = fdb.length - CONFIG_LIMITS.fdb;
  rec.firewalld = state.firewall;
  rec.nftables = read.nftables ? nftablesForRecord(read.nftables) : null;
  return rec;
}

/**
 * Reads the node's overlay configuration over `runner` (read-only: `ip -j -d link`, `ip -j addr`,
 * `bridge -j fdb show dev` for each VXLAN device, firewalld's queries, `nft -j list ruleset`). A
 * failure is recorded, never thrown: the capture goes on without it.
 */
export async function recordOverlayConfig(runner: CommandRunner, node: NodeConfig, by: 'capture' | 'check'): Promise<OverlayConfigRecord> {
  const at = new Date();
  try {
    const state = await readNodeState(runner, node);
    const fdb: FdbEntry[] = [];
    for (const l of state.links.filter((x) => x.vxlan).slice(0, CONFIG_LIMITS.vxlan)) {
      // readNodeState read the inventory's vxlan<VNI>; a node on another VNI has another device
      if (l.name === vxlanInterfaceName(node.overlay)) {
        for (const e of state.fdb) fdb.push({ ...e, dev: l.name });
        continue;
      }
      const r = await runner.run(['bridge', '-j', 'fdb', 'show', 'dev', l.name], { sudo: true, timeoutMs: 15_000 });
      if (r.code !== 0)
        throw new VxiError(
          'VXI_REMOTE_COMMAND',
          `${node.name}: \`bridge -j fdb show dev ${l.name}\` failed (exit ${r.code ?? '?'}): ${r.stderr.trim()}`,
        );
      for (const e of parseFdb(r.stdout)) fdb.push({ ...e, dev: l.name });
    }
    const nftables = await readNftables(runner);
    return overlayConfigRecord(node, { state, fdb, nftables }, { at, by });
  } catch (err) {
    return overlayConfigRecord(node, { error: isVxiError(err) ? err.message : `unexpected: ${(err as Error).message}` }, { at, by });
  }
}
