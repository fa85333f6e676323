/**
 * Decoded packets of the class lab built from explained bytes (src/synth/frames.ts), for the
 * correlation tests: guest frames as a bridge capture sees them, and the same frames inside
 * VXLAN as eth1 sees them.
 */
import { arpRequest, ethernet, icmpEcho, ipv4, tcp, udp, vxlanPacket, type VxlanFrameOptions } from '../synth/frames.js';
import { decodePacket } from '../decode/packet.js';
import { createRegistry } from '../decode/registry.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';

export const KVM1 = '10.3.1.156';
export const KVM2 = '10.3.1.174';
export const KVM3 = '10.3.1.175';
/** MACs of the two bridges (kvm1, kvm2) and of a guest on kvm1. */
export const BR1_MAC = '02:00:0a:dc:dc:c9';
export const BR2_MAC = '02:00:0a:dc:dc:ca';
export const GUEST1_MAC = '52:54:00:aa:00:01';

const registry = createRegistry();

export function raw(data: Uint8Array, tsUs: number, o: { len?: number; linkType?: number } = {}): RawPacket {
  const sec = Math.floor(tsUs / 1e6);
  return {
    tsSec: sec,
    tsNsec: Math.round((tsUs - sec * 1e6) * 1000),
    tsDigits: 6,
    caplen: data.length,
    len: o.len ?? data.length,
    linkType: o.linkType ?? 1,
    fileOffset: 0,
    data,
  };
}

export function decoded(
  data: Uint8Array,
  n: number,
  tsUs: number,
  o: { len?: number; linkType?: number; vxlanPorts?: number[] } = {},
): DecodedPacket {
  const reg = o.vxlanPorts ? createRegistry({ vxlanPorts: o.vxlanPorts }) : registry;
  return decodePacket(raw(data, tsUs, o), n, { registry: reg });
}

/** An ICMP echo request between the two bridges (10.220.220.201 → .202), sequence `seq`. */
export function ping(seq: number, o: { from?: string; to?: string; srcIp?: string; dstIp?: string; size?: number } = {}): Uint8Array {
  const data = new Uint8Array(o.size ?? 56).map((_, i) => (i + seq) & 0xff);
  return ethernet(
    o.to ?? BR2_MAC,
    o.from ?? BR1_MAC,
    0x0800,
    ipv4(
      { src: o.srcIp ?? '10.220.220.201', dst: o.dstIp ?? '10.220.220.202', proto: 1, id: seq & 0xffff },
      icmpEcho(8, 0x1234, seq, data),
    ),
  );
}

/** A broadcast ARP request from the kvm1 bridge for `target`. */
export function arpWhoHas(target = '10.220.220.202', from = BR1_MAC, fromIp = '10.220.220.201'): Uint8Array {
  return ethernet('ff:ff:ff:ff:ff:ff', from, 0x0806, arpRequest(from, fromIp, target));
}

/** A TCP segment with a given checksum value written in (to model checksum offload). */
export function tcpSegment(seq: number, checksum: number, payload = new Uint8Array(100)): Uint8Array {
  const frame = ethernet(
    BR2_MAC,
    BR1_MAC,
    0x0800,
    ipv4(
      { src: '10.220.220.201', dst: '10.220.220.202', proto: 6, id: seq & 0xffff },
      tcp({ srcPort: 40000, dstPort: 5201, seq, flags: 0x18 }, payload),
    ),
  );
  frame[14 + 20 + 16] = checksum >> 8;
  frame[14 + 20 + 17] = checksum & 0xff;
  return frame;
}

/** A UDP datagram between the bridges. */
export function udpDatagram(id: number, size = 100): Uint8Array {
  return ethernet(
    BR2_MAC,
    BR1_MAC,
    0x0800,
    ipv4({ src: '10.220.220.201', dst: '10.220.220.202', proto: 17, id }, udp(5000, 5001, new Uint8Array(size).fill(id & 0xff))),
  );
}

/** `inner` in VXLAN from kvm1 to kvm2 (VNI 10, port 4789) unless told otherwise. */
export function encap(inner: Uint8Array, o: VxlanFrameOptions = {}): Uint8Array {
  return vxlanPacket(inner, { outerSrc: KVM1, outerDst: KVM2, vni: 10, ...o });
}
