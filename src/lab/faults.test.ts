import { describe, expect, it } from 'vitest';
import { parseFeatures } from './build.js';
import { LAB_BREAK_KINDS, defaultBreakNode, parseBreakRecord } from './faults.js';

const vxlan = {
  address: 'a6:82:3b:8e:6a:58',
  id: 10,
  port: 4789,
  local: '10.3.1.174',
  dev: 'eth1',
  mtu: 1450,
  master: 'vxlan_bridge',
  up: true,
  flood: ['10.3.1.156'],
};

describe('break records', () => {
  it('reads back what lab break writes', () => {
    const rec = { kind: 'vni', node: 'kvm2', prefix: 'vxi-', at: '2026-12-01T00:00:00Z', summary: 's', vxlan };
    expect(parseBreakRecord(JSON.stringify(rec))).toEqual(rec);
    const mtu = { ...rec, kind: 'mtu', mtus: [{ netns: 'vxi-vm2', ifname: 'eth0', mtu: 1450 }] };
    expect(parseBreakRecord(JSON.stringify(mtu)).mtus).toEqual([{ netns: 'vxi-vm2', ifname: 'eth0', mtu: 1450 }]);
  });

  it('refuses a record whose values would end up in a command unchecked', () => {
    const base = { kind: 'vni', node: 'kvm2', prefix: 'vxi-', at: '', summary: '' };
    expect(() => parseBreakRecord('{')).toThrow(/not a break record vxlan-inspect wrote/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, kind: 'reboot', vxlan }))).toThrow(/kind "reboot"/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, node: 'host', vxlan }))).toThrow(/node "host"/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, vxlan: { ...vxlan, local: '10.3.1.174; rm -rf /' } }))).toThrow(/local/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, vxlan: { ...vxlan, dev: '--help' } }))).toThrow(/dev/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, vxlan: { ...vxlan, dev: 'a b' } }))).toThrow(/dev/);
    expect(() => parseBreakRecord(JSON.stringify(base))).toThrow(/a vni record without vxlan/);
    // MTUs only in this lab's node and guest namespaces
    const mtu = { ...base, kind: 'mtu', vxlan, mtus: [{ netns: 'other-ns', ifname: 'eth0', mtu: 1450 }] };
    expect(() => parseBreakRecord(JSON.stringify(mtu))).toThrow(/mtus/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, kind: 'drop', nftTable: { family: 'inet', name: 'filter' } }))).toThrow(
      /nftTable/,
    );
    expect(() => parseBreakRecord(JSON.stringify({ ...base, kind: 'stale-fdb', staleFdb: { mac: 'zz', dst: '10.3.1.250' } }))).toThrow(
      /staleFdb/,
    );
  });

  it('breaks the receiver by default, the sender for stale-fdb and offload', () => {
    expect(LAB_BREAK_KINDS.map((k) => `${k}:${defaultBreakNode(k)}`)).toEqual([
      'mtu:kvm2',
      'vni:kvm2',
      'port:kvm2',
      'fdb:kvm2',
      'stale-fdb:kvm1',
      'drop:kvm2',
      'multicast:kvm2',
      'offload:kvm1',
    ]);
  });

  it('reads back an offload record and a vxlan snapshot with GRO; refuses offload devices outside the lab', () => {
    const base = { kind: 'offload', node: 'kvm1', prefix: 'vxi-', at: '', summary: '' };
    const offload = [
      { netns: 'vxi-kvm1', ifname: 'eth1', tx: false, tso: false },
      { netns: 'vxi-vm1', ifname: 'eth0', tx: false, tso: false },
    ];
    expect(parseBreakRecord(JSON.stringify({ ...base, offload })).offload).toEqual(offload);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, offload: [{ ...offload[0], netns: 'host' }] }))).toThrow(/offload/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, offload: [{ ...offload[0], tx: 'on' }] }))).toThrow(/offload/);
    expect(() => parseBreakRecord(JSON.stringify({ ...base, offload: [{ ...offload[0], ifname: '-K' }] }))).toThrow(/ifname/);
    expect(() => parseBreakRecord(JSON.stringify(base))).toThrow(/offload record without offload/);
    const vni = { kind: 'vni', node: 'kvm2', prefix: 'vxi-', at: '', summary: '', vxlan: { ...vxlan, gro: false } };
    expect(parseBreakRecord(JSON.stringify(vni)).vxlan?.gro).toBe(false);
    expect(() => parseBreakRecord(JSON.stringify({ ...vni, vxlan: { ...vxlan, gro: 'off' } }))).toThrow(/gro/);
  });

  it('reads ethtool -k output (the state, not the notes)', () => {
    const f = parseFeatures(
      'Features for eth1:\nrx-checksumming: on\ntx-checksumming: off\n\ttx-checksum-ip-generic: ' +
        'off\ntcp-segmentation-offload: off\n\ttx-tcp-segmentation: ' +
        'off [requested on]\ngeneric-receive-offload: on\nrx-gro-hw: off [fixed]\n',
    );
    expect(f.get('tx-checksumming')).toBe(false);
    expect(f.get('tx-tcp-segmentation')).toBe(false);
    expect(f.get('generic-receive-offload')).toBe(true);
    expect(f.get('rx-gro-hw')).toBe(false);
    expect(f.has('Features for eth1')).toBe(false);
  });
});
