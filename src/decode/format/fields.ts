/**
 * Each layer's fields with the bytes they span, their value and what they mean: the packet
 * detail of the web view draws these (its byte ranges, its explanations), as Wireshark's
 * `proto_tree_add_item(tree, hf, tvb, offset, len)` records each field's span once, in the
 * dissector. The explanations teach the encapsulation on the bytes: what the outer headers
 * say, what VXLAN adds, what the inner frame is.
 *
 * Values come from the decoded layer; the few fields the decoders do not keep (checksums,
 * reserved bytes, ARP sizes) are read from the frame's bytes, inside the layer's header.
 */
import type { DecodedPacket, Layer } from '../types.js';
import { TUNNEL_TYPES } from '../types.js';
import { formatAddressBytes, formatIPv4, formatIPv6, formatMac } from './addr.js';
import { ICMPV6_TYPE_NAMES } from './names.js';

export interface Field {
  name: string;
  /** Offset of the field's first byte in the frame. */
  offset: number;
  /** Bytes it spans (at least 1). */
  length: number;
  value: string;
  explain: string;
}

/** A layer as the packet detail shows it. */
export interface LayerFields {
  type: string;
  name: string;
  offset: number;
  length: number;
  depth: number;
  /** What the layer's title line adds: " · VNI 10", " · 10.0.0.1 → 10.0.0.2"… or "". */
  describe: string;
  /** One sentence about the layer as a whole, or "". */
  note: string;
  fields: Field[];
}

const NAMES: Record<string, string> = {
  eth: 'Ethernet',
  vlan: '802.1Q VLAN',
  sll: 'Linux cooked',
  loopback: 'Loopback',
  arp: 'ARP',
  ipv4: 'IPv4',
  ipv6: 'IPv6',
  udp: 'UDP',
  tcp: 'TCP',
  icmp: 'ICMP',
  icmpv6: 'ICMPv6',
  vxlan: 'VXLAN',
  geneve: 'GENEVE',
  'vxlan-gpe': 'VXLAN-GPE',
  payload: 'Payload',
};
const ETHERTYPES: Record<number, string> = {
  0x0800: 'IPv4',
  0x86dd: 'IPv6',
  0x0806: 'ARP',
  0x8100: '802.1Q VLAN',
  0x88a8: '802.1ad S-tag',
  0x6558: 'Transparent Ethernet bridging',
};
const IPPROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 4: 'IP in IP', 41: 'IPv6 in IP' };
const ICMP: Record<number, string> = { 0: 'echo reply', 3: 'destination unreachable', 8: 'echo request', 11: 'time exceeded' };
const TCP_FLAGS: ReadonlyArray<[number, string]> = [
  [0x100, 'NS'],
  [0x80, 'CWR'],
  [0x40, 'ECE'],
  [0x20, 'URG'],
  [0x10, 'ACK'],
  [0x08, 'PSH'],
  [0x04, 'RST'],
  [0x02, 'SYN'],
  [0x01, 'FIN'],
];

export function layerName(type: string): string {
  return NAMES[type] ?? type;
}

/** `0x` and the bytes from..to (inclusive) of the frame that were captured. */
function hexOf(data: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to && i < data.length; i++) s += (data[i] as number).toString(16).padStart(2, '0');
  return `0x${s}`;
}

function hex(n: number, width = 4): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

function u8(data: Uint8Array, i: number): number {
  return data[i] ?? 0;
}

function u16(data: Uint8Array, i: number): number {
  return (u8(data, i) << 8) | u8(data, i + 1);
}

function tcpFlags(v: number): string {
  return (
    TCP_FLAGS.filter(([b]) => (v & b) !== 0)
      .map(([, n]) => n)
      .join(' ') || 'none'
  );
}

export interface FieldContext {
  /** The frame's captured bytes. */
  data: Uint8Array;
  /** The frame carries a tunnel (VXLAN, GENEVE, VXLAN-GPE). */
  tunnelled: boolean;
  /** The layer after this one, if any. */
  next: Layer | undefined;
}

