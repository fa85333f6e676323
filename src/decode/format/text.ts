/**
 * One line per packet, tcpdump-like: the outer summary, then one " | " segment per tunnel
 * level, e.g.
 *   1 13:46:40.000051 10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | 36:0f:… > ff:ff:… ARP who-has 10.220.220.6 tell 10.220.220.5
 * After the time, where the packet was captured when the file says more than one place
 * (see iface.ts), as `tcpdump -i any` prints it:
 *   3 13:46:40.000069 eth1 Out 10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | …
 */
import type * as L from '../types.js';
import type { DecodedPacket, Layer } from '../types.js';
import {
  KIND_ARP,
  KIND_ETH,
  KIND_GENEVE,
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
} from './kinds.js';
import { cookedHeader, namesInterface, printableName, sllDirection } from './iface.js';
import { isInvalidTimestamp, writeTimeOfDay } from './time.js';
import { type ByteWriter, lit, textOf, type Lit } from './bytes.js';
import { TCP_FLAG_NAMES } from '../layers/tcp.js';
import { ICMPV6_TYPE_NAMES, IP_PROTO_NAMES } from './names.js';

const ICMP_NAMES: Record<number, string> = {
  0: 'echo reply',
  3: 'unreachable',
  5: 'redirect',
  8: 'echo request',
  11: 'time exceeded',
  42: 'extended echo request',
  43: 'extended echo reply',
};
export function tcpFlags(flags: number): string {
  let s = '';
  for (const [bit, name] of TCP_FLAG_NAMES) if (flags & bit) s += name;
  return s || 'none';
}

// Fixed text, encoded once (see ByteWriter.lit): the per-packet path copies words, not characters.
const T = {
  arrow: lit(' > '),
  port: lit('port '),
  len8023: lit('802.3 length '),
  ethertype: lit('ethertype 0x'),
  vlan: lit('vlan '),
  sTag: lit(' (S-tag)'),
  sllProto: lit('SLL proto 0x'),
  loopback: lit('loopback family '),
  whoHas: lit('ARP who-has '),
  tell: lit(' tell '),
  reply: lit('ARP reply '),
  isAt: lit(' is-at '),
  arpOp: lit('ARP op '),
  udpLength: lit(' UDP length '),
  seq: lit('] seq '),
  ack: lit(' ack '),
  win: lit(' win '),
  length: lit(' length '),
  icmp: lit('ICMP '),
  type: lit('type '),
  code: lit(' code '),
  id: lit(' id '),
  seqOnly: lit(' seq '),
  icmpv6: lit('ICMPv6 '),
  whoHasV6: lit(' who has '),
  tgtIs: lit(' tgt is '),
  vxlan: lit('VXLAN vni '),
  vxlanNoI: lit('VXLAN (I flag clear) vni '),
  gbp: lit(' gbp '),
  bar: lit(' | '),
  invalidTs: lit(' (invalid timestamp)'),
  ifindex: lit('ifindex '),
  linkType: lit('link type '),
  bytes: lit(' bytes'),
  captured: lit(' captured'),
  comma: lit(', '),
  cut: lit(' [|'),
} as const;

/** " TCP [S.]": the flags of every 9-bit value, made once. */
const TCP_FLAG_TEXT: Lit[] = Array.from({ length: 0x200 }, (_, f) => lit(` TCP [${tcpFlags(f)}`));
/** " ICMP", " TCP", " ip-proto-200": the protocol word after an IP pair with nothing above it. */
const IP_PROTO_TEXT: Lit[] = Array.from({ length: 256 }, (_, p) => lit(` ${IP_PROTO_NAMES[p] ?? `ip-proto-${p}`}`));
const ICMP_TEXT: (Lit | undefined)[] = Array.from({ length: 256 }, (_, t) =>
  ICMP_NAMES[t] === undefined ? undefined : lit(ICMP_NAMES[t] as string),
);
const ICMPV6_TEXT: (Lit | undefined)[] = Array.from({ length: 256 }, (_, t) =>
  ICMPV6_TYPE_NAMES[t] === undefined ? undefined : lit(ICMPV6_TYPE_NAMES[t] as string),
);

/** An ICMP or ICMPv6 type by its name, or "type N" (the fields are read by the caller, where the layer's shape is known). */
function writeTypeName(w: ByteWriter, names: readonly (Lit | undefined)[], type: number): void {
  const name = names[type];
  if (name !== undefined) w.lit(name);
  else {
    w.lit(T.type);
    w.num(type);
  }
}

/** " id N seq M" of an ICMP or ICMPv6 echo (nothing for other messages). */
function writeEcho(w: ByteWriter, id: number | undefined, seq: number | undefined): void {
  if (id === undefined) return;
  w.lit(T.id);
  w.num(id);
  w.lit(T.seqOnly);
  w.opt(seq);
}

