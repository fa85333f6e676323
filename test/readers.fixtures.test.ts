/**
 * fixtures/format/: small hand-made capture files for reader edge cases (see its README.md).
 * Each file is built here from our writers; the test checks the committed bytes are exactly what
 * the builder makes, and what reading them gives. Regenerate: VXI_UPDATE_FIXTURES=1 npx vitest run test/readers.fixtures.test.ts
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter, concatBytes, readCapture } from '../src/index.js';

const DIR = new URL('../fixtures/format/', import.meta.url);
const UPDATE = process.env.VXI_UPDATE_FIXTURES === '1';

const fr = (n: number, s = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + s) & 0xff);
const PKTS = [
  { tsSec: 1_700_000_000, tsNsec: 123_456_789, data: fr(60) },
  { tsSec: 1_700_000_001, tsNsec: 5_000, data: fr(61, 1), len: 1514 },
  { tsSec: 1_700_000_002, tsNsec: 999_999_000, data: fr(14, 2) },
];

function twoSections(): Uint8Array {
  const w1 = new PcapngWriter({
    userAppl: 'vxlan-inspect fixtures',
    interfaces: [{ name: 'eth1' }, { name: 'vxlan_bridge', tsresol: 9 }, { linkType: 113, tsresol: 0x80 | 20, snaplen: 0 }],
  });
  const w2 = new PcapngWriter({ bigEndian: true, interfaces: [{ name: 'eth1', tsresol: 9, snaplen: 64 }] });
  return concatBytes([
    w1.header(),
    w1.record({ interfaceId: 1, tsSec: 1_700_000_000, tsNsec: 123_456_789, data: fr(60) }),
    w1.block(0x0ccc, fr(10)),
    w1.obsoletePacket({ interfaceId: 2, tsSec: 7, tsNsec: 500_000_000, data: fr(20), len: 99 }),
    w1.record({ interfaceId: 0, tsSec: 1_700_000_001, tsNsec: 5_000, data: fr(61) }),
    w2.header(),
    w2.simplePacket(fr(100)),
    w2.record({ tsSec: 2 ** 32, tsNsec: 1, data: fr(14) }),
  ]);
}

function badInterfaceId(): Uint8Array {
  const w = new PcapngWriter({ interfaces: [{ name: 'eth1' }] });
  const bad = w.record(PKTS[1]!);
  new DataView(bad.buffer).setUint32(8, 3, true);
  return concatBytes([w.header(), w.record(PKTS[0]!), bad, w.record(PKTS[2]!)]);
}

function hugeUnknownBlock(): Uint8Array {
  const w = new PcapngWriter();
  return concatBytes([w.file(PKTS.slice(0, 2)), Uint8Array.of(0xcc, 0x0c, 0, 0, 0xf0, 0xff, 0xff, 0x7f), fr(64)]);
}

interface Fixture {
  file: string;
  build: () => Uint8Array;
  packets: number;
  errorAt?: number;
  error?: RegExp;
  warnings?: number;
}

const FIXTURES: Fixture[] = [
  { file: 'two-sections.pcapng', build: twoSections, packets: 5 },
  {
    file: 'big-endian-ns-sll.pcap',
    build: () => new PcapWriter({ bigEndian: true, nanosecond: true, linkType: 113 }).file(PKTS),
    packets: 3,
  },
  {
    file: 'invalid-timestamps.pcap',
    build: () =>
      new PcapWriter().file([
        { tsSec: 1418145370, tsNsec: 1_000_000_000, data: fr(20) },
        { tsSec: 1418145370, tsNsec: 2_147_483_648_000, data: fr(20) },
      ]),
    packets: 2,
  },
  { file: 'caplen-over-snaplen.pcap', build: () => new PcapWriter({ snaplen: 32 }).file(PKTS), packets: 3, warnings: 2 },
  {
    file: 'truncated-last-record.pcap',
    build: () => new PcapWriter().file(PKTS).subarray(0, -5),
    packets: 2,
    errorAt: 24 + 76 + 77,
    error: /^truncated pcap record/,
  },
  { file: 'bad-interface-id.pcapng', build: badInterfaceId, packets: 1, errorAt: 28 + 32 + 92, error: /refers to interface 3/ },
  { file: 'huge-unknown-block.pcapng', build: hugeUnknownBlock, packets: 2, errorAt: 28 + 20 + 92 + 96, error: /^truncated pcapng block/ },
];

describe('fixtures/format', () => {
  if (UPDATE) {
    mkdirSync(DIR, { recursive: true });
    for (const f of FIXTURES) writeFileSync(new URL(f.file, DIR), f.build());
  }

  it.each(FIXTURES)('$file', async (f) => {
    const path = new URL(f.file, DIR);
    expect(existsSync(path), `${f.file} missing: run with VXI_UPDATE_FIXTURES=1`).toBe(true);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(f.build()))).toBe(true);
    let n = 0;
    const s = await readCapture(path.pathname, () => void n++);
    expect(n).toBe(f.packets);
    expect(s.error?.offset).toBe(f.errorAt);
    if (f.error) expect(s.error?.message).toMatch(f.error);
    expect(s.warnings).toHaveLength(f.warnings ?? 0);
  });
});
