/**
 * The committed lab recording is whole and agrees with its expected.json (made by tshark):
 * records counted and VXLAN frames (IPv4/UDP to 4789, I flag, VNI) found by hand here.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../fixtures/lab', import.meta.url));
const FILES = ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'];

interface Expected {
  files: { file: string; packets: number; vxlan: { packets: number; vnis: Record<string, number> } }[];
  correlation: { node: string; eth1VxlanPackets: number; matched: number; bridgePackets: number }[];
}

function walk(file: string): { records: number; vnis: Map<number, number>; truncatedTail: boolean } {
  const b = readFileSync(path.join(DIR, file));
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4); // little-endian, microseconds
  expect(b.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
  let off = 24;
  let records = 0;
  const vnis = new Map<number, number>();
  while (off + 16 <= b.length) {
    const caplen = b.readUInt32LE(off + 8);
    const f = b.subarray(off + 16, off + 16 + caplen);
    records++;
    if (f.length >= 50 && f.readUInt16BE(12) === 0x0800 && f[23] === 17) {
      const l4 = 14 + ((f[14] ?? 0) & 0x0f) * 4;
      if (f.readUInt16BE(l4 + 2) === 4789 && (f[l4 + 8] ?? 0) & 0x08) {
        const vni = f.readUIntBE(l4 + 12, 3);
        vnis.set(vni, (vnis.get(vni) ?? 0) + 1);
      }
    }
    off += 16 + caplen;
  }
  return { records, vnis, truncatedTail: off !== b.length };
}

describe('fixtures/lab', () => {
  const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Expected;

  it('is small enough to commit', () => {
    const total = [...FILES, 'expected.json'].reduce((n, f) => n + statSync(path.join(DIR, f)).size, 0);
    expect(total).toBeLessThan(1024 * 1024);
  });

  it.each(FILES)('%s agrees with expected.json', (file) => {
    const e = expected.files.find((x) => x.file === file);
    expect(e).toBeDefined();
    const w = walk(file);
    expect(w.truncatedTail).toBe(false);
    expect(w.records).toBe(e?.packets);
    expect(Object.fromEntries([...w.vnis].map(([k, v]) => [String(k), v]))).toEqual(e?.vxlan.vnis);
    if (file.includes('eth1')) expect(w.vnis.get(10)).toBeGreaterThan(50);
    else expect(w.vnis.size).toBe(0);
  });

  it('correlates most tunnel frames with the bridge, as tshark found', () => {
    for (const c of expected.correlation) {
      expect(c.eth1VxlanPackets).toBe(expected.files.find((f) => f.file === `${c.node}-eth1.pcap`)?.vxlan.packets);
      expect(c.matched).toBeGreaterThan(c.eth1VxlanPackets * 0.8);
      expect(c.matched).toBeLessThanOrEqual(c.bridgePackets);
    }
  });
});
