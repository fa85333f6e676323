import { describe, expect, it } from 'vitest';
import { Correlator } from './correlator.js';
import { correlatePackets } from './files.js';
import { arpWhoHas, decoded, encap, GUEST1_MAC, KVM1, KVM2, KVM3, ping, tcpSegment, udpDatagram, BR1_MAC, BR2_MAC } from './synth.js';
import type { DecodedPacket } from '../decode/types.js';
import type { Match } from './types.js';

/** Numbers packets 1.. in the order given, each side on its own. */
function side(items: [Uint8Array, number, { len?: number; linkType?: number }?][]): DecodedPacket[] {
  return items.map(([data, ts, o], i) => decoded(data, i + 1, ts, o));
}

const T0 = 1_700_000_000_000_000; // µs

describe('Correlator: matching', () => {
  it('matches a frame leaving the node (bridge first, then eth1) as encapsulation', () => {
    const frame = ping(1);
    const r = correlatePackets(side([[encap(frame), T0 + 30]]), side([[frame, T0]]));
    expect(r).toMatchObject({ matched: 1, underlayOnly: 0, overlayOnly: 0, floodedFrames: 0, encap: 1, decap: 0 });
    const m = r.matches[0] as Match;
    expect(m).toMatchObject({
      direction: 'encap',
      deltaUs: 30,
      vni: 10,
      vtepSrc: KVM1,
      vtepDst: KVM2,
      flood: false,
      snaplenCut: false,
      frameLen: frame.length,
      comparedBytes: frame.length,
    });
    expect(m.underlay.n).toBe(1);
    expect(m.overlay.n).toBe(1);
    expect(r.latencyUs).toMatchObject({ p50: 30, p99: 30, max: 30 });
    expect(r.byVni['10']).toEqual({ matched: 1, underlayOnly: 0, packets: 1, bytes: frame.length + 50 });
    expect(r.byVtepPair).toEqual([{ src: KVM1, dst: KVM2, vni: 10, packets: 1, bytes: frame.length + 50, matched: 1 }]);
  });

  it('matches a frame arriving (eth1 first, then the bridge) as decapsulation', () => {
    const frame = ping(2, { from: BR2_MAC, to: BR1_MAC, srcIp: '10.220.220.202', dstIp: '10.220.220.201' });
    const r = correlatePackets(side([[encap(frame, { outerSrc: KVM2, outerDst: KVM1 }), T0]]), side([[frame, T0 + 12]]));
    expect(r).toMatchObject({ matched: 1, encap: 0, decap: 1 });
    expect(r.matches[0]).toMatchObject({ direction: 'decap', deltaUs: 12, vtepSrc: KVM2, vtepDst: KVM1 });
    expect(r.latencyByDirection.decap.count).toBe(1);
  });

  it('counts a broadcast sent to two VTEPs as one flooded frame matched twice, not as unmatched', () => {
    const arp = arpWhoHas('10.220.220.203');
    const r = correlatePackets(
      side([
        [encap(arp, { outerDst: KVM2 }), T0 + 20],
        [encap(arp, { outerDst: KVM3 }), T0 + 25],
      ]),
      side([[arp, T0]]),
    );
    expect(r).toMatchObject({ matched: 2, underlayOnly: 0, overlayOnly: 0, floodedFrames: 1 });
    expect(r.matches.map((m) => [m.underlay.n, m.overlay.n, m.vtepDst, m.flood])).toEqual([
      [1, 1, KVM2, true],
      [2, 1, KVM3, true],
    ]);
    expect(r.byVtepPair.map((p) => p.dst).sort()).toEqual([KVM2, KVM3]);
  });

  it('calls a second copy to the same VTEP a duplicate, not a flood', () => {
    const frame = ping(3);
    const r = correlatePackets(
      side([
        [encap(frame), T0 + 10],
        [encap(frame), T0 + 11],
      ]),
      side([[frame, T0]]),
    );
    expect(r).toMatchObject({ matched: 1, underlayOnly: 1, floodedFrames: 0 });
    expect(r.matches[0]?.flood).toBe(false);
    expect(r.unmatchedUnderlay).toEqual([
      expect.objectContaining({
        n: 2,
        code: 'duplicate',
        reason: expect.stringContaining('bridge frame #1 is already matched by underlay packet #1'),
      }),
    ]);
  });

  it('pairs identical frames repeated a second apart with their nearest sighting', () => {
    const arp = arpWhoHas(); // a retried ARP request is byte for byte the same
    const r = correlatePackets(
      side([
        [encap(arp), T0 + 40],
        [encap(arp), T0 + 1_000_040],
        [encap(arp), T0 + 2_000_040],
      ]),
      side([
        [arp, T0],
        [arp, T0 + 1_000_000],
        [arp, T0 + 2_000_000],
      ]),
    );
    expect(r).toMatchObject({ matched: 3, underlayOnly: 0, overlayOnly: 0, floodedFrames: 0 });
    expect(r.matches.map((m) => [m.underlay.n, m.overlay.n, m.deltaUs])).toEqual([
      [1, 1, 40],
      [2, 2, 40],
      [3, 3, 40],
    ]);
  });

  it('leaves a frame that never left the node unmatched, with a likely reason', () => {
    const local = ping(4, { from: BR1_MAC, to: GUEST1_MAC, dstIp: '10.220.220.10' });
    const out = ping(5);
    const r = correlatePackets(
      side([[encap(out), T0 + 100]]),
      side([
        [local, T0],
        [out, T0 + 50],
      ]),
    );
    expect(r).toMatchObject({ matched: 1, overlayOnly: 1, underlayOnly: 0 });
    expect(r.unmatchedOverlay).toEqual([
      { n: 1, tsUs: T0, code: 'local', reason: expect.stringContaining(`dst MAC ${GUEST1_MAC} is not behind any VTEP`) },
    ]);
    expect(r.reasons.overlay).toEqual({ local: 1 });
  });

  it('says when the dst MAC of a bridge-only frame sits behind a remote VTEP', () => {
    const reply = ping(6, { from: BR2_MAC, to: BR1_MAC, srcIp: '10.220.220.202', dstIp: '10.220.220.201' });
    const lost = ping(7); // to BR2_MAC, which the underlay shows behind kvm2: it should have gone out
    const r = correlatePackets(
      side([[encap(reply, { outerSrc: KVM2, outerDst: KVM1 }), T0]]),
      side([
        [reply, T0 + 10],
        [lost, T0 + 20],
      ]),
    );
    expect(r).toMatchObject({ matched: 1, overlayOnly: 1 });
    expect(r.unmatchedOverlay[0]).toMatchObject({
      n: 2,
      code: 'remote-dst',
      reason: expect.stringContaining(`dst MAC ${BR2_MAC} sits behind VTEP ${KVM2}`),
    });
  });

  it('reports another VNI with no match on the bridge as such', () => {
    const a = ping(8);
    const b = ping(9);
    const r = correlatePackets(
      side([
        [encap(a), T0 + 10],
        [encap(b, { vni: 20 }), T0 + 20],
      ]),
      side([[a, T0]]),
    );
    expect(r).toMatchObject({ matched: 1, underlayOnly: 1 });
    expect(r.byVni['20']).toEqual({ matched: 0, underlayOnly: 1, packets: 1, bytes: b.length + 50 });
    expect(r.unmatchedUnderlay[0]).toMatchObject({
      n: 2,
      vni: 20,
      code: 'vni-not-on-bridge',
      reason: expect.stringContaining('VNI 20 has no match at all'),
    });
    expect(r.reasons.underlay).toEqual({ 'vni-not-on-bridge': 1 });
  });

  it('matches at exactly the window and not one µs beyond, naming the reason', () => {
    const w = 500;
    const a = ping(10);
    const b = ping(11);
    const r = correlatePackets(
      side([
        [encap(a), T0 + w],
        [encap(b), T0 + 10_000 + w + 1],
      ]),
      side([
        [a, T0],
        [b, T0 + 10_000],
      ]),
      { windowUs: w },
    );
    expect(r).toMatchObject({ matched: 1, underlayOnly: 1, overlayOnly: 1 });
    expect(r.matches[0]?.deltaUs).toBe(w);
    expect(r.unmatchedUnderlay[0]).toMatchObject({
      n: 2,
      code: 'outside-window',
      reason: expect.stringContaining('(#2) 0.501 ms away: outside the 0.500 ms window'),
    });
  });

  it('lines up two nodes with the clock offset', () => {
    // the bridge capture comes from a node whose clock is 5 s behind
    const frames = [ping(12), ping(13), ping(14)];
    const under = side(frames.map((f, i) => [encap(f), T0 + i * 1000 + 80] as [Uint8Array, number]));
    const over = side(frames.map((f, i) => [f, T0 - 5_000_000 + i * 1000] as [Uint8Array, number]));
    expect(correlatePackets(under, over)).toMatchObject({ matched: 0, underlayOnly: 3, overlayOnly: 3 });
    const r = correlatePackets(under, over, { overlayClockOffsetUs: 5_000_000 });
    expect(r).toMatchObject({ matched: 3, underlayOnly: 0, overlayOnly: 0, overlayClockOffsetUs: 5_000_000 });
    expect(r.matches.map((m) => m.deltaUs)).toEqual([80, 80, 80]);
    expect(r.matches[0]?.overlay.tsUs).toBe(T0); // reported on the underlay's clock
  });

  it('compares over the common length when one side cut the frame (snaplen)', () => {
    const frame = ping(15, { size: 1000 });
    const outer = encap(frame);
    const cut = outer.subarray(0, 128); // tcpdump -s 128 on eth1: 78 bytes of the inner frame
    const r = correlatePackets(side([[cut, T0 + 20, { len: outer.length }]]), side([[frame, T0]]));
    expect(r).toMatchObject({ matched: 1, snaplenCut: 1 });
    expect(r.matches[0]).toMatchObject({ snaplenCut: true, comparedBytes: 78, frameLen: frame.length });
  });

  it('does not match frames that differ after the hashed prefix', () => {
    const a = ping(16, { size: 200 });
    const b = a.slice();
    b[150] = (b[150] as number) ^ 0xff;
    const r = correlatePackets(side([[encap(b), T0 + 10]]), side([[a, T0]]));
    expect(r).toMatchObject({ matched: 0, underlayOnly: 1, overlayOnly: 1 });
    expect(r.unmatchedUnderlay[0]?.code).toBe('differs');
  });

  it('matches frames that differ only in the TCP/UDP checksum (offload) and says so', () => {
    const onBridge = tcpSegment(1000, 0x1111);
    const onWire = tcpSegment(1000, 0x2222);
    const r = correlatePackets(side([[encap(onWire), T0 + 10]]), side([[onBridge, T0]]));
    expect(r).toMatchObject({ matched: 1, checksumDiffers: 1 });
    const u1 = udpDatagram(7);
    const u2 = u1.slice();
    u2[14 + 20 + 6] = 0xab; // UDP checksum, inside the hashed prefix
    expect(correlatePackets(side([[encap(u2), T0 + 10]]), side([[u1, T0]]))).toMatchObject({ matched: 1, checksumDiffers: 1 });
  });

  it('says when packets fall before or after the other capture', () => {
    const early = ping(17);
    const mid = ping(18);
    const late = ping(19);
    const r = correlatePackets(
      side([
        [encap(early), T0],
        [encap(mid), T0 + 5_000_010],
        [encap(late), T0 + 20_000_000],
      ]),
      side([[mid, T0 + 5_000_000]]),
    );
    expect(r).toMatchObject({ matched: 1, underlayOnly: 2 });
    expect(r.unmatchedUnderlay.map((u) => u.code)).toEqual(['before-overlay', 'after-overlay']);
    expect(r.reasons.underlay).toEqual({ 'before-overlay': 1, 'after-overlay': 1 });
  });

  it('says when bridge frames fall before or after the underlay capture, or it has no VXLAN', () => {
    const a = ping(40);
    const b = ping(41);
    const c = ping(42);
    const r = correlatePackets(
      side([[encap(b), T0 + 5_000_010]]),
      side([
        [a, T0],
        [b, T0 + 5_000_000],
        [c, T0 + 20_000_000],
      ]),
    );
    expect(r).toMatchObject({ matched: 1, overlayOnly: 2 });
    expect(r.unmatchedOverlay.map((u) => [u.n, u.code])).toEqual([
      [1, 'before-underlay'],
      [3, 'after-underlay'],
    ]);
    expect(r.reasons.overlay).toEqual({ 'before-underlay': 1, 'after-underlay': 1 });
    const none = correlatePackets(side([[ping(43, { srcIp: KVM1, dstIp: KVM2 }), T0]]), side([[a, T0]]));
    expect(none.unmatchedOverlay[0]).toMatchObject({ code: 'no-underlay', reason: expect.stringContaining('no VXLAN packet') });
  });

  it('calls a bridge broadcast that went to no VTEP unflooded', () => {
    const out = ping(44);
    const arp = arpWhoHas('10.220.220.77');
    const r = correlatePackets(
      side([[encap(out), T0 + 20]]),
      side([
        [out, T0],
        [arp, T0 + 10],
      ]),
    );
    expect(r.unmatchedOverlay).toEqual([
      expect.objectContaining({
        n: 2,
        code: 'bum-not-flooded',
        reason: expect.stringContaining(`broadcast/multicast frame from ${BR1_MAC} sent to no VTEP`),
      }),
    ]);
  });

  it('cannot compare a bridge capture that is not Ethernet and says why', () => {
    const r = correlatePackets(side([[encap(ping(20)), T0]]), side([[ping(20).subarray(14), T0, { linkType: 101 }]]));
    expect(r).toMatchObject({ matched: 0, overlayOnly: 1, underlayOnly: 1 });
    expect(r.unmatchedOverlay[0]).toMatchObject({ code: 'not-ethernet', reason: expect.stringContaining('link type 101 is not Ethernet') });
    expect(r.unmatchedUnderlay[0]?.code).toBe('no-overlay');
  });

  it('ignores underlay packets that are not VXLAN', () => {
    const sshLike = ping(21, { srcIp: KVM1, dstIp: KVM2 });
    const r = correlatePackets(side([[sshLike, T0]]), side([]));
    expect(r).toMatchObject({ underlayPackets: 1, underlayVxlan: 0, matched: 0, underlayOnly: 0, overlayOnly: 0 });
  });
});

