import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../remote/exec.js';
import {
  ADDR_ASSIGN_SET,
  type CommandRunner,
  floodDestinations,
  type LinkState,
  type NodeState,
  parseFdb,
  parseIpAddr,
  parseIpLink,
  readNodeState,
  underlayAddressOf,
} from './state.js';
import { labNodes, recordedState } from './testing.js';

describe('state parsers on recorded iproute2 JSON', () => {
  it('reads links, kinds, flags, master, alias and VXLAN parameters', () => {
    const s = recordedState('provisioned');
    const vx = s.links.find((l) => l.name === 'vxlan10');
    expect(vx).toMatchObject({
      kind: 'vxlan',
      up: true,
      mtu: 1450,
      master: 'vxlan_bridge',
      alias: 'vxlan-inspect',
      vxlan: { id: 10, port: 4789, local: '10.3.1.156', dev: 'eth1' },
    });
    expect(s.links.find((l) => l.name === 'vxlan_bridge')).toMatchObject({ kind: 'bridge', up: true });
    expect(s.links.find((l) => l.name === 'eth1')).toMatchObject({ kind: 'veth', up: true, mtu: 1500 });
    expect(s.addrs.eth1).toEqual(['10.3.1.156/24']);
    expect(s.addrs.vxlan_bridge).toEqual(['10.220.220.201/24']);
    expect(floodDestinations(s.fdb)).toEqual(['10.3.1.174']);
  });

  it('takes the underlay address from the interface, the inventory, or falls back to host', () => {
    const { kvm1 } = labNodes();
    expect(underlayAddressOf(kvm1, recordedState('bare'))).toEqual({ address: '10.3.1.156', source: 'interface' });
    expect(underlayAddressOf({ ...kvm1, underlayAddress: '192.0.2.1' }, recordedState('bare'))).toEqual({
      address: '192.0.2.1',
      source: 'inventory',
    });
    expect(underlayAddressOf(kvm1, { addrs: {} })).toEqual({ address: '10.3.1.156', source: 'host' });
  });

  it('handles empty output and refuses what is not JSON', () => {
    expect(parseIpLink('')).toEqual([]);
    expect(parseFdb('[]\n')).toEqual([]);
    expect(parseIpAddr('[{"ifname":"x","addr_info":[{"family":"inet6","local":"::1","prefixlen":128}]}]')).toEqual({ x: [] });
    expect(() => parseIpLink('Object "link" is unknown')).toThrow(/did not print JSON/);
    expect(() => parseFdb('{}')).toThrow(/not a list/);
  });
});

describe('readNodeState', () => {
  const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  /** A node that answers the state commands from recorded output, and `cat addr_assign_type` with `assign`. */
  function node(assign: RunResult | Error): { runner: CommandRunner; ran: string[] } {
    const ran: string[] = [];
    const ok = (stdout: string): RunResult => ({ code: 0, signal: null, stdout, stderr: '' }) as RunResult;
    const runner: CommandRunner = {
      async run(argv: readonly string[]): Promise<RunResult> {
        const cmd = argv.join(' ');
        ran.push(cmd);
        if (cmd === 'ip -j -d link show') return ok(fixture('kvm1-provisioned.link.json'));
        if (cmd === 'ip -j addr show') return ok(fixture('kvm1-provisioned.addr.json'));
        if (cmd.startsWith('bridge -j fdb show dev')) return ok(fixture('kvm1-provisioned.fdb.json'));
        if (cmd.startsWith('sh -c command -v firewall-cmd')) return { code: 1, signal: null, stdout: '', stderr: '' } as RunResult;
        if (cmd === 'cat /sys/class/net/vxlan_bridge/addr_assign_type') {
          if (assign instanceof Error) throw assign;
          return assign;
        }
        throw new Error(`unexpected ${cmd}`);
      },
    };
    return { runner, ran };
  }
  const bridgeOf = (s: NodeState): LinkState | undefined => s.links.find((l) => l.name === 'vxlan_bridge');

  it("reads how the bridge got its address from sysfs (iproute2's JSON does not say), for the bridge only", async () => {
    const { runner, ran } = node({ code: 0, signal: null, stdout: '3\n', stderr: '' } as RunResult);
    const s = await readNodeState(runner, labNodes().kvm1);
    expect(bridgeOf(s)?.addrAssignType).toBe(ADDR_ASSIGN_SET);
    expect(ran.filter((c) => c.startsWith('cat '))).toEqual(['cat /sys/class/net/vxlan_bridge/addr_assign_type']);
    expect(s.links.filter((l) => l.addrAssignType !== undefined).map((l) => l.name)).toEqual(['vxlan_bridge']);
  });

  it('leaves it unknown when sysfs cannot be read (the plan then pins the MAC again: harmless)', async () => {
    const failed = await readNodeState(
      node({ code: 1, signal: null, stdout: '', stderr: 'No such file' } as RunResult).runner,
      labNodes().kvm1,
    );
    expect(bridgeOf(failed)?.addrAssignType).toBeUndefined();
    const thrown = await readNodeState(node(new Error('not scripted')).runner, labNodes().kvm1);
    expect(bridgeOf(thrown)?.addrAssignType).toBeUndefined();
  });
});
