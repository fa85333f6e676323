/**
 * The web index fills its columns from the facts the counting path reads from the bytes
 * (readFacts), and from the full decode only for the packets the fast path leaves to it. Here
 * every capture is indexed both ways — every packet fully decoded (`fullDecode`) and the fast
 * way — through the builder's own parser (buildCaptureIndex) and through the one pass (the
 * store's way: IndexBuilder.addPass), and every column must be the same: every capture under
 * fixtures/ (the project's own, the malformed and format corpora, and fixtures/public, the
 * public captures of ../shared/captures), the realistic generator's traffic and a few shapes
 * the corpora may not tell apart.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePass, runPass } from '../src/analysis/pass.js';
import type { SideSource } from '../src/analysis/sides.js';
import { PcapWriter } from '../src/decode/file/writer.js';
import { createRegistry, type DecoderRegistry } from '../src/decode/registry.js';
import * as f from '../src/synth/frames.js';
import { writeRealisticPcap } from '../src/synth/realistic.js';
import { formatIPv4, parseIPv4 } from '../src/decode/format/addr.js';
import { IndexBuilder, buildCaptureIndex, frameOf, type CaptureIndex } from '../src/web/capture-index.js';
import { filterIndex, parseFilter } from '../src/web/filter.js';
import { captureFilesUnder } from './helpers/pcap.js';
import * as corner from './helpers/corner-frames.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** The columns a page or a filter reads (hash, hashLen and tunnelPort are derived by a full decode either way). */
const COLUMNS = [
  'offsets',
  'tsUs',
  'wireLen',
  'vni',
  'proto',
  'outerSrc',
  'outerDst',
  'innerSrc',
  'innerDst',
  'macSrc',
  'macDst',
  'outerSrcId',
  'outerDstId',
  'innerSrcId',
  'innerDstId',
  'ipTable',
  'macSrcId',
  'macDstId',
  'macTable',
  'flags',
  'match',
  'dir',
  'frame',
] as const;

function expectSameIndex(fast: CaptureIndex, full: CaptureIndex, what: string): void {
  expect(fast.count, `${what}: count`).toBe(full.count);
  for (const c of COLUMNS) {
    const a = fast[c] ?? [];
    const b = full[c] ?? [];
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
      const i = a.findIndex((v, k) => v !== b[k]);
      throw new Error(`${what}: column ${c} differs at packet ${i + 1}: fast ${a[i]}, full ${b[i]}`);
    }
  }
  expect(fast.firstTsUs, what).toBe(full.firstTsUs);
  expect(fast.lastTsUs, what).toBe(full.lastTsUs);
  expect(fast.warnings, what).toEqual(full.warnings);
  expect(fast.error, what).toBe(full.error);
}

/** The index of a file built by the builder's own parser; the error's message when the file is no capture. */
async function ownParse(path: string, registry: DecoderRegistry, fullDecode: boolean): Promise<CaptureIndex | string> {
  try {
    return await buildCaptureIndex(path, { registry, fullDecode });
  } catch (e) {
    return (e as Error).message;
  }
}

/** The index of a file as the store builds it: one pass, the side's packets handed to addPass; and how many came with facts. */
async function throughPass(path: string, registry: DecoderRegistry, fullDecode: boolean): Promise<{ index: CaptureIndex; fast: number }> {
  const source: SideSource = { path, name: path, select: { kind: 'all' } };
  const pass = new NodePass({ underlay: source }, { registry, fullDecode });
  const builder = new IndexBuilder({ registry }, pass.feed(path)?.parser);
  let fast = 0;
  pass.listen((x) => {
    if (x.facts !== undefined) fast += 1;
    builder.addPass(x);
  });
  await runPass(pass);
  return { index: await builder.index(path, statSync(path).size, true), fast };
}