/** "ip:port" (IPv4) or "[ip]:port" (IPv6) of the level's last IP layer. */
function writeHostPort(w: ByteWriter, ip: Layer, src: boolean, port: number): void {
  if (ip.type === 'ipv4') w.ipv4(src ? ip.src : ip.dst);
  else if (ip.type === 'ipv6') {
    w.byte(0x5b);
    w.ipv6(src ? ip.src : ip.dst);
    w.byte(0x5d);
  }
  w.byte(0x3a);
  w.num(port);
}

function writeIp(w: ByteWriter, ip: Layer, src: boolean): void {
  if (ip.type === 'ipv4') w.ipv4(src ? ip.src : ip.dst);
  else if (ip.type === 'ipv6') w.ipv6(src ? ip.src : ip.dst);
}

function writePorts(w: ByteWriter, ip: Layer | undefined, srcPort: number, dstPort: number): void {
  if (ip) {
    writeHostPort(w, ip, true, srcPort);
    w.lit(T.arrow);
    writeHostPort(w, ip, false, dstPort);
  } else {
    w.lit(T.port);
    w.num(srcPort);
    w.lit(T.arrow);
    w.num(dstPort);
  }
}

/** Summarises the layers [from, to) of one tunnel level; parts are separated by one space. */
function writeSegment(w: ByteWriter, layers: Layer[], kinds: Uint8Array, from: number, to: number): void {
  let first = true;
  /** Starts the next part: a space before every part but the first. */
  const next = (): ByteWriter => {
    if (first) first = false;
    else w.byte(0x20);
    return w;
  };
  let ip: Layer | undefined; // the last IPv4/IPv6 layer so far: addresses for the transport part
  let suffix = '';
  let hasIp = false;
  for (let i = from; i < to; i++) {
    const k = kinds[i];
    if (k === KIND_IPV4 || k === KIND_IPV6) hasIp = true;
  }
  const last = to - 1;
  for (let i = from; i < to; i++) {
    const any = layers[i] as Layer;
    switch (kinds[i]) {
      case KIND_ETH: {
        const l = any as L.EthLayer;
        if (!hasIp) {
          next().mac(l.src);
          w.lit(T.arrow);
          w.mac(l.dst);
        }
        if (i === last && l.ethertype !== 0x0800 && l.ethertype !== 0x86dd && l.ethertype !== 0x0806) {
          if (l.ethertype < 0x0600) {
            next().lit(T.len8023);
            w.num(l.ethertype);
          } else {
            next().lit(T.ethertype);
            w.hex(l.ethertype, 4);
          }
        }
        break;
      }
      case KIND_VLAN: {
        const l = any as L.VlanLayer;
        next().lit(T.vlan);
        w.num(l.vid);
        if (l.tpid === 0x88a8) w.lit(T.sTag);
        break;
      }
      case KIND_SLL: {
        const l = any as L.SllLayer;
        if (i === last) {
          next().lit(T.sllProto);
          w.hex(l.protocol, 4);
        }
        break;
      }
      case KIND_LOOPBACK: {
        const l = any as L.LoopbackLayer;
        if (i === last) {
          next().lit(T.loopback);
          w.num(l.family);
        }
        break;
      }
      case KIND_ARP: {
        const l = any as L.ArpLayer;
        if (l.op === 1) {
          next().lit(T.whoHas);
          w.address(l.tpa);
          w.lit(T.tell);
          w.address(l.spa);
        } else if (l.op === 2) {
          next().lit(T.reply);
          w.address(l.spa);
          w.lit(T.isAt);
          w.address(l.sha);
        } else {
          next().lit(T.arpOp);
          w.num(l.op);
          w.byte(0x20);
          w.address(l.spa);
          w.lit(T.arrow);
          w.address(l.tpa);
        }
        break;
      }
      case KIND_IPV4:
      case KIND_IPV6: {
        const l = any as L.Ipv4Layer | L.Ipv6Layer;
        ip = l;
        const nextKind = i + 1 < to ? kinds[i + 1] : -1;
        const frag = l.type === 'ipv4' ? (l.flags & 1) !== 0 || l.fragOffset !== 0 : l.fragment !== undefined;
        if (frag) {
          suffix =
            l.type === 'ipv4'
              ? `(frag id ${l.id} offset ${l.fragOffset}${l.flags & 1 ? '+' : ''})`
              : `(frag id ${l.fragment?.id} offset ${l.fragment?.offset}${l.fragment?.more ? '+' : ''})`;
        }
        if (nextKind !== KIND_UDP && nextKind !== KIND_TCP) {
          writeIp(next(), l, true);
          w.lit(T.arrow);
          writeIp(w, l, false);
          if (nextKind === -1) {
            const proto = l.proto;
            if (proto >= 0 && proto <= 255 && Number.isInteger(proto)) w.lit(IP_PROTO_TEXT[proto] as Lit);
            else w.ascii(` ip-proto-${proto}`);
          }
        }
        break;
      }
      case KIND_UDP: {
        const l = any as L.UdpLayer;
        writePorts(next(), ip, l.srcPort, l.dstPort);
        if (i === last) {
          w.lit(T.udpLength);
          w.num(Math.max(0, l.udpLength - 8));
        }
        break;
      }
      case KIND_TCP: {
        const l = any as L.TcpLayer;
        writePorts(next(), ip, l.srcPort, l.dstPort);
        const flags = l.flags;
        if (flags >= 0 && flags < 0x200 && Number.isInteger(flags)) w.lit(TCP_FLAG_TEXT[flags] as Lit);
        else w.ascii(` TCP [${tcpFlags(flags)}`);
        w.lit(T.seq);
        w.num(l.seq);
        if (flags & 0x010) {
          w.lit(T.ack);
          w.num(l.ack);
        }
        w.lit(T.win);
        w.num(l.window);
        w.lit(T.length);
        w.num(l.payloadLength);
        break;
      }
      case KIND_ICMP: {
        const l = any as L.IcmpLayer;
        next().lit(T.icmp);
        writeTypeName(w, ICMP_TEXT, l.icmpType);
        if (l.icmpType !== 0 && l.icmpType !== 8 && l.code) {
          w.lit(T.code);
          w.num(l.code);
        }
        writeEcho(w, l.id, l.seq);
        break;
      }
      case KIND_ICMPV6: {
        const l = any as L.Icmpv6Layer;
        next().lit(T.icmpv6);
        writeTypeName(w, ICMPV6_TEXT, l.icmpType);
        if (l.target) {
          w.lit(l.icmpType === 135 ? T.whoHasV6 : T.tgtIs);
          w.ipv6(l.target);
        }
        writeEcho(w, l.id, l.seq);
        break;
      }
      case KIND_VXLAN: {
        const l = any as L.VxlanLayer;
        next().lit(l.flags & 0x08 ? T.vxlan : T.vxlanNoI);
        w.num(l.vni);
        if (l.gbp) {
          w.lit(T.gbp);
          w.num(l.gbp.groupId);
        }
        break;
      }
      case KIND_GENEVE: {
        const l = any as L.GeneveLayer;
        next().ascii(
          `GENEVE vni ${l.vni} proto 0x${l.protocolType.toString(16).padStart(4, '0')}${l.optionsLength ? ` options ${l.optionsLength}B` : ''}`,
        );
        break;
      }
      case KIND_GPE: {
        const l = any as L.VxlanGpeLayer;
        next().ascii(`VXLAN-GPE vni ${l.vni} next-proto ${l.nextProtocol}`);
        break;
      }
    }
  }
  if (suffix) next().ascii(suffix);
}

