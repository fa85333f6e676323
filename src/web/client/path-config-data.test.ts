import { describe, expect, it } from 'vitest';
import type { PathConfigFinding, PathConfigNodeView } from '../api-types.js';
import {
  configCards,
  configLines,
  findingsInOrder,
  flaggedLines,
  nothingRecorded,
  recordedLine,
  severityText,
} from './path-config-data.js';

/** kvm1 as `capture` records it in the lab: VNI 10 on 4789, unicast with a flood entry toward kvm2. */
const kvm1: PathConfigNodeView = {
  node: 'kvm1',
  recordedAt: '2026-12-01T10:00:00.000Z',
  recordedBy: 'capture',
  vxlan: { device: 'vxlan10', vni: 10, port: 4789, local: '10.3.1.156', group: null, remote: null, dev: 'eth1', mtu: 1450, up: true },
  bridge: { name: 'vxlan_bridge', mtu: 1450, up: true },
  underlay: { name: 'eth1', mtu: 1500, addresses: ['10.3.1.156/24'] },
  fdb: [
    { mac: '00:00:00:00:00:00', dst: '10.3.1.174', flood: true, permanent: true },
    { mac: '26:aa:0e:b2:0d:48', dst: '10.3.1.174', flood: false, permanent: false },
  ],
  firewall: ['firewalld zone public: 4789/udp open'],
};
/** kvm2 broken by `lab break vni`, multicast, its VXLAN device down. */
const kvm2: PathConfigNodeView = {
  ...kvm1,
  node: 'kvm2',
  recordedBy: 'check',
  vxlan: {
    device: 'vxlan11',
    vni: 11,
    port: 4789,
    local: '10.3.1.174',
    group: '239.1.1.1',
    remote: null,
    dev: 'eth1',
    mtu: 1450,
    up: false,
  },
  fdb: [],
  firewall: [],
};
const finding = (code: string, severity: PathConfigFinding['severity'], nodes: string[]): PathConfigFinding => ({
  code,
  severity,
  nodes,
  message: code,
  evidence: { config: [], traffic: [] },
});

