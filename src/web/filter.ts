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
 *
 * A filter is bounded (MAX_FILTER_LENGTH characters, MAX_FILTER_TERMS terms) and its terms are
 * deduplicated, so one pass over the index costs at most a few comparisons per packet whatever
 * the query: the filter runs on every request of a page, without the token.
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

/** Longest filter text accepted, characters. */
export const MAX_FILTER_LENGTH = 1024;
/** Most terms in one filter (before identical ones are merged). */
export const MAX_FILTER_TERMS = 32;

function termKey(t: Term): string {
  switch (t.kind) {
    case 'vni': return `vni:${t.vni}`;
    case 'mac': return `mac:${t.mac}`;
    case 'ip': return `ip:${t.ip}`;
    case 'proto': return `proto:${t.proto}`;
    case 'matched': return `matched:${t.matched}`;
    case 'flood': return 'flood';
  }
}

/** The terms of a filter, identical ones merged; a UsageError says what is wrong (or too long). */
export function parseFilter(text: string): Term[] {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new UsageError(`filter is ${text.length} characters long: at most ${MAX_FILTER_LENGTH} are accepted (${FILTER_HELP})`);
  }
  const terms: Term[] = [];
  const seen = new Set<string>();
  const words = text.trim().split(/[\s,&]+/).filter((w) => w && w.toLowerCase() !== 'and');
  let count = 0;
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
    if (++count > MAX_FILTER_TERMS) throw new UsageError(`filter has more than ${MAX_FILTER_TERMS} terms: combine fewer (${FILTER_HELP})`);
    const k = termKey(term);
    if (seen.has(k)) continue;
    seen.add(k);
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

type Test = (i: number) => boolean;

/** One term as a test over the index's columns, built once per filter (not per packet). */
function compileTerm(index: CaptureIndex, t: Term): Test {
  switch (t.kind) {
    case 'vni': {
      const { vni } = index;
      return (i) => vni[i] === t.vni;
    }
    case 'mac': {
      const { macSrc, macDst } = index;
      return (i) => macSrc[i] === t.mac || macDst[i] === t.mac;
    }
    case 'ip': {
      const { outerSrc, outerDst, innerSrc, innerDst } = index;
      return (i) => outerSrc[i] === t.ip || outerDst[i] === t.ip || innerSrc[i] === t.ip || innerDst[i] === t.ip;
    }
    case 'proto': {
      if (t.proto === 'vxlan') {
        const { flags } = index;
        return (i) => ((flags[i] as number) & FLAG.tunnel) !== 0;
      }
      const { proto } = index;
      const code = PROTO[t.proto];
      return (i) => proto[i] === code;
    }
    case 'matched': {
      const { match } = index;
      return (i) => ((match[i] as number) !== 0) === t.matched;
    }
    case 'flood': {
      const { macDst } = index;
      return (i) => isGroupMac(macDst[i] as number);
    }
  }
}

/** 0-based positions of the packets that pass every term: one pass, at most one test per distinct term. */
export function filterIndex(index: CaptureIndex, terms: readonly Term[]): Uint32Array {
  if (terms.length === 0) {
    const all = new Uint32Array(index.count);
    for (let i = 0; i < index.count; i++) all[i] = i;
    return all;
  }
  const keys = new Set<string>();
  const tests: Test[] = [];
  for (const t of terms) {
    const k = termKey(t);
    if (keys.has(k)) continue;
    keys.add(k);
    tests.push(compileTerm(index, t));
  }
  const out: number[] = [];
  for (let i = 0; i < index.count; i++) {
    if (tests.every((test) => test(i))) out.push(i);
  }
  return Uint32Array.from(out);
}
