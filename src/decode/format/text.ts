/**
 * One line per packet, tcpdump-like: the outer summary, then one " | " segment per tunnel
 * level, e.g.
 *   1 13:46:40.000051 10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | 36:0f:… > ff:ff:… ARP who-has 10.220.220.6 tell 10.220.220.5
 * After the time, where the packet was captured when the file says more than one place
 * (see iface.ts), as `tcpdump -i any` prints it:
 *   3 13:46:40.000069 eth1 Out 10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | …
 */
import type { DecodedPacket, Layer } from '../types.js';
import { cookedHeader, namesInterface, printableName, sllDirection } from './iface.js';
import { formatAddressBytes, formatIPv6 } from './addr.js';
import { isInvalidTimestamp, writeTimeOfDay } from './time.js';
import { ByteWriter } from './bytes.js';
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

/** The parts of one tunnel level's summary, separated by spaces, written as they come. */
class Parts {
  private first = true;
  constructor(readonly w: ByteWriter) {}

  /** Starts the next part: the writer is positioned after its separator. */
  next(): ByteWriter {
    if (this.first) this.first = false;
    else this.w.byte(0x20);
    return this.w;
  }
}

/** "ip:port" (IPv4) or "[ip]:port" (IPv6) of the level's last IP layer. */
function writeHostPort(w: ByteWriter, ip: Layer, src: boolean, port: number): void {
  if (ip.type === 'ipv4') w.ipv4(src ? ip.src : ip.dst);
  else if (ip.type === 'ipv6') {
    w.byte(0x5b);
    w.ascii(formatIPv6(src ? ip.src : ip.dst));
    w.byte(0x5d);
  }
  w.byte(0x3a);
  w.num(port);
}

function writeIp(w: ByteWriter, ip: Layer, src: boolean): void {
  if (ip.type === 'ipv4') w.ipv4(src ? ip.src : ip.dst);
  else if (ip.type === 'ipv6') w.ascii(formatIPv6(src ? ip.src : ip.dst));
}

function writePorts(w: ByteWriter, ip: Layer | undefined, srcPort: number, dstPort: number): void {
  if (ip) {
    writeHostPort(w, ip, true, srcPort);
    w.ascii(' > ');
    writeHostPort(w, ip, false, dstPort);
  } else {
    w.ascii('port ');
    w.num(srcPort);
    w.ascii(' > ');
    w.num(dstPort);
  }
}

