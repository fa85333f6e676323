/**
 * A small synthetic lab recording, every frame explained: the class's two nodes (kvm1 10.3.1.156,
 * kvm2 10.3.1.174), a guest behind each bridge (vm1 10.220.220.11 on kvm1, vm2 10.220.220.12 on
 * kvm2), VNI 10 on UDP 4789. Used by the tests and by `demo` when fixtures/lab is missing.
 *
 * What is in it (and so what correlation must find):
 *  - vm1 → vm2: one ARP request (broadcast), one ARP reply, five pings and their replies: 12 frames,
 *    each seen on kvm1's bridge, kvm1's eth1, kvm2's eth1 and kvm2's bridge;
 *  - the ARP request is a broadcast: kvm1 floods it to every VTEP it knows, kvm2 and a third one
 *    (10.3.1.180, not captured), so kvm1's eth1 carries a second copy of it;
 *  - vm1 ↔ kvm1's bridge address: one ping and its reply: on kvm1's bridge only (never tunnelled);
 *  - the frontend's SSH to kvm1: two packets on kvm1's eth1, not tunnelled;
 *  - one VXLAN packet for VNI 20 from 10.3.1.200 to kvm1: on kvm1's eth1 only (no bridge has VNI 20).
 * So kvm1: matched 13 (12 frames, one of them twice), 1 flooded frame, underlayOnly 1, overlayOnly 2;
 * kvm2: matched 12, nothing unmatched.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PcapWriter } from '../decode/file/writer.js';
import type { PacketToWrite } from '../decode/file/types.js';
import { arpRequest, ethernet, icmpEcho, ipv4, tcp, vxlanPacket } from '../synth/frames.js';

export const SAMPLE = {
  kvm1: { ip: '10.3.1.156', mac: '52:54:00:00:01:56' },
  kvm2: { ip: '10.3.1.174', mac: '52:54:00:00:01:74' },
  vm1: { ip: '10.220.220.11', mac: '52:54:00:aa:00:11' },
  vm2: { ip: '10.220.220.12', mac: '52:54:00:aa:00:12' },
  bridge1: { ip: '10.220.220.201', mac: '5e:00:00:00:02:01' },
  vni: 10,
  /** Expected correlation per node. */
  expected: {
    kvm1: { underlay: 16, overlay: 14, matched: 13, underlayOnly: 1, overlayOnly: 2, floodedFrames: 1 },
    kvm2: { underlay: 12, overlay: 12, matched: 12, underlayOnly: 0, overlayOnly: 0, floodedFrames: 0 },
  },
} as const;

const T0 = 1_764_140_000; // 2025-11-26 06:53:20 UTC

interface Files {
  kvm1eth: PacketToWrite[];
  kvm1br: PacketToWrite[];
  kvm2eth: PacketToWrite[];
  kvm2br: PacketToWrite[];
}

function at(us: number): { tsSec: number; tsNsec: number } {
  return { tsSec: T0 + Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 };
}

