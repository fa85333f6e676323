/**
 * The data model shared by the readers, the layer decoders and everything above them.
 *
 * Fields are cheap while decoding: MAC addresses are 48-bit numbers, IPv4 addresses
 * 32-bit unsigned numbers, IPv6 addresses 16-byte views. Text is made only when printed
 * (see format/addr.ts).
 */

/** One record as read from a capture file or stream, before any protocol decoding. */
export interface RawPacket {
  /** Whole seconds since the Unix epoch. */
  tsSec: number;
  /** Sub-second part in nanoseconds. Normally 0..999,999,999; larger values come from broken files and are flagged. */
  tsNsec: number;
  /** Digits of sub-second precision the source had (6 for microsecond pcap, 9 for nanosecond). */
  tsDigits: number;
  /** Bytes captured (data.length). */
  caplen: number;
  /** Bytes on the wire. May be larger than caplen (snaplen) or, in broken files, smaller. */
  len: number;
  /** LINKTYPE_* value (FCS bits of the pcap header already masked off). */
  linkType: number;
  /** pcapng interface index inside its section; undefined for classic pcap. */
  interfaceId?: number;
  /** pcapng `if_name` option, when present. */
  interfaceName?: string;
  /**
   * pcapng: how many interfaces the packet's section had declared when it was read. More than
   * one and the text output names each packet's interface (as `dumpcap -i eth1 -i vxlan_bridge`
   * files need); undefined for classic pcap.
   */
  interfaceCount?: number;
  /** Byte offset of the record (pcap record header or pcapng block) in the input. */
  fileOffset: number;
  /** The captured bytes. A view that stays valid: readers never reuse memory they handed out. */
  data: Uint8Array;
}

/** Why a decode stopped early. Kept apart exactly as tcpdump and Wireshark do. */
export interface DecodeError {
  /** Layer type that could not be decoded (e.g. "ipv4"). */
  layer: string;
  /** Byte offset in the frame where the problem is. */
  offset: number;
  message: string;
}

interface LayerBase {
  /** Offset of the layer's header in the frame. */
  offset: number;
  /** Header length in bytes (payload not included). */
  length: number;
  /** Tunnel depth: 0 for the outer packet, 1 inside the first VXLAN/GENEVE/GPE, and so on. */
  depth: number;
}

export interface EthLayer extends LayerBase {
  type: 'eth';
  src: number;
  dst: number;
  ethertype: number;
}

/** 802.1Q (tpid 0x8100), 802.1ad S-tag (0x88a8) or legacy QinQ tags (0x9100). */
export interface VlanLayer extends LayerBase {
  type: 'vlan';
  tpid: number;
  pcp: number;
  dei: boolean;
  vid: number;
  ethertype: number;
}

/** Linux cooked capture, v1 (LINKTYPE 113) or v2 (LINKTYPE 276). */
export interface SllLayer extends LayerBase {
  type: 'sll';
  version: 1 | 2;
  packetType: number;
  arphrdType: number;
  /** Link-layer address (up to 8 bytes) of the sender. */
  addr: Uint8Array;
  protocol: number;
  /** SLL2 only. */
  ifindex?: number;
}

/** BSD loopback (LINKTYPE 0 host order, 108 big-endian): a 4-byte address family. */
export interface LoopbackLayer extends LayerBase {
  type: 'loopback';
  family: number;
}

export interface ArpLayer extends LayerBase {
  type: 'arp';
  htype: number;
  ptype: number;
  hlen: number;
  plen: number;
  op: number;
  sha: Uint8Array;
  spa: Uint8Array;
  tha: Uint8Array;
  tpa: Uint8Array;
}

export interface Ipv4Layer extends LayerBase {
  type: 'ipv4';
  ihl: number;
  tos: number;
  totalLength: number;
  id: number;
  /** Reserved, DF, MF as the top 3 bits' value (0..7). */
  flags: number;
  /** Fragment offset in bytes. */
  fragOffset: number;
  ttl: number;
  proto: number;
  checksum: number;
  src: number;
  dst: number;
  optionsLength: number;
}

