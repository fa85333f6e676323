// Byte-by-byte explanations of each layer, for the packet detail: every field with its
// offsets in the frame, its value and what it means (the encapsulation taught on the bytes).

const NAMES = {
  eth: 'Ethernet', vlan: '802.1Q VLAN', sll: 'Linux cooked', loopback: 'Loopback', arp: 'ARP', ipv4: 'IPv4', ipv6: 'IPv6',
  udp: 'UDP', tcp: 'TCP', icmp: 'ICMP', icmpv6: 'ICMPv6', vxlan: 'VXLAN', geneve: 'GENEVE', 'vxlan-gpe': 'VXLAN-GPE', payload: 'Payload',
};
const ETHERTYPES = { 0x0800: 'IPv4', 0x86dd: 'IPv6', 0x0806: 'ARP', 0x8100: '802.1Q VLAN', 0x88a8: '802.1ad S-tag', 0x6558: 'Transparent Ethernet bridging' };
const IPPROTO = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 4: 'IP in IP', 41: 'IPv6 in IP' };
const ICMP = { 0: 'echo reply', 3: 'destination unreachable', 8: 'echo request', 11: 'time exceeded' };
const ICMP6 = { 128: 'echo request', 129: 'echo reply', 133: 'router solicitation', 134: 'router advertisement', 135: 'neighbour solicitation', 136: 'neighbour advertisement', 143: 'multicast listener report v2', 2: 'packet too big' };

export function layerName(l) {
  return NAMES[l.type] ?? l.type;
}

export function hexOf(bytes, from, to) {
  let s = '';
  for (let i = from; i <= to && i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, '0');
  return `0x${s}`;
}

function hex2(n, w = 4) {
  return n === undefined || n === null ? '' : `0x${n.toString(16).padStart(w, '0')}`;
}

// The JSON leaves out fields that are usually zero (and checksums): read those from the bytes.
function u8(bytes, i) {
  return bytes[i] ?? 0;
}
function u16(bytes, i) {
  return (u8(bytes, i) << 8) | u8(bytes, i + 1);
}

