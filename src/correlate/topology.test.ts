import { describe, expect, it } from 'vitest';
import { buildTopology, TopologyBuilder } from './topology.js';
import { arpWhoHas, BR1_MAC, BR2_MAC, decoded, encap, GUEST1_MAC, KVM1, KVM2, KVM3, ping } from './synth.js';

const T0 = 1_700_000_000_000_000;

describe('topology from traffic', () => {
  it('puts each inner source MAC and IP behind the outer source IP, per VNI', () => {
    const reply = ping(1, { from: BR2_MAC, to: BR1_MAC, srcIp: '10.220.220.202', dstIp: '10.220.220.201' });
    const packets = [
      decoded(encap(arpWhoHas()), 1, T0, {}),
      decoded(encap(arpWhoHas(), { outerDst: KVM3 }), 2, T0 + 1),
      decoded(encap(reply, { outerSrc: KVM2, outerDst: KVM1 }), 3, T0 + 2),
      decoded(encap(ping(2, { from: GUEST1_MAC, srcIp: '10.220.220.10' }), { vni: 20, dstPort: 8472 }), 4, T0 + 3, { vxlanPorts: [] }),
      decoded(ping(3, { srcIp: KVM1, dstIp: KVM2 }), 5, T0 + 4), // not VXLAN: ignored
    ];
    const t = buildTopology(packets, 'kvm1');
    expect(t.packets).toBe(5);
    expect(t.vxlanPackets).toBe(4);
    expect(t.vteps.map((v) => v.ip)).toEqual([KVM1, KVM2]);
    const kvm1 = t.vteps[0]!;
    expect(kvm1).toMatchObject({ seenBy: ['kvm1'], ports: [4789, 8472], peers: [KVM2, KVM3], packets: 3 });
    expect(kvm1.vnis).toEqual([
      { vni: 10, packets: 2, bytes: 2 * (42 + 50), macs: [BR1_MAC], ips: ['10.220.220.201'] },
      { vni: 20, packets: 1, bytes: expect.any(Number), macs: [GUEST1_MAC], ips: ['10.220.220.10'] },
    ]);
    expect(t.vteps[1]!.vnis[0]).toMatchObject({ vni: 10, macs: [BR2_MAC], ips: ['10.220.220.202'] });
    expect(t.fdb).toEqual([
      { mac: BR1_MAC, vtep: KVM1, vni: 10, ips: ['10.220.220.201'], packets: 2, firstTsUs: T0, lastTsUs: T0 + 1 },
      { mac: GUEST1_MAC, vtep: KVM1, vni: 20, ips: ['10.220.220.10'], packets: 1, firstTsUs: T0 + 3, lastTsUs: T0 + 3 },
      { mac: BR2_MAC, vtep: KVM2, vni: 10, ips: ['10.220.220.202'], packets: 1, firstTsUs: T0 + 2, lastTsUs: T0 + 2 },
    ]);
  });

  it('follows a MAC that moves to another VTEP', () => {
    const b = new TopologyBuilder();
    b.add(decoded(encap(ping(1, { from: GUEST1_MAC })), 1, T0));
    b.add(decoded(encap(ping(2, { from: GUEST1_MAC }), { outerSrc: KVM3 }), 2, T0 + 10));
    expect(b.result().fdb).toEqual([expect.objectContaining({ mac: GUEST1_MAC, vtep: KVM3, packets: 2 })]);
  });
});
