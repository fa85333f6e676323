import { describe, expect, it } from 'vitest';
import { floodDestinations, parseFdb, parseIpAddr, parseIpLink, underlayAddressOf } from './state.js';
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