const layerKinds = new LayerKinds();

/** The summary of every tunnel level, outermost first, joined with " | " (nothing for no layers). */
function writeSummary(w: ByteWriter, layers: Layer[]): void {
  const { kinds, depths } = layerKinds.read(layers);
  // Depth never decreases along the list: each level is a run of equal depth.
  let from = 0;
  while (from < layers.length) {
    const depth = depths[from];
    let to = from + 1;
    while (to < layers.length && depths[to] === depth) to++;
    if (from > 0) w.lit(T.bar);
    writeSegment(w, layers, kinds, from, to);
    from = to;
  }
}

/** The summary of every tunnel level, outermost first, joined with " | ". */
export function summarizeLayers(layers: Layer[]): string {
  return textOf(writeSummary, layers);
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
      w.lit(T.ifindex);
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
  if (isInvalidTimestamp(raw)) w.lit(T.invalidTs);
  w.byte(0x20);
  writeWhere(w, p, options?.ifNames);
  const at = w.pos;
  writeSummary(w, p.layers);
  if (w.pos === at) {
    w.lit(T.linkType);
    w.num(raw.linkType);
  }
  w.byte(0x20);
  w.byte(0x28);
  w.num(raw.len);
  w.lit(T.bytes);
  if (raw.caplen < raw.len) {
    w.lit(T.comma);
    w.num(raw.caplen);
    w.lit(T.captured);
  }
  w.byte(0x29);
  if (p.truncated) {
    w.lit(T.cut);
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
  return options === undefined ? textOf(writePacketText, p) : textOf(textLineWriter(options), p);
}
