/**
 * What is worth telling about a pair of captures: fragmented outer packets, frames too big for
 * the overlay MTU, VXLAN on a non-standard port, the I flag clear, the share of broadcast and
 * multicast frames on the bridge, and the unmatched frames of a correlation with their likely
 * reasons. Streaming: add each packet, then `result()`. Each diagnostic lists the first
 * MAX_PACKETS packet numbers.
 *
 * Words keep one meaning: *flooded* is a bridge frame sent to several VTEPs (head-end
 * replication, the correlator's `flood`); the share of broadcast/multicast frames is not called
 * flooding.
 */
import type { DecodedPacket } from '../decode/types.js';
import { isGroupMac, outerVxlan } from './frame.js';
import type { CorrelationReport, Unmatched } from './types.js';

export const MAX_PACKETS = 50;
export const IANA_VXLAN_PORT = 4789;
const UNDERLAY_MTU = 1500;
const VXLAN_IPV4_OVERHEAD = 50;
/** Largest bridge frame that fits the overlay: an IP packet of 1450 bytes + 14 of Ethernet. */
export const OVERLAY_FRAME_LIMIT = UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD + 14;

export type Severity = 'info' | 'warning' | 'error';

export interface Diagnostic {
  /** Stable identifier, e.g. 'outer-fragment', 'non-standard-port', 'unmatched-underlay:no-match'. */
  code: string;
  severity: Severity;
  title: string;
  detail: string;
  side?: 'underlay' | 'overlay';
  count: number;
  /** The first packet numbers concerned (in that side's file). */
  packets: number[];
}

interface Acc {
  code: string;
  severity: Severity;
  side: 'underlay' | 'overlay';
  count: number;
  packets: number[];
  title: (count: number) => string;
  detail: string;
}

/**
 * What the diagnostics look at in one packet, as numbers: read from a decoded packet
 * (diagnosticSampleOf), or straight from the bytes by the one pass (src/analysis/fast-samples.ts).
 * One reused object: nothing per packet.
 */
export class DiagnosticSample {
  /** The packet's number in its side. */
  n = 0;
  malformed = false;
  truncated = false;
  /** The first outer IP header at depth 0 is a fragment: 4 (IPv4, carrying UDP), 6 (IPv6 fragment header), else 0. */
  outerFragment = 0;
  /** A VXLAN packet (the tunnel at depth 0 behind IP and UDP), its UDP destination port and flags. */
  vxlan = false;
  vxlanPort = 0;
  vxlanFlags = 0;
  /** Bytes on the wire (the longer of the original and captured lengths). */
  wireLen = 0;
  /** An Ethernet record (bridge side), whose destination is a group MAC, with an 802.1Q tag at depth 0. */
  ethernet = false;
  groupDst = false;
  tagged = false;
}

/** Fills `s` from a decoded packet of `side`. */
export function diagnosticSampleOf(p: DecodedPacket, side: 'underlay' | 'overlay', s: DiagnosticSample): DiagnosticSample {
  s.n = p.n;
  s.malformed = p.error !== undefined;
  s.truncated = p.truncated === true;
  s.wireLen = Math.max(p.raw.len, p.raw.data.length);
  s.outerFragment = 0;
  s.vxlan = false;
  s.ethernet = false;
  if (side === 'underlay') {
    const outerIp = p.layers.find((l) => l.depth === 0 && (l.type === 'ipv4' || l.type === 'ipv6'));
    if (outerIp?.type === 'ipv4' && outerIp.proto === 17 && ((outerIp.flags & 1) !== 0 || outerIp.fragOffset !== 0)) s.outerFragment = 4;
    else if (outerIp?.type === 'ipv6' && outerIp.fragment) s.outerFragment = 6;
    const outer = outerVxlan(p);
    if (outer) {
      s.vxlan = true;
      s.vxlanPort = outer.udp.dstPort;
      s.vxlanFlags = outer.vxlan.flags;
    }
  } else if (p.raw.linkType === 1) {
    s.ethernet = true;
    const eth = p.layers.find((l) => l.type === 'eth' && l.depth === 0);
    s.groupDst = eth?.type === 'eth' && isGroupMac(eth.dst);
    s.tagged = p.layers.some((l) => l.type === 'vlan' && l.depth === 0);
  }
  return s;
}