/** Summarises the layers [from, to) of one tunnel level. */
function writeSegment(w: ByteWriter, layers: Layer[], from: number, to: number): void {
  const parts = new Parts(w);
  let ip: Layer | undefined; // the last IPv4/IPv6 layer so far: addresses for the transport part
  let suffix = '';
  let hasIp = false;
  for (let i = from; i < to; i++) {
    const t = (layers[i] as Layer).type;
    if (t === 'ipv4' || t === 'ipv6') hasIp = true;
  }
  const last = to - 1;
  for (let i = from; i < to; i++) {
    const l = layers[i] as Layer;
    switch (l.type) {
      case 'eth':
        if (!hasIp) {
          parts.next().mac(l.src);
          w.ascii(' > ');
          w.mac(l.dst);
        }
        if (i === last && l.ethertype !== 0x0800 && l.ethertype !== 0x86dd && l.ethertype !== 0x0806) {
          if (l.ethertype < 0x0600) {
            parts.next().ascii('802.3 length ');
            w.num(l.ethertype);
          } else {
            parts.next().ascii('ethertype 0x');
            w.hex(l.ethertype, 4);
          }
        }
        break;
      case 'vlan':
        parts.next().ascii('vlan ');
        w.num(l.vid);
        if (l.tpid === 0x88a8) w.ascii(' (S-tag)');
        break;
      case 'sll':
        if (i === last) {
          parts.next().ascii('SLL proto 0x');
          w.hex(l.protocol, 4);
        }
        break;
      case 'loopback':
        if (i === last) {
          parts.next().ascii('loopback family ');
          w.num(l.family);
        }
        break;
      case 'arp': {
        const spa = formatAddressBytes(l.spa);
        const tpa = formatAddressBytes(l.tpa);
        if (l.op === 1) parts.next().ascii(`ARP who-has ${tpa} tell ${spa}`);
        else if (l.op === 2) parts.next().ascii(`ARP reply ${spa} is-at ${formatAddressBytes(l.sha)}`);
        else parts.next().ascii(`ARP op ${l.op} ${spa} > ${tpa}`);
        break;
      }
      case 'ipv4':
      case 'ipv6': {
        ip = l;
        const next = i + 1 < to ? (layers[i + 1] as Layer) : undefined;
        const frag = l.type === 'ipv4' ? (l.flags & 1) !== 0 || l.fragOffset !== 0 : l.fragment !== undefined;
        if (frag) {
          suffix = l.type === 'ipv4'
            ? `(frag id ${l.id} offset ${l.fragOffset}${l.flags & 1 ? '+' : ''})`
            : `(frag id ${l.fragment?.id} offset ${l.fragment?.offset}${l.fragment?.more ? '+' : ''})`;
        }
        if (!next || (next.type !== 'udp' && next.type !== 'tcp')) {
          writeIp(parts.next(), l, true);
          w.ascii(' > ');
          writeIp(w, l, false);
          if (!next) {
            w.byte(0x20);
            w.ascii(IP_PROTO_NAMES[l.proto] ?? `ip-proto-${l.proto}`);
          }
        }
        break;
      }
      case 'udp':
        writePorts(parts.next(), ip, l.srcPort, l.dstPort);
        if (i === last) {
          w.ascii(' UDP length ');
          w.num(Math.max(0, l.udpLength - 8));
        }
        break;
      case 'tcp':
        writePorts(parts.next(), ip, l.srcPort, l.dstPort);
        w.ascii(' TCP [');
        w.ascii(tcpFlags(l.flags));
        w.ascii('] seq ');
        w.num(l.seq);
        if (l.flags & 0x010) {
          w.ascii(' ack ');
          w.num(l.ack);
        }
        w.ascii(' win ');
        w.num(l.window);
        w.ascii(' length ');
        w.num(l.payloadLength);
        break;
      case 'icmp': {
        parts.next().ascii('ICMP ');
        const name = ICMP_NAMES[l.icmpType];
        if (name !== undefined) w.ascii(name);
        else {
          w.ascii('type ');
          w.num(l.icmpType);
        }
        if (l.icmpType !== 0 && l.icmpType !== 8 && l.code) {
          w.ascii(' code ');
          w.num(l.code);
        }
        if (l.id !== undefined) {
          w.ascii(' id ');
          w.num(l.id);
          w.ascii(' seq ');
          w.opt(l.seq);
        }
        break;
      }
      case 'icmpv6': {
        let s = `ICMPv6 ${ICMPV6_NAMES[l.icmpType] ?? `type ${l.icmpType}`}`;
        if (l.target) s += ` ${l.icmpType === 135 ? 'who has' : 'tgt is'} ${formatIPv6(l.target)}`;
        if (l.id !== undefined) s += ` id ${l.id} seq ${l.seq}`;
        parts.next().ascii(s);
        break;
      }
      case 'vxlan':
        parts.next().ascii(l.flags & 0x08 ? 'VXLAN vni ' : 'VXLAN (I flag clear) vni ');
        w.num(l.vni);
        if (l.gbp) {
          w.ascii(' gbp ');
          w.num(l.gbp.groupId);
        }
        break;
      case 'geneve':
        parts.next().ascii(`GENEVE vni ${l.vni} proto 0x${l.protocolType.toString(16).padStart(4, '0')}${l.optionsLength ? ` options ${l.optionsLength}B` : ''}`);
        break;
      case 'vxlan-gpe':
        parts.next().ascii(`VXLAN-GPE vni ${l.vni} next-proto ${l.nextProtocol}`);
        break;
    }
  }
  if (suffix) parts.next().ascii(suffix);
}

