/**
 * Likely reasons for a frame seen on one side only, in words a student can act on, and the
 * evidence in a frame's bytes that some reasons rest on.
 */
import { formatMac } from '../decode/format/addr.js';
import type { OverlayReasonCode, UnderlayReasonCode } from './types.js';

/** What a Linux VXLAN interface sends by itself once it is up with IPv6 on. */
export type DeviceTraffic = 'mld-report' | 'router-solicitation' | 'dad';

const ETHERTYPE_IPV6 = 0x86dd;
const IPV6_HEADER = 40;
const NH_HOP_BY_HOP = 0;
const NH_DEST_OPTIONS = 60;
const NH_ICMPV6 = 58;
const ICMPV6_MLD_REPORT = 131;
const ICMPV6_ROUTER_SOLICITATION = 133;
const ICMPV6_NEIGHBOR_SOLICITATION = 135;
const ICMPV6_MLDV2_REPORT = 143;

/**
 * The IPv6 a Linux interface sends by itself when it comes up — MLD reports (ICMPv6 131/143,
 * behind a Hop-by-Hop header), router solicitations (133) and duplicate address detection
 * (neighbour solicitation 135 from ::) — recognised in an Ethernet frame's captured bytes: an IPv6
 * multicast destination MAC (33:33:…), IPv6, ICMPv6 of one of these types. A kernel VXLAN
 * interface is such an interface: what it sends goes straight into the tunnel, never across the
 * bridge. Undefined for anything else, or when the bytes needed were not captured.
 */
export function vxlanDeviceTraffic(frame: Uint8Array): DeviceTraffic | undefined {
  const at = (i: number): number => (i < frame.length ? (frame[i] as number) : -1);
  if (at(0) !== 0x33 || at(1) !== 0x33) return undefined;
  if (at(12) * 256 + at(13) !== ETHERTYPE_IPV6 || at(14) >> 4 !== 6) return undefined;
  let next = at(14 + 6);
  let off = 14 + IPV6_HEADER;
  for (let hops = 0; (next === NH_HOP_BY_HOP || next === NH_DEST_OPTIONS) && hops < 2; hops++) {
    if (at(off + 1) < 0) return undefined;
    next = at(off);
    off += (at(off + 1) + 1) * 8;
  }
  if (next !== NH_ICMPV6) return undefined;
  const type = at(off);
  if (type === ICMPV6_MLDV2_REPORT || type === ICMPV6_MLD_REPORT) return 'mld-report';
  if (type === ICMPV6_ROUTER_SOLICITATION) return 'router-solicitation';
  if (type === ICMPV6_NEIGHBOR_SOLICITATION && frame.length >= 14 + 24) {
    for (let i = 14 + 8; i < 14 + 24; i++) if (frame[i] !== 0) return undefined;
    return 'dad'; // from the unspecified address ::
  }
  return undefined;
}

const DEVICE_TRAFFIC_WORDS: Record<DeviceTraffic, string> = {
  'mld-report': 'MLD report',
  'router-solicitation': 'router solicitation',
  dad: 'duplicate address detection (neighbour solicitation from ::)',
};

export interface ReasonDetail {
  vni?: number;
  /** The other side's packet number involved (duplicate, differs, outside-window). */
  other?: number;
  /** The packet that already claimed it (duplicate). */
  by?: number;
  /** Time apart in µs (outside-window). */
  apartUs?: number;
  windowUs?: number;
  mac?: number;
  vtep?: string;
  len?: number;
  linkType?: number;
  /** What the VXLAN device sent by itself (from-vxlan-device). */
  own?: DeviceTraffic;
}

function ms(us: number): string {
  const v = us / 1000;
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3);
}

function mac(m: number | undefined): string {
  return m === undefined || !Number.isFinite(m) ? '?' : formatMac(m);
}