/** The four captures of the sample, as packets. */
export function samplePackets(): Files {
  const f: Files = { kvm1eth: [], kvm1br: [], kvm2eth: [], kvm2br: [] };
  const { kvm1, kvm2, vm1, vm2, bridge1 } = SAMPLE;
  let seq = 0;
  // A frame crossing the tunnel: from vm1 (kvm1) to vm2 (kvm2) or back.
  const cross = (us: number, inner: Uint8Array, from: 'kvm1' | 'kvm2'): void => {
    const src = from === 'kvm1' ? kvm1 : kvm2;
    const dst = from === 'kvm1' ? kvm2 : kvm1;
    const outer = vxlanPacket(inner, {
      outerSrc: src.ip,
      outerDst: dst.ip,
      outerSrcMac: src.mac,
      outerDstMac: dst.mac,
      srcPort: 40000 + (seq++ % 7) * 1111,
      vni: SAMPLE.vni,
    });
    const brSrc = from === 'kvm1' ? f.kvm1br : f.kvm2br;
    const ethSrc = from === 'kvm1' ? f.kvm1eth : f.kvm2eth;
    const ethDst = from === 'kvm1' ? f.kvm2eth : f.kvm1eth;
    const brDst = from === 'kvm1' ? f.kvm2br : f.kvm1br;
    brSrc.push({ ...at(us), data: inner }); // on the bridge first
    ethSrc.push({ ...at(us + 23), data: outer }); // encapsulated 23 µs later
    ethDst.push({ ...at(us + 310), data: outer }); // across the underlay
    brDst.push({ ...at(us + 338), data: inner }); // decapsulated
  };
  const icmp = (srcMac: string, dstMac: string, src: string, dst: string, type: 8 | 0, s: number): Uint8Array =>
    ethernet(
      dstMac,
      srcMac,
      0x0800,
      ipv4(
        { src, dst, proto: 1, id: 0x1c00 + s, ttl: 64 },
        icmpEcho(
          type,
          0x4d2,
          s,
          new Uint8Array(56).map((_, i) => 0x10 + i),
        ),
      ),
    );

  const arpReq = ethernet('ff:ff:ff:ff:ff:ff', vm1.mac, 0x0806, arpRequest(vm1.mac, vm1.ip, vm2.ip));
  cross(100_000, arpReq, 'kvm1');
  // head-end replication: the same broadcast, encapsulated once more for the third VTEP
  f.kvm1eth.push({
    ...at(100_025),
    data: vxlanPacket(arpReq, {
      outerSrc: kvm1.ip,
      outerDst: '10.3.1.180',
      outerSrcMac: kvm1.mac,
      outerDstMac: '52:54:00:00:01:80',
      srcPort: 40000,
      vni: SAMPLE.vni,
    }),
  });
  cross(100_700, ethernet(vm1.mac, vm2.mac, 0x0806, arpRequest(vm2.mac, vm2.ip, vm1.ip, 2, vm1.mac)), 'kvm2');
  for (let s = 1; s <= 5; s++) {
    const t = 101_000 + (s - 1) * 1_000_000;
    cross(t, icmp(vm1.mac, vm2.mac, vm1.ip, vm2.ip, 8, s), 'kvm1');
    cross(t + 650, icmp(vm2.mac, vm1.mac, vm2.ip, vm1.ip, 0, s), 'kvm2');
  }
  // vm1 pings its own bridge: stays on kvm1
  f.kvm1br.push({ ...at(2_500_000), data: icmp(vm1.mac, bridge1.mac, vm1.ip, bridge1.ip, 8, 99) });
  f.kvm1br.push({ ...at(2_500_040), data: icmp(bridge1.mac, vm1.mac, bridge1.ip, vm1.ip, 0, 99) });
  // the frontend's SSH session to kvm1, on the underlay itself
  const frontendMac = '52:54:00:00:02:50';
  f.kvm1eth.push({
    ...at(1_200_000),
    data: ethernet(
      kvm1.mac,
      frontendMac,
      0x0800,
      ipv4(
        { src: '10.3.1.250', dst: kvm1.ip, proto: 6 },
        tcp({ srcPort: 51514, dstPort: 22, seq: 1000, ack: 2000, flags: 0x018 }, new Uint8Array(48)),
      ),
    ),
  });
  f.kvm1eth.push({
    ...at(1_200_300),
    data: ethernet(
      frontendMac,
      kvm1.mac,
      0x0800,
      ipv4(
        { src: kvm1.ip, dst: '10.3.1.250', proto: 6 },
        tcp({ srcPort: 22, dstPort: 51514, seq: 2000, ack: 1048, flags: 0x010 }, new Uint8Array(0)),
      ),
    ),
  });
  // VNI 20 from a VTEP kvm1 has no bridge for
  const stray = ethernet('ff:ff:ff:ff:ff:ff', '52:54:00:bb:00:20', 0x0806, arpRequest('52:54:00:bb:00:20', '10.99.0.1', '10.99.0.2'));
  f.kvm1eth.push({
    ...at(3_300_000),
    data: vxlanPacket(stray, {
      outerSrc: '10.3.1.200',
      outerDst: kvm1.ip,
      outerSrcMac: '52:54:00:00:02:00',
      outerDstMac: kvm1.mac,
      vni: 20,
    }),
  });
  const byTime = (a: PacketToWrite, b: PacketToWrite): number => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec;
  for (const list of Object.values(f) as PacketToWrite[][]) list.sort(byTime);
  return f;
}

/** Writes kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap, kvm2-eth1.pcap, kvm2-vxlan_bridge.pcap into `dir`. */
export function writeSampleSession(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const f = samplePackets();
  const w = new PcapWriter();
  const out: [string, PacketToWrite[]][] = [
    ['kvm1-eth1.pcap', f.kvm1eth],
    ['kvm1-vxlan_bridge.pcap', f.kvm1br],
    ['kvm2-eth1.pcap', f.kvm2eth],
    ['kvm2-vxlan_bridge.pcap', f.kvm2br],
  ];
  return out.map(([name, pkts]) => {
    const p = path.join(dir, name);
    writeFileSync(p, w.file(pkts));
    return p;
  });
}
