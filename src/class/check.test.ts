import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../provision/check.js';
import { cellsOf, columnsOf, worst } from './check.js';
import { renderMatrix } from './render.js';
import { parseVxlanCounters, trafficByVni } from './traffic.js';
import type { ClassCheckMatrix, GroupCheck } from './types.js';

const r = (node: string, name: string, status: CheckResult['status'], detail: string): CheckResult => ({ node, name, status, detail });

const healthy: CheckResult[] = [
  r('kvm1', 'ssh', 'pass', 'connected as root@10.3.1.156:22'),
  r('kvm1', 'vni', 'pass', 'vxlan10 has VNI 10'),
  r('kvm1', 'peer-overlay', 'pass', "kvm2's bridge 10.220.220.202 answers through the overlay"),
  r('kvm2', 'ssh', 'pass', 'connected as root@10.3.1.174:22'),
  r('kvm2', 'vni', 'pass', 'vxlan10 has VNI 10'),
  r('kvm2', 'peer-overlay', 'pass', "kvm1's bridge 10.220.220.201 answers through the overlay"),
  r('overlay', 'same-vni-port', 'pass', 'same VNI and port on every node: kvm1 VNI 10/UDP 4789, kvm2 VNI 10/UDP 4789'),
];
const broken: CheckResult[] = healthy.map((c) =>
  c.node === 'kvm2' && c.name === 'vni'
    ? r('kvm2', 'vni', 'fail', 'vxlan10 has VNI 11, the inventory says 10')
    : c.name === 'peer-overlay'
      ? { ...c, status: 'fail', detail: 'does not answer through the overlay (no reply)' }
      : c.name === 'same-vni-port'
        ? r('overlay', 'same-vni-port', 'fail', 'VNI/port differ between nodes: kvm1 VNI 10/UDP 4789, kvm2 VNI 11/UDP 4789')
        : c,
);

function row(group: string, checks: CheckResult[], extra: Partial<GroupCheck> = {}): GroupCheck {
  const cells = cellsOf(checks);
  return {
    group,
    status: worst(Object.values(cells).map((c) => c.status)),
    checkedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 800,
    cells,
    checks,
    traffic: [],
    ...extra,
  };
}

describe('the check matrix', () => {
  it('a cell is the worst status over the nodes and names the node that fails', () => {
    const cells = cellsOf(broken);
    expect(cells.vni).toEqual({ status: 'fail', detail: 'kvm2: vxlan10 has VNI 11, the inventory says 10' });
    expect(cells.ssh?.status).toBe('pass');
    expect(cells.ssh?.detail).toBe('kvm1: connected as root@10.3.1.156:22; kvm2: connected as root@10.3.1.174:22');
    expect(cells['same-vni-port']?.detail).toMatch(/^VNI\/port differ/);
    expect(worst(['pass', 'warn'])).toBe('warn');
    expect(worst(['warn', 'error', 'fail'])).toBe('error');
  });

  it('columns follow the checks of the group that got furthest', () => {
    const cut = row('g02', [r('kvm1', 'ssh', 'fail', 'refused'), r('kvm2', 'ssh', 'fail', 'refused')]);
    expect(columnsOf([cut, row('g01', healthy)])).toEqual(['ssh', 'vni', 'peer-overlay', 'same-vni-port']);
  });

  it('renders groups as rows, checks as columns, a legend, the failing cells and a summary', () => {
    const rows = [
      row('g01', healthy, {
        traffic: [{ node: 'kvm1', device: 'vxlan10', vni: 10, rxPackets: 5, rxBytes: 500, txPackets: 7, txBytes: 700 }],
      }),
      row('g02', broken),
      {
        group: 'g03',
        status: 'error' as const,
        checkedAt: '2025-01-01T00:00:00.000Z',
        durationMs: 60_000,
        cells: {},
        checks: [],
        traffic: [],
        error: 'no answer within 60 s (deadline)',
      },
    ];
    const m: ClassCheckMatrix = {
      source: '/c/class.yaml',
      ok: false,
      checkedAt: '2025-01-01T00:00:00.000Z',
      durationMs: 3200,
      parallel: 8,
      peakSessions: 6,
      columns: columnsOf(rows),
      groups: rows,
    };
    const text = renderMatrix(m);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^group\s+ssh\s+vni\s+peer-o\s+same\s+traffic seen/);
    expect(lines[1]).toMatch(/^g01\s+ok\s+ok\s+ok\s+ok\s+VNI 10 rx 5 tx 7$/);
    expect(lines[2]).toMatch(/^g02\s+ok\s+FAIL\s+FAIL\s+FAIL\s+no VXLAN device$/);
    expect(lines[3]).toMatch(/^g03\s+ERR\s+ERR\s+ERR\s+ERR$/);
    expect(text).toContain('legend: ok pass, WARN warning, FAIL fails, ERR not checked');
    expect(text).toContain('peer-o = peer-overlay');
    expect(text).toContain('g02  FAIL  vni: kvm2: vxlan10 has VNI 11, the inventory says 10');
    expect(text).toContain('g03  ERR   no answer within 60 s (deadline)');
    expect(text).not.toMatch(/^g01 .*FAIL/m);
    expect(lines.at(-2)).toBe(
      'check --class: 1 of 3 groups pass, 2 fail: g02, g03; 4 nodes in 3.2s, at most 6 SSH sessions at once (--parallel 8)',
    );
  });

  it('reads the VXLAN counters per VNI from ip -s -d -j link', () => {
    const json = JSON.stringify([
      {
        ifname: 'vxlan10',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 10, port: 4789 } },
        stats64: { rx: { bytes: 27922, packets: 121 }, tx: { bytes: 93584, packets: 124 } },
      },
      {
        ifname: 'vxlan20',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 20, port: 4789 } },
        stats64: { rx: { bytes: 1, packets: 1 }, tx: { bytes: 2, packets: 2 } },
      },
      { ifname: 'eth1', stats64: { rx: { bytes: 9, packets: 9 }, tx: { bytes: 9, packets: 9 } } },
    ]);
    const t = parseVxlanCounters('kvm1', json);
    expect(t).toEqual([
      { node: 'kvm1', device: 'vxlan10', vni: 10, rxPackets: 121, rxBytes: 27922, txPackets: 124, txBytes: 93584 },
      { node: 'kvm1', device: 'vxlan20', vni: 20, rxPackets: 1, rxBytes: 1, txPackets: 2, txBytes: 2 },
    ]);
    expect(parseVxlanCounters('kvm1', 'not json')).toEqual([]);
    expect(trafficByVni([...t, { ...t[0]!, node: 'kvm2' }])[0]).toEqual({
      vni: 10,
      rxPackets: 242,
      txPackets: 248,
      rxBytes: 55844,
      txBytes: 187168,
    });
  });
});
