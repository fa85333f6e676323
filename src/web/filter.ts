/**
 * Packet-list filters, evaluated on the capture index (no decoding): space-separated terms,
 * all of which must hold.
 *
 *   vni=10  vni 10          tunnel VNI
 *   mac=aa:bb:cc:dd:ee:ff   innermost Ethernet source or destination
 *   ip=10.220.220.201       any IPv4 address of the packet, outer or inner
 *   proto=icmp              arp, icmp, icmpv6, tcp, udp, ip, vxlan (tunnelled), other
 *   matched / unmatched     correlated with the other side or not
 *   flood                   broadcast / multicast inner destination MAC
 *
 * A bare MAC, IPv4 address, protocol name or number (a VNI) is accepted too.
 */
import { parseIPv4, parseMac } from '../decode/format/addr.js';
import { UsageError } from '../errors.js';
import { FLAG, PROTO, isGroupMac, type CaptureIndex, type ProtoName } from './capture-index.js';

export type Term =
  | { kind: 'vni'; vni: number }
  | { kind: 'mac'; mac: number }
  | { kind: 'ip'; ip: number }
  | { kind: 'proto'; proto: ProtoName | 'vxlan' }
  | { kind: 'matched'; matched: boolean }
  | { kind: 'flood' };

const PROTOS = new Set<string>([...Object.keys(PROTO), 'vxlan']);

export const FILTER_HELP = 'filter terms: vni=10, mac=aa:bb:cc:dd:ee:ff, ip=10.220.220.201, proto=icmp|arp|tcp|udp|icmpv6|ip|vxlan|other, matched, unmatched, flood';

export function parseFilter(text: string): Term[] {
  const terms: Term[] = [];
  const words = text.trim().split(/[\s,&]+/).filter((w) => w && w.toLowerCase() !== 'and');
  for (let i = 0; i < words.length; i++) {
    let word = (words[i] as string).toLowerCase();
    let key: string | undefined;
    let value: string = word;
    const eq = /^([a-z.]+)\s*(?:==|=|:)\s*(.*)$/.exec(word);
    if (eq && !parseMac(word)) {
      key = eq[1];
      value = eq[2] ?? '';
      if (value === '' && i + 1 < words.length) value = (words[++i] as string).toLowerCase();
    } else if (['vni', 'mac', 'ip', 'proto'].includes(word) && i + 1 < words.length) {
      key = word;
      value = (words[++i] as string).toLowerCase();
    }
    if (key === 'vxlan.vni') key = 'vni';
    if (key === 'ip.addr' || key === 'host') key = 'ip';
    if (key === 'eth.addr') key = 'mac';
    word = value;
    const term = parseTerm(key, value);
    if (!term) throw new UsageError(`cannot understand filter ${JSON.stringify(key ? `${key}=${value}` : word)}: ${FILTER_HELP}`);
    terms.push(term);
  }
  return terms;
}

function parseTerm(key: string | undefined, value: string): Term | undefined {
  if (key === undefined || key === 'vni') {
    if (/^\d{1,8}$/.test(value)) {
      const vni = Number(value);
      if (vni <= 0xffffff) return { kind: 'vni', vni };
      return undefined;
    }
    if (key === 'vni') return undefined;
  }
  if (key === undefined || key === 'mac') {
    const mac = parseMac(value);
    if (mac !== undefined) return { kind: 'mac', mac };
    if (key === 'mac') return undefined;
  }
  if (key === undefined || key === 'ip') {
    const ip = parseIPv4(value);
    if (ip !== undefined) return { kind: 'ip', ip };
    if (key === 'ip') return undefined;
  }
  if (key === undefined || key === 'proto') {
    if (PROTOS.has(value)) return { kind: 'proto', proto: value as ProtoName | 'vxlan' };
    if (key === 'proto') return undefined;
  }
  if (key === undefined && (value === 'matched' || value === 'unmatched')) return { kind: 'matched', matched: value === 'matched' };
  if (key === undefined && (value === 'flood' || value === 'bum')) return { kind: 'flood' };
  return undefined;
}

function termHolds(index: CaptureIndex, i: number, t: Term): boolean {
  switch (t.kind) {
    case 'vni':
      return index.vni[i] === t.vni;
    case 'mac':
      return index.macSrc[i] === t.mac || index.macDst[i] === t.mac;
    case 'ip':
      return index.outerSrc[i] === t.ip || index.outerDst[i] === t.ip || index.innerSrc[i] === t.ip || index.innerDst[i] === t.ip;
    case 'proto':
      if (t.proto === 'vxlan') return ((index.flags[i] as number) & FLAG.tunnel) !== 0;
      return index.proto[i] === PROTO[t.proto];
    case 'matched':
      return ((index.match[i] as number) !== 0) === t.matched;
    case 'flood':
      return isGroupMac(index.macDst[i] as number);
  }
}

/** 0-based positions of the packets that pass every term. */
export function filterIndex(index: CaptureIndex, terms: readonly Term[]): Uint32Array {
  if (terms.length === 0) {
    const all = new Uint32Array(index.count);
    for (let i = 0; i < index.count; i++) all[i] = i;
    return all;
  }
  const out: number[] = [];
  for (let i = 0; i < index.count; i++) {
    let ok = true;
    for (const t of terms) {
      if (!termHolds(index, i, t)) {
        ok = false;
        break;
      }
    }
    if (ok) out.push(i);
  }
  return Uint32Array.from(out);
}