function isGroupMac(mac) {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** A range helper: bytes at layer offset + a .. + b. */
function f(l, a, b, name, value, explain) {
  return { from: l.offset + a, to: l.offset + b, name, value, explain };
}

/** The fields of one layer. `ctx`: { tunnelled (the packet carries a tunnel), outer (depth 0 of such a packet), next, bytes }. */
export function layerFields(l, ctx) {
  const { bytes } = ctx;
  const out = [];
  switch (l.type) {
    case 'eth': {
      const dstNote = l.dst === 'ff:ff:ff:ff:ff:ff' ? 'broadcast: every host of the segment (flooded to every VTEP by VXLAN)' : isGroupMac(l.dst) ? 'multicast (group bit set): flooded like a broadcast' : 'unicast';
      if (ctx.outer) {
        out.push(f(l, 0, 5, 'Destination MAC', l.dst, `the next hop on the underlay (the remote VTEP's NIC, or a router): ${dstNote}`));
        out.push(f(l, 6, 11, 'Source MAC', l.src, 'this VTEP\'s underlay NIC (eth1)'));
      } else if (l.depth > 0) {
        out.push(f(l, 0, 5, 'Destination MAC', l.dst, `the guest frame, unchanged, as the bridge saw it: ${dstNote}`));
        out.push(f(l, 6, 11, 'Source MAC', l.src, 'the guest that sent it: the remote VTEP learns it lives behind the outer source IP'));
      } else {
        out.push(f(l, 0, 5, 'Destination MAC', l.dst, dstNote));
        out.push(f(l, 6, 11, 'Source MAC', l.src, 'the sender\'s interface'));
      }
      out.push(f(l, 12, 13, 'EtherType', hex2(l.ethertype), `${ETHERTYPES[l.ethertype] ?? 'other'} follows`));
      break;
    }
    case 'vlan':
      out.push(f(l, 0, 1, 'TCI', `PCP ${l.pcp}, DEI ${l.dei ? 1 : 0}, VID ${l.vid}`, 'priority (3 bits), drop eligible (1), VLAN id (12 bits: 4094 networks, against VXLAN\'s 16 million)'));
      out.push(f(l, 2, 3, 'EtherType', hex2(l.ethertype), `${ETHERTYPES[l.ethertype] ?? 'other'} follows`));
      break;
    case 'ipv4': {
      const b0 = u8(bytes, l.offset);
      const ihl = (b0 & 0x0f) * 4;
      const ff = u16(bytes, l.offset + 6);
      const flags = ff >> 13;
      const fragOffset = (ff & 0x1fff) * 8;
      out.push(f(l, 0, 0, 'Version, IHL', hex2(b0, 2), `version ${b0 >> 4}, header ${ihl} bytes (IHL ${b0 & 0x0f} × 4)`));
      out.push(f(l, 1, 1, 'DSCP/ECN', hex2(u8(bytes, l.offset + 1), 2), ctx.outer ? 'Linux copies the inner packet\'s ToS (or sets it with "tos inherit")' : 'differentiated services'));
      out.push(f(l, 2, 3, 'Total length', String(l.totalLength), ctx.outer ? `IP header + UDP 8 + VXLAN 8 + inner frame: this is what must fit the underlay MTU` : 'IP header + payload'));
      out.push(f(l, 4, 5, 'Identification', String(l.id), 'to reassemble fragments'));
      const df = (flags & 2) !== 0;
      const mf = (flags & 1) !== 0;
      out.push(f(l, 6, 7, 'Flags, fragment offset', `${df ? 'DF ' : ''}${mf ? 'MF ' : ''}offset ${fragOffset}`, mf || fragOffset ? 'a FRAGMENT: the packet was too big for the path MTU' : df ? 'don\'t fragment' : 'may be fragmented (Linux VXLAN leaves DF clear by default)'));
      out.push(f(l, 8, 8, 'TTL', String(l.ttl), 'hops left'));
      out.push(f(l, 9, 9, 'Protocol', String(l.proto), `${IPPROTO[l.proto] ?? 'other'} follows`));
      out.push(f(l, 10, 11, 'Header checksum', hex2(u16(bytes, l.offset + 10)), 'over the IP header only'));
      out.push(f(l, 12, 15, 'Source', l.src, ctx.outer ? 'the sending VTEP (its underlay address)' : l.depth > 0 ? 'the guest that sent the packet' : 'sender'));
      out.push(f(l, 16, 19, 'Destination', l.dst, ctx.outer ? 'the receiving VTEP: chosen from the forwarding table (bridge fdb) by the inner destination MAC' : l.depth > 0 ? 'the guest it is for' : 'receiver'));
      if (ihl > 20) out.push(f(l, 20, ihl - 1, 'Options', `${ihl - 20} bytes`, 'IP options'));
      break;
    }
    case 'ipv6':
      out.push(f(l, 0, 3, 'Version, class, flow', `6, ${l.trafficClass}, ${l.flowLabel}`, 'version 6, traffic class, flow label'));
      out.push(f(l, 4, 5, 'Payload length', String(l.payloadLength), 'bytes after this 40-byte header'));
      out.push(f(l, 6, 6, 'Next header', String(l.nextHeader), `${IPPROTO[l.nextHeader] ?? (l.nextHeader === 0 ? 'hop-by-hop options' : 'other')} follows`));
      out.push(f(l, 7, 7, 'Hop limit', String(l.hopLimit), 'hops left (255 for neighbour discovery: never routed)'));
      out.push(f(l, 8, 23, 'Source', l.src, l.src === '::' ? 'unspecified: the host has no address yet (duplicate address detection)' : 'sender'));
      out.push(f(l, 24, 39, 'Destination', l.dst, l.dst.startsWith('ff') ? 'multicast: flooded to every VTEP' : 'receiver'));
      if (l.length > 40) out.push(f(l, 40, l.length - 1, 'Extension headers', `${l.length - 40} bytes`, (l.extHeaders || []).join(', ')));
      break;
    case 'udp': {
      const tunnel = ctx.next && (ctx.next.type === 'vxlan' || ctx.next.type === 'geneve' || ctx.next.type === 'vxlan-gpe');
      out.push(f(l, 0, 1, 'Source port', String(l.srcPort), tunnel ? 'a hash of the inner flow: different flows get different ports, so the underlay\'s ECMP spreads them' : 'sender\'s port'));
      out.push(f(l, 2, 3, 'Destination port', String(l.dstPort), tunnel ? (l.dstPort === 4789 ? '4789: the IANA port for VXLAN — the receiver knows a VXLAN header follows' : l.dstPort === 8472 ? '8472: Linux\'s old VXLAN default (not the IANA 4789): both ends must agree' : `${l.dstPort}: a non-standard tunnel port`) : 'receiver\'s port'));
      out.push(f(l, 4, 5, 'Length', String(l.udpLength), tunnel ? 'UDP 8 + VXLAN 8 + inner frame' : 'header + data'));
      const ck = u16(bytes, l.offset + 6);
      out.push(f(l, 6, 7, 'Checksum', hex2(ck), ck === 0 ? '0: no checksum (allowed over IPv4; the Linux VXLAN default — the inner frame has its own)' : 'over a pseudo-header, header and data'));
      break;
    }
    case 'tcp':
      out.push(f(l, 0, 1, 'Source port', String(l.srcPort), ''));
      out.push(f(l, 2, 3, 'Destination port', String(l.dstPort), l.dstPort === 22 || l.srcPort === 22 ? 'SSH' : ''));
      out.push(f(l, 4, 7, 'Sequence', String(l.seq), ''));
      out.push(f(l, 8, 11, 'Acknowledgement', String(l.ack), ''));
      out.push(f(l, 12, 13, 'Offset, flags', `${l.length} bytes, ${tcpFlags(l.flags)}`, 'header length and flags'));
      out.push(f(l, 14, 15, 'Window', String(l.window), ''));
      out.push(f(l, 16, 17, 'Checksum', hex2(u16(bytes, l.offset + 16)), ''));
      out.push(f(l, 18, 19, 'Urgent pointer', String(u16(bytes, l.offset + 18)), ''));
      if (l.length > 20) out.push(f(l, 20, l.length - 1, 'Options', `${l.length - 20} bytes`, 'MSS, SACK, timestamps…'));
      break;
    case 'icmp':
      out.push(f(l, 0, 0, 'Type', String(l.icmpType), ICMP[l.icmpType] ?? ''));
      out.push(f(l, 1, 1, 'Code', String(l.code), ''));
      out.push(f(l, 2, 3, 'Checksum', hex2(u16(bytes, l.offset + 2)), ''));
      if (l.id !== undefined) out.push(f(l, 4, 7, 'Identifier, sequence', `${l.id}, ${l.seq}`, 'ping matches replies to requests with these'));
      break;
    case 'icmpv6':
      out.push(f(l, 0, 0, 'Type', String(l.icmpType), ICMP6[l.icmpType] ?? ''));
      out.push(f(l, 1, 1, 'Code', String(l.code), ''));
      out.push(f(l, 2, 3, 'Checksum', hex2(u16(bytes, l.offset + 2)), ''));
      if (l.target) out.push(f(l, 8, 23, 'Target', l.target, 'the address being resolved (IPv6\'s ARP)'));
      break;
    case 'arp': {
      const htype = u16(bytes, l.offset);
      const ptype = u16(bytes, l.offset + 2);
      out.push(f(l, 0, 1, 'Hardware type', String(htype), htype === 1 ? 'Ethernet' : ''));
      out.push(f(l, 2, 3, 'Protocol type', hex2(ptype), ptype === 0x0800 ? 'IPv4' : ''));
      out.push(f(l, 4, 5, 'Sizes', `${u8(bytes, l.offset + 4)}, ${u8(bytes, l.offset + 5)}`, 'MAC 6 bytes, IPv4 4 bytes'));
      out.push(f(l, 6, 7, 'Operation', String(l.op), l.op === 1 ? 'request: "who has…?" — broadcast, so VXLAN floods it to every VTEP' : l.op === 2 ? 'reply: unicast back to the asker' : ''));
      out.push(f(l, 8, 13, 'Sender MAC', l.sha, ''));
      out.push(f(l, 14, 17, 'Sender IP', l.spa, ''));
      out.push(f(l, 18, 23, 'Target MAC', l.tha, l.op === 1 ? 'unknown yet (zeros)' : ''));
      out.push(f(l, 24, 27, 'Target IP', l.tpa, ''));
      break;
    }
    case 'vxlan': {
      const iFlag = (l.flags & 0x08) !== 0;
      const bits = l.flags.toString(2).padStart(8, '0');
      out.push(f(l, 0, 0, 'Flags', `${hex2(l.flags, 2)} = ${bits}`, iFlag ? 'bit 3 is the I flag: "the VNI is valid" (RFC 7348). The other bits are reserved, 0.' : 'the I flag is CLEAR: the VNI is not valid (RFC 7348 says receivers should drop it)'));
      out.push(f(l, 1, 3, 'Reserved', hexOf(bytes, l.offset + 1, l.offset + 3), l.gbp ? `group policy id ${l.gbp.groupId}` : 'reserved, 0'));
      out.push(f(l, 4, 6, 'VNI', `${hexOf(bytes, l.offset + 4, l.offset + 6)} = ${l.vni}`, `the VXLAN Network Identifier: 24 bits, so 16 million virtual networks. Here ${l.vni}: the receiving VTEP hands the inner frame to the bridge of VNI ${l.vni}`));
      out.push(f(l, 7, 7, 'Reserved', hex2(u8(bytes, l.offset + 7), 2), 'reserved, 0'));
      break;
    }
    case 'geneve':
      out.push(f(l, 0, 1, 'Version, options, flags', `v${l.version}, ${l.optionsLength} B options`, ''));
      out.push(f(l, 2, 3, 'Protocol type', hex2(l.protocolType), l.protocolType === 0x6558 ? 'Ethernet follows' : ''));
      out.push(f(l, 4, 6, 'VNI', String(l.vni), 'virtual network identifier (24 bits)'));
      out.push(f(l, 7, 7, 'Reserved', '', ''));
      break;
    case 'vxlan-gpe':
      out.push(f(l, 0, 0, 'Flags', hex2(l.flags, 2), ''));
      out.push(f(l, 3, 3, 'Next protocol', String(l.nextProtocol), ''));
      out.push(f(l, 4, 6, 'VNI', String(l.vni), ''));
      break;
    default:
      out.push(f(l, 0, l.length - 1, 'Header', `${l.length} bytes`, ''));
  }
  return out.filter((x) => x.to >= x.from && x.from < bytes.length);
}

function tcpFlags(v) {
  const names = [[0x100, 'NS'], [0x80, 'CWR'], [0x40, 'ECE'], [0x20, 'URG'], [0x10, 'ACK'], [0x08, 'PSH'], [0x04, 'RST'], [0x02, 'SYN'], [0x01, 'FIN']];
  return names.filter(([b]) => v & b).map(([, n]) => n).join(' ') || 'none';
}

/** One sentence about the layer as a whole. */
export function layerNote(l, ctx) {
  if (ctx.outer && l.type === 'eth') return 'Outer Ethernet: from this VTEP to the next hop on the underlay.';
  if (ctx.outer && l.type === 'ipv4') return 'Outer IPv4: from VTEP to VTEP. This is all the underlay routes on.';
  if (ctx.outer && l.type === 'udp') return 'Outer UDP: carries the tunnel.';
  if (l.type === 'vxlan') return 'The VXLAN header: 8 bytes saying which virtual network the frame belongs to.';
  if (l.depth > 0 && l.type === 'eth') return 'Inner Ethernet: the guest\'s own frame, byte for byte what the bridge saw.';
  return '';
}
