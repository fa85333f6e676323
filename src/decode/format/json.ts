/**
 * The JSON form of a decoded packet (`decode --json`, the web API). Addresses become text
 * here: MACs lower case with colons, IPv6 in RFC 5952 form. `truncated`, `error` and
 * `warnings` appear only when they apply.
 */
import type { DecodedPacket, Layer } from '../types.js';
import { formatAddressBytes, formatHexBytes, formatIPv4, formatIPv6, formatMac } from './addr.js';
import { formatEpoch, isInvalidTimestamp, writeEpoch } from './time.js';
import { ByteWriter } from './bytes.js';
import { cookedHeader, sllDirection } from './iface.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Every layer says where it is (offset, header length) and, inside a tunnel, its depth.
 * Fields that are almost always zero (reserved bits, TOS, fragment offset) appear only when
 * they are not; checksums are left out (they are in the bytes).
 */
export function layerToJson(layer: Layer): JsonObject {
  const base: JsonObject = layer.depth ? { offset: layer.offset, length: layer.length, depth: layer.depth } : { offset: layer.offset, length: layer.length };
  switch (layer.type) {
    case 'eth':
      return { type: 'eth', src: formatMac(layer.src), dst: formatMac(layer.dst), ethertype: layer.ethertype, ...base };
    case 'vlan':
      return { type: 'vlan', tpid: layer.tpid, vid: layer.vid, pcp: layer.pcp, dei: layer.dei, ethertype: layer.ethertype, ...base };
    case 'sll': {
      const o: JsonObject = { type: 'sll', version: layer.version, packetType: layer.packetType, arphrdType: layer.arphrdType, addr: formatHexBytes(layer.addr), protocol: layer.protocol, ...base };
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
      return { ...o, sha: formatAddressBytes(layer.sha), spa: formatAddressBytes(layer.spa), tha: formatAddressBytes(layer.tha), tpa: formatAddressBytes(layer.tpa), ...base };
    }
    case 'ipv4': {
      const o: JsonObject = { type: 'ipv4', src: formatIPv4(layer.src), dst: formatIPv4(layer.dst), proto: layer.proto, ttl: layer.ttl, totalLength: layer.totalLength, id: layer.id, flags: layer.flags };
      if (layer.fragOffset) o.fragOffset = layer.fragOffset;
      if (layer.tos) o.tos = layer.tos;
      return { ...o, ...base };
    }
    case 'ipv6': {
      const o: JsonObject = {
        type: 'ipv6', src: formatIPv6(layer.src), dst: formatIPv6(layer.dst), nextHeader: layer.nextHeader, proto: layer.proto,
        hopLimit: layer.hopLimit, payloadLength: layer.payloadLength, trafficClass: layer.trafficClass, flowLabel: layer.flowLabel,
        extHeaders: layer.extHeaders, ...base,
      };
      if (layer.fragment) o.fragment = { ...layer.fragment };
      if (layer.jumboLength !== undefined) o.jumboLength = layer.jumboLength;
      return o;
    }
    case 'udp':
      return { type: 'udp', srcPort: layer.srcPort, dstPort: layer.dstPort, udpLength: layer.udpLength, ...base };
    case 'tcp':
      return {
        type: 'tcp', srcPort: layer.srcPort, dstPort: layer.dstPort, seq: layer.seq, ack: layer.ack, flags: layer.flags,
        window: layer.window, optionsLength: layer.optionsLength, payloadLength: layer.payloadLength, ...base,
      };
    case 'icmp': {
      const o: JsonObject = { type: 'icmp', icmpType: layer.icmpType, code: layer.code, ...base };
      if (layer.id !== undefined) o.id = layer.id;
      if (layer.seq !== undefined) o.seq = layer.seq;
      return o;
    }
    case 'icmpv6': {
      const o: JsonObject = { type: 'icmpv6', icmpType: layer.icmpType, code: layer.code, ...base };
      if (layer.id !== undefined) o.id = layer.id;
      if (layer.seq !== undefined) o.seq = layer.seq;
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
        type: 'geneve', vni: layer.vni, protocolType: layer.protocolType, optionsLength: layer.optionsLength,
        oam: layer.oam, critical: layer.critical, version: layer.version,
        options: layer.options.map((o) => ({ class: o.optClass, type: o.optType, length: o.length })), ...base,
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

/** The end of every layer object: where it is, and its depth inside a tunnel. Starts with the comma. */
function writeBase(w: ByteWriter, l: Layer): void {
  w.field(',"offset":', l.offset);
  w.field(',"length":', l.length);
  if (l.depth) w.field(',"depth":', l.depth);
  w.byte(0x7d); // }
}

/** An ARP address (what formatAddressBytes gives), straight to bytes. */
function writeAddressBytes(w: ByteWriter, bytes: Uint8Array): void {
  if (bytes.length === 4) {
    w.num(bytes[0] as number);
    for (let i = 1; i < 4; i++) {
      w.byte(0x2e);
      w.num(bytes[i] as number);
    }
  } else if (bytes.length === 6) {
    const hi = ((bytes[0] as number) << 8) | (bytes[1] as number);
    const lo = (((bytes[2] as number) << 24) | ((bytes[3] as number) << 16) | ((bytes[4] as number) << 8) | (bytes[5] as number)) >>> 0;
    w.mac(hi * 0x100000000 + lo);
  } else w.ascii(formatAddressBytes(bytes));
}

/**
 * The same object as layerToJson, written straight to bytes: `decode --json` prints a
 * million of these, and building objects only to stringify them costs twice the time.
 * A test checks that both give identical JSON for every layer of every fixture.
 */
export function writeLayerJson(w: ByteWriter, l: Layer): void {
  switch (l.type) {
    case 'eth':
      w.ascii('{"type":"eth","src":"');
      w.mac(l.src);
      w.ascii('","dst":"');
      w.mac(l.dst);
      w.field('","ethertype":', l.ethertype);
      return writeBase(w, l);
    case 'ipv4':
      w.ascii('{"type":"ipv4","src":"');
      w.ipv4(l.src);
      w.ascii('","dst":"');
      w.ipv4(l.dst);
      w.field('","proto":', l.proto);
      w.field(',"ttl":', l.ttl);
      w.field(',"totalLength":', l.totalLength);
      w.field(',"id":', l.id);
      w.field(',"flags":', l.flags);
      if (l.fragOffset) w.field(',"fragOffset":', l.fragOffset);
      if (l.tos) w.field(',"tos":', l.tos);
      return writeBase(w, l);
    case 'udp':
      w.field('{"type":"udp","srcPort":', l.srcPort);
      w.field(',"dstPort":', l.dstPort);
      w.field(',"udpLength":', l.udpLength);
      return writeBase(w, l);
    case 'vxlan':
      if (l.gbp || l.reserved1 || l.reserved2) break;
      w.field('{"type":"vxlan","flags":', l.flags);
      w.field(',"vni":', l.vni);
      return writeBase(w, l);
    case 'tcp':
      w.field('{"type":"tcp","srcPort":', l.srcPort);
      w.field(',"dstPort":', l.dstPort);
      w.field(',"seq":', l.seq);
      w.field(',"ack":', l.ack);
      w.field(',"flags":', l.flags);
      w.field(',"window":', l.window);
      w.field(',"optionsLength":', l.optionsLength);
      w.field(',"payloadLength":', l.payloadLength);
      return writeBase(w, l);
    case 'icmp':
      w.field('{"type":"icmp","icmpType":', l.icmpType);
      w.field(',"code":', l.code);
      if (l.id !== undefined) w.field(',"id":', l.id);
      if (l.seq !== undefined) w.field(',"seq":', l.seq);
      return writeBase(w, l);
    case 'arp':
      if (l.htype !== 1 || l.ptype !== 0x0800 || l.hlen !== 6 || l.plen !== 4) break;
      w.field('{"type":"arp","op":', l.op);
      w.ascii(',"sha":"');
      writeAddressBytes(w, l.sha);
      w.ascii('","spa":"');
      writeAddressBytes(w, l.spa);
      w.ascii('","tha":"');
      writeAddressBytes(w, l.tha);
      w.ascii('","tpa":"');
      writeAddressBytes(w, l.tpa);
      w.byte(0x22);
      return writeBase(w, l);
    default:
      break;
  }
  w.text(JSON.stringify(layerToJson(l)));
}

/**
 * One NDJSON line (without the newline). The timestamp is written as exact decimal text
 * (JSON numbers allow it), so nanosecond captures keep all nine digits.
 */
export function writePacketJson(w: ByteWriter, p: DecodedPacket): void {
  const raw = p.raw;
  w.field('{"n":', p.n);
  w.ascii(',"ts":');
  writeEpoch(w, raw);
  w.field(',"caplen":', raw.caplen);
  w.field(',"len":', raw.len);
  w.ascii(',"layers":[');
  const layers = p.layers;
  for (let i = 0; i < layers.length; i++) {
    if (i) w.byte(0x2c);
    writeLayerJson(w, layers[i] as Layer);
  }
  w.byte(0x5d); // ]
  if (raw.interfaceId !== undefined) {
    w.field(',"interface":', raw.interfaceId);
  }
  if (raw.interfaceName !== undefined) {
    w.ascii(',"interfaceName":');
    w.text(JSON.stringify(raw.interfaceName));
  }
  const sll = cookedHeader(p);
  if (sll !== undefined) {
    const direction = sllDirection(sll.packetType);
    if (direction !== undefined) {
      w.ascii(',"direction":"');
      w.ascii(direction);
      w.byte(0x22);
    }
    if (sll.ifindex !== undefined) w.field(',"ifindex":', sll.ifindex);
  }
  if (raw.linkType !== 1) {
    w.field(',"linkType":', raw.linkType);
  }
  if (isInvalidTimestamp(raw)) w.ascii(',"tsInvalid":true');
  if (p.truncated) w.ascii(',"truncated":true');
  if (p.truncatedLayer) {
    w.ascii(',"truncatedLayer":');
    w.text(JSON.stringify(p.truncatedLayer));
  }
  if (p.error) {
    w.ascii(',"error":');
    w.text(JSON.stringify(p.error));
  }
  if (p.warnings) {
    w.ascii(',"warnings":');
    w.text(JSON.stringify(p.warnings));
  }
  w.byte(0x7d);
}

const scratch = new ByteWriter(4096);

/** One NDJSON line as text (see writePacketJson). */
export function packetToJsonLine(p: DecodedPacket): string {
  scratch.reset();
  writePacketJson(scratch, p);
  return scratch.textFrom(0);
}