/** The fields of one layer, in the order of its header; fields past the captured bytes are left out. */
export function layerFields(l: Layer, ctx: FieldContext): Field[] {
  const { data } = ctx;
  const outer = ctx.tunnelled && !l.depth;
  const out: Field[] = [];
  /** Bytes a..b (inclusive) of the layer's header. */
  const f = (a: number, b: number, name: string, value: string, explain: string): void => {
    out.push({ name, offset: l.offset + a, length: b - a + 1, value, explain });
  };
  switch (l.type) {
    case 'eth': {
      const dst = formatMac(l.dst);
      const group = Math.floor(l.dst / 2 ** 40) % 2 === 1;
      const dstNote =
        dst === 'ff:ff:ff:ff:ff:ff'
          ? 'broadcast: every host of the segment (flooded to every VTEP by VXLAN)'
          : group
            ? 'multicast (group bit set): flooded like a broadcast'
            : 'unicast';
      if (outer) {
        f(0, 5, 'Destination MAC', dst, `the next hop on the underlay (the remote VTEP's NIC, or a router): ${dstNote}`);
        f(6, 11, 'Source MAC', formatMac(l.src), "this VTEP's underlay NIC (eth1)");
      } else if (l.depth > 0) {
        f(0, 5, 'Destination MAC', dst, `the guest frame, unchanged, as the bridge saw it: ${dstNote}`);
        f(6, 11, 'Source MAC', formatMac(l.src), 'the guest that sent it: the remote VTEP learns it lives behind the outer source IP');
      } else {
        f(0, 5, 'Destination MAC', dst, dstNote);
        f(6, 11, 'Source MAC', formatMac(l.src), "the sender's interface");
      }
      f(12, 13, 'EtherType', hex(l.ethertype), `${ETHERTYPES[l.ethertype] ?? 'other'} follows`);
      break;
    }
    case 'vlan':
      f(
        0,
        1,
        'TCI',
        `PCP ${l.pcp}, DEI ${l.dei ? 1 : 0}, VID ${l.vid}`,
        "priority (3 bits), drop eligible (1), VLAN id (12 bits: 4094 networks, against VXLAN's 16 million)",
      );
      f(2, 3, 'EtherType', hex(l.ethertype), `${ETHERTYPES[l.ethertype] ?? 'other'} follows`);
      break;
    case 'ipv4': {
      const b0 = u8(data, l.offset);
      const ihl = (b0 & 0x0f) * 4;
      const ff = u16(data, l.offset + 6);
      const flags = ff >> 13;
      const fragOffset = (ff & 0x1fff) * 8;
      const df = (flags & 2) !== 0;
      const mf = (flags & 1) !== 0;
      f(0, 0, 'Version, IHL', hex(b0, 2), `version ${b0 >> 4}, header ${ihl} bytes (IHL ${b0 & 0x0f} × 4)`);
      f(
        1,
        1,
        'DSCP/ECN',
        hex(u8(data, l.offset + 1), 2),
        outer ? 'Linux copies the inner packet\'s ToS (or sets it with "tos inherit")' : 'differentiated services',
      );
      f(
        2,
        3,
        'Total length',
        String(l.totalLength),
        outer ? 'IP header + UDP 8 + VXLAN 8 + inner frame: this is what must fit the underlay MTU' : 'IP header + payload',
      );
      f(4, 5, 'Identification', String(l.id), 'to reassemble fragments');
      f(
        6,
        7,
        'Flags, fragment offset',
        `${df ? 'DF ' : ''}${mf ? 'MF ' : ''}offset ${fragOffset}`,
        mf || fragOffset
          ? 'a FRAGMENT: the packet was too big for the path MTU'
          : df
            ? "don't fragment"
            : 'may be fragmented (Linux VXLAN leaves DF clear by default)',
      );
      f(8, 8, 'TTL', String(l.ttl), 'hops left');
      f(9, 9, 'Protocol', String(l.proto), `${IPPROTO[l.proto] ?? 'other'} follows`);
      f(10, 11, 'Header checksum', hex(u16(data, l.offset + 10)), 'over the IP header only');
      f(
        12,
        15,
        'Source',
        formatIPv4(l.src),
        outer ? 'the sending VTEP (its underlay address)' : l.depth > 0 ? 'the guest that sent the packet' : 'sender',
      );
      f(
        16,
        19,
        'Destination',
        formatIPv4(l.dst),
        outer
          ? 'the receiving VTEP: chosen from the forwarding table (bridge fdb) by the inner destination MAC'
          : l.depth > 0
            ? 'the guest it is for'
            : 'receiver',
      );
      if (ihl > 20) f(20, ihl - 1, 'Options', `${ihl - 20} bytes`, 'IP options');
      break;
    }
    case 'ipv6': {
      const src = formatIPv6(l.src);
      const dst = formatIPv6(l.dst);
      f(0, 3, 'Version, class, flow', `6, ${l.trafficClass}, ${l.flowLabel}`, 'version 6, traffic class, flow label');
      f(4, 5, 'Payload length', String(l.payloadLength), 'bytes after this 40-byte header');
      f(
        6,
        6,
        'Next header',
        String(l.nextHeader),
        `${IPPROTO[l.nextHeader] ?? (l.nextHeader === 0 ? 'hop-by-hop options' : 'other')} follows`,
      );
      f(7, 7, 'Hop limit', String(l.hopLimit), 'hops left (255 for neighbor discovery: never routed)');
      f(8, 23, 'Source', src, src === '::' ? 'unspecified: the host has no address yet (duplicate address detection)' : 'sender');
      f(24, 39, 'Destination', dst, dst.startsWith('ff') ? 'multicast: flooded to every VTEP' : 'receiver');
      if (l.length > 40) f(40, l.length - 1, 'Extension headers', `${l.length - 40} bytes`, l.extHeaders.join(', '));
      break;
    }
    case 'udp': {
      const tunnel = ctx.next !== undefined && TUNNEL_TYPES.has(ctx.next.type);
      f(
        0,
        1,
        'Source port',
        String(l.srcPort),
        tunnel ? "a hash of the inner flow: different flows get different ports, so the underlay's ECMP spreads them" : "sender's port",
      );
      f(
        2,
        3,
        'Destination port',
        String(l.dstPort),
        tunnel
          ? l.dstPort === 4789
            ? '4789: the IANA port for VXLAN — the receiver knows a VXLAN header follows'
            : l.dstPort === 8472
              ? "8472: Linux's old VXLAN default (not the IANA 4789): both ends must agree"
              : `${l.dstPort}: a non-standard tunnel port`
          : "receiver's port",
      );
      f(4, 5, 'Length', String(l.udpLength), tunnel ? 'UDP 8 + VXLAN 8 + inner frame' : 'header + data');
      const ck = u16(data, l.offset + 6);
      f(
        6,
        7,
        'Checksum',
        hex(ck),
        ck === 0
          ? '0: no checksum (allowed over IPv4; the Linux VXLAN default — the inner frame has its own)'
          : 'over a pseudo-header, header and data',
      );
      break;
    }
    case 'tcp':
      f(0, 1, 'Source port', String(l.srcPort), '');
      f(2, 3, 'Destination port', String(l.dstPort), l.dstPort === 22 || l.srcPort === 22 ? 'SSH' : '');
      f(4, 7, 'Sequence', String(l.seq), '');
      f(8, 11, 'Acknowledgement', String(l.ack), '');
      f(12, 13, 'Offset, flags', `${l.length} bytes, ${tcpFlags(l.flags)}`, 'header length and flags');
      f(14, 15, 'Window', String(l.window), '');
      f(16, 17, 'Checksum', hex(u16(data, l.offset + 16)), '');
      f(18, 19, 'Urgent pointer', String(u16(data, l.offset + 18)), '');
      if (l.length > 20) f(20, l.length - 1, 'Options', `${l.length - 20} bytes`, 'MSS, SACK, timestamps…');
      break;
    case 'icmp':
      f(0, 0, 'Type', String(l.icmpType), ICMP[l.icmpType] ?? '');
      f(1, 1, 'Code', String(l.code), '');
      f(2, 3, 'Checksum', hex(u16(data, l.offset + 2)), '');
      if (l.id !== undefined) f(4, 7, 'Identifier, sequence', `${l.id}, ${l.seq}`, 'ping matches replies to requests with these');
      break;
    case 'icmpv6':
      f(0, 0, 'Type', String(l.icmpType), ICMPV6_TYPE_NAMES[l.icmpType] ?? '');
      f(1, 1, 'Code', String(l.code), '');
      f(2, 3, 'Checksum', hex(u16(data, l.offset + 2)), '');
      if (l.target) f(8, 23, 'Target', formatIPv6(l.target), "the address being resolved (IPv6's ARP)");
      break;
    case 'arp': {
      const htype = u16(data, l.offset);
      const ptype = u16(data, l.offset + 2);
      f(0, 1, 'Hardware type', String(htype), htype === 1 ? 'Ethernet' : '');
      f(2, 3, 'Protocol type', hex(ptype), ptype === 0x0800 ? 'IPv4' : '');
      f(4, 5, 'Sizes', `${u8(data, l.offset + 4)}, ${u8(data, l.offset + 5)}`, 'MAC 6 bytes, IPv4 4 bytes');
      f(
        6,
        7,
        'Operation',
        String(l.op),
        l.op === 1
          ? 'request: "who has…?" — broadcast, so VXLAN floods it to every VTEP'
          : l.op === 2
            ? 'reply: unicast back to the asker'
            : '',
      );
      f(8, 13, 'Sender MAC', formatAddressBytes(l.sha), '');
      f(14, 17, 'Sender IP', formatAddressBytes(l.spa), '');
      f(18, 23, 'Target MAC', formatAddressBytes(l.tha), l.op === 1 ? 'unknown yet (zeros)' : '');
      f(24, 27, 'Target IP', formatAddressBytes(l.tpa), '');
      break;
    }
    case 'vxlan': {
      const iFlag = (l.flags & 0x08) !== 0;
      f(
        0,
        0,
        'Flags',
        `${hex(l.flags, 2)} = ${l.flags.toString(2).padStart(8, '0')}`,
        iFlag
          ? 'bit 3 is the I flag: "the VNI is valid" (RFC 7348). The other bits are reserved, 0.'
          : 'the I flag is CLEAR: the VNI is not valid (RFC 7348 says receivers should drop it)',
      );
      f(1, 3, 'Reserved', hexOf(data, l.offset + 1, l.offset + 3), l.gbp ? `group policy id ${l.gbp.groupId}` : 'reserved, 0');
      f(
        4,
        6,
        'VNI',
        `${hexOf(data, l.offset + 4, l.offset + 6)} = ${l.vni}`,
        `the VXLAN Network Identifier: 24 bits, so 16 million virtual networks. Here ${l.vni}: ` +
          `the receiving VTEP hands the inner frame to the bridge of VNI ${l.vni}`,
      );
      f(7, 7, 'Reserved', hex(u8(data, l.offset + 7), 2), 'reserved, 0');
      break;
    }
    case 'geneve':
      f(0, 1, 'Version, options, flags', `v${l.version}, ${l.optionsLength} B options`, '');
      f(2, 3, 'Protocol type', hex(l.protocolType), l.protocolType === 0x6558 ? 'Ethernet follows' : '');
      f(4, 6, 'VNI', String(l.vni), 'virtual network identifier (24 bits)');
      f(7, 7, 'Reserved', '', '');
      break;
    case 'vxlan-gpe':
      f(0, 0, 'Flags', hex(l.flags, 2), '');
      f(3, 3, 'Next protocol', String(l.nextProtocol), '');
      f(4, 6, 'VNI', String(l.vni), '');
      break;
    default:
      f(0, l.length - 1, 'Header', `${l.length} bytes`, '');
  }
  return out.filter((x) => x.length >= 1 && x.offset < data.length);
}

