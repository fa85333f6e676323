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

export const FILTER_HELP =
  'filter terms: vni=10, mac=aa:bb:cc:dd:ee:ff, ip=10.220.220.201, proto=icmp|arp|tcp|udp|icmpv6|ip|vxlan|other, matched, unmatched, flood';

/** Longest filter text accepted, characters. */
export const MAX_FILTER_LENGTH = 1024;
/** Most terms in one filter (before identical ones are merged). */
export const MAX_FILTER_TERMS = 32;

function termKey(t: Term): string {
  switch (t.kind) {
    case 'vni':
      return `vni:${t.vni}`;
    case 'mac':
      return `mac:${t.mac}`;
    case 'ip':
      return `ip:${t.ip}`;
    case 'proto':
      return `proto:${t.proto}`;
    case 'matched':
      return `matched:${t.matched}`;
    case 'flood':
      return 'flood';
  }
}

/** The terms of a filter, identical ones merged; a UsageError says what is wrong (or too long). */
export function parseFilter(text: string): Term[] {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new UsageError(`filter is ${text.length} characters long: at most ${MAX_FILTER_LENGTH} are accepted (${FILTER_HELP})`);
  }
  const terms: Term[] = [];
  const seen = new Set<string>();
  const words = text
    .trim()
    .split(/[\s,&]+/)
    .filter((w) => w && w.toLowerCase() !== 'and');
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

/**
 * Narrows `out[0..n)` (positions, ascending) to those passing one term, in place; returns the
 * new length. `all`: out holds no positions yet, every packet of the index is a candidate.
 * One tight loop per kind of term over its own column (no closure per packet): a term costs a
 * few nanoseconds per packet, a million-packet capture a few milliseconds.
 */
function narrow(index: CaptureIndex, t: Term, out: Uint32Array, n: number, all: boolean): number {
  const count = all ? index.count : n;
  let k = 0;
  switch (t.kind) {
    case 'vni': {
      const col = index.vni;
      const v = t.vni;
      for (let j = 0; j < count; j++) {
        const i = all ? j : (out[j] as number);
        if (col[i] === v) out[k++] = i;
      }
      return k;
    }
    case 'mac': {
      // the MAC's id in the capture's table: a MAC the capture never saw matches nothing
      const v = index.macTable.indexOf(t.mac);
      if (v <= 0) return 0;
      const { macSrcId, macDstId } = index;
      for (let j = 0; j < count; j++) {
        const i = all ? j : (out[j] as number);
        if (macSrcId[i] === v || macDstId[i] === v) out[k++] = i;
      }
      return k;
    }
    case 'ip': {
      // the address's id in the capture's table (id 0 is address 0): an address never seen matches nothing
      const v = index.ipTable.indexOf(t.ip);
      if (v < 0) return 0;
      const { outerSrcId, outerDstId, innerSrcId, innerDstId } = index;
      for (let j = 0; j < count; j++) {
        const i = all ? j : (out[j] as number);
        if (outerSrcId[i] === v || outerDstId[i] === v || innerSrcId[i] === v || innerDstId[i] === v) out[k++] = i;
      }
      return k;
    }
    case 'proto': {
      if (t.proto === 'vxlan') {
        const { flags } = index;
        for (let j = 0; j < count; j++) {
          const i = all ? j : (out[j] as number);
          if (((flags[i] as number) & FLAG.tunnel) !== 0) out[k++] = i;
        }
        return k;
      }
      const { proto } = index;
      const code = PROTO[t.proto];
      for (let j = 0; j < count; j++) {
        const i = all ? j : (out[j] as number);
        if (proto[i] === code) out[k++] = i;
      }
      return k;
    }
    case 'matched': {
      const { match } = index;
      const want = t.matched;
      for (let j = 0; j < count; j++) {
        const i = all ? j : (out[j] as number);
        if (((match[i] as number) !== 0) === want) out[k++] = i;
      }
      return k;
    }
    case 'flood': {
      // whether each MAC of the table is a group address, decided once per MAC
      const group = Uint8Array.from(index.macTable, (mac) => (isGroupMac(mac) ? 1 : 0));
      const { macDstId } = index;
      for (let j = 0; j < count; j++) {
        const i = all ? j : (out[j] as number);
        if (group[macDstId[i] as number] === 1) out[k++] = i;
      }
      return k;
    }
  }
}

/** 0-based positions of the packets that pass every term: one narrowing pass per distinct term. */
export function filterIndex(index: CaptureIndex, terms: readonly Term[]): Uint32Array {
  const out = new Uint32Array(index.count);
  if (terms.length === 0) {
    for (let i = 0; i < index.count; i++) out[i] = i;
    return out;
  }
  const keys = new Set<string>();
  let n = 0;
  let first = true;
  for (const t of terms) {
    const k = termKey(t);
    if (keys.has(k)) continue;
    keys.add(k);
    n = narrow(index, t, out, n, first);
    first = false;
    if (n === 0) break;
  }
  // the positions, in an array of their own size (a narrow filter keeps little memory)
  return out.slice(0, n);
}

/** One text for filters that select the same packets whatever their spelling ('vni=10', 'vni 10'). */
export function filterKey(terms: readonly Term[]): string {
  return [...new Set(terms.map(termKey))].sort().join(' ');
}

/**
 * Filter texts already parsed: the same text is parsed once, whichever capture or request
 * asks (a bounded map; a text that does not parse is not kept, its error is thrown each time).
 */
const parsed = new Map<string, Term[]>();
const MAX_PARSED = 64;

export function parseFilterCached(text: string): readonly Term[] {
  let terms = parsed.get(text);
  if (terms === undefined) {
    terms = parseFilter(text);
    if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value as string);
    parsed.set(text, terms);
  }
  return terms;
}
