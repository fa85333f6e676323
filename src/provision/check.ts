/**
 * `check`: diagnostics of the overlay with a pass/warn/fail verdict and a one-line reason each.
 *
 * The verdicts on a node's state are pure (`evaluateNode`, `evaluateConsistency`), so they are
 * tested on recorded state; the live parts (pings run ON the node, the optional probe capture)
 * come from `runChecks`.
 */
import { isVxiError } from '../errors.js';
import type { SessionPool, RemoteSession } from '../remote/connection.js';
import { overlayMembers, resolveNode, vxlanInterfaceName, type Inventory, type NodeConfig } from '../remote/inventory.js';
import { readMemberAddress, resolveMembers, type MemberAddress } from './gather.js';
import { VXLAN_OVERHEAD_IPV4 } from './plan.js';
import { probeOverlay } from './probe.js';
import {
  FLOOD_MAC,
  findLink,
  floodDestinations,
  readNodeState,
  underlayAddressOf,
  type FdbEntry,
  type LinkState,
  type NodeState,
} from './state.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Node name, or `"overlay"` for checks across nodes. */
  node: string;
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface CheckReport {
  ok: boolean;
  checks: CheckResult[];
}

export interface NodeObservation {
  node: NodeConfig;
  /** Present when the node was reachable and its state was read. */
  state?: NodeState;
  /** Why not, when it was not. */
  error?: string;
  /** Which step failed: the SSH connection (default) or reading the state over it. */
  failedAt?: 'ssh' | 'state';
  /** The node's nftables rules (`nft -j list ruleset`), when they were looked at. */
  nftables?: NftablesView;
}

/** What `nft -j list ruleset` showed, or why it showed nothing. */
export type NftablesView = { installed: false } | { installed: true; error: string } | { installed: true; chains: NftChain[] };

export interface NftChain {
  family: string;
  table: string;
  name: string;
  /** Base chains only: input, prerouting, ingress, forward, output, postrouting. */
  hook?: string;
  /** The netdev/inet ingress chain's device. */
  device?: string;
  policy?: string;
  rules: NftRule[];
}

export interface NftRule {
  handle?: number;
  comment?: string;
  /** The UDP (or `th`) destination ports the rule matches, as ranges; undefined when it does not match on one. */
  udpDport?: { op: 'in' | 'not'; ranges: [number, number][] };
  /** Whether the rule has other matches too (it then drops only part of that traffic). */
  otherMatches: boolean;
  verdict?: 'accept' | 'drop' | 'reject' | 'other';
  /** The rule's counter, when it has one. */
  packets?: number;
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Port ranges of an nft JSON right-hand side: 4789, {"set":[4789,{"range":[8000,9000]}]}, {"range":[…]}. */
function portRanges(v: unknown): [number, number][] | undefined {
  if (typeof v === 'number') return [[v, v]];
  const o = rec(v);
  if (!o) return undefined;
  if (Array.isArray(o.range) && typeof o.range[0] === 'number' && typeof o.range[1] === 'number') return [[o.range[0], o.range[1]]];
  if (Array.isArray(o.set)) {
    const out: [number, number][] = [];
    for (const x of o.set) {
      const r = portRanges(x);
      if (!r) return undefined;
      out.push(...r);
    }
    return out;
  }
  return undefined;
}

/** Parses `nft -j list ruleset` into chains and the rules that matter to the VXLAN port. Bounded: at most 10,000 rules. */
export function parseNftRuleset(text: string): NftChain[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`nft -j list ruleset did not print JSON: ${(err as Error).message}`);
  }
  const items = rec(v)?.nftables;
  if (!Array.isArray(items)) throw new Error('nft -j list ruleset printed JSON without an "nftables" list');
  const chains = new Map<string, NftChain>();
  const key = (family: unknown, table: unknown, name: unknown): string => `${String(family)} ${String(table)} ${String(name)}`;
  let count = 0;
  for (const item of items) {
    const o = rec(item);
    const c = rec(o?.chain);
    if (c && typeof c.name === 'string' && typeof c.table === 'string' && typeof c.family === 'string') {
      const chain: NftChain = { family: c.family, table: c.table, name: c.name, rules: [] };
      if (typeof c.hook === 'string') chain.hook = c.hook;
      if (typeof c.dev === 'string') chain.device = c.dev;
      if (typeof c.policy === 'string') chain.policy = c.policy;
      chains.set(key(c.family, c.table, c.name), chain);
      continue;
    }
    const r = rec(o?.rule);
    if (!r || ++count > 10_000) continue;
    const chain = chains.get(key(r.family, r.table, r.chain));
    if (!chain) continue;
    const rule: NftRule = { otherMatches: false };
    if (typeof r.handle === 'number') rule.handle = r.handle;
    if (typeof r.comment === 'string') rule.comment = r.comment;
    for (const e of Array.isArray(r.expr) ? r.expr : []) {
      const x = rec(e);
      if (!x) continue;
      const m = rec(x.match);
      if (m) {
        const payload = rec(rec(m.left)?.payload);
        const ranges = portRanges(m.right);
        if (
          payload &&
          (payload.protocol === 'udp' || payload.protocol === 'th') &&
          payload.field === 'dport' &&
          ranges &&
          (m.op === '==' || m.op === 'in' || m.op === '!=')
        ) {
          rule.udpDport = { op: m.op === '!=' ? 'not' : 'in', ranges };
        } else if (!(payload && payload.protocol === 'udp') && !(rec(rec(m.left)?.meta)?.key === 'l4proto')) {
          rule.otherMatches = true;
        }
        continue;
      }
      const counter = rec(x.counter);
      if (counter && typeof counter.packets === 'number') rule.packets = counter.packets;
      if ('accept' in x) rule.verdict = 'accept';
      else if ('drop' in x) rule.verdict = 'drop';
      else if ('reject' in x) rule.verdict = 'reject';
      else if ('jump' in x || 'goto' in x || 'return' in x || 'queue' in x) rule.verdict = 'other';
    }
    chain.rules.push(rule);
  }
  return [...chains.values()];
}

