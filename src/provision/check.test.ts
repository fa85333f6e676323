import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { evaluateConsistency, evaluateNftables, evaluateNode, parseNftRuleset, type CheckResult, type NodeObservation } from './check.js';
import type { MemberAddress } from './gather.js';
import { clone, labNodes, recordedState } from './testing.js';
import { parseFdb, type NodeState } from './state.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

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
    expect(v.map((c) => c.name)).toEqual([
      'ssh',
      'underlay',
      'bridge',
      'bridge-address',
      'vxlan',
      'vni',
      'port',
      'local-address',
      'underlay-dev',
      'flood',
      'fdb',
      'mtu',
      'firewall',
    ]);
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
    expect(notPassing(edit((s) => (s.addrs.vxlan_bridge = [])))).toEqual([
      'fail bridge-address: vxlan_bridge lacks 10.220.220.201/24 (has no IPv4 address)',
    ]);
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
    expect(notPassing(s)).toEqual([
      'warn mtu: 1500 in 1500: vxlan10 mtu 1500 + 50 > eth1 mtu 1500; full-size frames will not cross (set mtu 1450)',
    ]);
    expect(notPassing(edit((st) => (link(st, 'vxlan10').mtu = 1400)))).toEqual([
      'warn mtu: vxlan10 mtu 1400 + 50 ≤ eth1 mtu 1500 (the inventory says 1450)',
    ]);
  });

  it('judges firewalld: closed port fails, runtime-only warns', () => {
    const closed = edit(
      (s) =>
        (s.firewall = {
          running: true,
          defaultZone: 'public',
          runtime: { masquerade: true, portOpen: false },
          permanent: { masquerade: true, portOpen: true },
        }),
    );
    expect(notPassing(closed)).toEqual([
      'fail firewall: udp/4789 is not open in firewalld zone public of eth1: firewall-cmd --zone=public --add-port=4789/udp',
    ]);
    const runtimeOnly = edit(
      (s) =>
        (s.firewall = {
          running: true,
          defaultZone: 'public',
          runtime: { masquerade: true, portOpen: true },
          permanent: { masquerade: true, portOpen: false },
        }),
    );
    expect(notPassing(runtimeOnly)[0]).toMatch(/^warn firewall: udp\/4789 is open now but not in the permanent configuration/);
  });

  it('names a static fdb entry toward a VTEP outside the inventory (lab break stale-fdb, recorded)', () => {
    // kvm1 after `lab break stale-fdb`: vm2's MAC sent to the frontend (10.3.1.250), besides learnt entries toward kvm2
    const stale = edit((s) => (s.fdb = parseFdb(fixture('kvm1-stale.fdb.json'))));
    expect(notPassing(stale)).toEqual([
      'fail fdb: vxlan10 has 1 static entry toward a VTEP that is no overlay member ' +
        '(46:58:d4:c9:d0:bb → 10.3.1.250): stale? bridge fdb del 46:58:d4:c9:d0:bb dev vxlan10 ' +
        'dst 10.3.1.250',
    ]);
    // the same MAC learnt (no state) toward that host: a host outside the inventory sends VXLAN, a warning
    const learnt = edit((s) => (s.fdb = parseFdb(fixture('kvm1-stale.fdb.json').replace('"state":"static"', '"state":""'))));
    expect(notPassing(learnt)).toEqual([
      'warn fdb: vxlan10 learnt 1 MAC address(es) behind a VTEP that is no overlay member ' +
        '(46:58:d4:c9:d0:bb → 10.3.1.250): a host outside the inventory sends VXLAN with VNI 10',
    ]);
    // learnt entries toward members are what a working overlay has
    const healthy = edit((s) => (s.fdb = parseFdb(fixture('kvm1-stale.fdb.json')).filter((e) => e.dst !== '10.3.1.250')));
    expect(verdicts(healthy).find((c) => c.name === 'fdb')).toEqual({
      node: 'kvm1',
      name: 'fdb',
      status: 'pass',
      detail: '2 unicast entries, all toward overlay members',
    });
  });

  it('names an nftables rule dropping udp/4789 on the receive path, with its counter (lab break drop, recorded)', () => {
    const chains = parseNftRuleset(fixture('kvm2-drop.nft.json'));
    expect(chains).toEqual([
      {
        family: 'inet',
        table: 'vxlan_inspect_lab',
        name: 'input',
        hook: 'input',
        policy: 'accept',
        rules: [
          {
            handle: 2,
            comment: 'vxlan-inspect lab break drop',
            udpDport: { op: 'in', ranges: [[4789, 4789]] },
            otherMatches: false,
            packets: 3,
            verdict: 'drop',
          },
        ],
      },
    ]);
    const v = evaluateNode({ node: kvm1, state: recordedState('provisioned'), nftables: { installed: true, chains } }, members);
    expect(v.filter((c) => c.status !== 'pass').map((c) => `${c.status} ${c.name}: ${c.detail}`)).toEqual([
      'fail packet-filter: nftables table inet vxlan_inspect_lab chain input (hook input) drops udp/4789, ' +
        "rule handle 2 'vxlan-inspect lab break drop', 3 packet(s) dropped so far: " +
        'nft delete rule inet vxlan_inspect_lab input handle 2',
    ]);
    expect(v.at(-1)?.name).toBe('packet-filter');
    // the same rule for another port, or on the output path, drops nothing of ours
    expect(evaluateNftables({ installed: true, chains }, 8472, 'eth1').status).toBe('pass');
    const output = chains.map((c) => ({ ...c, hook: 'output' }));
    expect(evaluateNftables({ installed: true, chains: output }, 4789, 'eth1')).toEqual({
      status: 'pass',
      detail: 'no nftables rule on the receive path drops udp/4789',
    });
    // an accept before the drop lets it through; a policy drop with no accept warns
    const accepted = [
      {
        ...chains[0]!,
        rules: [
          { udpDport: { op: 'in' as const, ranges: [[4000, 5000] as [number, number]] }, otherMatches: false, verdict: 'accept' as const },
          ...chains[0]!.rules,
        ],
      },
    ];
    expect(evaluateNftables({ installed: true, chains: accepted }, 4789, 'eth1').status).toBe('pass');
    const policy = [{ ...chains[0]!, policy: 'drop', rules: [] }];
    expect(evaluateNftables({ installed: true, chains: policy }, 4789, 'eth1')).toEqual({
      status: 'warn',
      detail:
        'nftables table inet vxlan_inspect_lab chain input (hook input) ' +
        'has policy drop and no rule accepting udp/4789: unless an earlier rule lets it through, ' +
        'VXLAN is dropped there',
    });
    expect(evaluateNftables({ installed: false }, 4789, 'eth1')).toEqual({
      status: 'pass',
      detail: 'nft is not installed: no nftables rule filters udp/4789',
    });
    expect(evaluateNftables({ installed: true, error: 'Operation not permitted' }, 4789, 'eth1').status).toBe('warn');
    // an empty ruleset, as the healthy lab shows it
    const empty = parseNftRuleset('{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]}');
    expect(evaluateNftables({ installed: true, chains: empty }, 4789, 'eth1').status).toBe('pass');
    expect(() => parseNftRuleset('nft: command not found')).toThrow(/did not print JSON/);
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
      {
        node: 'overlay',
        name: 'same-vni-port',
        status: 'fail',
        detail: 'VNI/port differ between nodes: kvm1 VNI 10/UDP 4789, kvm2 VNI 11/UDP 4789',
      },
    ]);
    expect(evaluateConsistency([good[0]!])).toEqual([]);
  });

  it('compares multicast groups across nodes (lab break multicast)', () => {
    const inGroup = (g: string): NodeState => edit((s) => (link(s, 'vxlan10').vxlan!.group = g));
    const same = evaluateConsistency([
      { node: kvm1, state: inGroup('239.1.1.1') },
      { node: kvm2, state: inGroup('239.1.1.1') },
    ]);
    expect(same.map((c) => `${c.status} ${c.name}`)).toEqual(['pass same-vni-port', 'pass same-group']);
    const differ = evaluateConsistency([
      { node: kvm1, state: inGroup('239.1.1.1') },
      { node: kvm2, state: inGroup('239.1.1.2') },
    ]);
    expect(differ[1]).toEqual({
      node: 'overlay',
      name: 'same-group',
      status: 'fail',
      detail:
        'multicast groups differ between nodes: kvm1 239.1.1.1, kvm2 239.1.1.2: floods (ARP, unknown unicast) from one never reach the other',
    });
    // unicast on both: no group check at all
    expect(
      evaluateConsistency([
        { node: kvm1, state: recordedState('provisioned') },
        { node: kvm2, state: recordedState('provisioned') },
      ]).map((c) => c.name),
    ).toEqual(['same-vni-port']);
  });
});