export class Diagnostics {
  private readonly acc = new Map<string, Acc>();
  private overlayFrames = 0;
  private overlayBum = 0;
  private readonly bumPackets: number[] = [];
  private report: CorrelationReport | undefined;

  private readonly sample = new DiagnosticSample();

  add(p: DecodedPacket, side: 'underlay' | 'overlay'): void {
    this.addSample(diagnosticSampleOf(p, side, this.sample), side);
  }

  /** A packet as a sample (from a decoded packet, or read from its bytes by the one pass). */
  addSample(s: DiagnosticSample, side: 'underlay' | 'overlay'): void {
    if (side === 'underlay') this.addUnderlay(s);
    else this.addOverlay(s);
    if (s.malformed)
      this.note(
        side,
        'malformed',
        'warning',
        s.n,
        (c) => `${c} malformed packet(s) on the ${side}`,
        'Their bytes break a protocol rule: decoding stopped there (the packet detail says where).',
      );
    else if (s.truncated)
      this.note(
        side,
        'truncated',
        'info',
        s.n,
        (c) => `${c} packet(s) cut by the snaplen on the ${side}`,
        'The capture kept only the first bytes of each packet: capture with tcpdump -s 0 to compare whole frames.',
      );
  }

  /** Adds the unmatched frames and floods of a correlation. */
  addCorrelation(report: CorrelationReport): void {
    this.report = report;
  }

  private note(
    side: 'underlay' | 'overlay',
    code: string,
    severity: Severity,
    n: number,
    title: (count: number) => string,
    detail: string,
  ): void {
    let a = this.acc.get(code);
    if (!a) this.acc.set(code, (a = { code, severity, side, count: 0, packets: [], title, detail }));
    a.count += 1;
    if (a.packets.length < MAX_PACKETS) a.packets.push(n);
  }

  private addUnderlay(s: DiagnosticSample): void {
    if (s.outerFragment === 4) {
      this.note(
        'underlay',
        'outer-fragment',
        'error',
        s.n,
        (c) => `${c} fragmented outer packet(s)`,
        'The underlay fragments VXLAN packets: the bridge MTU is too large for the underlay. VXLAN over ' +
          `IPv4 adds ${VXLAN_IPV4_OVERHEAD} bytes: with an underlay MTU of ${UNDERLAY_MTU}, ` +
          `give the bridge and the guests an MTU of ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD} ` +
          `(ip link set dev vxlan_bridge mtu ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD}).`,
      );
    } else if (s.outerFragment === 6) {
      this.note(
        'underlay',
        'outer-fragment',
        'error',
        s.n,
        (c) => `${c} fragmented outer packet(s)`,
        `The underlay fragments VXLAN packets (IPv6 fragment header): the bridge MTU is too large; VXLAN over IPv6 adds 70 bytes.`,
      );
    }
    if (!s.vxlan) return;
    const port = s.vxlanPort;
    if (port !== IANA_VXLAN_PORT) {
      this.note(
        'underlay',
        `non-standard-port:${port}`,
        'warning',
        s.n,
        (c) => `VXLAN on UDP port ${port} (${c} packet(s))`,
        port === 8472
          ? "Port 8472 is the Linux kernel's historical default " +
              '(ip link add … type vxlan without dstport). The IANA port is 4789: ' +
              'both ends must agree, and firewalls usually open 4789 only (add dstport 4789).'
          : `The IANA VXLAN port is 4789; ${port} works only if both VTEPs and every firewall on the path agree.`,
      );
    }
    if ((s.vxlanFlags & 0x08) === 0) {
      this.note(
        'underlay',
        'i-flag-clear',
        'warning',
        s.n,
        (c) => `${c} VXLAN header(s) with the I flag clear`,
        'RFC 7348 requires the I flag (0x08) so that the VNI is valid; ' +
          'a receiving Linux VTEP drops these packets. Decoded anyway, as tcpdump and Wireshark do.',
      );
    }
    if (s.wireLen > UNDERLAY_MTU + 14) {
      this.note(
        'underlay',
        'gso-underlay',
        'info',
        s.n,
        (c) => `${c} VXLAN packet(s) larger than a ${UNDERLAY_MTU}-byte MTU`,
        'GSO/TSO super-packets captured before the NIC segments them (normal on Linux), or an underlay with jumbo frames.',
      );
    }
  }