const matchesPort = (r: NftRule, port: number): boolean =>
  r.udpDport !== undefined && r.udpDport.ranges.some(([lo, hi]) => port >= lo && port <= hi) === (r.udpDport.op === 'in');

/** Hooks where a host drops a packet before its VXLAN device sees it. */
const RECEIVE_HOOKS = new Set(['ingress', 'prerouting', 'input']);

/** The `packet-filter` verdict: does an nftables rule on the receive path drop UDP `port`? */
export function evaluateNftables(view: NftablesView, port: number, underlay: string): { status: CheckStatus; detail: string } {
  if (!view.installed) return { status: 'pass', detail: `nft is not installed: no nftables rule filters udp/${port}` };
  if ('error' in view)
    return {
      status: 'warn',
      detail: `could not read the nftables rules (${view.error}): look at \`nft list ruleset\` for rules dropping udp/${port}`,
    };
  const problems: { status: CheckStatus; text: string }[] = [];
  for (const c of view.chains) {
    if (c.hook === undefined || !RECEIVE_HOOKS.has(c.hook) || (c.device !== undefined && c.device !== underlay)) continue;
    const where = `nftables table ${c.family} ${c.table} chain ${c.name} (hook ${c.hook}${c.device ? ` on ${c.device}` : ''})`;
    let accepted = false;
    for (const r of c.rules) {
      if (r.udpDport === undefined || !matchesPort(r, port)) continue;
      if (r.verdict === 'accept') {
        accepted = true;
        break;
      }
      if (r.verdict === 'drop' || r.verdict === 'reject') {
        const counter = r.packets !== undefined ? `, ${r.packets} packet(s) ${r.verdict === 'drop' ? 'dropped' : 'rejected'} so far` : '';
        const partly = r.otherMatches ? ' (some of it: the rule has other matches too)' : '';
        const handle = r.handle !== undefined ? `: nft delete rule ${c.family} ${c.table} ${c.name} handle ${r.handle}` : '';
        problems.push({
          status: 'fail',
          text:
            `${where} ${r.verdict}s udp/${port}${partly}, ` +
            `rule${r.handle !== undefined ? ` handle ${r.handle}` : ''}${r.comment ? ` '${r.comment}'` : ''}${counter}${handle}`,
        });
        break;
      }
    }
    if (!accepted && c.policy === 'drop' && !problems.some((p) => p.text.startsWith(where))) {
      problems.push({
        status: 'warn',
        text: `${where} has policy drop and no rule accepting udp/${port}: unless an earlier rule lets it through, VXLAN is dropped there`,
      });
    }
  }
  if (problems.length === 0) return { status: 'pass', detail: `no nftables rule on the receive path drops udp/${port}` };
  return { status: problems.some((p) => p.status === 'fail') ? 'fail' : 'warn', detail: problems.map((p) => p.text).join('; ') };
}

