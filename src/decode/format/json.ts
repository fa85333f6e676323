/**
 * The JSON form of a decoded packet (`decode --json`, the web API). Addresses become text
 * here: MACs lower case with colons, IPv6 in RFC 5952 form. `truncated`, `error` and
 * `warnings` appear only when they apply.
 */
import type * as L from '../types.js';
import type { DecodedPacket, Layer } from '../types.js';
import {
  KIND_ARP,
  KIND_ETH,
  KIND_GPE,
  KIND_ICMP,
  KIND_ICMPV6,
  KIND_IPV4,
  KIND_IPV6,
  KIND_LOOPBACK,
  KIND_SLL,
  KIND_TCP,
  KIND_UDP,
  KIND_VLAN,
  KIND_VXLAN,
  LayerKinds,
  kindOf,
} from './kinds.js';
import { formatAddressBytes, formatHexBytes, formatIPv4, formatIPv6, formatMac } from './addr.js';
import { formatEpoch, isInvalidTimestamp, writeEpoch } from './time.js';
import { type ByteWriter, lit, textOf } from './bytes.js';
import { cookedHeader, sllDirection } from './iface.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Every layer says where it is (offset, header length) and, inside a tunnel, its depth.
 * Fields that are almost always zero (reserved bits, TOS, fragment offset) appear only when
 * they are not; checksums are left out (they are in the bytes).
 */
export function layerToJson(layer: Layer): JsonObject {
  const base: JsonObject = layer.depth
    ? { offset: layer.offset, length: layer.length, depth: layer.depth }
    : { offset: layer.offset, length: layer.length };
  switch (layer.type) {
    case 'eth':
      return { type: 'eth', src: formatMac(layer.src), dst: formatMac(layer.dst), ethertype: layer.ethertype, ...base };
    case 'vlan':
      return { type: 'vlan', tpid: layer.tpid, vid: layer.vid, pcp: layer.pcp, dei: layer.dei, ethertype: layer.ethertype, ...base };
    case 'sll': {
      const o: JsonObject = {
        type: 'sll',
        version: layer.version,
        packetType: layer.packetType,
        arphrdType: layer.arphrdType,
        addr: formatHexBytes(layer.addr),
        protocol: layer.protocol,
        ...base,
      };
      if (layer.ifindex !== undefined) o.ifindex = layer.ifindex;
      return o;
    }
    case 'loopback':
      return { type: 'loopback', family: layer.family, ...base };
    case 'arp': {
      const o: JsonObject = { type: 'arp', op: layer.op };
      if (layer.htype !== 1 || layer.ptype !== 0x0800 || layer.hlen !== 6 || layer.plen !== 4) {
        Object.assign(o, { htype: layer.htype, ptype: layer.ptype, hlen: layer.hlen, plen: layer.plen });
      }
      return {
        ...o,
        sha: formatAddressBytes(layer.sha),
        spa: formatAddressBytes(layer.spa),
        tha: formatAddressBytes(layer.tha),
        tpa: formatAddressBytes(layer.tpa),
        ...base,
      };
    }
    case 'ipv4': {
      const o: JsonObject = {
        type: 'ipv4',
        src: formatIPv4(layer.src),
        dst: formatIPv4(layer.dst),
        proto: layer.proto,
        ttl: layer.ttl,
        totalLength: layer.totalLength,
        id: layer.id,
        flags: layer.flags,
      };
      if (layer.fragOffset) o.fragOffset = layer.fragOffset;
      if (layer.tos) o.tos = layer.tos;
      return { ...o, ...base };
    }
    case 'ipv6': {
      const o: JsonObject = {
        type: 'ipv6',
        src: formatIPv6(layer.src),
        dst: formatIPv6(layer.dst),
        nextHeader: layer.nextHeader,
        proto: layer.proto,
        hopLimit: layer.hopLimit,
        payloadLength: layer.payloadLength,
        trafficClass: layer.trafficClass,
        flowLabel: layer.flowLabel,
        extHeaders: layer.extHeaders,
        ...base,
      };
      if (layer.fragment) o.fragment = { ...layer.fragment };
      if (layer.jumboLength !== undefined) o.jumboLength = layer.jumboLength;
      return o;
    }
    case 'udp':
      return { type: 'udp', srcPort: layer.srcPort, dstPort: layer.dstPort, udpLength: layer.udpLength, ...base };
    case 'tcp':
      return {
        type: 'tcp',
        srcPort: layer.srcPort,
        dstPort: layer.dstPort,
        seq: layer.seq,
        ack: layer.ack,
        flags: layer.flags,
        window: layer.window,
        optionsLength: layer.optionsLength,
        payloadLength: layer.payloadLength,
        ...base,
      };
    case 'icmp':
    case 'icmpv6': {
      const o: JsonObject = { type: layer.type, icmpType: layer.icmpType, code: layer.code, ...base };
      if (layer.id !== undefined) o.id = layer.id;
      if (layer.seq !== undefined) o.seq = layer.seq;
      if (layer.type === 'icmp') return o;
      if (layer.target) o.target = formatIPv6(layer.target);
      if (layer.lladdr !== undefined) o.lladdr = formatMac(layer.lladdr);
      return o;
    }
    case 'vxlan': {
      const o: JsonObject = { type: 'vxlan', flags: layer.flags, vni: layer.vni };
      if (layer.gbp) o.gbp = { ...layer.gbp };
      else if (layer.reserved1) o.reserved1 = layer.reserved1;
      if (layer.reserved2) o.reserved2 = layer.reserved2;
      return { ...o, ...base };
    }
    case 'geneve':
      return {
        type: 'geneve',
        vni: layer.vni,
        protocolType: layer.protocolType,
        optionsLength: layer.optionsLength,
        oam: layer.oam,
        critical: layer.critical,
        version: layer.version,
        options: layer.options.map((o) => ({ class: o.optClass, type: o.optType, length: o.length })),
        ...base,
      };
    case 'vxlan-gpe':
      return { type: 'vxlan-gpe', flags: layer.flags, vni: layer.vni, nextProtocol: layer.nextProtocol, ...base };
  }
}

