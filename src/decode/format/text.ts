/**
 * One line per packet, tcpdump-like: the outer summary, then one " | " segment per tunnel
 * level, e.g.
 *   1 13:46:40.000051 10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | 36:0f:… > ff:ff:… ARP who-has 10.220.220.6 tell 10.220.220.5
 */
import type { DecodedPacket, Layer } from '../types.js';
import { formatAddressBytes, formatIPv4, formatIPv6, formatMac } from './addr.js';
import { formatTimeOfDay, isInvalidTimestamp } from './time.js';
import { TCP_FLAG_NAMES } from '../layers/tcp.js';

const IP_PROTO_NAMES: Record<number, string> = { 1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 89: 'OSPF', 103: 'PIM', 112: 'VRRP', 132: 'SCTP' };
const ICMP_NAMES: Record<number, string> = { 0: 'echo reply', 3: 'unreachable', 5: 'redirect', 8: 'echo request', 11: 'time exceeded', 42: 'extended echo request', 43: 'extended echo reply' };
const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 128: 'echo request', 129: 'echo reply',
  130: 'multicast listener query', 131: 'multicast listener report', 133: 'router solicitation', 134: 'router advertisement',
  135: 'neighbor solicitation', 136: 'neighbor advertisement', 137: 'redirect', 143: 'multicast listener report v2',
};

export function tcpFlags(flags: number): string {
  let s = '';
  for (const [bit, name] of TCP_FLAG_NAMES) if (flags & bit) s += name;
  return s || 'none';
}