/** Both ways, both routes; the packets the fast path read. */
async function bothWays(path: string, vxlanPorts: number[] = []): Promise<number> {
  const registry = createRegistry({ vxlanPorts });
  const full = await ownParse(path, registry, true);
  const fast = await ownParse(path, registry, false);
  if (typeof full === 'string' || typeof fast === 'string') {
    expect(fast).toEqual(full);
    return 0;
  }
  expectSameIndex(fast, full, `${path} (own parser)`);
  const passFull = await throughPass(path, registry, true);
  const passFast = await throughPass(path, registry, false);
  expect(passFull.fast).toBe(0);
  expectSameIndex(passFast.index, passFull.index, `${path} (one pass)`);
  expectSameIndex(passFast.index, full, `${path} (one pass against own parser)`);
  return passFast.fast;
}

/** Shapes: a non-standard VXLAN port, an IPv6 underlay, a tagged ARP inside, a group MAC, a frame cut by the snaplen, VXLAN without inner IP. */
function cornerFrames(): Uint8Array[] {
  const { ip4, inner } = corner;
  const taggedArp = corner.taggedArp();
  const v6outer = corner.v6outer();
  const v6plain = f.ethernet(
    '02:00:00:00:00:02',
    '02:00:00:00:00:0b',
    0x86dd,
    f.ipv6({ src: 'fd00::b', dst: 'fd00::2', nextHeader: 58 }, f.icmpEcho(8, 1, 1)),
  );
  const full = f.vxlanPacket(inner('02:00:00:00:00:0f', ip4('10.9.9.15', '10.9.9.2', new Uint8Array(200))), { vni: 21 });
  return [
    f.vxlanPacket(taggedArp, { vni: 20 }),
    f.vxlanPacket(inner('03:00:00:00:00:01', ip4('10.9.9.3', '10.9.9.2', new Uint8Array(4))), { vni: 20 }),
    f.vxlanPacket(inner('02:00:00:00:00:0e', ip4('10.9.9.14', '10.9.9.2', new Uint8Array(4))), { vni: 21, dstPort: 8472 }),
    f.vxlanPacket(f.ethernet('02:00:00:00:00:02', '02:00:00:00:00:0d', 0x88b5, new Uint8Array(46)), { vni: 22 }),
    f.vxlanPacket(v6plain, { vni: 23 }),
    full,
    full.subarray(0, 60),
    v6outer,
    v6plain,
    f.ethernet('33:33:00:00:00:01', '02:00:00:00:00:10', 0x8100, f.vlanTag(7, 0x0800, ip4('10.9.9.16', '10.9.9.2', new Uint8Array(60)))),
    f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:11',
      0x0800,
      f.ipv4({ src: '10.1.1.1', dst: '10.1.1.2', proto: 47, flags: 0 }, new Uint8Array(8)),
    ),
  ];
}

let tmp: string;
let realistic: string;
let corners: string;
const files = captureFilesUnder(FIXTURES);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vxi-widx-'));
  realistic = join(tmp, 'realistic.pcap');
  await writeRealisticPcap(realistic, { packets: 30_000 });
  corners = join(tmp, 'corners.pcap');
  const frames = cornerFrames().map((data, i) => ({ tsSec: 1_700_000_000 + i, tsNsec: 0, data }));
  writeFileSync(corners, new PcapWriter().file(frames));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the web index: columns from the bytes equal columns from the full decode', () => {
  it('finds the corpus, the public captures among it', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((x) => x.includes(join('fixtures', 'public')))).toBe(true);
  });

  it('on every fixture capture', async () => {
    let fast = 0;
    for (const file of files) fast += await bothWays(file);
    expect(fast).toBeGreaterThan(1000); // the fast path did run
  }, 300_000);

  it('on realistic traffic (tens of thousands of flows, IPv6, ARP, 802.1Q, plain underlay), every packet from the bytes', async () => {
    const info = statSync(realistic);
    expect(info.size).toBeGreaterThan(0);
    expect(await bothWays(realistic)).toBe(30_000);
    await bothWays(realistic, [4790]);
  }, 120_000);

  it('on the corner shapes, with and without 8472 as a VXLAN port', async () => {
    const fast = await bothWays(corners);
    expect(fast).toBeGreaterThan(0);
    expect(fast).toBeLessThan(cornerFrames().length); // the cut frame goes to the full decoder
    expect(await bothWays(corners, [8472])).toBeGreaterThan(fast - 1);
    const ix = await buildCaptureIndex(corners, { registry: createRegistry({ vxlanPorts: [8472] }) });
    expect(ix.vni[2]).toBe(21);
  });
});

