/**
 * export fills a packet row from the facts the pass read from the bytes (PacketFields.fromFacts)
 * and from the full decoder's layers (PacketFields.read) only where the facts do not say it all.
 * Both ways must give the same rows:
 *  - field by field, packet by packet, on every capture under fixtures/ and on realistic traffic
 *    (src/synth/realistic.ts: VXLAN over four VTEPs, VLAN-tagged guests, IPv6, ICMP, ARP);
 *  - file by file: the Parquet an export writes with its facts equals, row by row and in order,
 *    the Parquet of the same export made from the full decode only (`fullDecode`), on the bundled
 *    recording and on a realistic underlay + bridge pair.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../decode/file/read.js';
import { PcapWriter } from '../decode/file/writer.js';
import { decodePacket } from '../decode/packet.js';
import { defaultRegistry } from '../decode/registry.js';
import type { RawPacket } from '../decode/types.js';
import { PacketFacts } from '../stats/facts.js';
import { BufferView, readFacts, udpPortTable } from '../stats/fast-decode.js';
import { realisticFrames } from '../synth/realistic.js';
import { exportCaptures } from './export.js';
import { type Level, PacketFields } from './fields.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-exp3-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A level as plain values (IPv6 addresses as text of their bytes), to compare. The outer level's
 * link header and label are in no row (its flow is; the row's protocol is compared apart).
 */
function plain(l: Level, outer = false): Record<string, unknown> {
  const flow = {
    ipVersion: l.ipVersion,
    src4: l.ipVersion === 4 ? l.src4 : 0,
    dst4: l.ipVersion === 4 ? l.dst4 : 0,
    src6: l.src6 ? Array.from(l.src6).join('.') : '',
    dst6: l.dst6 ? Array.from(l.dst6).join('.') : '',
    proto: l.proto,
    sport: l.sport,
    dport: l.dport,
  };
  return outer ? flow : { ...flow, ethSrc: l.ethSrc, ethDst: l.ethDst, ethertype: l.ethertype, label: l.label };
}

function plainFields(f: PacketFields): Record<string, unknown> {
  return {
    tunnel: f.tunnel,
    vni: f.vni,
    protocol: f.protocol,
    hasOuter: f.hasOuter,
    hasInner: f.hasInner,
    outer: f.hasOuter ? plain(f.outer, true) : null,
    inner: f.hasInner ? plain(f.inner) : null,
  };
}

/** Compares the two readers on one packet of either side; returns whether the facts described it. */
class Comparer {
  private readonly facts = new PacketFacts();
  private readonly view = new BufferView();
  private readonly ports = udpPortTable([]).ports;
  private readonly registry = defaultRegistry();
  private readonly fast = new PacketFields();
  private readonly full = new PacketFields();
  described = 0;
  seen = 0;
  readonly mismatches: string[] = [];

  compare(raw: RawPacket, where: string): void {
    const p = decodePacket(raw, ++this.seen, { registry: this.registry });
    for (const side of ['underlay', 'overlay'] as const) {
      if (!readFacts(raw, this.view.of(raw.data), this.ports, this.facts)) continue;
      if (!this.fast.fromFacts(this.facts, side)) continue;
      if (side === 'underlay') this.described++;
      this.full.read(p, side);
      const a = plainFields(this.fast);
      const b = plainFields(this.full);
      const bad = p.error !== undefined || p.truncated === true;
      if (bad || JSON.stringify(a) !== JSON.stringify(b)) {
        if (this.mismatches.length < 5)
          this.mismatches.push(`${where} #${this.seen} (${side}): facts ${JSON.stringify(a)} layers ${JSON.stringify(b)}`);
        else this.mismatches.push(where);
      }
    }
  }
}

function capturesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...capturesUnder(p));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(p);
  }
  return out.sort();
}

describe('PacketFields.fromFacts reads what PacketFields.read reads', () => {
  it('on every packet of every capture under fixtures/ (either side)', async () => {
    const c = new Comparer();
    const files = capturesUnder(path.join(ROOT, 'fixtures'));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      // damaged files stop where their damage is: what was read before is compared
      await readCapture(file, (raw) => c.compare(raw, path.relative(ROOT, file)));
    }
    expect(c.mismatches).toEqual([]);
    // the fast way is taken (not only the fallback): most of the bundled recording's packets are plain shapes
    expect(c.described).toBeGreaterThan(c.seen / 2);
  }, 120_000);

  it('on 60,000 realistic packets: VXLAN, VLAN-tagged guests, IPv6, ICMP, ARP', () => {
    const c = new Comparer();
    for (const fr of realisticFrames({ packets: 60_000, seed: 7 })) {
      const n = fr.data.length;
      const raw: RawPacket = {
        tsSec: fr.tsSec,
        tsNsec: fr.tsNsec,
        tsDigits: 6,
        len: n,
        caplen: n,
        linkType: 1,
        fileOffset: 0,
        data: fr.data,
      };
      c.compare(raw, 'realistic');
    }
    expect(c.mismatches).toEqual([]);
    // what the fast path leaves to the layers (fragments, damage) is rare in this mix
    expect(c.described).toBeGreaterThan(0.95 * c.seen);
  }, 120_000);
});

