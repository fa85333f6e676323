/** Which files make a session: pairing by name, session.json, and what is refused. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { PcapWriter } from '../src/decode/file/writer.js';
import { samplePackets, writeSampleSession } from '../src/web/sample.js';
import { startServer } from '../src/web/server.js';
import { roleOfInterface, sessionFromArgs, sessionFromDir, splitCaptureName } from '../src/web/session.js';
import { CaptureStore } from '../src/web/store.js';

const root = mkdtempSync(path.join(tmpdir(), 'vxi-web-session-'));
const sample = path.join(root, 'sample');
writeSampleSession(sample);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('file names: <node>-<interface>.pcap, and which side an interface is', () => {
  expect(splitCaptureName('kvm1-vxlan_bridge.pcap')).toEqual({ node: 'kvm1', iface: 'vxlan_bridge' });
  expect(splitCaptureName('/x/kvm2-eth1.pcapng')).toEqual({ node: 'kvm2', iface: 'eth1' });
  expect(splitCaptureName('capture.pcap')).toEqual({ node: 'capture' });
  expect(['eth1', 'ens3', 'enp0s8', 'bond0'].map(roleOfInterface)).toEqual(['underlay', 'underlay', 'underlay', 'underlay']);
  expect(['vxlan_bridge', 'br0', 'virbr0', 'vxlan10', 'tap0', 'vnet3'].map(roleOfInterface)).toEqual([
    'overlay',
    'overlay',
    'overlay',
    'overlay',
    'overlay',
    'overlay',
  ]);
  expect(roleOfInterface('wat')).toBe('unknown');
});

test('a folder without session.json pairs its captures by name', () => {
  const s = sessionFromDir(sample);
  expect(s.files.map((f) => `${f.node}/${f.role}/${f.name}`)).toEqual([
    'kvm1/underlay/kvm1-eth1.pcap',
    'kvm1/overlay/kvm1-vxlan_bridge.pcap',
    'kvm2/underlay/kvm2-eth1.pcap',
    'kvm2/overlay/kvm2-vxlan_bridge.pcap',
  ]);
  expect(s.nodes.map((n) => n.name)).toEqual(['kvm1', 'kvm2']);
});

test('session.json names the files, the nodes and their clock offsets', async () => {
  const dir = path.join(root, 'named');
  mkdirSync(dir);
  copyFileSync(path.join(sample, 'kvm1-eth1.pcap'), path.join(dir, 'left.pcap'));
  copyFileSync(path.join(sample, 'kvm1-vxlan_bridge.pcap'), path.join(dir, 'right.pcap'));
  writeFileSync(
    path.join(dir, 'session.json'),
    JSON.stringify({
      nodes: [{ name: 'hostA', underlay: 'left.pcap', overlay: 'right.pcap', clockOffsetUs: 250 }],
      vxlanPorts: [4790, 'x'],
    }),
  );
  const s = sessionFromDir(dir);
  expect(s.files.map((f) => `${f.node}/${f.role}/${f.name}`)).toEqual(['hostA/underlay/left.pcap', 'hostA/overlay/right.pcap']);
  expect(s.nodes).toEqual([{ name: 'hostA', clockOffsetUs: 250, overlayClockOffsetUs: 0 }]);
  expect(s.vxlanPorts).toEqual([4790]);
  const store = await CaptureStore.open(s);
  expect(store.nodes().map((n) => n.name)).toEqual(['hostA']);
  expect(store.node('hostA')!.analysis).toMatchObject({ matched: 13, underlayOnly: 1, overlayOnly: 2 });
  expect(store.vxlanPorts).toEqual([4790]);
  store.close();
});

test('session.json mistakes are usage errors that say what to fix', () => {
  const dir = path.join(root, 'bad');
  mkdirSync(dir);
  const write = (v: unknown): void => writeFileSync(path.join(dir, 'session.json'), typeof v === 'string' ? v : JSON.stringify(v));
  write('{ nodes: ');
  expect(() => sessionFromDir(dir)).toThrow(/session\.json is not valid JSON .*remove it to pair captures by file name/);
  write({ nodes: [{ underlay: 'a.pcap' }] });
  expect(() => sessionFromDir(dir)).toThrow(/nodes\[0\] needs a "name"/);
  write({ nodes: [{ name: 'k', underlay: '../../etc/passwd' }] });
  expect(() => sessionFromDir(dir)).toThrow(/is outside the capture folder/);
  write({ nodes: [{ name: 'k', underlay: '/etc/passwd' }] });
  expect(() => sessionFromDir(dir)).toThrow(/is outside the capture folder/);
  write({ nodes: [{ name: 'k', clockOffsetUs: '5ms' }] });
  expect(() => sessionFromDir(dir)).toThrow(/clockOffsetUs must be a number of microseconds, not "5ms"/);
});

test('files that are not captures are skipped and reported, the rest is served', async () => {
  const dir = path.join(root, 'mixed');
  mkdirSync(dir);
  copyFileSync(path.join(sample, 'kvm2-eth1.pcap'), path.join(dir, 'kvm2-eth1.pcap'));
  writeFileSync(path.join(dir, 'kvm2-vxlan_bridge.pcap'), 'oops');
  writeFileSync(path.join(dir, 'notes.txt'), 'not a capture, not even named like one');
  const store = await CaptureStore.open(sessionFromArgs([dir]));
  expect(store.captures().map((c) => c.name)).toEqual(['kvm2-eth1.pcap']);
  // what a non-capture file holds is never echoed (a symlink could point at /etc/shadow: issue 16 #12)
  expect(store.problems).toEqual([
    expect.stringMatching(/^kvm2-vxlan_bridge\.pcap: not a pcap or pcapng capture file \(what it holds is not shown/),
  ]);
  expect(store.problems.join('\n')).not.toContain('0x6f6f7073');
  expect(store.diagnostics().some((d) => d.severity === 'error' && /could not be read/.test(d.title))).toBe(true);
  store.close();
});

test('clock offsets from session.json line two nodes up on one time axis', async () => {
  const dir = path.join(root, 'clocks');
  mkdirSync(dir);
  const w = new PcapWriter();
  const p = samplePackets();
  // kvm2's clock is 5 s ahead: every timestamp it wrote is 5 s late
  const late = (list: typeof p.kvm2eth) => list.map((x) => ({ ...x, tsSec: x.tsSec + 5 }));
  writeFileSync(path.join(dir, 'kvm1-eth1.pcap'), w.file(p.kvm1eth));
  writeFileSync(path.join(dir, 'kvm1-vxlan_bridge.pcap'), w.file(p.kvm1br));
  writeFileSync(path.join(dir, 'kvm2-eth1.pcap'), w.file(late(p.kvm2eth)));
  writeFileSync(path.join(dir, 'kvm2-vxlan_bridge.pcap'), w.file(late(p.kvm2br)));
  const nodes = [
    { name: 'kvm1', underlay: 'kvm1-eth1.pcap', overlay: 'kvm1-vxlan_bridge.pcap' },
    { name: 'kvm2', underlay: 'kvm2-eth1.pcap', overlay: 'kvm2-vxlan_bridge.pcap', clockOffsetUs: 5_000_000 },
  ];
  writeFileSync(path.join(dir, 'session.json'), JSON.stringify({ nodes }));
  const server = await startServer(sessionFromDir(dir), { port: 0 });
  try {
    const get = async (node: string) => (await fetch(`${server.url}api/nodes/${node}/series?bins=50`)).json();
    const [a, b] = [await get('kvm1'), await get('kvm2')];
    expect(b.t0Us).toBe(a.t0Us);
    expect(b.binUs).toBe(a.binUs);
    const firstBin = (s: { sides: { underlay: { groups: Record<string, { packetsPerSec: number[] }> } } }) =>
      s.sides.underlay.groups['VNI 10']!.packetsPerSec.findIndex((v) => v > 0);
    // the ARP request leaves kvm1 and reaches kvm2 within the same bin once kvm2's clock is corrected
    expect(firstBin(b)).toBe(firstBin(a));
    // each node's own two captures share a clock: still correlated
    const s = await (await fetch(`${server.url}api/session`)).json();
    expect(s.nodes.map((n: { analysis: { matched: number } }) => n.analysis.matched)).toEqual([13, 12]);
  } finally {
    await server.close();
  }
});