function hostPort(ip: string, port: number, v6: boolean): string {
  return v6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Summarises the layers of one tunnel level. */
function segment(layers: Layer[]): string {
  const parts: string[] = [];
  let src = '';
  let dst = '';
  let v6 = false;
  let l3 = false;
  let suffix = '';
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i] as Layer;
    switch (l.type) {
      case 'eth':
        if (!layers.some((x) => x.type === 'ipv4' || x.type === 'ipv6')) parts.push(`${formatMac(l.src)} > ${formatMac(l.dst)}`);
        if (i === layers.length - 1 && l.ethertype !== 0x0800 && l.ethertype !== 0x86dd && l.ethertype !== 0x0806) {
          parts.push(l.ethertype < 0x0600 ? `802.3 length ${l.ethertype}` : `ethertype 0x${l.ethertype.toString(16).padStart(4, '0')}`);
        }
        break;
      case 'vlan':
        parts.push(`vlan ${l.vid}${l.tpid === 0x88a8 ? ' (S-tag)' : ''}`);
        break;
      case 'sll':
        if (i === layers.length - 1) parts.push(`SLL proto 0x${l.protocol.toString(16).padStart(4, '0')}`);
        break;
      case 'loopback':
        if (i === layers.length - 1) parts.push(`loopback family ${l.family}`);
        break;
      case 'arp': {
        const spa = formatAddressBytes(l.spa);
        const tpa = formatAddressBytes(l.tpa);
        if (l.op === 1) parts.push(`ARP who-has ${tpa} tell ${spa}`);
        else if (l.op === 2) parts.push(`ARP reply ${spa} is-at ${formatAddressBytes(l.sha)}`);
        else parts.push(`ARP op ${l.op} ${spa} > ${tpa}`);
        break;
      }
      case 'ipv4':
      case 'ipv6': {
        l3 = true;
        v6 = l.type === 'ipv6';
        src = l.type === 'ipv4' ? formatIPv4(l.src) : formatIPv6(l.src);
        dst = l.type === 'ipv4' ? formatIPv4(l.dst) : formatIPv6(l.dst);
        const next = layers[i + 1];
        const frag = l.type === 'ipv4' ? (l.flags & 1) !== 0 || l.fragOffset !== 0 : l.fragment !== undefined;
        if (frag) {
          suffix = l.type === 'ipv4'
            ? `(frag id ${l.id} offset ${l.fragOffset}${l.flags & 1 ? '+' : ''})`
            : `(frag id ${l.fragment?.id} offset ${l.fragment?.offset}${l.fragment?.more ? '+' : ''})`;
        }
        if (!next || (next.type !== 'udp' && next.type !== 'tcp')) {
          const proto = IP_PROTO_NAMES[l.proto] ?? `ip-proto-${l.proto}`;
          parts.push(next ? `${src} > ${dst}` : `${src} > ${dst} ${proto}`);
        }
        break;
      }
      case 'udp': {
        const prefix = l3 ? `${hostPort(src, l.srcPort, v6)} > ${hostPort(dst, l.dstPort, v6)}` : `port ${l.srcPort} > ${l.dstPort}`;
        const next = layers[i + 1];
        parts.push(next ? prefix : `${prefix} UDP length ${Math.max(0, l.udpLength - 8)}`);
        break;
      }
      case 'tcp': {
        const prefix = l3 ? `${hostPort(src, l.srcPort, v6)} > ${hostPort(dst, l.dstPort, v6)}` : `port ${l.srcPort} > ${l.dstPort}`;
        let s = `${prefix} TCP [${tcpFlags(l.flags)}] seq ${l.seq}`;
        if (l.flags & 0x010) s += ` ack ${l.ack}`;
        s += ` win ${l.window} length ${l.payloadLength}`;
        parts.push(s);
        break;
      }
      case 'icmp': {
        let s = `ICMP ${ICMP_NAMES[l.icmpType] ?? `type ${l.icmpType}`}`;
        if (l.icmpType !== 0 && l.icmpType !== 8 && l.code) s += ` code ${l.code}`;
        if (l.id !== undefined) s += ` id ${l.id} seq ${l.seq}`;
        parts.push(s);
        break;
      }
      case 'icmpv6': {
        let s = `ICMPv6 ${ICMPV6_NAMES[l.icmpType] ?? `type ${l.icmpType}`}`;
        if (l.target) s += ` ${l.icmpType === 135 ? 'who has' : 'tgt is'} ${formatIPv6(l.target)}`;
        if (l.id !== undefined) s += ` id ${l.id} seq ${l.seq}`;
        parts.push(s);
        break;
      }
      case 'vxlan':
        parts.push(`VXLAN${l.flags & 0x08 ? '' : ' (I flag clear)'} vni ${l.vni}${l.gbp ? ` gbp ${l.gbp.groupId}` : ''}`);
        break;
      case 'geneve':
        parts.push(`GENEVE vni ${l.vni} proto 0x${l.protocolType.toString(16).padStart(4, '0')}${l.optionsLength ? ` options ${l.optionsLength}B` : ''}`);
        break;
      case 'vxlan-gpe':
        parts.push(`VXLAN-GPE vni ${l.vni} next-proto ${l.nextProtocol}`);
        break;
    }
  }
  if (suffix) parts.push(suffix);
  return parts.join(' ');
}

/** The summary of every tunnel level, outermost first, joined with " | ". */
export function summarizeLayers(layers: Layer[]): string {
  const levels: Layer[][] = [];
  for (const l of layers) {
    let level = levels[l.depth];
    if (!level) level = levels[l.depth] = [];
    level.push(l);
  }
  return levels.filter((x) => x && x.length > 0).map(segment).join(' | ');
}

export function packetToText(p: DecodedPacket): string {
  let line = `${p.n} ${formatTimeOfDay(p.raw)}${isInvalidTimestamp(p.raw) ? ' (invalid timestamp)' : ''} ${summarizeLayers(p.layers) || `link type ${p.raw.linkType}`}`;
  line += ` (${p.raw.len} bytes${p.raw.caplen < p.raw.len ? `, ${p.raw.caplen} captured` : ''})`;
  if (p.truncated) line += ` [|${p.truncatedLayer ?? 'truncated'}]`;
  if (p.error) line += ` [malformed ${p.error.layer} at byte ${p.error.offset}: ${p.error.message}]`;
  if (p.warnings) for (const w of p.warnings) line += ` [${w}]`;
  return line;
}