export interface Ipv6Layer extends LayerBase {
  type: 'ipv6';
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** Next header of the fixed header. */
  nextHeader: number;
  /** The upper-layer protocol after the extension headers. */
  proto: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** Extension header types in order (0 hop-by-hop, 43 routing, 44 fragment, 60 destination options, ...). */
  extHeaders: number[];
  fragment?: { offset: number; more: boolean; id: number };
  /** Jumbo payload length from the hop-by-hop option, when present. */
  jumboLength?: number;
}

export interface UdpLayer extends LayerBase {
  type: 'udp';
  srcPort: number;
  dstPort: number;
  /** The UDP length field as sent. */
  udpLength: number;
  checksum: number;
}

export interface TcpLayer extends LayerBase {
  type: 'tcp';
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  dataOffset: number;
  /** The 9 flag bits: NS CWR ECE URG ACK PSH RST SYN FIN (FIN = 0x001). */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  optionsLength: number;
  /** Payload bytes on the wire (from the IP length), when known. */
  payloadLength: number;
}

export interface IcmpLayer extends LayerBase {
  type: 'icmp';
  icmpType: number;
  code: number;
  checksum: number;
  /** Echo request/reply identifier and sequence. */
  id?: number;
  seq?: number;
}

export interface Icmpv6Layer extends LayerBase {
  type: 'icmpv6';
  icmpType: number;
  code: number;
  checksum: number;
  id?: number;
  seq?: number;
  /** Neighbour solicitation/advertisement and redirect target address. */
  target?: Uint8Array;
  /** Source/target link-layer address option (neighbour discovery), as a 48-bit MAC. */
  lladdr?: number;
}

export interface VxlanLayer extends LayerBase {
  type: 'vxlan';
  /** First byte: 0x08 = I (VNI valid); 0x80 = G (group policy); others reserved. */
  flags: number;
  vni: number;
  /** The 24 bits after the flags byte (GBP: D/A bits and group id live here). */
  reserved1: number;
  /** The last byte. */
  reserved2: number;
  /** Group Based Policy extension, when the G bit is set. */
  gbp?: { groupId: number; dontLearn: boolean; applied: boolean };
}

export interface GeneveLayer extends LayerBase {
  type: 'geneve';
  version: number;
  /** Options length in bytes. */
  optionsLength: number;
  oam: boolean;
  critical: boolean;
  protocolType: number;
  vni: number;
  options: { optClass: number; optType: number; length: number }[];
}

export interface VxlanGpeLayer extends LayerBase {
  type: 'vxlan-gpe';
  flags: number;
  nextProtocol: number;
  vni: number;
}

export type Layer =
  | EthLayer
  | VlanLayer
  | SllLayer
  | LoopbackLayer
  | ArpLayer
  | Ipv4Layer
  | Ipv6Layer
  | UdpLayer
  | TcpLayer
  | IcmpLayer
  | Icmpv6Layer
  | VxlanLayer
  | GeneveLayer
  | VxlanGpeLayer;

export type LayerType = Layer['type'];

/** A frame with its layers, outermost first. */
export interface DecodedPacket {
  /** 1-based position in the input. */
  n: number;
  raw: RawPacket;
  layers: Layer[];
  /** Offset where undecoded payload starts (after the last layer). */
  payloadOffset: number;
  /** Bytes of that payload that were captured. */
  payloadLength: number;
  /** The capture's snaplen cut the frame inside a header: not an error. */
  truncated?: boolean;
  /** The layer whose header was cut (tcpdump's `[|ipv4]`). */
  truncatedLayer?: string;
  /** The bytes contradict the protocol: decoding stopped here, layers so far are kept. */
  error?: DecodeError;
  /** Things worth saying that did not stop decoding. */
  warnings?: string[];
}

/** Well-known tunnel types: the layers that carry an inner frame. */
export const TUNNEL_TYPES: ReadonlySet<LayerType> = new Set<LayerType>(['vxlan', 'geneve', 'vxlan-gpe']);