/** The VXLAN device the checks look at: `vxlan<VNI>`, else a VXLAN port of the bridge, else any VXLAN device. */
export function effectiveVxlan(node: NodeConfig, state: NodeState): LinkState | undefined {
  const named = findLink(state, vxlanInterfaceName(node.overlay));
  if (named?.vxlan) return named;
  const vx = state.links.filter((l) => l.vxlan);
  return vx.find((l) => l.master === node.overlay.bridge) ?? vx[0];
}

/** Verdicts on one node's state. `members` gives every overlay member's underlay address. */
export function evaluateNode(obs: NodeObservation, members: readonly MemberAddress[], group?: string): CheckResult[] {
  const { node } = obs;
  const out: CheckResult[] = [];
  const r = (name: string, status: CheckStatus, detail: string): void => {
    out.push({ node: node.name, name, status, detail });
  };
  const o = node.overlay;
  if (!obs.state) {
    if (obs.failedAt === 'state') {
      r('ssh', 'pass', `connected as ${node.user}@${node.host}:${node.sshPort}${node.jump ? ` via ${node.jump.name}` : ''}`);
      r('state', 'fail', obs.error ?? 'cannot read the interfaces');
    } else r('ssh', 'fail', obs.error ?? `${node.host}: not reachable`);
    return out;
  }
  const st = obs.state;
  r('ssh', 'pass', `connected as ${node.user}@${node.host}:${node.sshPort}${node.jump ? ` via ${node.jump.name}` : ''}`);

  const ul = findLink(st, o.underlay);
  const own = underlayAddressOf(node, st);
  if (!ul) r('underlay', 'fail', `${o.underlay} does not exist (interfaces: ${st.links.map((l) => l.name).join(', ')})`);
  else if (!ul.up) r('underlay', 'fail', `${o.underlay} is down`);
  else if (own.source === 'host' && !st.addrs[o.underlay]?.length) r('underlay', 'fail', `${o.underlay} has no IPv4 address`);
  else r('underlay', 'pass', `${o.underlay} up, ${(st.addrs[o.underlay] ?? []).join(' ') || own.address}, mtu ${ul.mtu}`);

  const br = findLink(st, o.bridge);
  if (!br) r('bridge', 'fail', `${o.bridge} does not exist (run provision ${node.name})`);
  else if (br.kind !== 'bridge') r('bridge', 'fail', `${o.bridge} is a ${br.kind ?? 'plain'} interface, not a bridge`);
  else if (!br.up) r('bridge', 'fail', `${o.bridge} is down (ip link set dev ${o.bridge} up)`);
  else r('bridge', 'pass', `${o.bridge} is up`);

  if (br && node.bridgeAddress) {
    const have = st.addrs[o.bridge] ?? [];
    if (have.includes(node.bridgeAddress)) r('bridge-address', 'pass', `${o.bridge} has ${node.bridgeAddress}`);
    else r('bridge-address', 'fail', `${o.bridge} lacks ${node.bridgeAddress} (has ${have.join(', ') || 'no IPv4 address'})`);
  }

  const want = vxlanInterfaceName(o);
  const vx = effectiveVxlan(node, st);
  if (!vx?.vxlan) {
    r('vxlan', 'fail', `${want} does not exist and no other VXLAN interface is there (run provision ${node.name})`);
    return out;
  }
  const v = vx.vxlan;
  if (vx.name !== want)
    r('vxlan', 'fail', `${want} does not exist; ${vx.name} (VNI ${v.id}) is ${vx.master ? `on ${vx.master}` : 'there'} instead`);
  else if (!vx.up) r('vxlan', 'fail', `${vx.name} is down (ip link set dev ${vx.name} up)`);
  else if (vx.master !== o.bridge) r('vxlan', 'fail', `${vx.name} is not a port of ${o.bridge} (master: ${vx.master ?? 'none'})`);
  else r('vxlan', 'pass', `${vx.name} is up, a port of ${o.bridge}`);

  if (v.id === o.vni) r('vni', 'pass', `${vx.name} has VNI ${v.id}`);
  else r('vni', 'fail', `${vx.name} has VNI ${v.id}, the inventory says ${o.vni}`);

  if (v.port === o.port) r('port', 'pass', `${vx.name} uses UDP ${v.port}`);
  else {
    const hint = v.port === 8472 ? " (the kernel's old default: created without dstport)" : '';
    r('port', 'fail', `${vx.name} uses UDP ${v.port}${hint}, the inventory says ${o.port}`);
  }

  if (!v.local) r('local-address', 'warn', `${vx.name} has no local address; the kernel picks the source by route (want ${own.address})`);
  else if (v.local === own.address) r('local-address', 'pass', `${vx.name} local ${v.local} = ${o.underlay}'s address`);
  else r('local-address', 'fail', `${vx.name} local ${v.local}, but ${node.name}'s underlay address is ${own.address}`);

  if (!v.dev) r('underlay-dev', 'warn', `${vx.name} is not bound to a device (want dev ${o.underlay})`);
  else if (v.dev === o.underlay) r('underlay-dev', 'pass', `${vx.name} is bound to ${v.dev}`);
  else r('underlay-dev', 'fail', `${vx.name} is bound to ${v.dev}, the inventory says ${o.underlay}`);

  const g = group ?? o.group;
  if (g) {
    if (v.group === g) r('flood', 'pass', `${vx.name} floods to multicast group ${g}`);
    else r('flood', 'fail', `${vx.name} group is ${v.group ?? 'unset'}, want ${g}`);
  } else {
    const have = vx.name === want ? floodDestinations(st.fdb) : [];
    const peers = members.filter((m) => m.name !== node.name && m.address !== own.address);
    const missing = peers.filter((p) => !have.includes(p.address));
    if (peers.length === 0) r('flood', 'warn', 'no other overlay member in the inventory');
    else if (missing.length > 0) {
      r(
        'flood',
        'fail',
        `no flood entry for ${missing.map((p) => `${p.name} (${p.address})`).join(', ')}: ` +
          `bridge fdb append 00:00:00:00:00:00 dev ${vx.name} dst ${missing[0]?.address ?? ''}`,
      );
    } else r('flood', 'pass', `flood entries to ${peers.map((p) => `${p.name} (${p.address})`).join(', ')}`);
  }

  // unicast entries: a static one toward a host that is no overlay member is stale (a guest that moved,
  // a VTEP that went away): its frames go there and nowhere else; a learnt one means such a host sends VXLAN
  if (vx.name === want) {
    const memberAddrs = new Set(members.map((m) => m.address));
    const unicast = st.fdb.filter((e) => e.mac !== FLOOD_MAC && e.dst !== undefined && e.dst !== v.group);
    const stray = unicast.filter((e) => !memberAddrs.has(e.dst as string));
    const fixed = (e: FdbEntry): boolean => e.state === 'static' || e.state === 'permanent' || e.flags.includes('sticky');
    const staleOnes = stray.filter(fixed);
    const learnt = stray.filter((e) => !fixed(e));
    const list = (es: FdbEntry[]): string => es.map((e) => `${e.mac} → ${e.dst ?? '?'}`).join(', ');
    if (staleOnes.length > 0) {
      const first = staleOnes[0] as FdbEntry;
      r(
        'fdb',
        'fail',
        `${vx.name} has ${staleOnes.length} ${staleOnes[0]?.state ?? 'static'} ` +
          `entr${staleOnes.length === 1 ? 'y' : 'ies'} toward a VTEP that is no overlay member ` +
          `(${list(staleOnes)}): stale? bridge fdb del ${first.mac} dev ${vx.name} dst ${first.dst ?? ''}`,
      );
    } else if (learnt.length > 0) {
      r(
        'fdb',
        'warn',
        `${vx.name} learnt ${learnt.length} MAC address(es) behind a VTEP that is no overlay member ` +
          `(${list(learnt)}): a host outside the inventory sends VXLAN with VNI ${v.id}`,
      );
    } else {
      r(
        'fdb',
        'pass',
        unicast.length > 0
          ? `${unicast.length} unicast entr${unicast.length === 1 ? 'y' : 'ies'}, all toward overlay members`
          : 'no unicast entries (none learnt yet)',
      );
    }
  }

  if (ul) {
    const budget = vx.mtu + VXLAN_OVERHEAD_IPV4;
    if (budget <= ul.mtu) {
      const note = vx.mtu !== o.mtu ? ` (the inventory says ${o.mtu})` : '';
      r(
        'mtu',
        vx.mtu !== o.mtu ? 'warn' : 'pass',
        `${vx.name} mtu ${vx.mtu} + ${VXLAN_OVERHEAD_IPV4} ≤ ${o.underlay} mtu ${ul.mtu}${note}`,
      );
    } else if (vx.mtu === 1500 && ul.mtu === 1500) {
      r(
        'mtu',
        'warn',
        `1500 in 1500: ${vx.name} mtu 1500 + ${VXLAN_OVERHEAD_IPV4} > ${o.underlay} mtu 1500; full-size frames will not cross (set mtu 1450)`,
      );
    } else {
      r(
        'mtu',
        'fail',
        `${vx.name} mtu ${vx.mtu} + ${VXLAN_OVERHEAD_IPV4} > ${o.underlay} mtu ${ul.mtu}: ` +
          `full-size frames will not cross; lower the overlay mtu to ${ul.mtu - VXLAN_OVERHEAD_IPV4} or ` +
          `raise ${o.underlay}'s`,
      );
    }
  }

  const fw = st.firewall;
  if (!fw.running) r('firewall', 'pass', `${fw.reason}: nothing there filters udp/${o.port}`);
  else {
    const uzone = (m: 'runtime' | 'permanent'): string => fw[m].underlayZone ?? fw.defaultZone;
    if (!fw.runtime.portOpen)
      r(
        'firewall',
        'fail',
        `udp/${o.port} is not open in firewalld zone ${uzone('runtime')} of ${o.underlay}: firewall-cmd --zone=${uzone('runtime')} --add-port=${o.port}/udp`,
      );
    else if (!fw.permanent.portOpen)
      r('firewall', 'warn', `udp/${o.port} is open now but not in the permanent configuration (lost at reload/reboot)`);
    else r('firewall', 'pass', `udp/${o.port} open in zone ${uzone('runtime')} (runtime and permanent)`);
  }
  if (obs.nftables) {
    const f = evaluateNftables(obs.nftables, o.port, o.underlay);
    r('packet-filter', f.status, f.detail);
  }
  return out;
}