describe('Correlator: direction', () => {
  const hostOut = ping(30); // sent by the bridge's own address: on the bridge first
  const guestOut = ping(31, { from: GUEST1_MAC, srcIp: '10.220.220.5' }); // forwarded: eth1 first, then the promiscuous bridge's copy
  const replyIn = ping(32, { from: BR2_MAC, to: BR1_MAC, srcIp: '10.220.220.202', dstIp: '10.220.220.201' });
  const under = (): DecodedPacket[] =>
    side([
      [encap(hostOut), T0 + 30],
      [encap(guestOut), T0 + 1000],
      [encap(replyIn, { outerSrc: KVM2, outerDst: KVM1 }), T0 + 2000],
    ]);
  const over = (): DecodedPacket[] =>
    side([
      [hostOut, T0],
      [guestOut, T0 + 1003],
      [replyIn, T0 + 2000],
    ]);

  it("goes by the bridge node's VTEP, learnt from frames seen on the bridge strictly first", () => {
    const r = correlatePackets(under(), over());
    expect(r.localVtep).toBe(KVM1);
    expect(r.matches.map((m) => [m.direction, m.deltaUs])).toEqual([
      ['encap', 30],
      ['encap', 3],
      ['decap', 0],
    ]);
    expect(r).toMatchObject({ encap: 2, decap: 1 });
  });

  it('takes the VTEP when given, and time order when nothing tells', () => {
    expect(correlatePackets(under(), over(), { localVtep: KVM2 }).matches.map((m) => m.direction)).toEqual(['decap', 'decap', 'encap']);
    // no bridge-first sighting at all: eth1 first or at the same instant reads as arriving
    const r = correlatePackets(under().slice(1), over().slice(1));
    expect(r.localVtep).toBeUndefined();
    expect(r.matches.map((m) => m.direction)).toEqual(['decap', 'decap']);
  });
});

