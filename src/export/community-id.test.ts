import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { communityId, icmpPorts, ipv4Bytes, parseIp, type FlowTuple } from './community-id.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'community-id');

interface JsonVector {
  proto: number;
  saddr: string;
  daddr: string;
  sport: number | null;
  dport: number | null;
  communityid: string;
}

interface TableVector {
  name: string;
  proto: number;
  saddr: string;
  daddr: string;
  sport: number | null;
  dport: number | null;
  deflt: string;
  seed1: string;
  nob64: string;
  comment: string;
}

function load<T>(file: string): T[] {
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T[];
}

function tuple(v: { proto: number; saddr: string; daddr: string; sport: number | null; dport: number | null }): FlowTuple {
  const src = parseIp(v.saddr);
  const dst = parseIp(v.daddr);
  if (!src || !dst) throw new Error(`vector with an address that does not parse: ${v.saddr} ${v.daddr}`);
  return { src, dst, proto: v.proto, ...(v.sport === null ? {} : { sport: v.sport }), ...(v.dport === null ? {} : { dport: v.dport }) };
}

describe('Community ID v1: the specification baseline (fixtures/community-id)', () => {
  for (const [file, opts] of [
    ['baseline_deflt.json', {}],
    ['baseline_seed1.json', { seed: 1 }],
    ['baseline_nob64.json', { hex: true }],
  ] as const) {
    const vectors = load<JsonVector>(file);
    it(`${file}: all ${vectors.length} tuples`, () => {
      expect(vectors.length).toBe(23);
      for (const v of vectors) expect({ v, id: communityId(tuple(v), opts) }).toEqual({ v, id: v.communityid });
    });
  }

  const tables = load<TableVector>('baseline_tables.json');
  for (const [key, opts] of [
    ['deflt', {}],
    ['seed1', { seed: 1 }],
    ['nob64', { hex: true }],
  ] as const) {
    it(`baseline/README.md table "${key}": all ${tables.length} rows`, () => {
      expect(tables.length).toBe(16);
      for (const v of tables)
        expect({ row: `${v.name} ${v.saddr} > ${v.daddr} ${v.comment}`, id: communityId(tuple(v), opts) }).toEqual({
          row: `${v.name} ${v.saddr} > ${v.daddr} ${v.comment}`,
          id: v[key],
        });
    });
  }

  it('the spec README example: 10.0.0.1:1234 > 127.0.0.1:80 and back order into one ID', () => {
    const a = communityId({ src: ipv4Bytes(0x0a000001), dst: ipv4Bytes(0x7f000001), proto: 6, sport: 1234, dport: 80 });
    const b = communityId({ src: ipv4Bytes(0x7f000001), dst: ipv4Bytes(0x0a000001), proto: 6, sport: 80, dport: 1234 });
    expect(a).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(b).toBe(a);
  });
});

describe('Community ID v1: edges', () => {
  it('maps ICMP and ICMPv6 types as Zeek does', () => {
    expect(icmpPorts(1, 8, 0)).toEqual({ sport: 8, dport: 0, oneWay: false });
    expect(icmpPorts(1, 0, 0)).toEqual({ sport: 0, dport: 8, oneWay: false });
    expect(icmpPorts(1, 3, 1)).toEqual({ sport: 3, dport: 1, oneWay: true });
    expect(icmpPorts(58, 135, 0)).toEqual({ sport: 135, dport: 136, oneWay: false });
    expect(icmpPorts(58, 1, 4)).toEqual({ sport: 1, dport: 4, oneWay: true });
    // ICMPv4's type numbers mean nothing to ICMPv6 and back
    expect(icmpPorts(58, 8, 0).oneWay).toBe(true);
    expect(icmpPorts(1, 128, 0).oneWay).toBe(true);
  });

  it('a one-way ICMP message keeps its direction; two-way ones pair up', () => {
    const a = parseIp('10.0.0.2') as Uint8Array;
    const b = parseIp('10.0.0.1') as Uint8Array;
    // unreachable from the larger address: never reordered, so the reverse tuple differs
    expect(communityId({ src: a, dst: b, proto: 1, sport: 3, dport: 1 })).not.toBe(
      communityId({ src: b, dst: a, proto: 1, sport: 3, dport: 1 }),
    );
    expect(communityId({ src: a, dst: b, proto: 1, sport: 8, dport: 0 })).toBe(
      communityId({ src: b, dst: a, proto: 1, sport: 0, dport: 0 }),
    );
  });

  it('equal addresses: the ports decide the order', () => {
    const a = parseIp('10.0.0.1') as Uint8Array;
    expect(communityId({ src: a, dst: a, proto: 17, sport: 53, dport: 4000 })).toBe(
      communityId({ src: a, dst: a, proto: 17, sport: 4000, dport: 53 }),
    );
  });

  it('no ID without the ports a port protocol needs, or with mixed address families', () => {
    const v4 = parseIp('10.0.0.1') as Uint8Array;
    const v6 = parseIp('fe80::1') as Uint8Array;
    expect(communityId({ src: v4, dst: v4, proto: 6 })).toBeUndefined();
    expect(communityId({ src: v4, dst: v6, proto: 46 })).toBeUndefined();
    expect(communityId({ src: v4, dst: v4, proto: 46 })).toMatch(/^1:/);
    expect(() => communityId({ src: v4, dst: v4, proto: 46 }, { seed: 70000 })).toThrow(/seed/);
  });

  it('parses addresses in every form the vectors use', () => {
    expect([...(parseIp('::1') as Uint8Array)]).toEqual([...new Array<number>(15).fill(0), 1]);
    expect([...(parseIp('::ffff:1.2.3.4') as Uint8Array)].slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIp('fe80:0001:0203:0405:0607:0809:0A0B:0C0D')?.[15]).toBe(0x0d);
    for (const bad of ['1.2.3', '256.1.1.1', '1::2::3', 'fe80::g', '1:2:3:4:5:6:7:8:9', '']) expect(parseIp(bad)).toBeUndefined();
  });
});
