/**
 * Copies of the lab recording (fixtures/lab) that the Path tests serve, the API's (web-path) and the
 * page's (browser-path) alike: one whose kvm2 underlay capture misses packets, one with a
 * session.json recording each node's overlay configuration as `capture` writes it.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OverlayConfigRecord } from '../../src/capture/session-file.js';

/** The lab recording's four captures: each node's underlay (eth1) and bridge. */
export const LAB_CAPTURES = ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'];

/** Copies `files` of the folder `from` into the folder `to`, which it makes. */
export function copyCaptures(from: string, to: string, files: readonly string[] = LAB_CAPTURES): void {
  mkdirSync(to);
  for (const f of files) copyFileSync(path.join(from, f), path.join(to, f));
}

/** A copy of a classic pcap without the records whose number (1-based) `drop` says; how many it dropped. */
export function pcapWithout(src: string, dst: string, drop: (n: number) => boolean): number {
  const b = readFileSync(src);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const parts: Buffer[] = [b.subarray(0, 24)];
  let dropped = 0;
  for (let o = 24, n = 1; o + 16 <= b.length; n++) {
    const len = u32(o + 8);
    const rec = b.subarray(o, o + 16 + len);
    if (drop(n)) dropped++;
    else parts.push(rec);
    o += 16 + len;
  }
  writeFileSync(dst, Buffer.concat(parts));
  return dropped;
}

/**
 * The lab recording `lab` copied into `dir`, but kvm2's underlay capture misses its records 10 to 19:
 * what kvm1 sent then never arrived. Returns how many records it left out (10).
 */
export function writeLossyCopy(lab: string, dir: string): number {
  copyCaptures(lab, dir, ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-vxlan_bridge.pcap']);
  return pcapWithout(path.join(lab, 'kvm2-eth1.pcap'), path.join(dir, 'kvm2-eth1.pcap'), (n) => n >= 10 && n < 20);
}

/**
 * A lab node's configuration as `capture` records it (session.json nodes[].config): VNI 10 on UDP
 * 4789, `self` its VTEP, a flood entry toward `other`.
 */
export function recordedLabConfig(self: string, other: string): OverlayConfigRecord {
  return {
    recordedAt: '2026-12-01T09:00:00.000Z',
    recordedBy: 'capture',
    inventory: { vni: 10, port: 4789, bridge: 'vxlan_bridge', underlay: 'eth1', mtu: 1450, group: null },
    vxlan: [
      {
        name: 'vxlan10',
        vni: 10,
        port: 4789,
        local: self,
        group: null,
        remote: null,
        dev: 'eth1',
        mtu: 1450,
        up: true,
        master: 'vxlan_bridge',
      },
    ],
    bridge: { name: 'vxlan_bridge', mtu: 1450, up: true, addresses: [] },
    underlay: { name: 'eth1', mtu: 1500, up: true, addresses: [`${self}/24`] },
    fdb: [{ dev: 'vxlan10', mac: '00:00:00:00:00:00', dst: other, state: 'permanent' }],
    firewalld: null,
    nftables: { installed: false },
  };
}

/** The lab recording `lab` copied into `dir` with a session.json naming its files and recording each node's configuration. */
export function writeConfiguredCopy(lab: string, dir: string): void {
  copyCaptures(lab, dir);
  const node = (name: string, self: string, other: string): unknown => ({
    name,
    underlay: `${name}-eth1.pcap`,
    overlay: `${name}-vxlan_bridge.pcap`,
    clockOffsetUs: 0,
    config: recordedLabConfig(self, other),
  });
  writeFileSync(
    path.join(dir, 'session.json'),
    JSON.stringify({ nodes: [node('kvm1', '10.3.1.156', '10.3.1.174'), node('kvm2', '10.3.1.174', '10.3.1.156')], vxlanPorts: [] }),
  );
}
