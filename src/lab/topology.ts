/**
 * The class's topology, as data: which namespaces exist, their addresses and the names of
 * the interfaces inside them. Everything lives in namespaces named PREFIX + role
 * (`vxi-kvm1`); interface names never carry the prefix, so they stay short (≤ 15 chars).
 *
 *   vxi-frontend  eth1 10.3.1.250/24 ─┐
 *   vxi-kvm1      eth1 10.3.1.156/24 ─┼─ vxi-lan: bridge `lan` (the underlay switch)
 *   vxi-kvm2      eth1 10.3.1.174/24 ─┘
 *   vxi-vm1  eth0 10.220.220.5/24 ── veth `vm1` in vxi-kvm1 (MTU 1450)
 *   vxi-vm2  eth0 10.220.220.6/24 ── veth `vm2` in vxi-kvm2 (MTU 1450)
 *
 * Provisioned: each node also has `vxlan_bridge` (.201/.202) holding `vxlan10` and the
 * guest's veth.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';

export type NodeName = 'kvm1' | 'kvm2';
export type GuestName = 'vm1' | 'vm2';
export type LabRole = 'lan' | 'frontend' | NodeName | GuestName;

export const DEFAULT_PREFIX = 'vxi-';
/** Order of creation; teardown goes the other way. */
export const LAB_ROLES: readonly LabRole[] = ['lan', 'frontend', 'kvm1', 'kvm2', 'vm1', 'vm2'];

export const UNDERLAY_PREFIX_LEN = 24;
/** The class lab's frontend; a group's is its topology's `frontendAddress`. */
export const FRONTEND_ADDRESS = '10.3.1.250';
/** The underlay switch inside the lan namespace. */
export const LAN_BRIDGE = 'lan';
export const UNDERLAY_IF = 'eth1';
export const GUEST_IF = 'eth0';

export const OVERLAY = {
  vni: 10,
  port: 4789,
  bridge: 'vxlan_bridge',
  vxlanIf: 'vxlan10',
  underlay: UNDERLAY_IF,
  mtu: 1450,
} as const;

export interface NodeSpec {
  name: NodeName;
  host: string;
  bridgeAddress: string;
  guest: GuestName;
  peer: NodeName;
}

export interface GuestSpec {
  name: GuestName;
  node: NodeName;
  address: string;
  /** Name of the veth's host end inside the node namespace. */
  hostIf: string;
}

/**
 * One copy of the class topology: group 1 is the class lab (10.3.1.x); `lab up --groups N` builds
 * groups 1…N side by side, group n on underlay 10.3.n.0/24 (the same pattern as a class
 * inventory's `host: 10.3.{n}.156`). Overlay addresses are the same in every group: each group's
 * overlay is its own.
 */
export interface LabTopology {
  group: number;
  /** The group's own frontend (PREFIX + frontend), 10.3.n.250. */
  frontendAddress: string;
  nodes: readonly NodeSpec[];
}

/** Last byte of each underlay address; the class frontend (`lab up --groups`) is .254 on every group's underlay. */
export const HOST_BYTES = { kvm1: 156, kvm2: 174, frontend: 250, classFrontend: 254 } as const;
/** 10.3.n.0/24 needs n in 1…254. */
export const MAX_GROUP = 254;

/** `10.3.<group>.<host>`; with `'{n}'` the class inventory's pattern for it. */
export function underlayAddress(group: number | '{n}', host: number): string {
  return `10.3.${group}.${host}`;
}

export function labTopology(group = 1): LabTopology {
  if (!Number.isInteger(group) || group < 1 || group > MAX_GROUP) throw new Error(`lab group ${group} is not in 1…${MAX_GROUP}`);
  return {
    group,
    frontendAddress: underlayAddress(group, HOST_BYTES.frontend),
    nodes: [
      { name: 'kvm1', host: underlayAddress(group, HOST_BYTES.kvm1), bridgeAddress: '10.220.220.201/24', guest: 'vm1', peer: 'kvm2' },
      { name: 'kvm2', host: underlayAddress(group, HOST_BYTES.kvm2), bridgeAddress: '10.220.220.202/24', guest: 'vm2', peer: 'kvm1' },
    ],
  };
}

/** The class lab's own topology (group 1). */
export const DEFAULT_TOPOLOGY: LabTopology = labTopology(1);

export const NODES: readonly NodeSpec[] = DEFAULT_TOPOLOGY.nodes;

export const GUESTS: readonly GuestSpec[] = [
  { name: 'vm1', node: 'kvm1', address: '10.220.220.5/24', hostIf: 'vm1' },
  { name: 'vm2', node: 'kvm2', address: '10.220.220.6/24', hostIf: 'vm2' },
];

export function nodeSpec(name: NodeName, topo: LabTopology = DEFAULT_TOPOLOGY): NodeSpec {
  const n = topo.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`unknown node ${name}`);
  return n;
}

export function guestSpec(name: GuestName): GuestSpec {
  const g = GUESTS.find((x) => x.name === name);
  if (!g) throw new Error(`unknown guest ${name}`);
  return g;
}

/** `10.220.220.201/24` → `10.220.220.201`. */
export function addressOnly(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
}

export function isLabRole(s: string): s is LabRole {
  return (LAB_ROLES as readonly string[]).includes(s);
}

/** Namespace names become file names under /run/netns: keep them plain. */
const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$/;

export function checkPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) {
    throw new UsageError(
      `bad lab prefix '${prefix}': use 1-20 letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. 'vxi-')`,
    );
  }
  return prefix;
}

export function netnsName(prefix: string, role: LabRole): string {
  return `${prefix}${role}`;
}

/**
 * Where a lab keeps its keys, sshd configs, pid files and inventory when no --dir is given:
 * `.lab/<prefix without trailing dash>` under the working directory (`.lab/vxi`).
 */
export function defaultLabDir(prefix: string, cwd: string = process.cwd()): string {
  const tail = prefix.replace(/[-_.]+$/, '') || prefix;
  return path.resolve(cwd, '.lab', tail);
}

/** Group n's name in a class lab: `g03` (the class inventory's `g{n:02}`). */
export function labGroupName(group: number): string {
  return `g${String(group).padStart(2, '0')}`;
}

/** Group n's namespace prefix in a class lab: PREFIX + `g03-` (`vxc-g03-kvm1`). */
export function labGroupPrefix(prefix: string, group: number): string {
  return `${prefix}${labGroupName(group)}-`;
}