function packetBody(p: DecodedPacket): JsonObject {
  const o: JsonObject = { caplen: p.raw.caplen, len: p.raw.len, layers: p.layers.map(layerToJson) };
  if (p.raw.interfaceId !== undefined) o.interface = p.raw.interfaceId;
  if (p.raw.interfaceName !== undefined) o.interfaceName = p.raw.interfaceName;
  const sll = cookedHeader(p);
  if (sll !== undefined) {
    const direction = sllDirection(sll.packetType);
    if (direction !== undefined) o.direction = direction;
    if (sll.ifindex !== undefined) o.ifindex = sll.ifindex;
  }
  if (p.raw.linkType !== 1) o.linkType = p.raw.linkType;
  if (isInvalidTimestamp(p.raw)) o.tsInvalid = true;
  if (p.truncated) o.truncated = true;
  if (p.truncatedLayer) o.truncatedLayer = p.truncatedLayer;
  if (p.error) o.error = { ...p.error };
  if (p.warnings) o.warnings = [...p.warnings];
  return o;
}

/** The JSON object of a packet; `ts` is a number here (exact text: packetToJsonLine). */
export function packetToJson(p: DecodedPacket): JsonObject {
  return { n: p.n, ts: Number(formatEpoch(p.raw)), ...packetBody(p) };
}

