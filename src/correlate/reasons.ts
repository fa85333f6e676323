/** Likely reasons for a frame seen on one side only, in words a student can act on. */
import { formatMac } from '../decode/format/addr.js';
import type { OverlayReasonCode, UnderlayReasonCode } from './types.js';

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
      return `the outer IP packet is a first fragment (${d.len ?? '?'} bytes): the inner frame continues in later fragments — the underlay MTU is too small for it`;
    case 'not-captured':
      return 'no byte of the inner frame was captured (snaplen)';
    case 'outside-window':
      return `the same frame is on the bridge capture (#${d.other}) ${ms(d.apartUs ?? 0)} ms away: outside the ${ms(d.windowUs ?? 0)} ms window (raise --window, or give the clock offset with --session)`;
    case 'duplicate':
      return `duplicate: bridge frame #${d.other} is already matched by underlay packet #${d.by} to the same VTEP`;
    case 'differs':
      return `bridge frame #${d.other} has the same length and headers but different content: another frame (a retry with a new nonce or timestamp), not this one`;
    case 'before-overlay':
      return 'sent before the bridge capture started';
    case 'after-overlay':
      return 'sent after the bridge capture ended';
    case 'no-overlay':
      return 'the bridge capture has no Ethernet frame to compare with';
    case 'vni-not-on-bridge':
      return `VNI ${d.vni} has no match at all: the bridge capture does not carry VNI ${d.vni} (a frame for another bridge, or that bridge was not captured)`;
    case 'left-without-bridge':
      return `left this node's VTEP ${d.vtep} without crossing the bridge: sent by the VXLAN device itself (its own IPv6 MLD reports, router solicitations, DAD), or the bridge capture missed it`;
    case 'not-delivered':
      return `arrived from VTEP ${d.vtep} but never reached the bridge: dropped by the VXLAN device or the bridge (VNI not configured here, firewall, no bridge port), or the bridge capture missed it`;
    case 'no-match':
      return `no frame with these bytes on the bridge within ±${ms(d.windowUs ?? 0)} ms: dropped in the node (firewall, bridge filtering), meant for another bridge, or lost by the capture`;
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
      return `broadcast/multicast frame from ${mac(d.mac)} sent to no VTEP: no flood entry for a peer (bridge fdb append 00:00:00:00:00:00 dev vxlanN dst PEER), or it stayed on the node`;
    case 'too-big':
      return `frame of ${d.len} bytes is larger than a 1500-byte underlay carries (inner MTU 1450 + 14): dropped at encapsulation`;
    case 'remote-dst':
      return `dst MAC ${mac(d.mac)} sits behind VTEP ${d.vtep} but this frame is not on the underlay: dropped before encapsulation, or lost by the capture`;
    case 'remote-src':
      return `src MAC ${mac(d.mac)} sits behind VTEP ${d.vtep} but this frame never arrived on the underlay capture`;
    case 'local':
      return `dst MAC ${mac(d.mac)} is not behind any VTEP seen on the underlay: local traffic (guest ↔ bridge, or between local guests)`;
  }
}
