import { describe, expect, it } from 'vitest';
import type { CaptureInterface } from '../decode/file/types.js';
import { LINKTYPE_SLL2, compareFromOf, pairFiles, roleOfInterface, splitCaptureName, type FileShape } from './sides.js';

const eth = (id: number, name?: string, section = 0): CaptureInterface => ({
  id,
  linkType: 1,
  snaplen: 0,
  tsDigits: 6,
  section,
  ...(name ? { name } : {}),
});
const pcap = (p: string): FileShape => ({ path: `/caps/${p}`, name: p, interfaces: [eth(0)] });

describe('roles of interface names', () => {
  it('uses the inventory names first, then the usual Linux names; any is both', () => {
    expect(roleOfInterface('eth1')).toBe('underlay');
    expect(roleOfInterface('enp0s8')).toBe('underlay');
    expect(roleOfInterface('vxlan_bridge')).toBe('overlay');
    expect(roleOfInterface('br0')).toBe('overlay');
    expect(roleOfInterface('virbr1')).toBe('overlay');
    expect(roleOfInterface('any')).toBe('any');
    expect(roleOfInterface('lo')).toBe('unknown');
    expect(roleOfInterface('uplink', { underlay: ['uplink'], bridge: ['ovl'] })).toBe('underlay');
    expect(roleOfInterface('ovl', { underlay: ['uplink'], bridge: ['ovl'] })).toBe('overlay');
  });

  it('splits node and interface in file names, node names with dashes included', () => {
    expect(splitCaptureName('kvm1-vxlan_bridge.pcap')).toEqual({ node: 'kvm1', iface: 'vxlan_bridge', base: 'kvm1-vxlan_bridge' });
    expect(splitCaptureName('lab-kvm-1-eth1.pcapng')).toEqual({ node: 'lab-kvm-1', iface: 'eth1', base: 'lab-kvm-1-eth1' });
    expect(splitCaptureName('eth1.pcap')).toEqual({ iface: 'eth1', base: 'eth1' });
    expect(splitCaptureName('kvm1-any.pcap')).toEqual({ node: 'kvm1', iface: 'any', base: 'kvm1-any' });
    expect(splitCaptureName('trace.pcap')).toEqual({ base: 'trace' });
  });
});