// Fixed text of the byte writer, encoded once (see ByteWriter.lit).
const K = {
  offset: lit(',"offset":'),
  length: lit(',"length":'),
  depth: lit(',"depth":'),
  ethSrc: lit('{"type":"eth","src":"'),
  dst: lit('","dst":"'),
  ethertype: lit('","ethertype":'),
  ipv4Src: lit('{"type":"ipv4","src":"'),
  proto: lit('","proto":'),
  ttl: lit(',"ttl":'),
  totalLength: lit(',"totalLength":'),
  id: lit(',"id":'),
  flags: lit(',"flags":'),
  fragOffset: lit(',"fragOffset":'),
  tos: lit(',"tos":'),
  ipv6Src: lit('{"type":"ipv6","src":"'),
  nextHeader: lit('","nextHeader":'),
  proto6: lit(',"proto":'),
  hopLimit: lit(',"hopLimit":'),
  payloadLength: lit(',"payloadLength":'),
  trafficClass: lit(',"trafficClass":'),
  flowLabel: lit(',"flowLabel":'),
  extHeaders: lit(',"extHeaders":['),
  udp: lit('{"type":"udp","srcPort":'),
  dstPort: lit(',"dstPort":'),
  udpLength: lit(',"udpLength":'),
  vxlan: lit('{"type":"vxlan","flags":'),
  vni: lit(',"vni":'),
  tcp: lit('{"type":"tcp","srcPort":'),
  seq: lit(',"seq":'),
  ack: lit(',"ack":'),
  window: lit(',"window":'),
  optionsLength: lit(',"optionsLength":'),
  icmp: lit('{"type":"icmp","icmpType":'),
  icmpv6: lit('{"type":"icmpv6","icmpType":'),
  code: lit(',"code":'),
  target: lit(',"target":"'),
  lladdr: lit(',"lladdr":"'),
  arp: lit('{"type":"arp","op":'),
  sha: lit(',"sha":"'),
  spa: lit('","spa":"'),
  tha: lit('","tha":"'),
  tpa: lit('","tpa":"'),
  vlan: lit('{"type":"vlan","tpid":'),
  vid: lit(',"vid":'),
  pcp: lit(',"pcp":'),
  deiTrue: lit(',"dei":true,"ethertype":'),
  deiFalse: lit(',"dei":false,"ethertype":'),
  sll: lit('{"type":"sll","version":'),
  packetType: lit(',"packetType":'),
  arphrdType: lit(',"arphrdType":'),
  addr: lit(',"addr":"'),
  protocol: lit('","protocol":'),
  ifindex: lit(',"ifindex":'),
  loopback: lit('{"type":"loopback","family":'),
  gpe: lit('{"type":"vxlan-gpe","flags":'),
  nextProtocol: lit(',"nextProtocol":'),
  n: lit('{"n":'),
  ts: lit(',"ts":'),
  caplen: lit(',"caplen":'),
  len: lit(',"len":'),
  layers: lit(',"layers":['),
  iface: lit(',"interface":'),
  ifaceName: lit(',"interfaceName":'),
  direction: lit(',"direction":"'),
  linkType: lit(',"linkType":'),
  tsInvalid: lit(',"tsInvalid":true'),
  truncated: lit(',"truncated":true'),
  truncatedLayer: lit(',"truncatedLayer":'),
  error: lit(',"error":'),
  warnings: lit(',"warnings":'),
} as const;

/** The end of every layer object: where it is, and its depth inside a tunnel. Starts with the comma. */
function writeBase(w: ByteWriter, offset: number, length: number, depth: number): void {
  w.field(K.offset, offset);
  w.field(K.length, length);
  if (depth) w.field(K.depth, depth);
  w.byte(0x7d); // }
}

/** `,"id":N,"seq":M` of an ICMP or ICMPv6 echo, each when present (read by the caller, where the layer's shape is known). */
function writeEcho(w: ByteWriter, id: number | undefined, seq: number | undefined): void {
  if (id !== undefined) w.field(K.id, id);
  if (seq !== undefined) w.field(K.seq, seq);
}

/**
 * The same object as layerToJson, written straight to bytes: `decode --json` prints a
 * million of these, and building objects only to stringify them costs twice the time.
 * Keys in the order layerToJson gives them, except icmp (id and seq before offset, as this
 * writer has always printed them: the golden files hold that order). The rare shapes (GENEVE
 * options, VXLAN GBP or reserved bits, IPv6 fragments and jumbograms, ARP for other than
 * Ethernet/IPv4) go through layerToJson. A test checks that both give identical JSON for every
 * layer of every fixture.
 */
