import { describe, expect, it } from 'vitest';
import { vxlanPacketsInCapture } from './probe.js';

/**
 * One underlay frame: Ethernet (14) | IPv4 (20, proto 17) | UDP (8, dst 4789) | VXLAN (8: flags 0x08,
 * VNI 0x00000a = 10) | inner Ethernet (14, truncated after its header).
 */
function vxlanFrame(vni: number, dstPort = 4789, flags = 0x08): Uint8Array {
  const eth = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
  const ip = [0x45, 0, 0, 50, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 3, 1, 156, 10, 3, 1, 174];
  const udp = [0xc0, 0x00, dstPort >> 8, dstPort & 0xff, 0, 30, 0, 0];
  const vx = [flags, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0];
  const inner = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 5, 0x08, 0x06];
  return Uint8Array.from([...eth, ...ip, ...udp, ...vx, ...inner]);
}

function pcap(frames: Uint8Array[], littleEndian = true): Uint8Array {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): void => {
    if (littleEndian) b.writeUInt32LE(v, o);
    else b.writeUInt32BE(v, o);
  };
  w32(h, 0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  w32(h, 262144, 16);
  w32(h, 1, 20);
  parts.push(h);
  for (const f of frames) {
    const r = Buffer.alloc(16);
    w32(r, 1700000000, 0);
    w32(r, f.length, 8);
    w32(r, f.length, 12);
    parts.push(r, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

describe('probe capture reading', () => {
  it('counts VXLAN packets by VNI in a pcap stream of either byte order', async () => {
    for (const le of [true, false]) {
      const buf = pcap([vxlanFrame(10), vxlanFrame(10), vxlanFrame(0xabcdef)], le);
      const seen = await vxlanPacketsInCapture(buf, 4789);
      expect(seen.packets).toBe(3);
      expect([...seen.vnis]).toEqual([
        [10, 2],
        [0xabcdef, 1],
      ]);
    }
  });

  it('ignores other ports, a clear I flag, a cut record and an empty stream', async () => {
    const seen = await vxlanPacketsInCapture(pcap([vxlanFrame(10, 8472), vxlanFrame(10, 4789, 0x00), vxlanFrame(12)]), 4789);
    expect(seen.packets).toBe(3);
    expect([...seen.vnis]).toEqual([[12, 1]]);
    const buf = pcap([vxlanFrame(10), vxlanFrame(10)]);
    expect((await vxlanPacketsInCapture(buf.subarray(0, buf.length - 5), 4789)).packets).toBe(1);
    expect((await vxlanPacketsInCapture(new Uint8Array(0), 4789)).packets).toBe(0);
  });
});