describe('Correlator: which side of the underlay packet its bridge copy may be (issue 12)', () => {
  // kvm2 → kvm1 arrivals, seen on kvm1: decapsulated, so on the bridge at or after eth1
  const arriving = ping(50, { from: BR2_MAC, to: BR1_MAC, srcIp: '10.220.220.202', dstIp: '10.220.220.201' });
  const inArriving = (): Uint8Array => encap(arriving, { outerSrc: KVM2, outerDst: KVM1 });
  const leaving = ping(51);

  it('does not give a decapsulation the identical bridge frame seen before it, even when it is the nearest', () => {
    // three identical frames arrive; the bridge also shows a stray identical copy 1 ms before the
    // first (its eth1 packet not captured), and the first arrival reaches the bridge only 1.5 ms
    // late: the nearest copy of underlay #2 is before it. The third arrival is not delivered.
    const under = side([
      [encap(leaving), T0 + 30], // kvm1 sends: on the bridge first, so kvm1 is the local VTEP
      [inArriving(), T0 + 11_000],
      [inArriving(), T0 + 20_000],
      [inArriving(), T0 + 30_000],
    ]);
    const over = side([
      [leaving, T0],
      [arriving, T0 + 10_000], // the stray copy
      [arriving, T0 + 12_500],
      [arriving, T0 + 20_020],
    ]);
    for (const opts of [{}, { localVtep: KVM1 }]) {
      const r = correlatePackets(under, over, opts);
      expect(r.localVtep).toBe(KVM1);
      expect(r.matches.map((m) => [m.underlay.n, m.overlay.n, m.direction, m.deltaUs])).toEqual([
        [1, 1, 'encap', 30],
        [2, 3, 'decap', 1500],
        [3, 4, 'decap', 20],
      ]);
      expect(r).toMatchObject({ matched: 3, underlayOnly: 1, overlayOnly: 1 });
      expect(r.unmatchedUnderlay.map((u) => [u.n, u.code])).toEqual([[4, 'not-delivered']]);
      expect(r.unmatchedOverlay.map((o) => o.n)).toEqual([2]);
    }
  });

  it('does not give an encapsulation the identical bridge frame seen well after it', () => {
    // two identical frames leave; the first one's bridge copy was not captured: the second one's,
    // 500 µs after the first packet, is not the first's (it would make the second a "duplicate")
    const under = side([
      [encap(leaving), T0 + 1_000],
      [encap(leaving), T0 + 1_530],
    ]);
    const over = side([[leaving, T0 + 1_500]]);
    const r = correlatePackets(under, over, { localVtep: KVM1 });
    expect(r.matches.map((m) => [m.underlay.n, m.overlay.n, m.direction, m.deltaUs])).toEqual([[2, 1, 'encap', 30]]);
    expect(r.unmatchedUnderlay.map((u) => [u.n, u.code])).toEqual([[1, 'left-without-bridge']]);
  });

  it('keeps a bridge copy a little on the wrong side (same-clock jitter), and any side without the local VTEP or on another clock', () => {
    // eth1 timestamps an encapsulated frame a few µs before the promiscuous bridge's copy
    const late = correlatePackets(side([[encap(leaving), T0 + 1_000]]), side([[leaving, T0 + 1_005]]), { localVtep: KVM1 });
    expect(late.matches.map((m) => [m.direction, m.deltaUs])).toEqual([['encap', 5]]);
    // nothing tells the direction when it is decided: time order does not restrict (the local VTEP is
    // inferred from the pairs made, so this pair makes kvm2 the local VTEP: nothing says otherwise)
    const unknown = correlatePackets(side([[inArriving(), T0 + 11_000]]), side([[arriving, T0 + 10_000]]));
    expect(unknown.matches.map((m) => [m.direction, m.deltaUs])).toEqual([['encap', 1000]]);
    // two clocks (an overlay clock offset): order is only as good as the offset, so it does not restrict
    const offset = correlatePackets(side([[inArriving(), T0 + 11_000]]), side([[arriving, T0 + 9_000]]), {
      localVtep: KVM1,
      overlayClockOffsetUs: 1_000,
    });
    expect(offset.matches.map((m) => [m.direction, m.deltaUs])).toEqual([['decap', 1000]]);
  });
});

