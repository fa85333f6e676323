/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): the flow identifier Zeek
 * (conn.log `community_id`), Suricata, Arkime, Malcolm and Wireshark compute, so rows of an
 * export join theirs by one string comparison.
 *
 *   "1:" + base64(sha1(seed(2) . saddr . daddr . proto(1) . 0(1) . sport(2) . dport(2)))
 *
 * every field in network byte order, the endpoints ordered so that the smaller address (then,
 * for equal addresses, the smaller port) comes first, which makes both directions of a flow
 * one ID. Ports are hashed for TCP, UDP, SCTP, ICMP and ICMPv6 only; other IP protocols hash
 * addresses and protocol. ICMP and ICMPv6 have no ports: the type and code stand in for them
 * as Zeek maps them — a request/reply type pairs with its counterpart (echo 8 with echo reply
 * 0, …) and is ordered like ports; any other type is one-way, (type, code), never reordered.
 */
import * as crypto from 'node:crypto';

/** SHA-1 of bytes as text: Node's one-shot crypto.hash (20.12+; a quarter of createHash's cost per flow), else createHash. */
const sha1: (data: Uint8Array, encoding: 'hex' | 'base64') => string =
  typeof crypto.hash === 'function'
    ? (data, encoding) => crypto.hash('sha1', data, encoding)
    : (data, encoding) => crypto.createHash('sha1').update(data).digest(encoding);

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;
export const PROTO_SCTP = 132;

/** IP protocols whose flows are 5-tuples (ports, or ICMP type and code). */
const PORT_PROTOS: ReadonlySet<number> = new Set([PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_SCTP]);

/** ICMP request/reply counterparts (Zeek's ICMP4_counterpart). */
const ICMP_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [8, 0],
  [0, 8], // echo, echo reply
  [13, 14],
  [14, 13], // timestamp
  [15, 16],
  [16, 15], // information
  [10, 9],
  [9, 10], // router solicitation, advertisement
  [17, 18],
  [18, 17], // address mask
]);

/** ICMPv6 request/reply counterparts (Zeek's ICMP6_counterpart). */
const ICMPV6_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [128, 129],
  [129, 128], // echo request, reply
  [130, 131],
  [131, 130], // MLD query, report
  [133, 134],
  [134, 133], // router solicitation, advertisement
  [135, 136],
  [136, 135], // neighbour solicitation, advertisement
  [139, 140],
  [140, 139], // node information query, reply
  [144, 145],
  [145, 144], // home agent address discovery request, reply
]);

/**
 * The port-like pair of an ICMP (proto 1) or ICMPv6 (58) message and whether it is one-way:
 * (type, counterpart type) for a request or reply, (type, code) otherwise.
 */
export function icmpPorts(proto: number, type: number, code: number): { sport: number; dport: number; oneWay: boolean } {
  const counterpart = (proto === PROTO_ICMPV6 ? ICMPV6_COUNTERPART : ICMP_COUNTERPART).get(type);
  return counterpart === undefined ? { sport: type, dport: code, oneWay: true } : { sport: type, dport: counterpart, oneWay: false };
}

export interface FlowTuple {
  /** 4 bytes (IPv4) or 16 (IPv6), network order; both of one length. */
  src: Uint8Array;
  dst: Uint8Array;
  /** IP protocol number (0..255). */
  proto: number;
  /** Source and destination ports; for ICMP and ICMPv6 the message type and code. Absent for other protocols. */
  sport?: number;
  dport?: number;
}

export interface CommunityIdOptions {
  /** The seed (0..65535): 0 unless every tool that computes the IDs is given the same. */
  seed?: number;
  /** Hexadecimal digest instead of base64 (the spec's troubleshooting form). */
  hex?: boolean;
}

/** a < b as unsigned byte strings of one length. */
function lessBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y;
  }
  return false;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The Community ID v1 of a flow, or undefined when it has none: addresses of two lengths or
 * neither 4 nor 16 bytes, or a TCP/UDP/SCTP/ICMP packet whose ports (type and code) are not
 * known — a non-first IP fragment, whose transport header is in another packet.
 */
export function communityId(t: FlowTuple, opts: CommunityIdOptions = {}): string | undefined {
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff) throw new RangeError(`Community ID seed must be 0..65535, not ${seed}`);
  const len = t.src.length;
  if ((len !== 4 && len !== 16) || t.dst.length !== len) return undefined;
  if (!Number.isInteger(t.proto) || t.proto < 0 || t.proto > 255) return undefined;
  const withPorts = PORT_PROTOS.has(t.proto);
  let sport = 0;
  let dport = 0;
  let oneWay = false;
  if (withPorts) {
    if (t.sport === undefined || t.dport === undefined) return undefined;
    if (t.proto === PROTO_ICMP || t.proto === PROTO_ICMPV6) ({ sport, dport, oneWay } = icmpPorts(t.proto, t.sport, t.dport));
    else {
      sport = t.sport;
      dport = t.dport;
    }
    if (!(sport >= 0 && sport <= 0xffff && dport >= 0 && dport <= 0xffff)) return undefined;
  }
  let a = t.src;
  let b = t.dst;
  const ordered = oneWay || lessBytes(a, b) || (equalBytes(a, b) && withPorts && sport < dport);
  if (!ordered) {
    [a, b] = [b, a];
    [sport, dport] = [dport, sport];
  }
  const buf = new Uint8Array(2 + 2 * len + 2 + (withPorts ? 4 : 0));
  buf[0] = seed >>> 8;
  buf[1] = seed & 0xff;
  buf.set(a, 2);
  buf.set(b, 2 + len);
  let o = 2 + 2 * len;
  buf[o++] = t.proto;
  buf[o++] = 0;
  if (withPorts) {
    buf[o++] = sport >>> 8;
    buf[o++] = sport & 0xff;
    buf[o++] = dport >>> 8;
    buf[o++] = dport & 0xff;
  }
  const digest = sha1(buf, opts.hex ? 'hex' : 'base64');
  return `1:${digest}`;
}

/** An IPv4 address as a 32-bit number → its 4 bytes in network order. */
export function ipv4Bytes(ip: number): Uint8Array {
  return new Uint8Array([ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff]);
}

/**
 * Text (dotted quad, or IPv6 in any RFC 4291 form incl. `::` and a trailing dotted quad) →
 * bytes in network order; undefined when it is not an address.
 */
export function parseIp(text: string): Uint8Array | undefined {
  const s = text.trim();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? new Uint8Array(parts) : undefined;
  }
  if (!s.includes(':')) return undefined;
  let head = s;
  let tail4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail4 = parseIp(s.slice(lastColon + 1));
    if (tail4?.length !== 4) return undefined;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!left || !right) return undefined;
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...left, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tail4) bytes.set(tail4, 12);
  return bytes;
}
