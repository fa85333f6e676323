/**
 * The web view's compact index and its caches (issue 13): what they give must be what the
 * plain computation gives — MAC ids past 65,535 MACs, record offsets past 4 GiB, filters cached
 * per capture and filter, chart series computed from numeric groups and cached.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PcapWriter } from '../src/decode/file/writer.js';
import { formatMac, parseMac } from '../src/decode/format/addr.js';
import { decodePacket } from '../src/decode/packet.js';
import type { RawPacket } from '../src/decode/types.js';
import { ethernet, icmpEcho, ipv4, vxlanPacket } from '../src/synth/frames.js';
import { IndexBuilder, buildCaptureIndex, readRecords } from '../src/web/capture-index.js';
import { filterIndex, parseFilter } from '../src/web/filter.js';
import { positionOf, selection } from '../src/web/packets.js';
import { computeSeries, overlayGroup, underlayGroup, type SeriesSide } from '../src/web/series.js';
import { writeSampleSession } from '../src/web/sample.js';
import { sessionFromDir } from '../src/web/session.js';
import { CaptureStore, type StoredCapture } from '../src/web/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-webperf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const macOf = (i: number): string => formatMac(0x020000000000 + i);

describe('MAC ids', () => {
  test('past 65,535 distinct MACs the ids widen, and every MAC reads back and filters', async () => {
    const n = 70_000;
    const w = new PcapWriter();
    const pkts = Array.from({ length: n }, (_, i) => ({
      tsSec: 1_700_000_000,
      tsNsec: i,
      data: ethernet(
        'ff:ff:ff:ff:ff:ff',
        macOf(i),
        0x0800,
        ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, icmpEcho(8, 1, i & 0xffff)),
      ),
    }));
    const file = path.join(dir, 'macs.pcap');
    writeFileSync(file, w.file(pkts));
    const ix = await buildCaptureIndex(file);
    expect(ix.count).toBe(n);
    expect(ix.macSrcId).toBeInstanceOf(Uint32Array);
    for (const i of [0, 1, 65_534, 65_535, 65_536, n - 1]) {
      expect(ix.macSrc[i]).toBe(parseMac(macOf(i)));
      expect(Array.from(filterIndex(ix, parseFilter(`mac=${macOf(i)}`)))).toEqual([i]);
    }
    expect(ix.macDst[n - 1]).toBe(parseMac('ff:ff:ff:ff:ff:ff'));
    expect(filterIndex(ix, parseFilter('flood')).length).toBe(n);
    expect(filterIndex(ix, parseFilter('mac=02:00:00:ff:ff:ff')).length).toBe(0);
  });
});

describe('record offsets', () => {
  test('an offset past 4 GiB widens the column without losing the earlier ones', async () => {
    const file = path.join(dir, 'two.pcap');
    const frame = ethernet(
      '52:54:00:aa:00:12',
      '52:54:00:aa:00:11',
      0x0800,
      ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, icmpEcho(8, 1, 1)),
    );
    writeFileSync(file, new PcapWriter().file([{ tsSec: 1, tsNsec: 0, data: frame }]));
    const b = new IndexBuilder();
    const raw: RawPacket = {
      tsSec: 1,
      tsNsec: 0,
      tsDigits: 6,
      caplen: frame.length,
      len: frame.length,
      linkType: 1,
      data: frame,
      fileOffset: 24,
    };
    b.add(decodePacket(raw, 1), 1);
    b.add(decodePacket({ ...raw, fileOffset: 5 * 2 ** 30 }, 2), 2);
    const ix = await b.index(file, 6 * 2 ** 30, true);
    expect(ix.offsets).toBeInstanceOf(Float64Array);
    expect(Array.from(ix.offsets)).toEqual([24, 5 * 2 ** 30]);
  });
});

describe("the store's caches give what the plain computation gives", async () => {
  const session = path.join(dir, 'sample');
  writeSampleSession(session);
  const store = await CaptureStore.open(sessionFromDir(session));
  afterAll(() => store.close());

  test('filters: each filter once per capture, any spelling, any order of requests', async () => {
    const caps = store.captures();
    expect(caps.length).toBe(4);
    const filters = [
      '',
      'vni=10',
      'vni 10',
      'proto=icmp',
      'unmatched',
      'flood',
      'mac=52:54:00:aa:00:11',
      'ip=10.220.220.11 proto=arp',
      'vni=99',
    ];
    for (let round = 0; round < 2; round++) {
      for (const c of caps) {
        for (const f of filters) {
          const want = Array.from(filterIndex(c.index, parseFilter(f)));
          const sel = selection(c, f, store.generation);
          expect(sel.total).toBe(want.length);
          const got = sel.positions ? Array.from(sel.positions) : Array.from({ length: sel.total }, (_, i) => i);
          expect(got).toEqual(want);
          for (const [row, i] of want.entries()) expect(positionOf(c, i + 1, f, store.generation)).toBe(row);
        }
      }
    }
    // a filter every packet passes keeps no positions
    const u = caps.find((c) => c.role === 'underlay') as StoredCapture;
    expect(selection(u, 'proto=vxlan proto=vxlan', store.generation).positions).not.toBeUndefined();
    expect(selection(u, '', store.generation).positions).toBeUndefined();
  });

  test("series: numeric groups give the labelled computation's figures, and a second call the same", () => {
    for (const node of store.nodes()) {
      const u = node.underlay ? store.capture(node.underlay) : undefined;
      const o = node.overlay ? store.capture(node.overlay) : undefined;
      const sides = (plain: boolean): SeriesSide[] => {
        const out: SeriesSide[] = [];
        const strip = (g: (i: number) => string): ((i: number) => string) => (plain ? (i: number) => g(i) : g);
        if (u) out.push({ key: 'underlay', index: u.index, offsetUs: 0, groupOf: strip(underlayGroup(u.index)) });
        if (o) out.push({ key: 'overlay', index: o.index, offsetUs: 0, groupOf: strip(overlayGroup(o.index, u?.index)) });
        return out;
      };
      const want = computeSeries(sides(true), 50);
      expect(computeSeries(sides(false), 50)).toEqual(want);
      expect(computeSeries(sides(false), 50)).toEqual(want);
      expect(Object.keys(want.sides.underlay?.groups ?? {}).length).toBeGreaterThan(0);
    }
  });

  test('pages re-read the records the index points at', async () => {
    const u = store.captures().find((c) => c.role === 'underlay') as StoredCapture;
    const got = await readRecords(u.index, [0, 2, 3, u.index.count - 1]);
    expect([...got.keys()]).toEqual([0, 2, 3, u.index.count - 1]);
    for (const [i, raw] of got) expect(raw.fileOffset).toBe(u.index.offsets[i]);
  });
});

describe("a VXLAN packet's derived columns are those of its decode", () => {
  test('hash, hashLen and tunnelPort, computed on first read', async () => {
    const inner = ethernet(
      '52:54:00:aa:00:12',
      '52:54:00:aa:00:11',
      0x0800,
      ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, icmpEcho(8, 1, 1)),
    );
    const file = path.join(dir, 'vx.pcap');
    writeFileSync(
      file,
      new PcapWriter().file([
        { tsSec: 1, tsNsec: 0, data: vxlanPacket(inner, { vni: 5, dstPort: 8472 }) },
        { tsSec: 1, tsNsec: 5, data: inner },
      ]),
    );
    const ix = await buildCaptureIndex(file);
    expect(ix.tunnelPort[0]).toBe(8472);
    expect(ix.hash[0]).toBe(ix.hash[1]);
    expect(ix.hashLen[0]).toBe(inner.length);
    expect(Object.keys(ix)).not.toContain('hash');
  });
});
