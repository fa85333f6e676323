/**
 * Reading the overlay members before planning or checking: each named node's state, and every
 * member's underlay address (read over SSH from the member itself, `ip -j addr show dev
 * <underlay>`; the inventory's `underlayAddress` wins; the SSH `host` is the fallback).
 */
import { VxiError } from '../errors.js';
import type { SessionPool, RemoteSession } from '../remote/connection.js';
import { overlayMembers, resolveNode, type Inventory, type NodeConfig } from '../remote/inventory.js';
import { isIpv4 } from '../remote/quote.js';
import { parseIpAddr, readNodeState, underlayAddressOf, type NodeState } from './state.js';

export interface MemberAddress {
  name: string;
  address: string;
  source: 'inventory' | 'interface' | 'host';
  /** Why the fallback was used, when it was. */
  note?: string;
}

export interface GatheredNode {
  node: NodeConfig;
  session: RemoteSession;
  state: NodeState;
  underlay: MemberAddress;
}

/** The named nodes, resolved; each must be an overlay member. */
export function resolveMembers(inv: Inventory, names: readonly string[]): NodeConfig[] {
  if (names.length === 0) throw new VxiError('VXI_USAGE', 'name at least one node (e.g. kvm1 kvm2)', { exitCode: 2 });
  const members = overlayMembers(inv);
  return [...new Set(names)].map((name) => {
    const n = resolveNode(inv, name);
    if (!members.includes(name)) {
      throw new VxiError(
        'VXI_INVENTORY',
        `node ${name} has no bridgeAddress in ${inv.source}, so it is not an overlay member (members: ${members.join(', ') || 'none'})`,
        { exitCode: 2 },
      );
    }
    return n;
  });
}

/** Reads one member's underlay address over its own SSH session (no state needed). */
export async function readMemberAddress(pool: SessionPool, node: NodeConfig): Promise<MemberAddress> {
  if (node.underlayAddress) return { name: node.name, address: node.underlayAddress, source: 'inventory' };
  let why: string;
  try {
    const s = await pool.get(node);
    const r = await s.run(['ip', '-j', 'addr', 'show', 'dev', node.overlay.underlay]);
    if (r.code === 0) {
      const a = underlayAddressOf(node, { addrs: parseIpAddr(r.stdout) });
      if (a.source === 'interface') return { name: node.name, ...a };
      why = `${node.overlay.underlay} has no IPv4 address`;
    } else {
      why = r.stderr.trim() || `ip exited ${r.code ?? '?'}`;
    }
  } catch (err) {
    why = (err as Error).message;
  }
  return {
    name: node.name,
    address: node.host,
    source: 'host',
    note: `could not read ${node.name}'s ${node.overlay.underlay} address (${why}); using its SSH host ${node.host}`,
  };
}

export interface Gathered {
  nodes: GatheredNode[];
  /** Underlay addresses of every overlay member (named or not). */
  members: MemberAddress[];
  notes: string[];
}

/** Connects to the named nodes, reads their state, and learns every member's underlay address. */
export async function gather(pool: SessionPool, inv: Inventory, names: readonly string[]): Promise<Gathered> {
  const named = resolveMembers(inv, names);
  const nodes: GatheredNode[] = [];
  for (const node of named) {
    const session = await pool.get(node);
    const state = await readNodeState(session, node);
    nodes.push({ node, session, state, underlay: { name: node.name, ...underlayAddressOf(node, state) } });
  }
  const members: MemberAddress[] = [];
  const notes: string[] = [];
  for (const name of overlayMembers(inv)) {
    const g = nodes.find((n) => n.node.name === name);
    const m = g ? g.underlay : await readMemberAddress(pool, resolveNode(inv, name));
    if (m.note) notes.push(m.note);
    if (!isIpv4(m.address)) {
      throw new VxiError(
        'VXI_INVENTORY',
        `${name}: no IPv4 underlay address (host ${m.address} is a name); set underlayAddress: for ${name} in ${inv.source}`,
        { exitCode: 2 },
      );
    }
    members.push(m);
  }
  for (const g of nodes) {
    if (g.underlay.source === 'host')
      notes.push(
        `${g.node.name}: ${g.node.overlay.underlay} has no IPv4 address; using its SSH host ${g.node.host} as the VXLAN local address`,
      );
  }
  return { nodes, members, notes };
}