  private addOverlay(s: DiagnosticSample): void {
    if (!s.ethernet) return;
    this.overlayFrames += 1;
    if (s.groupDst) {
      this.overlayBum += 1;
      if (this.bumPackets.length < MAX_PACKETS) this.bumPackets.push(s.n);
    }
    const len = s.wireLen;
    const tagged = s.tagged;
    const limit = OVERLAY_FRAME_LIMIT + (tagged ? 4 : 0);
    if (len > limit && len <= UNDERLAY_MTU + 14 + (tagged ? 4 : 0)) {
      this.note(
        'overlay',
        'too-big-for-overlay',
        'error',
        s.n,
        (c) => `${c} bridge frame(s) too big for the overlay MTU`,
        `Frames longer than ${limit} bytes do not fit a ${UNDERLAY_MTU}-byte underlay ` +
          `once ${VXLAN_IPV4_OVERHEAD} bytes of VXLAN are added: ` +
          'they get fragmented or dropped. Lower the bridge and guest MTU ' +
          `to ${UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD}.`,
      );
    } else if (len > UNDERLAY_MTU + 14 + (tagged ? 4 : 0)) {
      this.note(
        'overlay',
        'gso-overlay',
        'info',
        s.n,
        (c) => `${c} bridge frame(s) larger than the MTU`,
        'GSO/TSO super-frames: the kernel segments them later (after encapsulation). Not an MTU problem by themselves.',
      );
    }
  }

  result(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const a of this.acc.values()) {
      out.push({
        code: a.code,
        severity: a.severity,
        side: a.side,
        count: a.count,
        packets: [...a.packets],
        title: a.title(a.count),
        detail: a.detail,
      });
    }
    if (this.overlayBum > 0) {
      const pct = Math.round((this.overlayBum / this.overlayFrames) * 1000) / 10;
      out.push({
        code: 'broadcast-multicast',
        severity: pct > 30 && this.overlayFrames >= 100 ? 'warning' : 'info',
        side: 'overlay',
        count: this.overlayBum,
        packets: [...this.bumPackets],
        title: `${this.overlayBum} broadcast/multicast frame(s) on the bridge, ${pct}% of its frames`,
        detail:
          'ARP requests, IPv6 neighbour discovery and multicast: ' +
          'each one that leaves the node is sent to every remote VTEP in the forwarding table ' +
          '(one underlay copy per VTEP). A high share on a quiet network is normal (discovery); ' +
          'on a busy one, look for ARP or neighbour discovery that gets no answer, ' +
          'or a chatty multicast sender.',
      });
    }
    if (this.report) out.push(...correlationDiagnostics(this.report));
    const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
    return out.sort((a, b) => rank[a.severity] - rank[b.severity] || b.count - a.count);
  }
}

function byCode(list: Unmatched[]): Map<string, Unmatched[]> {
  const m = new Map<string, Unmatched[]>();
  for (const u of list) {
    const l = m.get(u.code);
    if (!l) m.set(u.code, [u]);
    else if (l.length < MAX_PACKETS) l.push(u);
  }
  return m;
}