describe('Correlator: streaming and memory', () => {
  it('copes with the two sides fed apart by less than maxSkewUs', () => {
    const c = new Correlator({ windowUs: 1000 });
    const frames = Array.from({ length: 5 }, (_, i) => ping(100 + i));
    frames.forEach((f, i) => c.addUnderlay(decoded(encap(f), i + 1, T0 + i * 100 + 20)));
    frames.forEach((f, i) => c.addOverlay(decoded(f, i + 1, T0 + i * 100)));
    expect(c.finish()).toMatchObject({ matched: 5, underlayOnly: 0, overlayOnly: 0 });
  });

  it('keeps its maps small over 200k packets spread in time (the window evicts)', () => {
    const windowUs = 10_000;
    const c = new Correlator({ windowUs, maxListed: 100 });
    let maxState = 0;
    let matchedByCallback = 0;
    const c2 = new Correlator({ windowUs, maxListed: 100, onMatch: () => void matchedByCallback++ });
    for (let i = 0; i < 100_000; i++) {
      const t = T0 + i * 100; // 10,000 pps for 10 s, 100 in each window
      const f = udpDatagram(i & 0xffff, 40 + (i % 50));
      const o = decoded(f, i + 1, t);
      const u = decoded(encap(f), i + 1, t + 30);
      for (const k of [c, c2]) {
        k.addOverlay(o);
        k.addUnderlay(u);
      }
      if (i % 1000 === 999) {
        const s = c.sizes();
        maxState = Math.max(
          maxState,
          s.pendingUnderlay + s.liveOverlay + s.queuedUnderlay + s.queuedOverlay + s.heldMatches,
          s.overlayBuckets + s.underlayBuckets,
        );
      }
    }
    const r = c.finish();
    expect(r).toMatchObject({ matched: 100_000, underlayOnly: 0, overlayOnly: 0, listsCapped: true });
    expect(r.matches).toHaveLength(100);
    expect(maxState).toBeLessThan(500); // about 3 windows' worth, whatever the length of the capture
    expect(c2.finish().matched).toBe(100_000);
    expect(matchedByCallback).toBe(100_000);
  });

  it('keeps its queue bounded when one side is silent', () => {
    const c = new Correlator({ windowUs: 1000 });
    for (let i = 0; i < 10_000; i++) c.addUnderlay(decoded(encap(ping(i)), i + 1, T0 + i * 100));
    const s = c.sizes();
    expect(s.queuedUnderlay + s.pendingUnderlay).toBeLessThan(30);
    expect(c.finish()).toMatchObject({ underlayOnly: 10_000, reasons: { underlay: { 'no-overlay': 10_000 } } });
  });

  it('refuses input after finish', () => {
    const c = new Correlator();
    c.finish();
    expect(() => c.addOverlay(decoded(ping(1), 1, T0))).toThrow(/already called/);
  });
});