/** The summary of every tunnel level, outermost first, joined with " | " (nothing for no layers). */
function writeSummary(w: ByteWriter, layers: Layer[]): void {
  // Depth never decreases along the list: each level is a run of equal depth.
  let from = 0;
  while (from < layers.length) {
    const depth = (layers[from] as Layer).depth;
    let to = from + 1;
    while (to < layers.length && (layers[to] as Layer).depth === depth) to++;
    if (from > 0) w.ascii(' | ');
    writeSegment(w, layers, from, to);
    from = to;
  }
}

const scratch = new ByteWriter(4096);

/** The summary of every tunnel level, outermost first, joined with " | ". */
export function summarizeLayers(layers: Layer[]): string {
  scratch.reset();
  writeSummary(scratch, layers);
  return scratch.textFrom(0);
}

export interface TextOptions {
  /**
   * Names of the interface indexes of SLL2 records (e.g. what `capture` recorded in
   * session.json): `eth1 In` instead of `ifindex 3 In`.
   */
  ifNames?: ReadonlyMap<number, string>;
}

/**
 * Where the packet was captured, each part followed by a space: the interface (a pcapng
 * section with several, or SLL2's index), then SLL/SLL2's direction. Nothing for a pcap with
 * one link, the usual case: there it costs two comparisons.
 */
function writeWhere(w: ByteWriter, p: DecodedPacket, ifNames: ReadonlyMap<number, string> | undefined): void {
  const raw = p.raw;
  const sll = cookedHeader(p);
  if (sll !== undefined && sll.ifindex !== undefined) {
    const name = ifNames?.get(sll.ifindex);
    if (name) w.text(printableName(name));
    else {
      w.ascii('ifindex ');
      w.num(sll.ifindex);
    }
    w.byte(0x20);
  } else if (namesInterface(raw)) {
    if (raw.interfaceName) w.text(printableName(raw.interfaceName));
    else {
      w.ascii('if');
      w.num(raw.interfaceId as number);
    }
    w.byte(0x20);
  }
  if (sll !== undefined) {
    w.ascii(sllDirection(sll.packetType) ?? '?');
    w.byte(0x20);
  }
}

/** One text line (without the newline), written to bytes. */
export function writePacketText(w: ByteWriter, p: DecodedPacket, options?: TextOptions): void {
  const raw = p.raw;
  w.num(p.n);
  w.byte(0x20);
  writeTimeOfDay(w, raw);
  if (isInvalidTimestamp(raw)) w.ascii(' (invalid timestamp)');
  w.byte(0x20);
  writeWhere(w, p, options?.ifNames);
  const at = w.pos;
  writeSummary(w, p.layers);
  if (w.pos === at) {
    w.ascii('link type ');
    w.num(raw.linkType);
  }
  w.ascii(' (');
  w.num(raw.len);
  w.ascii(' bytes');
  if (raw.caplen < raw.len) {
    w.ascii(', ');
    w.num(raw.caplen);
    w.ascii(' captured');
  }
  w.byte(0x29);
  if (p.truncated) {
    w.ascii(' [|');
    w.text(p.truncatedLayer ?? 'truncated');
    w.byte(0x5d);
  }
  if (p.error) w.text(` [malformed ${p.error.layer} at byte ${p.error.offset}: ${p.error.message}]`);
  if (p.warnings) for (const warning of p.warnings) w.text(` [${warning}]`);
}

/** A line writer with its options bound, for callers that take `(w, p)` (decode's lineWriter). */
export function textLineWriter(options: TextOptions): (w: ByteWriter, p: DecodedPacket) => void {
  return (w, p) => writePacketText(w, p, options);
}

export function packetToText(p: DecodedPacket, options?: TextOptions): string {
  scratch.reset();
  writePacketText(scratch, p, options);
  return scratch.textFrom(0);
}