describe('the compact columns: IPv4 ids, 2-byte lengths, record numbers only when they differ', () => {
  it('past 65,535 distinct addresses the ids widen, and every address reads back and filters', async () => {
    const n = 70_000;
    const ipOf = (i: number): string => formatIPv4(0x0a000000 + i);
    const frames = Array.from({ length: n }, (_, i) => ({
      tsSec: 1_700_000_000,
      tsNsec: i,
      data: f.ethernet(
        '02:00:00:00:00:02',
        '02:00:00:00:00:01',
        0x0800,
        f.ipv4({ src: ipOf(i), dst: '10.255.0.1', proto: 1 }, f.icmpEcho(8, 1, i & 0xffff)),
      ),
    }));
    const file = join(tmp, 'ips.pcap');
    writeFileSync(file, new PcapWriter().file(frames));
    const ix = await buildCaptureIndex(file);
    expect(ix.count).toBe(n);
    expect(ix.outerSrcId).toBeInstanceOf(Uint32Array);
    expect(ix.wireLen).toBeInstanceOf(Uint16Array);
    expect(ix.frame).toBeUndefined();
    const outerSrc = ix.outerSrc;
    const innerSrc = ix.innerSrc;
    for (const i of [0, 1, 65_533, 65_534, 65_535, n - 1]) {
      expect(outerSrc[i]).toBe(parseIPv4(ipOf(i)));
      expect(innerSrc[i]).toBe(parseIPv4(ipOf(i)));
      expect(frameOf(ix, i)).toBe(i + 1);
      expect(Array.from(filterIndex(ix, parseFilter(`ip=${ipOf(i)}`)))).toEqual([i]);
    }
    expect(ix.outerDst[n - 1]).toBe(parseIPv4('10.255.0.1'));
    expect(filterIndex(ix, parseFilter('ip=10.255.0.1')).length).toBe(n);
    expect(filterIndex(ix, parseFilter('ip=192.0.2.1')).length).toBe(0);
  });

  it('a length past 65,535 widens the lengths, the earlier ones kept', async () => {
    const small = f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1)),
    );
    const file = join(tmp, 'long.pcap');
    const w = new PcapWriter();
    const rec = (len: number) => ({ tsSec: 1_700_000_000, tsNsec: 0, data: small, len });
    writeFileSync(file, w.file([rec(small.length), rec(70_000), rec(small.length)]));
    const ix = await buildCaptureIndex(file);
    expect(ix.wireLen).toBeInstanceOf(Uint32Array);
    expect(Array.from(ix.wireLen)).toEqual([small.length, 70_000, small.length]);
  });

  it("a file holding both sides keeps each packet's record number", async () => {
    const source: SideSource = { path: join(FIXTURES, 'lab', 'kvm1-eth1.pcap'), name: 'u', select: { kind: 'all' } };
    const pass = new NodePass({ underlay: source });
    const builder = new IndexBuilder({}, pass.feed(source.path)?.parser);
    let k = 0;
    pass.listen((x) => {
      k += 1;
      // every other packet as if the file's other side took the ones between
      const frame = 2 * k;
      builder.addPass({
        ...x,
        facts: x.facts,
        get p() {
          return x.p;
        },
        frame,
      });
    });
    await runPass(pass);
    const ix = await builder.index(source.path, statSync(source.path).size, true);
    expect(ix.frame).toBeInstanceOf(Uint32Array);
    expect(frameOf(ix, 0)).toBe(2);
    expect(frameOf(ix, ix.count - 1)).toBe(2 * ix.count);
  });
});