describe('bounded whatever the timestamps', () => {
  it('60,000 identical frames per side at one instant: bounded state, linear time, all matched or flooded/duplicate', async () => {
    const { Correlator, MAX_IN_FLIGHT } = await import('./correlator.js');
    const { decodePacket } = await import('../decode/packet.js');
    const f = await import('../synth/frames.js');
    const inner = f.ethernet(
      'ff:ff:ff:ff:ff:ff',
      '36:0f:4a:00:00:05',
      0x0806,
      f.arpRequest('36:0f:4a:00:00:05', '10.220.220.5', '10.220.220.6'),
    );
    const outer = f.vxlanPacket(inner);
    const raw = (data: Uint8Array) => ({
      tsSec: 1_764_140_000,
      tsNsec: 0,
      tsDigits: 6,
      caplen: data.length,
      len: data.length,
      linkType: 1,
      fileOffset: 0,
      data,
    });
    const pu = decodePacket(raw(outer), 1);
    const po = decodePacket(raw(inner), 1);
    const c = new Correlator();
    const t0 = Date.now();
    let maxHeld = 0;
    for (let i = 0; i < 60_000; i++) {
      c.addOverlay(po);
      c.addUnderlay(pu);
      if (i % 10_000 === 0) {
        const s = c.sizes();
        maxHeld = Math.max(maxHeld, s.queuedUnderlay + s.pendingUnderlay, s.queuedOverlay + s.liveOverlay);
      }
    }
    const r = c.finish();
    expect(maxHeld).toBeLessThanOrEqual(3 * MAX_IN_FLIGHT + 2);
    expect(r.matched + r.underlayOnly).toBe(60_000);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});

describe("the VXLAN device's own traffic and the local VTEP's MACs (issue 11, teaching wording)", () => {
  it("calls the VXLAN device's own MLD reports, router solicitations and DAD leaving the local VTEP what they are", async () => {
    const dev = await import('../../test/helpers/vxlan-device.js');
    const out = ping(40);
    const mld = dev.mldReport({ src: '::' });
    const rs = dev.routerSolicitation();
    const dad = dev.neighbourSolicitation();
    const guest = dev.multicastEcho(); // a guest's multicast that the bridge capture missed: not the device's
    const r = correlatePackets(
      side([
        [encap(out), T0 + 30],
        [encap(mld), T0 + 100],
        [encap(rs), T0 + 200],
        [encap(dad), T0 + 300],
        [encap(guest), T0 + 400],
      ]),
      side([[out, T0]]),
    );
    expect(r).toMatchObject({ matched: 1, underlayOnly: 4, localVtep: KVM1 });
    expect(r.reasons.underlay).toEqual({ 'from-vxlan-device': 3, 'left-without-bridge': 1 });
    expect(r.unmatchedUnderlay.map((u) => [u.n, u.code])).toEqual([
      [2, 'from-vxlan-device'],
      [3, 'from-vxlan-device'],
      [4, 'from-vxlan-device'],
      [5, 'left-without-bridge'],
    ]);
    expect(r.unmatchedUnderlay[0]?.reason).toContain('MLD report');
    expect(r.unmatchedUnderlay[1]?.reason).toContain('router solicitation');
    expect(r.unmatchedUnderlay[2]?.reason).toContain('duplicate address detection');
    for (const u of r.unmatchedUnderlay.slice(0, 3)) expect(u.reason).toContain('normal');
  });

  it('keeps the count and the list in step when the device speaks after the bridge capture ended, and with no match at all in the VNI', async () => {
    const dev = await import('../../test/helpers/vxlan-device.js');
    // a quiet, healthy lab: nothing but the device's own IPv6 on the underlay; the local VTEP is given
    const r = correlatePackets(
      side([
        [encap(dev.mldReport()), T0 + 100],
        [encap(dev.routerSolicitation()), T0 + 5_000_000],
      ]),
      side([[arpWhoHas('10.220.220.9', GUEST1_MAC, '10.220.220.5'), T0]]),
      { localVtep: KVM1 },
    );
    expect(r.reasons.underlay).toEqual({ 'from-vxlan-device': 2 });
    expect(r.unmatchedUnderlay.map((u) => u.code)).toEqual(['from-vxlan-device', 'from-vxlan-device']);
  });

  it("does not take MLD arriving from a remote VTEP for this node's device", async () => {
    const dev = await import('../../test/helpers/vxlan-device.js');
    const out = ping(41);
    const r = correlatePackets(
      side([
        [encap(out), T0 + 30],
        [encap(dev.mldReport(), { outerSrc: KVM2, outerDst: KVM1 }), T0 + 100],
      ]),
      side([[out, T0]]),
    );
    expect(r.reasons.underlay).toEqual({ 'not-delivered': 1 });
  });

  it('says a bridge-only frame to a MAC behind the local VTEP is for this node, not "behind no VTEP"', () => {
    // the guest on kvm1 pings kvm2 through the tunnel (so the underlay shows GUEST1_MAC behind kvm1),
    // then the kvm1 bridge pings that guest: it stays on the node
    const out = ping(42, { from: GUEST1_MAC, srcIp: '10.220.220.5' });
    const local = ping(43, { from: BR1_MAC, to: GUEST1_MAC, dstIp: '10.220.220.5' });
    const r = correlatePackets(
      side([[encap(out), T0 + 30]]),
      side([
        [out, T0],
        [local, T0 + 50],
      ]),
    );
    expect(r).toMatchObject({ matched: 1, overlayOnly: 1, localVtep: KVM1 });
    expect(r.reasons.overlay).toEqual({ local: 1 });
    const reason = r.unmatchedOverlay[0]?.reason ?? '';
    expect(reason).toContain(`dst MAC ${GUEST1_MAC} is behind this node's VTEP ${KVM1}: the destination is on this node`);
    expect(reason).not.toContain('not behind any VTEP');
  });
});