/** Same VNI and port on every node. */
export function evaluateConsistency(obs: readonly NodeObservation[]): CheckResult[] {
  const seen: string[] = [];
  const pairs = new Set<string>();
  for (const o of obs) {
    if (!o.state) continue;
    const vx = effectiveVxlan(o.node, o.state);
    if (!vx?.vxlan) continue;
    seen.push(`${o.node.name} VNI ${vx.vxlan.id}/UDP ${vx.vxlan.port}`);
    pairs.add(`${vx.vxlan.id}/${vx.vxlan.port}`);
  }
  if (seen.length < 2) return [];
  const out: CheckResult[] =
    pairs.size === 1
      ? [{ node: 'overlay', name: 'same-vni-port', status: 'pass', detail: `same VNI and port on every node: ${seen.join(', ')}` }]
      : [{ node: 'overlay', name: 'same-vni-port', status: 'fail', detail: `VNI/port differ between nodes: ${seen.join(', ')}` }];
  // multicast mode: every node must join the same group, else floods (ARP) reach no one
  const groups = obs.flatMap((o) => {
    const vx = o.state ? effectiveVxlan(o.node, o.state) : undefined;
    return vx?.vxlan ? [{ node: o.node.name, group: vx.vxlan.group }] : [];
  });
  if (groups.some((g) => g.group !== undefined)) {
    const text = groups.map((g) => `${g.node} ${g.group ?? 'none (unicast flood entries)'}`).join(', ');
    if (new Set(groups.map((g) => g.group ?? '')).size === 1)
      out.push({ node: 'overlay', name: 'same-group', status: 'pass', detail: `same multicast group on every node: ${text}` });
    else
      out.push({
        node: 'overlay',
        name: 'same-group',
        status: 'fail',
        detail: `multicast groups differ between nodes: ${text}: floods (ARP, unknown unicast) from one never reach the other`,
      });
  }
  return out;
}