export function underlayReason(code: UnderlayReasonCode, d: ReasonDetail): string {
  switch (code) {
    case 'fragment':
      return (
        `the outer IP packet is a first fragment (${d.len ?? '?'} bytes): ` +
        'the inner frame continues in later fragments — the underlay MTU is too small for it'
      );
    case 'not-captured':
      return 'no byte of the inner frame was captured (snaplen)';
    case 'outside-window':
      return (
        `the same frame is on the bridge capture (#${d.other}) ${ms(d.apartUs ?? 0)} ms away: ` +
        `outside the ${ms(d.windowUs ?? 0)} ms window (raise --window, ` +
        'or give the clock offset with --session)'
      );
    case 'duplicate':
      return `duplicate: bridge frame #${d.other} is already matched by underlay packet #${d.by} to the same VTEP`;
    case 'differs':
      return (
        `bridge frame #${d.other} has the same length and headers but different content: ` +
        'another frame (a retry with a new nonce or timestamp), not this one'
      );
    case 'before-overlay':
      return 'sent before the bridge capture started';
    case 'after-overlay':
      return 'sent after the bridge capture ended';
    case 'no-overlay':
      return 'the bridge capture has no Ethernet frame to compare with';
    case 'vni-not-on-bridge':
      return `VNI ${d.vni} has no match at all: the bridge capture does not carry VNI ${d.vni} (a frame for another bridge, or that bridge was not captured)`;
    case 'from-vxlan-device':
      return (
        `sent by this node's VXLAN device itself (VTEP ${d.vtep}): ` +
        `its own IPv6 ${d.own ? DEVICE_TRAFFIC_WORDS[d.own] : 'traffic'} — normal, ` +
        'such frames never cross the bridge'
      );
    case 'left-without-bridge':
      return (
        `left this node's VTEP ${d.vtep} without crossing the bridge: ` +
        'the bridge capture missed it, or something other than the bridge sent it into the tunnel ' +
        '(an address on the VXLAN device itself?)'
      );
    case 'not-delivered':
      return (
        `arrived from VTEP ${d.vtep} but never reached the bridge: ` +
        'dropped by the VXLAN device or the bridge (VNI not configured here, firewall, no bridge port), ' +
        'or the bridge capture missed it'
      );
    case 'no-match':
      return (
        `no frame with these bytes on the bridge within ±${ms(d.windowUs ?? 0)} ms: ` +
        'dropped in the node (firewall, bridge filtering), meant for another bridge, or lost by the capture'
      );
  }
}

export function overlayReason(code: OverlayReasonCode, d: ReasonDetail): string {
  switch (code) {
    case 'not-ethernet':
      return `the bridge capture's link type ${d.linkType} is not Ethernet: its frames cannot be compared (capture with -i vxlan_bridge, not -i any)`;
    case 'before-underlay':
      return 'seen before the underlay capture started';
    case 'after-underlay':
      return 'seen after the underlay capture ended';
    case 'no-underlay':
      return 'the underlay capture has no VXLAN packet (wrong interface, or VXLAN on a port not given with --vxlan-port?)';
    case 'bum-not-flooded':
      return (
        `broadcast/multicast frame from ${mac(d.mac)} sent to no VTEP: ` +
        'no flood entry for a peer (bridge fdb append 00:00:00:00:00:00 dev vxlanN dst PEER), ' +
        'or it stayed on the node'
      );
    case 'too-big':
      return `frame of ${d.len} bytes is larger than a 1500-byte underlay carries (inner MTU 1450 + 14): dropped at encapsulation`;
    case 'remote-dst':
      return `dst MAC ${mac(d.mac)} sits behind VTEP ${d.vtep} but this frame is not on the underlay: dropped before encapsulation, or lost by the capture`;
    case 'remote-src':
      return `src MAC ${mac(d.mac)} sits behind VTEP ${d.vtep} but this frame never arrived on the underlay capture`;
    case 'local':
      return d.vtep === undefined
        ? `dst MAC ${mac(d.mac)} is not behind any VTEP seen on the underlay: local traffic (guest ↔ bridge, or between local guests)`
        : `dst MAC ${mac(d.mac)} is behind this node's VTEP ${d.vtep}: ` +
            'the destination is on this node (guest ↔ bridge, or between local guests), ' +
            'so the frame does not enter the tunnel';
  }
}