/** One sentence about the layer as a whole, or "". */
export function layerNote(l: Layer, tunnelled: boolean): string {
  const outer = tunnelled && !l.depth;
  if (outer && l.type === 'eth') return 'Outer Ethernet: from this VTEP to the next hop on the underlay.';
  if (outer && l.type === 'ipv4') return 'Outer IPv4: from VTEP to VTEP. This is all the underlay routes on.';
  if (outer && l.type === 'udp') return 'Outer UDP: carries the tunnel.';
  if (l.type === 'vxlan') return 'The VXLAN header: 8 bytes saying which virtual network the frame belongs to.';
  if (l.depth > 0 && l.type === 'eth') return "Inner Ethernet: the guest's own frame, byte for byte what the bridge saw.";
  return '';
}

/** What a layer's title line adds after its byte range. */
export function describeLayer(l: Layer): string {
  switch (l.type) {
    case 'vxlan':
      return ` · VNI ${l.vni}`;
    case 'ipv4':
      return ` · ${formatIPv4(l.src)} → ${formatIPv4(l.dst)}`;
    case 'ipv6':
      return ` · ${formatIPv6(l.src)} → ${formatIPv6(l.dst)}`;
    case 'udp':
    case 'tcp':
      return ` · port ${l.srcPort} → ${l.dstPort}`;
    case 'eth':
      return ` · ${formatMac(l.src)} → ${formatMac(l.dst)}`;
    default:
      return '';
  }
}

/** Every layer of a decoded packet with its fields: what the packet detail draws. */
export function packetFields(p: DecodedPacket): LayerFields[] {
  const tunnelled = p.layers.some((l) => TUNNEL_TYPES.has(l.type));
  return p.layers.map((l, i) => ({
    type: l.type,
    name: layerName(l.type),
    offset: l.offset,
    length: l.length,
    depth: l.depth,
    describe: describeLayer(l),
    note: layerNote(l, tunnelled),
    fields: layerFields(l, { data: p.raw.data, tunnelled, next: p.layers[i + 1] }),
  }));
}
