/**
 * What the kernel's VXLAN interface sends by itself once it is up with IPv6 on (as seen in
 * fixtures/lab, e.g. kvm1-eth1.pcap #23, #33, #34): MLDv2 reports (behind a Hop-by-Hop header
 * with the Router Alert option), router solicitations and duplicate address detection, from the
 * device's own MAC to IPv6 multicast (33:33:…). Checksums are left at 0: nothing here checks them.
 */
import { concat, ethernet, ipv6, ipv6Addr } from '../../src/synth/frames.js';

/** The MAC of kvm1's vxlan10 in fixtures/lab, and its link-local address. */
export const DEVICE_MAC = '3a:c0:19:84:64:5c';
export const DEVICE_LL = 'fe80::38c0:19ff:fe84:645c';
const SOLICITED_NODE = 'ff02::1:ff84:645c';

/** MLDv2 report (ICMPv6 143) to ff02::16, or MLDv1 (131) to the group, through Hop-by-Hop. */
export function mldReport(o: { src?: string; v1?: boolean } = {}): Uint8Array {
  const hbh = Uint8Array.from([58, 0, 5, 2, 0, 0, 1, 0]); // next ICMPv6, Router Alert (MLD), PadN
  const icmp = o.v1
    ? concat(Uint8Array.from([131, 0, 0, 0, 0, 0, 0, 0]), ipv6Addr(SOLICITED_NODE))
    : concat(Uint8Array.from([143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0]), ipv6Addr(SOLICITED_NODE));
  const dst = o.v1 ? SOLICITED_NODE : 'ff02::16';
  const dstMac = o.v1 ? '33:33:ff:84:64:5c' : '33:33:00:00:00:16';
  return ethernet(dstMac, DEVICE_MAC, 0x86dd, ipv6({ src: o.src ?? DEVICE_LL, dst, nextHeader: 0, hopLimit: 1 }, concat(hbh, icmp)));
}

/** Router solicitation (ICMPv6 133) to all routers, with the source link-layer address option. */
export function routerSolicitation(): Uint8Array {
  const icmp = concat(
    Uint8Array.from([133, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
    Uint8Array.from(DEVICE_MAC.split(':').map((h) => parseInt(h, 16))),
  );
  return ethernet('33:33:00:00:00:02', DEVICE_MAC, 0x86dd, ipv6({ src: DEVICE_LL, dst: 'ff02::2', nextHeader: 58, hopLimit: 255 }, icmp));
}

/** Neighbour solicitation (ICMPv6 135) to the solicited-node group: from :: it is duplicate address detection. */
export function neighbourSolicitation(src = '::'): Uint8Array {
  const icmp = concat(Uint8Array.from([135, 0, 0, 0, 0, 0, 0, 0]), ipv6Addr(DEVICE_LL));
  return ethernet('33:33:ff:84:64:5c', DEVICE_MAC, 0x86dd, ipv6({ src, dst: SOLICITED_NODE, nextHeader: 58, hopLimit: 255 }, icmp));
}

/** A guest's ICMPv6 echo request to all nodes (ff02::1): IPv6 multicast, but not what the device sends by itself. */
export function multicastEcho(from = '52:54:00:aa:00:01'): Uint8Array {
  return ethernet(
    '33:33:00:00:00:01',
    from,
    0x86dd,
    ipv6({ src: 'fe80::5054:ff:feaa:1', dst: 'ff02::1', nextHeader: 58 }, Uint8Array.from([128, 0, 0, 0, 0, 1, 0, 1])),
  );
}