export function writeLayerJson(w: ByteWriter, l: Layer): void {
  writeLayerOfKind(w, l, kindOf(l));
}

/** writeLayerJson for a layer whose kind (kinds.ts) is known: fields are read where the shape is. */
function writeLayerOfKind(w: ByteWriter, any: Layer, kind: number): void {
  switch (kind) {
    case KIND_ETH: {
      const l = any as L.EthLayer;
      w.lit(K.ethSrc);
      w.mac(l.src);
      w.lit(K.dst);
      w.mac(l.dst);
      w.field(K.ethertype, l.ethertype);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_IPV4: {
      const l = any as L.Ipv4Layer;
      w.lit(K.ipv4Src);
      w.ipv4(l.src);
      w.lit(K.dst);
      w.ipv4(l.dst);
      w.field(K.proto, l.proto);
      w.field(K.ttl, l.ttl);
      w.field(K.totalLength, l.totalLength);
      w.field(K.id, l.id);
      w.field(K.flags, l.flags);
      if (l.fragOffset) w.field(K.fragOffset, l.fragOffset);
      if (l.tos) w.field(K.tos, l.tos);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_IPV6: {
      const l = any as L.Ipv6Layer;
      if (l.fragment || l.jumboLength !== undefined) break;
      w.lit(K.ipv6Src);
      w.ipv6(l.src);
      w.lit(K.dst);
      w.ipv6(l.dst);
      w.field(K.nextHeader, l.nextHeader);
      w.field(K.proto6, l.proto);
      w.field(K.hopLimit, l.hopLimit);
      w.field(K.payloadLength, l.payloadLength);
      w.field(K.trafficClass, l.trafficClass);
      w.field(K.flowLabel, l.flowLabel);
      w.lit(K.extHeaders);
      const ext = l.extHeaders;
      for (let i = 0; i < ext.length; i++) {
        if (i) w.byte(0x2c);
        w.num(ext[i] as number);
      }
      w.byte(0x5d);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_UDP: {
      const l = any as L.UdpLayer;
      w.field(K.udp, l.srcPort);
      w.field(K.dstPort, l.dstPort);
      w.field(K.udpLength, l.udpLength);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_VXLAN: {
      const l = any as L.VxlanLayer;
      if (l.gbp || l.reserved1 || l.reserved2) break;
      w.field(K.vxlan, l.flags);
      w.field(K.vni, l.vni);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_TCP: {
      const l = any as L.TcpLayer;
      w.field(K.tcp, l.srcPort);
      w.field(K.dstPort, l.dstPort);
      w.field(K.seq, l.seq);
      w.field(K.ack, l.ack);
      w.field(K.flags, l.flags);
      w.field(K.window, l.window);
      w.field(K.optionsLength, l.optionsLength);
      w.field(K.payloadLength, l.payloadLength);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_ICMP: {
      const l = any as L.IcmpLayer;
      w.field(K.icmp, l.icmpType);
      w.field(K.code, l.code);
      writeEcho(w, l.id, l.seq);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_ICMPV6: {
      const l = any as L.Icmpv6Layer;
      w.field(K.icmpv6, l.icmpType);
      w.field(K.code, l.code);
      w.field(K.offset, l.offset);
      w.field(K.length, l.length);
      if (l.depth) w.field(K.depth, l.depth);
      writeEcho(w, l.id, l.seq);
      if (l.target) {
        w.lit(K.target);
        w.ipv6(l.target);
        w.byte(0x22);
      }
      if (l.lladdr !== undefined) {
        w.lit(K.lladdr);
        w.mac(l.lladdr);
        w.byte(0x22);
      }
      w.byte(0x7d);
      return;
    }
    case KIND_ARP: {
      const l = any as L.ArpLayer;
      if (l.htype !== 1 || l.ptype !== 0x0800 || l.hlen !== 6 || l.plen !== 4) break;
      w.field(K.arp, l.op);
      w.lit(K.sha);
      w.address(l.sha);
      w.lit(K.spa);
      w.address(l.spa);
      w.lit(K.tha);
      w.address(l.tha);
      w.lit(K.tpa);
      w.address(l.tpa);
      w.byte(0x22);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_VLAN: {
      const l = any as L.VlanLayer;
      w.field(K.vlan, l.tpid);
      w.field(K.vid, l.vid);
      w.field(K.pcp, l.pcp);
      w.field(l.dei ? K.deiTrue : K.deiFalse, l.ethertype);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_SLL: {
      const l = any as L.SllLayer;
      w.field(K.sll, l.version);
      w.field(K.packetType, l.packetType);
      w.field(K.arphrdType, l.arphrdType);
      w.lit(K.addr);
      w.hexBytes(l.addr);
      w.field(K.protocol, l.protocol);
      w.field(K.offset, l.offset);
      w.field(K.length, l.length);
      if (l.depth) w.field(K.depth, l.depth);
      if (l.ifindex !== undefined) w.field(K.ifindex, l.ifindex);
      w.byte(0x7d);
      return;
    }
    case KIND_LOOPBACK: {
      const l = any as L.LoopbackLayer;
      w.field(K.loopback, l.family);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    case KIND_GPE: {
      const l = any as L.VxlanGpeLayer;
      w.field(K.gpe, l.flags);
      w.field(K.vni, l.vni);
      w.field(K.nextProtocol, l.nextProtocol);
      return writeBase(w, l.offset, l.length, l.depth);
    }
    default:
      break;
  }
  w.text(JSON.stringify(layerToJson(any)));
}

/**
 * One NDJSON line (without the newline). The timestamp is written as exact decimal text
 * (JSON numbers allow it), so nanosecond captures keep all nine digits.
 */
export function writePacketJson(w: ByteWriter, p: DecodedPacket): void {
  const raw = p.raw;
  w.field(K.n, p.n);
  w.lit(K.ts);
  writeEpoch(w, raw);
  w.field(K.caplen, raw.caplen);
  w.field(K.len, raw.len);
  w.lit(K.layers);
  const layers = p.layers;
  const kinds = layerKinds.read(layers).kinds;
  for (let i = 0; i < layers.length; i++) {
    if (i) w.byte(0x2c);
    writeLayerOfKind(w, layers[i] as Layer, kinds[i] as number);
  }
  w.byte(0x5d); // ]
  if (raw.interfaceId !== undefined) {
    w.field(K.iface, raw.interfaceId);
  }
  if (raw.interfaceName !== undefined) {
    w.lit(K.ifaceName);
    w.text(JSON.stringify(raw.interfaceName));
  }
  const sll = cookedHeader(p);
  if (sll !== undefined) {
    const direction = sllDirection(sll.packetType);
    if (direction !== undefined) {
      w.lit(K.direction);
      w.ascii(direction);
      w.byte(0x22);
    }
    if (sll.ifindex !== undefined) w.field(K.ifindex, sll.ifindex);
  }
  if (raw.linkType !== 1) {
    w.field(K.linkType, raw.linkType);
  }
  if (isInvalidTimestamp(raw)) w.lit(K.tsInvalid);
  if (p.truncated) w.lit(K.truncated);
  if (p.truncatedLayer) {
    w.lit(K.truncatedLayer);
    w.text(JSON.stringify(p.truncatedLayer));
  }
  if (p.error) {
    w.lit(K.error);
    w.text(JSON.stringify(p.error));
  }
  if (p.warnings) {
    w.lit(K.warnings);
    w.text(JSON.stringify(p.warnings));
  }
  w.byte(0x7d);
}

const layerKinds = new LayerKinds();
/** One NDJSON line as text (see writePacketJson). */
export function packetToJsonLine(p: DecodedPacket): string {
  return textOf(writePacketJson, p);
}
