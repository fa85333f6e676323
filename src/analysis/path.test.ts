import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followPaths, pathInputsFromDir, type PathBranch, type PathGroup, type PathReport } from './path.js';
import { PathScenario, type SynthNode } from './path/synth.js';
import { arpRequest, ethernet, icmpEcho, ipv4, tcp } from '../synth/frames.js';

const T0 = 1_764_140_000_000_000;
const KVM1: SynthNode = { name: 'kvm1', vtep: '10.3.1.156' };
const KVM2: SynthNode = { name: 'kvm2', vtep: '10.3.1.174' };
const KVM3: SynthNode = { name: 'kvm3', vtep: '10.3.1.175' };
const VM1 = '52:54:00:aa:00:01';
const VM2 = '52:54:00:aa:00:02';
const VM3 = '52:54:00:aa:00:03';

const root = mkdtempSync(path.join(tmpdir(), 'vxi-path-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function ping(seq: number, from = VM1, to = VM2, type: 8 | 0 = 8, size = 56): Uint8Array {
  const [src, dst] = from === VM1 ? ['10.220.220.5', '10.220.220.6'] : ['10.220.220.6', '10.220.220.5'];
  return ethernet(
    to,
    from,
    0x0800,
    ipv4({ src, dst, proto: 1, id: seq }, icmpEcho(type, 0x77, seq, new Uint8Array(size).fill(seq & 0xff))),
  );
}

function arp(from = VM1, fromIp = '10.220.220.5', target = '10.220.220.6'): Uint8Array {
  return ethernet('ff:ff:ff:ff:ff:ff', from, 0x0806, arpRequest(from, fromIp, target));
}

async function run(
  s: PathScenario,
  offsets: Record<string, number> | undefined = {},
  opts: Parameters<typeof followPaths>[1] = {},
): Promise<PathReport> {
  const dir = s.write(path.join(root, `s${++dirs}`), offsets);
  const { inputs } = await pathInputsFromDir(dir);
  return followPaths(inputs, opts);
}

function group(r: PathReport, src: string, dst: string): PathGroup {
  const g = r.paths.find((x) => x.src === src && x.dst === dst);
  if (!g) throw new Error(`no path ${src} → ${dst} in ${JSON.stringify(r.paths.map((x) => `${x.src}>${x.dst}`))}`);
  return g;
}

/** Five pings vm1 → vm2 and their replies, 1 ms apart; hop times 20/50/5 µs out, 30/40/7 µs back. */
function healthy(nodes: SynthNode[] = [KVM1, KVM2]): PathScenario {
  const s = new PathScenario(nodes);
  s.send(
    arp(),
    T0,
    'kvm1',
    nodes.slice(1).map((n) => n.name),
  );
  for (let i = 1; i <= 5; i++) {
    s.send(ping(i), T0 + i * 1000, 'kvm1', 'kvm2');
    s.send(ping(i, VM2, VM1, 0), T0 + i * 1000 + 500, 'kvm2', 'kvm1', { encapUs: 30, crossUs: 40, decapUs: 7 });
  }
  return s;
}

describe('path: a frame followed across two nodes', () => {
  it('a healthy exchange: every path completes, with exact per-hop times', async () => {
    const r = await run(healthy(), undefined, { follow: { node: 'kvm1', side: 'overlay', frame: 2 } });
    expect(r.nodes.map((n) => [n.name, n.vtep])).toEqual([
      ['kvm1', KVM1.vtep],
      ['kvm2', KVM2.vtep],
    ]);
    const out = group(r, 'kvm1', 'kvm2');
    expect(out).toMatchObject({
      vni: 10,
      sent: 6,
      delivered: 6,
      lost: 0,
      seen: { srcBridge: 6, srcUnderlay: 6, dstUnderlay: 6, dstBridge: 6 },
    });
    expect(out.latencyUs.encapsulation).toEqual({ count: 6, p50: 20, p99: 20, max: 20 });
    expect(out.latencyUs.underlay).toEqual({ count: 6, p50: 50, p99: 50, max: 50 });
    expect(out.latencyUs.decapsulation).toEqual({ count: 6, p50: 5, p99: 5, max: 5 });
    const back = group(r, 'kvm2', 'kvm1');
    expect(back).toMatchObject({ sent: 5, delivered: 5, lost: 0 });
    expect([back.latencyUs.encapsulation.p50, back.latencyUs.underlay.p50, back.latencyUs.decapsulation.p50]).toEqual([30, 40, 7]);
    expect(r.totals).toEqual({ sent: 11, delivered: 11, lost: 0, notCaptured: 0, checksumOffload: 0 });
    expect(r.incomplete).toEqual([]);
    // frame 2 of kvm1's bridge: the first ping; its four sightings, numbered as in each file
    const [b] = r.followed?.branches ?? [];
    expect(r.followed?.branches).toHaveLength(1);
    expect(b?.status).toBe('delivered');
    expect(b?.hopsUs).toEqual({ encapsulation: 20, underlay: 50, decapsulation: 5 });
    expect(b?.sightings.srcBridge).toMatchObject({ node: 'kvm1', file: 'kvm1-vxlan_bridge.pcap', frame: 2, tsUs: T0 + 1000 });
    expect(b?.sightings.srcUnderlay).toMatchObject({ node: 'kvm1', file: 'kvm1-eth1.pcap', frame: 2, tsUs: T0 + 1020 });
    expect(b?.sightings.dstUnderlay).toMatchObject({ node: 'kvm2', file: 'kvm2-eth1.pcap', frame: 2, tsUs: T0 + 1070 });
    expect(b?.sightings.dstBridge).toMatchObject({ node: 'kvm2', file: 'kvm2-vxlan_bridge.pcap', frame: 2, tsUs: T0 + 1075 });
  });

  it('a frame lost on the underlay: last seen on the source eth1', async () => {
    const s = healthy();
    s.send(ping(9), T0 + 3200, 'kvm1', 'kvm2', { drop: 'underlay' });
    const r = await run(s);
    const g = group(r, 'kvm1', 'kvm2');
    expect(g).toMatchObject({
      sent: 7,
      delivered: 6,
      lost: 1,
      lostAt: { underlay: { 'lost-underlay': 1 }, encapsulation: {}, decapsulation: {} },
    });
    expect(r.incomplete).toHaveLength(1);
    const b = r.incomplete[0] as PathBranch;
    expect(b).toMatchObject({ status: 'lost-underlay', loss: true, lastSeen: 'srcUnderlay', code: 'lost-underlay' });
    expect(b.sightings.dstUnderlay).toBeUndefined();
    expect(b.hopsUs).toEqual({ encapsulation: 20 });
    expect(b.reason).toMatch(/left kvm1's underlay \(kvm1-eth1\.pcap #\d+\) for VTEP 10\.3\.1\.174.*never seen on kvm2's underlay/);
    expect(group(r, 'kvm2', 'kvm1').lost).toBe(0);
  });

  it('a frame not decapsulated: the receiver is on another VNI', async () => {
    const s = new PathScenario([KVM1, KVM2]);
    // kvm2's VXLAN device has VNI 20: its own broadcasts go out on 20, kvm1's frames on 10 are not taken
    for (let i = 0; i < 3; i++)
      s.send(arp(VM2, '10.220.220.6', `10.220.220.${10 + i}`), T0 + i * 1000, 'kvm2', 'kvm1', { vni: 20, drop: 'decapsulation' });
    for (let i = 1; i <= 3; i++) s.send(ping(i), T0 + i * 1000 + 300, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    const r = await run(s);
    const out = group(r, 'kvm1', 'kvm2');
    expect(out).toMatchObject({ vni: 10, sent: 3, delivered: 0, lost: 3, lostAt: { decapsulation: { 'vni-mismatch': 3 } } });
    const back = group(r, 'kvm2', 'kvm1');
    expect(back).toMatchObject({ vni: 20, sent: 3, lost: 3, lostAt: { decapsulation: { 'vni-mismatch': 3 } } });
    const b = r.incomplete.find((x) => x.src === 'kvm1') as PathBranch;
    expect(b).toMatchObject({ status: 'not-decapsulated', lastSeen: 'dstUnderlay' });
    expect(b.reason).toContain('VNI 10 is not configured on kvm2, whose VXLAN device uses VNI 20');
    expect(r.nodes[1]?.sends).toEqual([{ vni: 20, port: 4789, packets: 3 }]);
  });

  it('a frame not decapsulated: the receiver listens on 8472, the sender sends to 4789', async () => {
    const s = new PathScenario([KVM1, KVM2]);
    for (let i = 0; i < 2; i++)
      s.send(arp(VM2, '10.220.220.6', `10.220.220.${10 + i}`), T0 + i * 1000, 'kvm2', 'kvm1', { port: 8472, drop: 'decapsulation' });
    for (let i = 1; i <= 2; i++) s.send(ping(i), T0 + i * 1000 + 300, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    const r = await run(s);
    expect(group(r, 'kvm1', 'kvm2').lostAt.decapsulation).toEqual({ 'port-mismatch': 2 });
    expect(group(r, 'kvm2', 'kvm1').lostAt.decapsulation).toEqual({ 'port-mismatch': 2 });
    expect(r.incomplete.find((x) => x.src === 'kvm1')?.reason).toContain(
      "on UDP port 4789 but was not decapsulated: kvm2's VXLAN device uses port 8472",
    );
  });

  it('frames never encapsulated: no FDB entry for a remote MAC, and too big for the underlay', async () => {
    const s = healthy();
    s.send(ping(20), T0 + 2200, 'kvm1', 'kvm2', { drop: 'encapsulation' });
    s.send(ping(21, VM1, VM2, 8, 1600), T0 + 2400, 'kvm1', 'kvm2', { drop: 'encapsulation' });
    s.bridge('kvm1', ping(22, VM1, '02:00:0a:dc:dc:c9'), T0 + 2600); // to kvm1's own bridge: stays on the node
    const r = await run(s);
    const g = group(r, 'kvm1', 'kvm2');
    expect(g).toMatchObject({ sent: 8, delivered: 6, lost: 2, lostAt: { encapsulation: { 'remote-dst': 1, 'too-big': 1 } } });
    for (const b of r.incomplete) expect(b).toMatchObject({ status: 'not-encapsulated', lastSeen: 'srcBridge', vni: 10 });
    expect(r.incomplete.find((b) => b.code === 'remote-dst')?.reason).toMatch(
      /52:54:00:aa:00:02 lives behind kvm2 \(VTEP 10\.3\.1\.174\), but this frame never entered the tunnel/,
    );
    expect(r.incomplete.find((b) => b.code === 'too-big')?.reason).toContain('larger than a 1500-byte underlay carries');
    expect(r.nodes[0]?.localFrames).toBe(1);
  });

  it('a flooded ARP request: one branch per destination VTEP', async () => {
    const s = healthy([KVM1, KVM2, KVM3]);
    s.send(ping(1, VM3, VM1), T0 + 100, 'kvm3', 'kvm1'); // kvm3's guest is known
    s.send(arp(VM1, '10.220.220.5', '10.220.220.7'), T0 + 8000, 'kvm1', ['kvm2', 'kvm3'], { crossUs: 60 });
    // kvm1's bridge: the first ARP, kvm3's ping, 5 pings and their 5 replies, then the flooded ARP: frame 13
    const r = await run(s, {}, { follow: { node: 'kvm1', side: 'overlay', frame: 13 } });
    expect(r.followed?.branches.map((b) => [b.dst, b.status, b.flood, b.hopsUs.underlay])).toEqual([
      ['kvm2', 'delivered', true, 60],
      ['kvm3', 'delivered', true, 60],
    ]);
    expect(r.followed?.branches.map((b) => b.sightings.srcBridge?.frame)).toEqual([13, 13]);
    expect(group(r, 'kvm1', 'kvm2')).toMatchObject({ sent: 7, delivered: 7, flooded: 2 });
    expect(group(r, 'kvm1', 'kvm3')).toMatchObject({ sent: 2, delivered: 2, flooded: 2 });
    expect(r.totals.lost).toBe(0);
  });

  it('a flood entry missing: flooded to kvm3, not to kvm2', async () => {
    const s = healthy([KVM1, KVM2, KVM3]);
    s.send(ping(1, VM3, VM1), T0 + 100, 'kvm3', 'kvm1');
    s.send(arp(VM1, '10.220.220.5', '10.220.220.7'), T0 + 8000, 'kvm1', ['kvm3']);
    const r = await run(s);
    expect(group(r, 'kvm1', 'kvm3')).toMatchObject({ sent: 2, delivered: 2 });
    expect(group(r, 'kvm1', 'kvm2')).toMatchObject({ sent: 7, delivered: 6, lost: 1 });
    expect(group(r, 'kvm1', 'kvm2').lostAt.encapsulation).toEqual({ 'bum-not-flooded': 1 });
    expect(r.incomplete).toHaveLength(1);
    expect(r.incomplete[0]?.reason).toContain('was flooded to 10.3.1.175 but not to VTEP 10.3.1.174: no flood entry for it');
  });

  it("checksum offload: the sender's captures carry a partial TCP checksum; delivered, not a loss", async () => {
    const s = healthy();
    const seg = (ck: number): Uint8Array => {
      const f = ethernet(
        VM2,
        VM1,
        0x0800,
        ipv4(
          { src: '10.220.220.5', dst: '10.220.220.6', proto: 6, id: 500 },
          tcp({ srcPort: 40000, dstPort: 5001, seq: 1, flags: 0x18 }, new Uint8Array(200).fill(7)),
        ),
      );
      f[14 + 20 + 16] = ck >> 8;
      f[14 + 20 + 17] = ck & 0xff;
      return f;
    };
    s.send(seg(0x1c46), T0 + 6000, 'kvm1', 'kvm2', { senderInner: seg(0xbeef) });
    // kvm2's bridge: the ARP, 5 pings and 5 replies, then the segment: frame 12
    const r = await run(s, {}, { follow: { node: 'kvm2', side: 'overlay', frame: 12 } });
    const g = group(r, 'kvm1', 'kvm2');
    expect(g).toMatchObject({ sent: 7, delivered: 7, lost: 0, checksumOffload: 1 });
    const b = r.followed?.branches[0];
    expect(b).toMatchObject({ status: 'delivered', loss: false, checksumOffload: true });
    expect(b?.notes.join(' ')).toContain('checksum offload');
    expect(r.totals.checksumOffload).toBe(1);
  });

  it("a clock offset: one node's timestamps shifted, the offset given in session.json, the same per-hop figures", async () => {
    const shift = 2_500_000; // kvm2's clock 2.5 s ahead: more than the 1 s window
    const strip = (r: PathReport): unknown => r.paths.map((g) => ({ ...g }));
    const base = await run(healthy(), { kvm1: 0, kvm2: 0 });
    const shifted = await run(healthy([KVM1, { ...KVM2, clockShiftUs: shift }]), { kvm1: 0, kvm2: shift });
    expect(strip(shifted)).toEqual(strip(base));
    expect(shifted.nodes[1]?.clockOffsetUs).toBe(shift);
    // without the offset the same captures do not line up: the test can fail
    const unaligned = await run(healthy([KVM1, { ...KVM2, clockShiftUs: shift }]), { kvm1: 0, kvm2: 0 });
    // on the reference clock kvm2's captures run 2.5 s after kvm1's: nothing lines up, no packet is paired
    expect(unaligned.totals).toMatchObject({ lost: 0, notCaptured: 11 });
    expect(group(unaligned, 'kvm1', 'kvm2')).toMatchObject({ notCaptured: { 'outside-underlay-capture': 6 }, sourceUnderlayMissed: 6 });
    expect(group(unaligned, 'kvm1', 'kvm2').latencyUs.underlay.count).toBe(0);
    expect(unaligned.notes.join(' ')).toContain('clocks are probably further apart than the ±1000 ms window');
    // a shift within the window without its offset: delivered, but the underlay crossing is off by the shift
    const small = await run(healthy([KVM1, { ...KVM2, clockShiftUs: 300 }]), { kvm1: 0, kvm2: 0 });
    expect(group(small, 'kvm1', 'kvm2').latencyUs.underlay.p50).toBe(350);
    expect(group(small, 'kvm2', 'kvm1').negativeUnderlay).toBe(5);
  });

  it("the VXLAN device's own frames start on the underlay and are delivered", async () => {
    const s = healthy();
    const mld = ethernet(
      '33:33:00:00:00:16',
      '8a:1c:00:00:00:01',
      0x86dd,
      Uint8Array.from([0x60, 0, 0, 0, 0, 8, 0, 1, ...new Array(32).fill(0), 58, 0, 5, 2, 0, 0, 1, 0, 143, 0, 0, 0, 0, 0, 0, 0]),
    );
    s.send(mld, T0 + 4100, 'kvm1', 'kvm2', { fromDevice: true });
    const r = await run(s);
    const g = group(r, 'kvm1', 'kvm2');
    expect(g).toMatchObject({ sent: 7, delivered: 7, fromVxlanDevice: 1, lost: 0 });
  });
});

describe('path on the lab recording (fixtures/lab, both nodes, clock offsets 0)', () => {
  it('every path completes or is explained', async () => {
    const { inputs } = await pathInputsFromDir(path.join(import.meta.dirname, '../../fixtures/lab'));
    const r = await followPaths(inputs);
    expect(r.nodes.map((n) => [n.name, n.vtep])).toEqual([
      ['kvm1', '10.3.1.156'],
      ['kvm2', '10.3.1.174'],
    ]);
    expect(r.paths.map((g) => `${g.src}>${g.dst}`)).toEqual(['kvm1>kvm2', 'kvm2>kvm1']);
    for (const g of r.paths) {
      // every VXLAN packet one node sent is a branch; each arrived and was decapsulated
      const sent = r.nodes.find((n) => n.name === g.src)?.sends.reduce((a, x) => a + x.packets, 0);
      expect(g.sent).toBe(sent);
      expect(g.delivered).toBe(g.sent);
      expect(g.seen.dstUnderlay).toBe(g.sent);
      expect(g.seen.dstBridge).toBe(g.sent);
      // the branches not seen on the source bridge are explained: the VXLAN device's own traffic, or a correlator reason
      expect(g.seen.srcBridge + g.fromVxlanDevice + g.sourceBridgeMissed).toBe(g.sent);
      expect(g.latencyUs.underlay.count).toBe(g.sent);
    }
    expect(r.totals.lost).toBe(0);
    expect(r.incomplete).toEqual([]);
    expect(r.work).toMatchObject({ forced: 0, lateLinks: 0 });
  });
});