export interface CheckOptions {
  probe?: boolean;
  group?: string;
}

/** Pings from the node; true when one of `tries` single pings is answered, or the error text. */
async function ping(session: RemoteSession, address: string, tries: number): Promise<true | string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    try {
      const r = await session.run(['ping', '-c', '1', '-W', '1', address], { timeoutMs: 10_000 });
      if (r.code === 0) return true;
      last = r.code === 1 ? 'no reply' : (r.stderr.trim().split('\n')[0] ?? `ping exited ${r.code ?? '?'}`);
    } catch (err) {
      return errorText(err);
    }
  }
  return last;
}

function errorText(err: unknown): string {
  return isVxiError(err) ? err.message : `unexpected: ${(err as Error).message}`;
}

/** The node's nftables rules; a missing nft is a state, a failing one a warning. */
export async function readNftables(session: Pick<RemoteSession, 'run'>): Promise<NftablesView> {
  const present = await session.run(['sh', '-c', 'command -v nft || test -x /usr/sbin/nft || test -x /sbin/nft']);
  if (present.code !== 0) return { installed: false };
  try {
    const r = await session.run(['nft', '-j', 'list', 'ruleset'], { sudo: true, timeoutMs: 10_000 });
    if (r.code !== 0) return { installed: true, error: r.stderr.trim().split('\n')[0] || `exit ${r.code ?? '?'}` };
    return { installed: true, chains: parseNftRuleset(r.stdout) };
  } catch (err) {
    return { installed: true, error: isVxiError(err) ? err.message : (err as Error).message };
  }
}

