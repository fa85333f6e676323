/**
 * Pieces of the corner-shape packets that the tests comparing the fast path (readFacts) with the
 * full decoder build their lists from (test/pass-fast.test.ts, test/widx-index-facts.test.ts): each
 * test keeps its own list, with assertions about that list.
 */
import * as f from '../../src/synth/frames.js';

/** IPv4 + UDP 40000 → 5000 around `payload`. */
export function ip4(src: string, dst: string, payload: Uint8Array): Uint8Array {
  return f.ipv4({ src, dst, proto: 17, flags: 0 }, f.udp(40000, 5000, payload));
}

/** An inner Ethernet frame carrying IPv4. */
export function inner(src: string, payload: Uint8Array, dst = '02:00:00:00:00:02'): Uint8Array {
  return f.ethernet(dst, src, 0x0800, payload);
}

/** A broadcast ARP request tagged with VLAN 7. */
export function taggedArp(): Uint8Array {
  return f.ethernet(
    'ff:ff:ff:ff:ff:ff',
    '02:00:00:00:00:0a',
    0x8100,
    f.vlanTag(7, 0x0806, f.arpRequest('02:00:00:00:00:0a', '10.9.9.10', '10.9.9.1')),
  );
}

/** VXLAN (VNI 30) over an IPv6 underlay. */
export function v6outer(): Uint8Array {
  return f.vxlanPacket(inner('02:00:00:00:00:0c', ip4('10.9.9.12', '10.9.9.2', new Uint8Array(4))), {
    outerDstMac: '52:54:00:00:00:02',
    outerSrcMac: '52:54:00:00:00:01',
    outerSrc: 'fd10::1',
    outerDst: 'fd10::2',
    srcPort: 50000,
    vni: 30,
  });
}
