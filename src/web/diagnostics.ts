/**
 * Diagnostics from the capture indexes alone: for a node with one capture, or when the
 * correlation library could not run (the built-in matcher's results). The library's own
 * Diagnostics are used whenever it correlated the node (see analysis.ts).
 */
import type { Diagnostic, NodeAnalysis } from './analysis.js';
import { FLAG, isGroupMac, type CaptureIndex } from './capture-index.js';

/** The underlay MTU Linux assumes by default; VXLAN over IPv4 adds 50 bytes. */
const UNDERLAY_MTU = 1500;
const VXLAN_IPV4_OVERHEAD = 50;
const MAX_PACKETS_LISTED = 50;

function positions(index: CaptureIndex, test: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < index.count; i++) if (test(i)) out.push(i + 1);
  return out;
}

/** Diagnostics from the indexes alone: one capture of a node, or the built-in matcher. */
export function diagnoseFromIndexes(a: NodeAnalysis, underlay: CaptureIndex | undefined, overlay: CaptureIndex | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const node = a.node;
  const add = (d: Diagnostic): void => {
    out.push({ ...d, node, ...(d.packets ? { packets: d.packets.slice(0, MAX_PACKETS_LISTED) } : {}) });
  };
  if (underlay && overlay) {
    if (a.underlayOnly > 0) {
      const reasons = countReasons(a.unmatchedUnderlay);
      add({ severity: 'warning', side: 'underlay', title: `${a.underlayOnly} VXLAN packet(s) on the underlay with no frame on the bridge`, detail: `Likely: ${reasons}.`, packets: a.unmatchedUnderlay.map((x) => x.n) });
    }
    if (a.overlayOnly > 0) {
      const reasons = countReasons(a.unmatchedOverlay);
      add({ severity: 'info', side: 'overlay', title: `${a.overlayOnly} bridge frame(s) never left the node`, detail: `Likely: ${reasons}. Traffic between the bridge and a local guest stays local; a frame for a remote guest that is here but not on the underlay points at the VXLAN device (not attached to the bridge, or no remote VTEP in its forwarding table).`, packets: a.unmatchedOverlay.map((x) => x.n) });
    }
    if (a.matched > 0 && a.underlayOnly === 0 && a.overlayOnly === 0) add(allAccountedFor(a.matched));
    if (a.floodedFrames > 0) {
      add({ severity: 'info', side: 'overlay', title: `${a.floodedFrames} bridge frame(s) flooded to several VTEPs`, detail: 'Broadcast, unknown-unicast and multicast (BUM) frames are copied to every remote VTEP in the forwarding table (head-end replication): one copy per VTEP on the underlay.' });
    }
  }
  if (underlay) {
    const frags = positions(underlay, (i) => ((underlay.flags[i] as number) & FLAG.outerFragment) !== 0);
    if (frags.length) add({ severity: 'error', side: 'underlay', title: `${frags.length} fragmented outer packet(s)`, detail: `The underlay fragments VXLAN packets: the bridge MTU is too large for the underlay. VXLAN over IPv4 adds ${VXLAN_IPV4_OVERHEAD} bytes: with an underlay MTU of ${UNDERLAY_MTU}, set the bridge and guests to ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD} (ip link set dev vxlan_bridge mtu ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD}).`, packets: frags });
    const ports = new Map<number, number>();
    for (let i = 0; i < underlay.count; i++) if (((underlay.flags[i] as number) & FLAG.nonStandardPort) !== 0) ports.set(underlay.tunnelPort[i] as number, (ports.get(underlay.tunnelPort[i] as number) ?? 0) + 1);
    for (const [port, count] of ports) {
      add({ severity: 'warning', side: 'underlay', title: `VXLAN on UDP port ${port} (${count} packet(s))`, detail: port === 8472 ? 'Port 8472 is the Linux kernel\'s historical default (ip link add … type vxlan without dstport). The IANA port is 4789: the two ends must agree, and firewalls usually open 4789 only.' : `The IANA VXLAN port is 4789; ${port} works only if both VTEPs and every firewall on the path agree.`, packets: positions(underlay, (i) => underlay.tunnelPort[i] === port) });
    }
    const bad = positions(underlay, (i) => ((underlay.flags[i] as number) & (FLAG.truncated | FLAG.malformed)) !== 0);
    if (bad.length) add({ severity: 'warning', side: 'underlay', title: `${bad.length} truncated or malformed packet(s)`, detail: 'The capture cut them (snaplen: capture with tcpdump -s 0) or they break a protocol rule: the packet detail says which.', packets: bad });
    const warn = positions(underlay, (i) => ((underlay.flags[i] as number) & FLAG.warning) !== 0);
    if (warn.length) add({ severity: 'info', side: 'underlay', title: `${warn.length} packet(s) with protocol warnings`, detail: 'For example a VXLAN header with the I flag clear: decoded anyway, as tcpdump and Wireshark do. The packet detail shows the warning.', packets: warn });
  }
  if (overlay) {
    const limit = UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD + 14;
    const bigLocal = positions(overlay, (i) => (overlay.wireLen[i] as number) > limit && overlay.match[i] === 0);
    const bigCarried = positions(overlay, (i) => (overlay.wireLen[i] as number) > limit && overlay.match[i] !== 0);
    if (bigLocal.length) add({ severity: 'warning', side: 'overlay', title: `${bigLocal.length} bridge frame(s) too big for the overlay MTU and not seen on the underlay`, detail: `Frames longer than ${limit} bytes (an IP packet over ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD}) do not fit a ${UNDERLAY_MTU}-byte underlay once ${VXLAN_IPV4_OVERHEAD} bytes of VXLAN are added: unless they stay on the node, they get dropped. Lower the guests' MTU to ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD}.`, packets: bigLocal });
    if (bigCarried.length) add({ severity: 'info', side: 'overlay', title: `${bigCarried.length} bridge frame(s) larger than the MTU, carried anyway: offload super-frames`, detail: `These frames (over ${limit} bytes) were captured before segmentation: with GSO/TSO and GRO the kernel hands tcpdump one large frame and the NIC or the stack cuts it into MTU-sized packets later, so the same super-frame appears encapsulated on the underlay. Not an MTU problem; turn offloads off (ethtool -K DEV gso off gro off tso off) to see wire-sized packets.`, packets: bigCarried });
    const bum = positions(overlay, (i) => isGroupMac(overlay.macDst[i] as number));
    if (bum.length && overlay.count) {
      const pct = Math.round((bum.length / overlay.count) * 1000) / 10;
      add({ severity: pct > 30 ? 'warning' : 'info', side: 'overlay', title: `flooding: ${bum.length} broadcast/multicast frame(s), ${pct}% of the bridge's frames`, detail: 'ARP requests, IPv6 neighbour discovery and multicast are sent to every VTEP. A high share on a quiet network is normal (discovery); on a busy one it points at a forwarding table that does not learn.', packets: bum });
    }
  }
  return out;
}

export function allAccountedFor(matched: number): Diagnostic {
  return { severity: 'info', code: 'all-matched', title: 'every frame is accounted for', detail: `All ${matched} VXLAN packets match a bridge frame, and every bridge frame went out or came in through the tunnel.` };
}

function countReasons(list: { reason: string }[]): string {
  const counts = new Map<string, number>();
  for (const x of list) counts.set(x.reason, (counts.get(x.reason) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, c]) => `${r} (${c})`).join('; ');
}