/** Connects to the named nodes, reads their state, evaluates, pings peers from each node, probes on request. */
export async function runChecks(
  pool: SessionPool,
  inv: Inventory,
  names: readonly string[],
  opts: CheckOptions = {},
): Promise<CheckReport> {
  const nodes = resolveMembers(inv, names);
  const sessions = new Map<string, RemoteSession>();
  // every node at once (SSH, its state, its nftables), reported in the order asked
  const obs: NodeObservation[] = await Promise.all(
    nodes.map(async (node): Promise<NodeObservation> => {
      let s: RemoteSession;
      try {
        s = await pool.get(node);
      } catch (err) {
        return { node, error: errorText(err), failedAt: 'ssh' };
      }
      sessions.set(node.name, s);
      try {
        const state = await readNodeState(s, node);
        return { node, state, nftables: await readNftables(s) };
      } catch (err) {
        return { node, error: errorText(err), failedAt: 'state' };
      }
    }),
  );
  const members: MemberAddress[] = [];
  for (const name of overlayMembers(inv)) {
    const o = obs.find((x) => x.node.name === name);
    if (o?.state) members.push({ name, ...underlayAddressOf(o.node, o.state) });
    else if (o) members.push({ name, ...underlayAddressOf(o.node) });
    else members.push(await readMemberAddress(pool, resolveNode(inv, name)));
  }
  // the pings of every node at once, a peer's underlay and overlay pings side by side (a failing
  // overlay ping waits out its tries: one node after the other, that was seconds per node)
  const pinged = await Promise.all(
    obs.map(async (o) => {
      const s = sessions.get(o.node.name);
      if (!s || !o.state) return [];
      return Promise.all(
        members
          .filter((m) => m.name !== o.node.name)
          .map(async (m) => {
            const peerBridge = inv.nodes[m.name]?.bridgeAddress?.split('/')[0];
            const [up, over] = await Promise.all([ping(s, m.address, 1), peerBridge ? ping(s, peerBridge, 2) : undefined]);
            return { m, peerBridge, up, over };
          }),
      );
    }),
  );
  const checks: CheckResult[] = [];
  for (const [k, o] of obs.entries()) {
    checks.push(...evaluateNode(o, members, opts.group));
    const s = sessions.get(o.node.name);
    for (const { m, peerBridge, up, over } of pinged[k] ?? []) {
      checks.push({
        node: o.node.name,
        name: 'peer-underlay',
        status: up === true ? 'pass' : 'fail',
        detail:
          up === true
            ? `${m.name} (${m.address}) answers on the underlay`
            : `${m.name} (${m.address}) does not answer ping on the underlay (${up})`,
      });
      if (!peerBridge || over === undefined) continue;
      checks.push({
        node: o.node.name,
        name: 'peer-overlay',
        status: over === true ? 'pass' : 'fail',
        detail:
          over === true
            ? `${m.name}'s bridge ${peerBridge} answers through the overlay`
            : `${m.name}'s bridge ${peerBridge} does not answer through the overlay (${over})`,
      });
      // one probe at a time: a node's capture must not see another node's probe arrive
      if (opts.probe && s) {
        try {
          const p = await probeOverlay(s, o.node, peerBridge);
          checks.push({ node: o.node.name, name: 'probe', status: p.ok ? 'pass' : 'fail', detail: p.detail });
        } catch (err) {
          checks.push({ node: o.node.name, name: 'probe', status: 'fail', detail: errorText(err) });
        }
      }
    }
  }
  checks.push(...evaluateConsistency(obs));
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
