/**
 * The kernel's VXLAN, recorded in the namespace lab (fixtures/lab): our correlation against
 * the counts make-expected.mjs computed with tshark alone (byte-identical inner frames, one to
 * one), and the lab's known traffic (what stays on a node, what the VXLAN device sends itself).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { correlateFiles, Diagnostics, TopologyBuilder, type CorrelationReport } from '../src/correlate/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'lab');

interface Expected {
  files: { file: string; packets: number; vxlan: { packets: number; vnis: Record<string, number> } }[];
  correlation: {
    node: string;
    eth1VxlanPackets: number;
    bridgePackets: number;
    matched: number;
    unmatchedEth1Frames: number[];
    bridgeOnly: number;
  }[];
}

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected;

describe.each(expected.correlation.map((c) => [c.node, c] as const))('lab recording, %s', (node, exp) => {
  let report: CorrelationReport;
  const topology = new TopologyBuilder();
  const diagnostics = new Diagnostics();

  it('matches exactly the inner frames tshark finds byte-identical on the bridge', async () => {
    report = await correlateFiles(join(DIR, `${node}-eth1.pcap`), join(DIR, `${node}-vxlan_bridge.pcap`), {
      onPacket: (p, side) => {
        if (side === 'underlay') topology.add(p, node);
        diagnostics.add(p, side);
      },
    });
    const eth1 = expected.files.find((f) => f.file === `${node}-eth1.pcap`);
    expect(report.inputErrors).toBeUndefined();
    expect(report.underlayPackets).toBe(eth1?.packets);
    expect(report.underlayVxlan).toBe(exp.eth1VxlanPackets);
    expect(report.overlayPackets).toBe(exp.bridgePackets);
    expect(report.byVni).toEqual({ '10': expect.objectContaining({ packets: eth1?.vxlan.vnis['10'], matched: exp.matched }) });
    expect(report.matched).toBe(exp.matched);
    expect(report.underlayOnly).toBe(exp.unmatchedEth1Frames.length);
    expect(report.unmatchedUnderlay.map((u) => u.n).sort((a, b) => a - b)).toEqual(exp.unmatchedEth1Frames);
    expect(report.overlayOnly).toBe(exp.bridgeOnly);
    // two nodes: head-end replication has one peer, so nothing is flooded to several VTEPs
    expect(report.floodedFrames).toBe(0);
  });

  it('tells encapsulation from decapsulation and explains what stayed on one side', () => {
    const local = node === 'kvm1' ? '10.3.1.156' : '10.3.1.174';
    for (const m of report.matches) {
      // leaving the node: this node's VTEP is the outer source; arriving: the outer destination
      expect(m.direction === 'encap' ? m.vtepSrc : m.vtepDst).toBe(local);
      expect(m.deltaUs).toBeLessThan(100_000);
    }
    expect(report.encap + report.decap).toBe(report.matched);
    expect(report.encap).toBeGreaterThan(0);
    expect(report.decap).toBeGreaterThan(0);
    // guest ↔ own bridge pings and their ARP replies never cross the overlay: their destination
    // is behind this node's VTEP (stats lists it there), so the reason says it is on this node
    expect(report.reasons.overlay).toEqual({ local: exp.bridgeOnly });
    for (const u of report.unmatchedOverlay)
      expect(u.reason).toContain(`is behind this node's VTEP ${local}: the destination is on this node`);
    // the VXLAN device's own IPv6 (MLD, RS, DAD) leaves without crossing the bridge: recognised as such
    expect(report.reasons.underlay['from-vxlan-device']).toBeGreaterThanOrEqual(3);
    expect(report.reasons.underlay['left-without-bridge']).toBeUndefined();
    expect(report.latencyUs.p50).toBeGreaterThanOrEqual(0);
    expect(report.latencyUs.max).toBeGreaterThanOrEqual(report.latencyUs.p99);
  });

  it('reconstructs the forwarding table and the diagnostics from the same pass', () => {
    const t = topology.result();
    expect(t.vteps.map((v) => v.ip)).toEqual(['10.3.1.156', '10.3.1.174']);
    for (const v of t.vteps) expect(v).toMatchObject({ ports: [4789], vnis: [expect.objectContaining({ vni: 10 })] });
    expect(t.vteps[0]?.vnis[0]?.ips).toContain('10.220.220.201');
    expect(t.vteps[1]?.vnis[0]?.ips).toContain('10.220.220.202');
    diagnostics.addCorrelation(report);
    const codes = diagnostics.result().map((d) => d.code);
    // 1400-byte DF pings fit; 3000-byte pings are fragmented inside the overlay, not outside
    expect(codes).not.toContain('outer-fragment');
    expect(codes).not.toContain('non-standard-port:4789');
    expect(codes).toContain('gso-underlay'); // the TCP transfer's 7106/14096-byte GSO frames
    expect(codes).toContain('broadcast-multicast');
    // a healthy lab: the VXLAN device's own IPv6 is information, not a warning
    expect(diagnostics.result().find((d) => d.code === 'unmatched-underlay:from-vxlan-device')).toMatchObject({ severity: 'info' });
  });
});
