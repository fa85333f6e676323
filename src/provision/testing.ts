/** Recorded node state for the unit tests (see fixtures/README.md). Not part of the public API. */
import { readFileSync } from 'node:fs';
import { parseInventory, resolveNode, type NodeConfig } from '../remote/inventory.js';
import { parseFdb, parseIpAddr, parseIpLink, type FirewallState, type NodeState } from './state.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export const NO_FIREWALLD: FirewallState = { running: false, reason: 'firewalld is not installed' };

/** kvm1 as recorded: `bare` (lab up, nothing provisioned) or `provisioned`. */
export function recordedState(which: 'bare' | 'provisioned'): NodeState {
  return {
    links: parseIpLink(fixture(`kvm1-${which}.link.json`)),
    addrs: parseIpAddr(fixture(`kvm1-${which}.addr.json`)),
    fdb: which === 'provisioned' ? parseFdb(fixture('kvm1-provisioned.fdb.json')) : [],
    firewall: NO_FIREWALLD,
  };
}

/** The lab inventory (the class lab), kvm1 and kvm2 resolved. */
export function labNodes(extraYaml = ''): { kvm1: NodeConfig; kvm2: NodeConfig } {
  const inv = parseInventory(
    `defaults: { user: root, identityFile: /k/id, knownHosts: /k/kh, sudo: false }
overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450${extraYaml} }
nodes:
  kvm1: { host: 10.3.1.156, bridgeAddress: 10.220.220.201/24 }
  kvm2: { host: 10.3.1.174, bridgeAddress: 10.220.220.202/24 }
`,
    'test',
    '/',
  );
  return { kvm1: resolveNode(inv, 'kvm1'), kvm2: resolveNode(inv, 'kvm2') };
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
