import { describe, expect, it } from 'vitest';
import { evaluateConsistency, evaluateNode, type CheckResult, type NodeObservation } from './check.js';
import type { MemberAddress } from './gather.js';
import { clone, labNodes, recordedState } from './testing.js';
import type { NodeState } from './state.js';

const { kvm1, kvm2 } = labNodes();
const members: MemberAddress[] = [
  { name: 'kvm1', address: '10.3.1.156', source: 'interface' },
  { name: 'kvm2', address: '10.3.1.174', source: 'interface' },
];

function verdicts(state: NodeState): CheckResult[] {
  return evaluateNode({ node: kvm1, state }, members);
}
function notPassing(state: NodeState): string[] {
  return verdicts(state)
    .filter((c) => c.status !== 'pass')
    .map((c) => `${c.status} ${c.name}: ${c.detail}`);
}
function edit(change: (s: NodeState) => void): NodeState {
  const s = clone(recordedState('provisioned'));
  change(s);
  return s;
}
function link(s: NodeState, name: string): NodeState['links'][number] {
  const l = s.links.find((x) => x.name === name);
  if (!l) throw new Error(name);
  return l;
}

describe('check verdicts on recorded state', () => {
  it('passes every check on the provisioned node', () => {
    const v = verdicts(recordedState('provisioned'));
    expect(v.map((c) => c.name)).toEqual(['ssh', 'underlay', 'bridge', 'bridge-address', 'vxlan', 'vni', 'port', 'local-address', 'underlay-dev', 'flood', 'mtu', 'firewall']);
    expect(v.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(v.find((c) => c.name === 'flood')?.detail).toBe('flood entries to kvm2 (10.3.1.174)');
  });

  it('fails on a bare node and says to provision', () => {
    expect(notPassing(recordedState('bare'))).toEqual([
      'fail bridge: vxlan_bridge does not exist (run provision kvm1)',
      'fail vxlan: vxlan10 does not exist and no other VXLAN interface is there (run provision kvm1)',
    ]);
  });

  it('names each broken thing', () => {
    expect(notPassing(edit((s) => (link(s, 'vxlan10').vxlan!.id = 11)))).toEqual(['fail vni: vxlan10 has VNI 11, the inventory says 10']);
    expect(notPassing(edit((s) => (s.fdb = s.fdb.filter((e) => e.mac !== '00:00:00:00:00:00'))))).toEqual([
      'fail flood: no flood entry for kvm2 (10.3.1.174): bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10.3.1.174',
    ]);
    expect(notPassing(edit((s) => (link(s, 'vxlan10').up = false)))).toEqual(['fail vxlan: vxlan10 is down (ip link set dev vxlan10 up)']);
    expect(notPassing(edit((s) => (link(s, 'eth1').mtu = 1400)))).toEqual([
      "fail mtu: vxlan10 mtu 1450 + 50 > eth1 mtu 1400: full-size frames will not cross; lower the overlay mtu to 1350 or raise eth1's",
    ]);
    expect(notPassing(edit((s) => (link(s, 'vxlan10').vxlan!.port = 8472)))).toEqual([
      "fail port: vxlan10 uses UDP 8472 (the kernel's old default: created without dstport), the inventory says 4789",
    ]);
    expect(notPassing(edit((s) => (link(s, 'vxlan10').vxlan!.local = '10.3.1.9')))).toEqual([
      "fail local-address: vxlan10 local 10.3.1.9, but kvm1's underlay address is 10.3.1.156",
    ]);
    expect(notPassing(edit((s) => (s.addrs.vxlan_bridge = [])))).toEqual(['fail bridge-address: vxlan_bridge lacks 10.220.220.201/24 (has no IPv4 address)']);
  });

  it('finds a VXLAN interface made under another name with another VNI', () => {
    const s = edit((st) => {
      const l = link(st, 'vxlan10');
      l.name = 'vxlan11';
      l.vxlan!.id = 11;
    });
    expect(notPassing(s)).toEqual([
      'fail vxlan: vxlan10 does not exist; vxlan11 (VNI 11) is on vxlan_bridge instead',
      'fail vni: vxlan11 has VNI 11, the inventory says 10',
      'fail flood: no flood entry for kvm2 (10.3.1.174): bridge fdb append 00:00:00:00:00:00 dev vxlan11 dst 10.3.1.174',
    ]);
  });

  it('warns on 1500-in-1500 and on an mtu other than the inventory', () => {
    const s = edit((st) => (link(st, 'vxlan10').mtu = 1500));
    expect(notPassing(s)).toEqual(['warn mtu: 1500 in 1500: vxlan10 mtu 1500 + 50 > eth1 mtu 1500; full-size frames will not cross (set mtu 1450)']);
    expect(notPassing(edit((st) => (link(st, 'vxlan10').mtu = 1400)))).toEqual(['warn mtu: vxlan10 mtu 1400 + 50 ≤ eth1 mtu 1500 (the inventory says 1450)']);
  });

  it('judges firewalld: closed port fails, runtime-only warns', () => {
    const closed = edit((s) => (s.firewall = { running: true, defaultZone: 'public', runtime: { masquerade: true, portOpen: false }, permanent: { masquerade: true, portOpen: true } }));
    expect(notPassing(closed)).toEqual(['fail firewall: udp/4789 is not open in firewalld zone public of eth1: firewall-cmd --zone=public --add-port=4789/udp']);
    const runtimeOnly = edit((s) => (s.firewall = { running: true, defaultZone: 'public', runtime: { masquerade: true, portOpen: true }, permanent: { masquerade: true, portOpen: false } }));
    expect(notPassing(runtimeOnly)[0]).toMatch(/^warn firewall: udp\/4789 is open now but not in the permanent configuration/);
  });

  it('reports an unreachable node once, with the SSH error', () => {
    const v = evaluateNode({ node: kvm2, error: 'kvm2 (10.3.1.174): connection refused on port 22' }, members);
    expect(v).toEqual([{ node: 'kvm2', name: 'ssh', status: 'fail', detail: 'kvm2 (10.3.1.174): connection refused on port 22' }]);
  });

  it('tells a state-reading failure apart from an SSH failure', () => {
    const v = evaluateNode({ node: kvm2, error: 'kvm2 (10.3.1.174): ip is not installed', failedAt: 'state' }, members);
    expect(v.map((c) => `${c.status} ${c.name}`)).toEqual(['pass ssh', 'fail state']);
  });

  it('compares VNI and port across nodes', () => {
    const good: NodeObservation[] = [
      { node: kvm1, state: recordedState('provisioned') },
      { node: kvm2, state: recordedState('provisioned') },
    ];
    expect(evaluateConsistency(good)[0]?.status).toBe('pass');
    const bad = edit((s) => (link(s, 'vxlan10').vxlan!.id = 11));
    expect(evaluateConsistency([good[0]!, { node: kvm2, state: bad }])).toEqual([
      { node: 'overlay', name: 'same-vni-port', status: 'fail', detail: 'VNI/port differ between nodes: kvm1 VNI 10/UDP 4789, kvm2 VNI 11/UDP 4789' },
    ]);
    expect(evaluateConsistency([good[0]!])).toEqual([]);
  });
});
