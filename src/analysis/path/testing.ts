/**
 * Recorded overlay configurations for the path tests. Not part of the public API.
 *
 * kvm1's is made from real `ip -j -d link`, `ip -j addr` and `bridge -j fdb` output of the lab
 * (src/provision/fixtures, Debian 12, iproute2 6.1) through the recorder's own pure half
 * (overlayConfigRecord); kvm2's is the same with the two VTEP addresses swapped, as the lab
 * builds it. Each `lab break` kind is then the one change src/lab/faults.ts makes, on the node it
 * makes it on; `drop` uses the real `nft -j list ruleset` recorded under that fault.
 */
import { readFileSync } from 'node:fs';
import { overlayConfigRecord, nftablesForRecord } from '../../capture/node.js';
import type { OverlayConfigRecord, RecordedVxlanDevice } from '../../capture/session-file.js';
import { parseNftRuleset } from '../../provision/check.js';
import { parseFdb, parseIpAddr, parseIpLink, type FdbEntry } from '../../provision/state.js';
import { labNodes, NO_FIREWALLD } from '../../provision/testing.js';

const FIXTURES = new URL('../../provision/fixtures/', import.meta.url);

function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export const LAB_KINDS = ['vni', 'port', 'mtu', 'fdb', 'stale-fdb', 'drop', 'multicast'] as const;
export type LabKind = (typeof LAB_KINDS)[number];

export const LAB_VTEP = { kvm1: '10.3.1.156', kvm2: '10.3.1.174' } as const;
/** The frontend: not a VTEP (where `stale-fdb` sends vm2's MAC). */
export const FRONTEND = '10.3.1.250';
export const GROUP = '239.1.1.1';
export const OTHER_GROUP = '239.1.1.2';
export const RECORDED_AT = new Date('2026-12-01T09:00:00.000Z');

/** Swaps kvm1's and kvm2's underlay addresses in recorded text. */
function swapVteps(text: string): string {
  return text.replaceAll(LAB_VTEP.kvm1, '\u0000').replaceAll(LAB_VTEP.kvm2, LAB_VTEP.kvm1).replaceAll('\u0000', LAB_VTEP.kvm2);
}

function device(rec: OverlayConfigRecord): RecordedVxlanDevice {
  const d = rec.vxlan.find((x) => x.name === 'vxlan10');
  if (!d) throw new Error('the recorded lab node has no vxlan10');
  return d;
}

/**
 * A lab node's configuration as `capture` records it, healthy or under `fault` (on the node the
 * lab changes for it: kvm1 for stale-fdb, kvm2 otherwise). `multicast` is a lab provisioned with
 * a group: both nodes on GROUP, kvm2 moved to OTHER_GROUP. `vm2Mac` is the MAC stale-fdb sends away.
 */
export function labConfig(
  node: 'kvm1' | 'kvm2',
  fault?: LabKind,
  opts: { vm2Mac?: string; by?: 'capture' | 'check' } = {},
): OverlayConfigRecord {
  const t = (s: string): string => (node === 'kvm2' ? swapVteps(s) : s);
  const state = {
    links: parseIpLink(t(fixture('kvm1-provisioned.link.json'))),
    addrs: parseIpAddr(t(fixture('kvm1-provisioned.addr.json'))),
    fdb: [] as FdbEntry[],
    firewall: NO_FIREWALLD,
  };
  const fdb = parseFdb(t(fixture('kvm1-provisioned.fdb.json'))).map((e) => ({ ...e, dev: 'vxlan10' }));
  const nodes = labNodes();
  const rec = overlayConfigRecord(
    nodes[node],
    { state, fdb, nftables: { installed: true, chains: [] } },
    { at: RECORDED_AT, by: opts.by ?? 'capture' },
  );
  const dev = device(rec);
  if (fault === 'multicast') {
    dev.group = node === 'kvm2' ? OTHER_GROUP : GROUP;
    rec.fdb = rec.fdb.filter((e) => e.mac !== '00:00:00:00:00:00');
    return rec;
  }
  const changed = fault === 'stale-fdb' ? 'kvm1' : 'kvm2';
  if (fault === undefined || node !== changed) return rec;
  switch (fault) {
    case 'vni':
      dev.vni = 11;
      break;
    case 'port':
      dev.port = 8472;
      break;
    case 'mtu':
      // made again without `dev eth1` (the kernel caps a bound device at eth1's MTU - 50), all at 1500
      dev.mtu = 1500;
      dev.dev = null;
      if (rec.bridge) rec.bridge.mtu = 1500;
      break;
    case 'fdb':
      rec.fdb = rec.fdb.filter((e) => !(e.mac === '00:00:00:00:00:00' && e.dst === LAB_VTEP.kvm1));
      break;
    case 'stale-fdb':
      rec.fdb.push({ dev: 'vxlan10', mac: opts.vm2Mac ?? '52:54:00:aa:00:02', dst: FRONTEND, state: 'static' });
      break;
    case 'drop':
      rec.nftables = nftablesForRecord({ installed: true, chains: parseNftRuleset(fixture('kvm2-drop.nft.json')) });
      break;
  }
  return rec;
}

/** Both lab nodes' configurations under `fault` (healthy when undefined). */
export function labConfigs(fault?: LabKind, opts: { vm2Mac?: string } = {}): { kvm1: OverlayConfigRecord; kvm2: OverlayConfigRecord } {
  return { kvm1: labConfig('kvm1', fault, opts), kvm2: labConfig('kvm2', fault, opts) };
}