/** A realistic underlay + bridge pair of node kvm1 (VTEP 192.168.100.11), as scripts/bench-export.mjs makes it. */
function writePair(dir: string, packets: number): void {
  const w = new PcapWriter({ snaplen: 262144 });
  const under: Uint8Array[] = [w.header()];
  const bridge: { us: number; data: Uint8Array }[] = [];
  const local = (d: Uint8Array, at: number): boolean => d[at] === 192 && d[at + 1] === 168 && d[at + 2] === 100 && d[at + 3] === 11;
  for (const fr of realisticFrames({ packets, seed: 21 })) {
    const d = fr.data;
    const us = fr.tsSec * 1e6 + fr.tsNsec / 1000;
    const tunnelled = d.length > 50 && d[23] === 17 && d[36] === 0x12 && d[37] === 0xb5;
    if (!tunnelled) {
      under.push(w.record(fr));
      continue;
    }
    const encap = local(d, 26);
    if (!encap && !local(d, 30)) continue;
    under.push(w.record(fr));
    bridge.push({ us: encap ? us - 18 : us + 13, data: d.subarray(50) });
  }
  bridge.sort((a, b) => a.us - b.us);
  const over = [w.header(), ...bridge.map((b) => w.record({ tsSec: Math.floor(b.us / 1e6), tsNsec: (b.us % 1e6) * 1000, data: b.data }))];
  writeFileSync(path.join(dir, 'kvm1-eth1.pcap'), Buffer.concat(under));
  writeFileSync(path.join(dir, 'kvm1-vxlan_bridge.pcap'), Buffer.concat(over));
}

/** Rows of `a` not in `b`, both ways; `ordered`: with their row number in the file (order counts). */
async function rowDifference(a: string, b: string, ordered: boolean): Promise<{ onlyA: number; onlyB: number; rows: number }> {
  const inst = await DuckDBInstance.create(':memory:');
  const db = await inst.connect();
  try {
    const src = (f: string): string => `read_parquet('${f.replace(/'/g, "''")}', file_row_number = ${ordered})`;
    const count = async (sql: string): Promise<number> => Number((await db.runAndReadAll(sql)).getRows()[0]?.[0] ?? -1);
    return {
      onlyA: await count(`SELECT count(*) FROM (SELECT * FROM ${src(a)} EXCEPT ALL SELECT * FROM ${src(b)})`),
      onlyB: await count(`SELECT count(*) FROM (SELECT * FROM ${src(b)} EXCEPT ALL SELECT * FROM ${src(a)})`),
      rows: await count(`SELECT count(*) FROM ${src(a)}`),
    };
  } finally {
    db.closeSync();
    inst.closeSync();
  }
}

describe('export: the rows from the facts equal the rows from the full decode', () => {
  const cases: [string, () => string][] = [
    ['the bundled recording (fixtures/lab, two nodes)', () => path.join(ROOT, 'fixtures', 'lab')],
    [
      'a realistic pair (40,000 packets: VXLAN to and from kvm1, local traffic, VLAN 40, IPv6, ICMP, ARP)',
      () => {
        const dir = path.join(tmp, 'pair');
        mkdirSync(dir, { recursive: true });
        writePair(dir, 40_000);
        return dir;
      },
    ],
  ];
  for (const [name, input] of cases) {
    it(name, async () => {
      const dir = input();
      const fast = await exportCaptures([dir], { outDir: path.join(tmp, `${path.basename(dir)}-fast`), capture: 'c' });
      const full = await exportCaptures([dir], { outDir: path.join(tmp, `${path.basename(dir)}-full`), capture: 'c', fullDecode: true });
      expect(fast.packetRows).toBe(full.packetRows);
      expect(fast.packetRows).toBeGreaterThan(300);
      expect(fast.nodes).toEqual(full.nodes);
      const packets = await rowDifference(fast.files.packets, full.files.packets, true);
      expect(packets).toEqual({ onlyA: 0, onlyB: 0, rows: fast.packetRows });
      // flow rows are ordered by node, side, first packet and count: flows that tie come in either order
      const flows = await rowDifference(fast.files.flows, full.files.flows, false);
      expect(flows).toEqual({ onlyA: 0, onlyB: 0, rows: fast.flowRows });
    }, 120_000);
  }
});