/** Reasons that are normal in a healthy lab: information, not a warning. */
const NORMAL: ReadonlySet<string> = new Set(['overlay:local', 'overlay:bum-not-flooded', 'underlay:from-vxlan-device']);

/** Titles and explanations for reasons that need more than their code. */
const EXPLAINED: Record<string, { title: (count: number) => string; detail: string }> = {
  'underlay:from-vxlan-device': {
    title: (c) => `${c} packet(s) sent by the VXLAN device itself (IPv6 MLD reports, router solicitations, DAD): normal`,
    detail:
      "The kernel's VXLAN interface (e.g. vxlan10) is a network interface with IPv6 on: " +
      'when it comes up it checks its link-local address (duplicate address detection), ' +
      'asks for routers and reports the multicast groups it listens to, from its own MAC, ' +
      'straight into the tunnel. These frames never cross the bridge, ' +
      'so the bridge capture cannot have them: nothing is lost. To silence them: ' +
      'sysctl -w net.ipv6.conf.vxlan10.disable_ipv6=1.',
  },
};

/** One diagnostic per reason for unmatched frames, plus floods and snaplen notes. */
export function correlationDiagnostics(r: CorrelationReport): Diagnostic[] {
  const out: Diagnostic[] = [];
  const sides = [
    ['underlay', r.reasons.underlay, byCode(r.unmatchedUnderlay), 'VXLAN packet(s) on the underlay with no frame on the bridge'],
    ['overlay', r.reasons.overlay, byCode(r.unmatchedOverlay), 'bridge frame(s) not seen on the underlay'],
  ] as const;
  for (const [side, counts, examples, what] of sides) {
    for (const [code, count] of Object.entries(counts)) {
      const ex = examples.get(code) ?? [];
      const explained = EXPLAINED[`${side}:${code}`];
      const reason = ex[0] ? `Likely reason (first one, #${ex[0].n}): ${ex[0].reason}.` : 'Beyond the listed frames.';
      out.push({
        code: `unmatched-${side}:${code}`,
        severity: NORMAL.has(`${side}:${code}`) || code.startsWith('before') || code.startsWith('after') ? 'info' : 'warning',
        side,
        count,
        packets: ex.map((u) => u.n),
        title: explained ? explained.title(count) : `${count} ${what}: ${code.replace(/-/g, ' ')}`,
        detail: explained ? explained.detail : reason,
      });
    }
  }
  if (r.floodedFrames > 0) {
    out.push({
      code: 'flooded',
      severity: 'info',
      side: 'overlay',
      count: r.floodedFrames,
      packets: r.matches
        .filter((m) => m.flood)
        .slice(0, MAX_PACKETS)
        .map((m) => m.overlay.n),
      title: `${r.floodedFrames} bridge frame(s) flooded to several VTEPs`,
      detail:
        'Broadcast, unknown-unicast and multicast (BUM) frames are copied to every remote VTEP in the ' +
        'forwarding table (head-end replication): one underlay packet per VTEP.',
    });
  }
  if (r.snaplenCut > 0) {
    out.push({
      code: 'snaplen-cut',
      severity: 'info',
      count: r.snaplenCut,
      packets: r.matches
        .filter((m) => m.snaplenCut)
        .slice(0, MAX_PACKETS)
        .map((m) => m.underlay.n),
      title: `${r.snaplenCut} match(es) compared over the shorter captured length`,
      detail: 'One capture kept fewer bytes of the frame (snaplen): the frames were compared over the bytes both have.',
    });
  }
  if (r.checksumDiffers > 0) {
    out.push({
      code: 'checksum-offload',
      severity: 'info',
      count: r.checksumDiffers,
      packets: r.matches
        .filter((m) => m.checksumDiffers)
        .slice(0, MAX_PACKETS)
        .map((m) => m.underlay.n),
      title: `${r.checksumDiffers} match(es) differ only in the TCP/UDP checksum`,
      detail: 'Checksum offload: a frame captured before the NIC fills the checksum carries a partial one. Not an error.',
    });
  }
  return out;
}
