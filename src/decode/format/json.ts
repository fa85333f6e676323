/**
 * The JSON form of a decoded packet (`decode --json`, the web API). Addresses become text
 * here: MACs lower case with colons, IPv6 in RFC 5952 form. `truncated`, `error` and
 * `warnings` appear only when they apply.
 */
import type { DecodedPacket, Layer } from '../types.js';
import { formatAddressBytes, formatHexBytes, formatIPv4, formatIPv6, formatMac } from './addr.js';
import { formatEpoch, isInvalidTimestamp } from './time.js';

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

/** A string value in JSON; the texts we make (addresses, names) never need escaping, messages might. */
function str(s: string): string {
  return JSON.stringify(s);
}

/**
 * The same object as layerToJson, written straight to text: `decode --json` prints a
 * million of these, and building objects only to stringify them costs twice the time.
 * A test checks that both give identical JSON for every layer of every fixture.
 */
export function layerToJsonText(l: Layer): string {
  const base = l.depth ? `"offset":${l.offset},"length":${l.length},"depth":${l.depth}}` : `"offset":${l.offset},"length":${l.length}}`;
  switch (l.type) {
    case 'eth':
      return `{"type":"eth","src":"${formatMac(l.src)}","dst":"${formatMac(l.dst)}","ethertype":${l.ethertype},${base}`;
    case 'ipv4':
      return `{"type":"ipv4","src":"${formatIPv4(l.src)}","dst":"${formatIPv4(l.dst)}","proto":${l.proto},"ttl":${l.ttl},"totalLength":${l.totalLength},"id":${l.id},"flags":${l.flags},${l.fragOffset ? `"fragOffset":${l.fragOffset},` : ''}${l.tos ? `"tos":${l.tos},` : ''}${base}`;
    case 'udp':
      return `{"type":"udp","srcPort":${l.srcPort},"dstPort":${l.dstPort},"udpLength":${l.udpLength},${base}`;
    case 'vxlan':
      return l.gbp || l.reserved1 || l.reserved2
        ? JSON.stringify(layerToJson(l))
        : `{"type":"vxlan","flags":${l.flags},"vni":${l.vni},${base}`;
    case 'tcp':
      return `{"type":"tcp","srcPort":${l.srcPort},"dstPort":${l.dstPort},"seq":${l.seq},"ack":${l.ack},"flags":${l.flags},"window":${l.window},"optionsLength":${l.optionsLength},"payloadLength":${l.payloadLength},${base}`;
    case 'icmp':
      return `{"type":"icmp","icmpType":${l.icmpType},"code":${l.code},${l.id !== undefined ? `"id":${l.id},` : ''}${l.seq !== undefined ? `"seq":${l.seq},` : ''}${base}`;
    case 'arp':
      return l.htype !== 1 || l.ptype !== 0x0800 || l.hlen !== 6 || l.plen !== 4
        ? JSON.stringify(layerToJson(l))
        : `{"type":"arp","op":${l.op},"sha":"${formatAddressBytes(l.sha)}","spa":"${formatAddressBytes(l.spa)}","tha":"${formatAddressBytes(l.tha)}","tpa":"${formatAddressBytes(l.tpa)}",${base}`;
    default:
      return JSON.stringify(layerToJson(l));
  }
}

/**
 * One NDJSON line. The timestamp is written as exact decimal text (JSON numbers allow it),
 * so nanosecond captures keep all nine digits.
 */
export function packetToJsonLine(p: DecodedPacket): string {
  const raw = p.raw;
  let s = `{"n":${p.n},"ts":${formatEpoch(raw)},"caplen":${raw.caplen},"len":${raw.len},"layers":[`;
  const layers = p.layers;
  for (let i = 0; i < layers.length; i++) s += (i ? ',' : '') + layerToJsonText(layers[i] as Layer);
  s += ']';
  if (raw.interfaceId !== undefined) s += `,"interface":${raw.interfaceId}`;
  if (raw.interfaceName !== undefined) s += `,"interfaceName":${str(raw.interfaceName)}`;
  if (raw.linkType !== 1) s += `,"linkType":${raw.linkType}`;
  if (isInvalidTimestamp(raw)) s += ',"tsInvalid":true';
  if (p.truncated) s += ',"truncated":true';
  if (p.truncatedLayer) s += `,"truncatedLayer":${str(p.truncatedLayer)}`;
  if (p.error) s += `,"error":${JSON.stringify(p.error)}`;
  if (p.warnings) s += `,"warnings":${JSON.stringify(p.warnings)}`;
  return s + '}';
}
