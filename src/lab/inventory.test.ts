import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from './inventory.js';

describe('renderInventory', () => {
  it('writes the provisioning format, one flow map per line', () => {
    const text = renderInventory({ identityFile: '/tmp/lab/id_ed25519', knownHosts: '/tmp/lab/known_hosts' });
    expect(text).toContain('defaults: { user: root, identityFile: /tmp/lab/id_ed25519, knownHosts: /tmp/lab/known_hosts, sudo: false }');
    expect(text).toContain('overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }');
    expect(text).toContain('  kvm1: { host: 10.3.1.156, bridgeAddress: 10.220.220.201/24 }');
    expect(text).toContain('  kvm2: { host: 10.3.1.174, bridgeAddress: 10.220.220.202/24 }');
  });

  it('parses back to the same values, paths with spaces and colons quoted', () => {
    const text = renderInventory({ identityFile: '/tmp/my lab/id: key', knownHosts: '/k' });
    expect(parse(text)).toEqual({
      defaults: { user: 'root', identityFile: '/tmp/my lab/id: key', knownHosts: '/k', sudo: false },
      overlay: { vni: 10, port: 4789, bridge: 'vxlan_bridge', underlay: 'eth1', mtu: 1450 },
      nodes: {
        kvm1: { host: '10.3.1.156', bridgeAddress: '10.220.220.201/24' },
        kvm2: { host: '10.3.1.174', bridgeAddress: '10.220.220.202/24' },
      },
    });
  });
});