describe('pairing capture files into nodes', () => {
  it('pairs <node>-<interface> files, one node per name', () => {
    const p = pairFiles(['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'].map(pcap));
    expect(p.nodes.map((n) => [n.node, n.underlay?.name, n.overlay?.name, n.rule])).toEqual([
      ['kvm1', 'kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'file names'],
      ['kvm2', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap', 'file names'],
    ]);
  });

  it('never takes an `any` capture as the bridge: it is a node of its own, split by interface (issue 11 #2)', () => {
    const any: FileShape = { path: '/caps/kvm1-any.pcap', name: 'kvm1-any.pcap', interfaces: [{ ...eth(0), linkType: LINKTYPE_SLL2 }] };
    const p = pairFiles([pcap('kvm1-eth1.pcap'), pcap('kvm1-vxlan_bridge.pcap'), any]);
    const kvm1 = p.nodes.find((n) => n.node === 'kvm1');
    expect(kvm1).toMatchObject({ underlay: { name: 'kvm1-eth1.pcap' }, overlay: { name: 'kvm1-vxlan_bridge.pcap' } });
    const anyNode = p.nodes.find((n) => n.underlay?.name === 'kvm1-any.pcap');
    expect(anyNode).toMatchObject({ rule: 'cooked interfaces', overlay: { name: 'kvm1-any.pcap', select: { kind: 'ifindex' } } });
    expect(anyNode?.node).not.toBe('kvm1');
    expect(p.nodes).toHaveLength(2);
  });

  it("leaves an `any` capture's sides to the traffic (a bridge is not promiscuous under -i any)", () => {
    const any: FileShape = { path: '/caps/kvm1-any.pcap', name: 'kvm1-any.pcap', interfaces: [{ ...eth(0), linkType: LINKTYPE_SLL2 }] };
    const [n] = pairFiles([any]).nodes;
    expect(n?.underlay?.select).toEqual({ kind: 'ifindex', ifindexes: [], names: [] });
    expect(n?.overlay?.select).toEqual({ kind: 'ifindex', ifindexes: [], names: [] });
    expect(compareFromOf(n?.overlay)).toBe('network');
  });

  it("pairs README's `serve eth1.pcap vxlan_bridge.pcap` as one node named after its folder", () => {
    const p = pairFiles([
      { path: '/tmp/kvm1/eth1.pcap', name: 'eth1.pcap', interfaces: [eth(0)] },
      { path: '/tmp/kvm1/vxlan_bridge.pcap', name: 'vxlan_bridge.pcap', interfaces: [eth(0)] },
    ]);
    expect(p.nodes).toEqual([
      expect.objectContaining({
        node: 'kvm1',
        underlay: expect.objectContaining({ name: 'eth1.pcap', iface: 'eth1' }),
        overlay: expect.objectContaining({ name: 'vxlan_bridge.pcap' }),
      }),
    ]);
  });

  it('splits a multi-interface pcapng (dumpcap -i eth1 -i vxlan_bridge) by if_name (issue 11 #3)', () => {
    const f: FileShape = {
      path: '/c/kvm1.pcapng',
      name: 'kvm1.pcapng',
      interfaces: [eth(0, 'eth1'), eth(1, 'vxlan_bridge'), eth(2, 'vxlan10')],
    };
    const [n, extra] = pairFiles([f]).nodes;
    expect(extra).toBeUndefined();
    expect(pairFiles([{ ...f, name: 'class-kvm1.pcapng' }]).nodes[0]?.node).toBe('class-kvm1');
    expect(n).toMatchObject({
      node: 'kvm1',
      rule: 'pcapng interfaces',
      underlay: { select: { kind: 'interfaces', ids: [0], names: ['eth1'] } },
      overlay: { select: { kind: 'interfaces', ids: [1], names: ['vxlan_bridge'] } },
    });
  });

  it('a pcapng of one interface pairs by its if_name when the file name says nothing', () => {
    const p = pairFiles([
      { path: '/x/a.pcapng', name: 'a.pcapng', interfaces: [eth(0, 'eth1')] },
      { path: '/x/b.pcapng', name: 'b.pcapng', interfaces: [eth(0, 'vxlan_bridge')] },
    ]);
    expect(p.nodes.map((n) => [n.node, n.underlay?.name, n.overlay?.name])).toEqual([['x', 'a.pcapng', 'b.pcapng']]);
  });

  it('odd names: no dash, dots, spaces, unicode, a leading ..', () => {
    const p = pairFiles(['..kvm1-eth1.pcap', '..kvm1-vxlan_bridge.pcap', 'my trace é.pcap'].map(pcap));
    expect(p.nodes.find((n) => n.node === '..kvm1')).toMatchObject({
      underlay: { name: '..kvm1-eth1.pcap' },
      overlay: { name: '..kvm1-vxlan_bridge.pcap' },
    });
    expect(p.nodes.find((n) => n.node === 'my trace é')).toBeDefined();
  });

  it('two underlays of one node become two nodes, said in a note', () => {
    const p = pairFiles(['kvm1-eth1.pcap', 'kvm1-eth2.pcap', 'kvm1-vxlan_bridge.pcap'].map(pcap));
    expect(p.nodes.map((n) => n.node)).toEqual(['kvm1', 'kvm1-2']);
    expect(p.nodes[1]).toMatchObject({ underlay: { name: 'kvm1-eth2.pcap' } });
    expect(p.notes.join('\n')).toMatch(/node kvm1: 2 underlay and 1 bridge captures/);
  });
});
