import { describe, expect, it } from 'vitest';
import { Diagnostics } from './diagnostics.js';
import { correlatePackets } from './files.js';
import { arpWhoHas, BR1_MAC, decoded, encap, GUEST1_MAC, ping } from './synth.js';
import { ipv4, udp, vxlanHeader, concat, ethernet } from '../synth/frames.js';

const T0 = 1_700_000_000_000_000;

describe('Diagnostics', () => {
  it('finds fragments, big frames, non-standard ports, the I flag clear and broadcast/multicast volume', () => {
    const d = new Diagnostics();
    // underlay: a normal packet, one on 8472, one with the I flag clear, one first fragment
    d.add(decoded(encap(ping(1)), 1, T0), 'underlay');
    d.add(decoded(encap(ping(2), { dstPort: 8472 }), 2, T0 + 1), 'underlay');
    d.add(decoded(encap(ping(3), { flags: 0x00 }), 3, T0 + 2), 'underlay');
    const inner = ping(4, { size: 1472 });
    const frag = ethernet(
      '52:54:00:00:01:74',
      '52:54:00:00:01:56',
      0x0800,
      ipv4(
        { src: '10.3.1.156', dst: '10.3.1.174', proto: 17, flags: 1, totalLength: 20 + 8 + 8 + inner.length },
        udp(40000, 4789, concat(vxlanHeader(10), inner)).subarray(0, 1480),
      ),
    );
    d.add(decoded(frag, 4, T0 + 3), 'underlay');
    // overlay: a 1514-byte frame (too big for a 1450 overlay MTU), a 9000-byte GSO frame, two broadcasts, one unicast
    d.add(decoded(ping(5, { size: 1472 }), 1, T0), 'overlay');
    d.add(decoded(ping(6, { size: 8958 }), 2, T0 + 1), 'overlay');
    d.add(decoded(arpWhoHas(), 3, T0 + 2), 'overlay');
    d.add(decoded(arpWhoHas('10.220.220.9'), 4, T0 + 3), 'overlay');
    d.add(decoded(ping(7), 5, T0 + 4), 'overlay');
    const byCode = Object.fromEntries(d.result().map((x) => [x.code, x]));
    expect(byCode['outer-fragment']).toMatchObject({ severity: 'error', side: 'underlay', count: 1, packets: [4] });
    expect(byCode['non-standard-port:8472']).toMatchObject({
      severity: 'warning',
      count: 1,
      packets: [2],
      title: 'VXLAN on UDP port 8472 (1 packet(s))',
    });
    expect(byCode['i-flag-clear']).toMatchObject({ count: 1, packets: [3] });
    expect(byCode['too-big-for-overlay']).toMatchObject({ severity: 'error', side: 'overlay', count: 1, packets: [1] });
    expect(byCode['gso-overlay']).toMatchObject({ severity: 'info', count: 1, packets: [2] });
    expect(byCode['broadcast-multicast']).toMatchObject({
      severity: 'info',
      count: 2,
      packets: [3, 4],
      title: '2 broadcast/multicast frame(s) on the bridge, 40% of its frames',
    });
    // "flooded" means one thing: one bridge frame sent to several VTEPs (head-end replication)
    expect(byCode.flooding).toBeUndefined();
    for (const x of d.result()) expect(`${x.title} ${x.detail}`).not.toMatch(/flooding/i);
    expect(d.result()[0]?.severity).toBe('error');
  });

  it('turns a correlation into one diagnostic per reason', () => {
    const local = ping(1, { from: BR1_MAC, to: GUEST1_MAC });
    const arp = arpWhoHas();
    const r = correlatePackets(
      [
        decoded(encap(arp), 1, T0 + 10),
        decoded(encap(arp, { outerDst: '10.3.1.175' }), 2, T0 + 11),
        decoded(encap(ping(9), { vni: 20 }), 3, T0 + 12),
      ],
      [decoded(arp, 1, T0), decoded(local, 2, T0 + 5)],
    );
    const d = new Diagnostics();
    d.addCorrelation(r);
    const byCode = Object.fromEntries(d.result().map((x) => [x.code, x]));
    expect(byCode['unmatched-underlay:vni-not-on-bridge']).toMatchObject({
      severity: 'warning',
      count: 1,
      packets: [3],
      detail: expect.stringContaining('VNI 20'),
    });
    expect(byCode['unmatched-overlay:local']).toMatchObject({ severity: 'info', count: 1, packets: [2] });
    expect(byCode.flooded).toMatchObject({ count: 1, packets: [1, 1] });
  });

  it("makes the VXLAN device's own IPv6 information, not a warning, and says it is normal", async () => {
    const dev = await import('../../test/helpers/vxlan-device.js');
    const out = ping(1);
    const r = correlatePackets(
      [
        decoded(encap(out), 1, T0 + 30),
        decoded(encap(dev.mldReport()), 2, T0 + 100),
        decoded(encap(dev.routerSolicitation()), 3, T0 + 200),
        decoded(encap(dev.multicastEcho()), 4, T0 + 300),
      ],
      [decoded(out, 1, T0)],
    );
    const d = new Diagnostics();
    d.addCorrelation(r);
    const byCode = Object.fromEntries(d.result().map((x) => [x.code, x]));
    const own = byCode['unmatched-underlay:from-vxlan-device'];
    expect(own).toMatchObject({ severity: 'info', side: 'underlay', count: 2, packets: [2, 3] });
    expect(own?.title).toBe('2 packet(s) sent by the VXLAN device itself (IPv6 MLD reports, router solicitations, DAD): normal');
    expect(own?.detail).toMatch(/never cross the bridge/);
    // a guest's multicast that left without crossing the bridge stays a warning
    expect(byCode['unmatched-underlay:left-without-bridge']).toMatchObject({ severity: 'warning', count: 1, packets: [4] });
  });

  it('names the head-end replication "flooded" and nothing else', () => {
    const arp = arpWhoHas('10.220.220.203');
    const r = correlatePackets(
      [decoded(encap(arp), 1, T0 + 10), decoded(encap(arp, { outerDst: '10.3.1.175' }), 2, T0 + 11)],
      [decoded(arp, 1, T0)],
    );
    const d = new Diagnostics();
    d.add(decoded(arp, 1, T0), 'overlay');
    d.addCorrelation(r);
    const byCode = Object.fromEntries(d.result().map((x) => [x.code, x]));
    expect(byCode.flooded?.title).toBe('1 bridge frame(s) flooded to several VTEPs');
    expect(byCode['broadcast-multicast']?.title).not.toMatch(/flood/i);
  });
});