describe('the configuration cards and findings of the Path view', () => {
  it('a card per node: VNI, port, local, group or remote, dev, MTU, flood list, FDB, firewall', () => {
    expect(configLines(kvm1).map((l) => [l.key, l.label, l.value])).toEqual([
      ['vni', 'VNI', '10 (vxlan10)'],
      ['port', 'UDP port', '4789'],
      ['local', 'local', '10.3.1.156'],
      ['group', 'group/remote', 'none (unicast, from the FDB)'],
      ['dev', 'dev', 'eth1'],
      ['mtu', 'MTU', '1450 (underlay eth1 1500: room for 1450 with the 50 bytes of VXLAN over IPv4)'],
      ['bridge', 'bridge', 'vxlan_bridge, MTU 1450'],
      ['underlay', 'underlay', 'eth1, MTU 1500, 10.3.1.156/24'],
      ['flood', 'flood list', '10.3.1.174'],
      ['fdb', 'FDB', '26:aa:0e:b2:0d:48 → 10.3.1.174'],
      ['firewall', 'firewall', 'firewalld zone public: 4789/udp open'],
    ]);
    const two = configLines(kvm2);
    expect(two.find((l) => l.key === 'vni')?.value).toBe('11 (vxlan11, DOWN)');
    expect(two.find((l) => l.key === 'group')).toEqual({ key: 'group', label: 'group', value: '239.1.1.1' });
    expect(two.find((l) => l.key === 'flood')?.value).toBe('none (floods to the group)');
    expect(two.find((l) => l.key === 'firewall')?.value).toBe('nothing recorded about the VXLAN port');
    expect(two.some((l) => l.key === 'fdb')).toBe(false);
    // a unicast device without a flood entry: broadcasts go nowhere
    expect(configLines({ ...kvm1, fdb: [] }).find((l) => l.key === 'flood')?.value).toBe('none: broadcasts reach no VTEP');
    // many FDB entries: the first six and the count
    const many = Array.from({ length: 9 }, (_, i) => ({
      mac: `02:00:00:00:00:0${i}`,
      dst: '10.3.1.174',
      flood: false,
      permanent: i === 0,
    }));
    expect(configLines({ ...kvm1, fdb: many }).find((l) => l.key === 'fdb')?.value).toMatch(
      /^02:00:00:00:00:00 → 10\.3\.1\.174 \(static\), .*, … 9 in all$/,
    );
  });

  it('a node without a recorded configuration says so', () => {
    const none: PathConfigNodeView = {
      node: 'kvm3',
      recordedAt: null,
      recordedBy: null,
      vxlan: null,
      bridge: null,
      underlay: null,
      fdb: [],
      firewall: [],
    };
    expect(configLines(none)).toEqual([]);
    expect(recordedLine(none)).toBe('no configuration recorded');
    expect(recordedLine(kvm1)).toBe('recorded by capture at 2026-12-01T10:00:00.000Z');
    // tried, and failed: the error instead, and no firewall line claiming nothing was found
    const failed: PathConfigNodeView = {
      ...none,
      recordedAt: '2026-12-01T10:00:00.000Z',
      recordedBy: 'check',
      error: 'ssh kvm3: ip -j -d link failed: permission denied',
    };
    expect(recordedLine(failed)).toBe(
      'could not be read by check at 2026-12-01T10:00:00.000Z: ssh kvm3: ip -j -d link failed: permission denied',
    );
    expect(configLines(failed)).toEqual([]);
    // the node's other VXLAN devices are listed after the one on its bridge
    const other = configLines({
      ...kvm1,
      otherVxlan: [{ device: 'vxlan99', vni: 99, port: 8472, local: null, group: null, remote: null, dev: null, mtu: 1450, up: false }],
    });
    expect(other.filter((l) => l.key === 'other').map((l) => l.value)).toEqual(['vxlan99: VNI 99, UDP 8472, MTU 1450, DOWN']);
    // nothing recorded at all: no node listed, or every node listed as not recorded
    expect(nothingRecorded({ nodes: [], findings: [] })).toBe(true);
    expect(nothingRecorded({ nodes: [none, { ...none, node: 'kvm4' }], findings: [] })).toBe(true);
    expect(nothingRecorded({ nodes: [none, kvm1], findings: [] })).toBe(false);
    // a node of the paths the comparison does not name gets an empty card
    expect(configCards({ nodes: [kvm1], findings: [] }, ['kvm1', 'kvm3']).map((c) => [c.node, c.recordedAt])).toEqual([
      ['kvm1', kvm1.recordedAt],
      ['kvm3', null],
    ]);
  });

  it('findings worst first, with words and a symbol, and the card lines they are about', () => {
    const fs = [
      finding('mtu-too-small', 'info', ['kvm1']),
      finding('vni-mismatch', 'fail', ['kvm1', 'kvm2']),
      finding('fdb-to-silent-vtep', 'warn', ['kvm1']),
      finding('port-mismatch', 'fail', ['kvm2']),
    ];
    expect(findingsInOrder(fs).map((f) => f.code)).toEqual(['vni-mismatch', 'port-mismatch', 'fdb-to-silent-vtep', 'mtu-too-small']);
    expect(severityText('fail')).toEqual({ symbol: '✕', word: 'fail' });
    expect(severityText('warn').word).toBe('warning');
    expect(Object.fromEntries(flaggedLines('kvm2', fs))).toEqual({ vni: 'fail', port: 'fail' });
    expect(Object.fromEntries(flaggedLines('kvm1', fs))).toEqual({
      vni: 'fail',
      mtu: 'info',
      underlay: 'info',
      bridge: 'info',
      fdb: 'warn',
      flood: 'warn',
    });
    // the worst finding about a line wins; a code with no line marks none
    expect(
      Object.fromEntries(
        flaggedLines('kvm1', [
          finding('fdb-stale-after-move', 'fail', ['kvm1']),
          finding('fdb-to-silent-vtep', 'warn', ['kvm1']),
          finding('something-new', 'fail', ['kvm1']),
        ]),
      ),
    ).toEqual({ fdb: 'fail', flood: 'warn' });
  });
});
