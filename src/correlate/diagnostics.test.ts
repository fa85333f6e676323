import { describe, expect, it } from 'vitest';
import { Diagnostics } from './diagnostics.js';
import { correlatePackets } from './files.js';
import { arpWhoHas, BR1_MAC, decoded, encap, GUEST1_MAC, ping } from './synth.js';
import { ipv4, udp, vxlanHeader, concat, ethernet } from '../synth/frames.js';

const T0 = 1_700_000_000_000_000;

describe('Diagnostics', () => {
  it('finds fragments, big frames, non-standard ports, the I flag clear and flooding', () => {
    const d = new Diagnostics();
    // underlay: a normal packet, one on 8472, one with the I flag clear, one first fragment
    d.add(decoded(encap(ping(1)), 1, T0), 'underlay');
    d.add(decoded(encap(ping(2), { dstPort: 8472 }), 2, T0 + 1), 'underlay');
    d.add(decoded(encap(ping(3), { flags: 0x00 }), 3, T0 + 2), 'underlay');
    const inner = ping(4, { size: 1472 });
    const frag = ethernet('52:54:00:00:01:74', '52:54:00:00:01:56', 0x0800,
      ipv4({ src: '10.3.1.156', dst: '10.3.1.174', proto: 17, flags: 1, totalLength: 20 + 8 + 8 + inner.length }, udp(40000, 4789, concat(vxlanHeader(10), inner)).subarray(0, 1480)));
    d.add(decoded(frag, 4, T0 + 3), 'underlay');
    // overlay: a 1514-byte frame (too big for a 1450 overlay MTU), a 9000-byte GSO frame, two broadcasts, one unicast
    d.add(decoded(ping(5, { size: 1472 }), 1, T0), 'overlay');
    d.add(decoded(ping(6, { size: 8958 }), 2, T0 + 1), 'overlay');
    d.add(decoded(arpWhoHas(), 3, T0 + 2), 'overlay');
    d.add(decoded(arpWhoHas('10.220.220.9'), 4, T0 + 3), 'overlay');
    d.add(decoded(ping(7), 5, T0 + 4), 'overlay');
    const byCode = Object.fromEntries(d.result().map((x) => [x.code, x]));
    expect(byCode['outer-fragment']).toMatchObject({ severity: 'error', side: 'underlay', count: 1, packets: [4] });
    expect(byCode['non-standard-port:8472']).toMatchObject({ severity: 'warning', count: 1, packets: [2], title: 'VXLAN on UDP port 8472 (1 packet(s))' });
    expect(byCode['i-flag-clear']).toMatchObject({ count: 1, packets: [3] });
    expect(byCode['too-big-for-overlay']).toMatchObject({ severity: 'error', side: 'overlay', count: 1, packets: [1] });
    expect(byCode['gso-overlay']).toMatchObject({ severity: 'info', count: 1, packets: [2] });
    expect(byCode['flooding']).toMatchObject({ count: 2, packets: [3, 4], title: "flooding: 2 broadcast/multicast frame(s), 40% of the bridge's frames" });
    expect(d.result()[0]?.severity).toBe('error');
  });

  it('turns a correlation into one diagnostic per reason', () => {
    const local = ping(1, { from: BR1_MAC, to: GUEST1_MAC });
    const arp = arpWhoHas();
    const r = correlatePackets(
      [decoded(encap(arp), 1, T0 + 10), decoded(encap(arp, { outerDst: '10.3.1.175' }), 2, T0 + 11), decoded(encap(ping(9), { vni: 20 }), 3, T0 + 12)],
      [decoded(arp, 1, T0), decoded(local, 2, T0 + 5)],
    );
    const d = new Diagnostics();
    d.addCorrelation(r);
    const byCode = Object.fromEntries(d.result().map((x) => [x.code, x]));
    expect(byCode['unmatched-underlay:vni-not-on-bridge']).toMatchObject({ severity: 'warning', count: 1, packets: [3], detail: expect.stringContaining('VNI 20') });
    expect(byCode['unmatched-overlay:local']).toMatchObject({ severity: 'info', count: 1, packets: [2] });
    expect(byCode['flooded']).toMatchObject({ count: 1, packets: [1, 1] });
  });
});
