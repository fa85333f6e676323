/**
 * The capture index: one pass keeps offsets and a few numbers per packet; pages are re-read
 * from disk by offset and must give back exactly the packets a full read gives.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PcapWriter, PcapngWriter, concatBytes } from '../src/decode/file/writer.js';
import { packets } from '../src/decode/file/read.js';
import { parseIPv4, parseMac } from '../src/decode/format/addr.js';
import type { RawPacket } from '../src/decode/types.js';
import { arpRequest, ethernet, icmpEcho, ipv4, vxlanPacket } from '../src/synth/frames.js';
import { FLAG, PROTO, buildCaptureIndex, readRecords } from '../src/web/capture-index.js';
import { filterIndex, parseFilter } from '../src/web/filter.js';
import { innerFrame } from '../src/web/downloads.js';
import { decodePacket } from '../src/decode/packet.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ping = ethernet(
  '52:54:00:aa:00:12',
  '52:54:00:aa:00:11',
  0x0800,
  ipv4({ src: '10.220.220.11', dst: '10.220.220.12', proto: 1 }, icmpEcho(8, 7, 1)),
);
const arp = ethernet('ff:ff:ff:ff:ff:ff', '52:54:00:aa:00:11', 0x0806, arpRequest('52:54:00:aa:00:11', '10.220.220.11', '10.220.220.12'));

/** n packets alternating: VXLAN(ping, vni 10), plain ARP, VXLAN(arp, vni 20) on port 8472. */
function frames(n: number): { tsSec: number; tsNsec: number; data: Uint8Array }[] {
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    const data = k === 0 ? vxlanPacket(ping, { vni: 10 }) : k === 1 ? arp : vxlanPacket(arp, { vni: 20, dstPort: 8472 });
    out.push({ tsSec: 1_700_000_000 + Math.floor(i / 1000), tsNsec: (i % 1000) * 1_000_000, data });
  }
  return out;
}

async function all(file: string): Promise<RawPacket[]> {
  const list: RawPacket[] = [];
  for await (const p of packets(file)) list.push(p);
  return list;
}

describe('buildCaptureIndex', () => {
  test('keeps per-packet numbers for filters and correlation', async () => {
    const file = path.join(dir, 'mixed.pcap');
    writeFileSync(file, new PcapWriter().file(frames(6)));
    const ix = await buildCaptureIndex(file);
    expect(ix.count).toBe(6);
    expect(ix.format).toBe('pcap');
    expect(Array.from(ix.vni)).toEqual([10, -1, 20, 10, -1, 20]);
    expect(ix.proto[0]).toBe(PROTO.icmp);
    expect(ix.proto[1]).toBe(PROTO.arp);
    expect(ix.proto[2]).toBe(PROTO.arp);
    expect(ix.outerSrc[0]).toBe(parseIPv4('10.3.1.156'));
    expect(ix.innerSrc[0]).toBe(parseIPv4('10.220.220.11'));
    // an inner ARP has no inner IPv4: the outer address must not leak into the inner column
    expect(ix.innerSrc[2]).toBe(0);
    expect(ix.macSrc[0]).toBe(parseMac('52:54:00:aa:00:11'));
    expect((ix.flags[0] as number) & FLAG.tunnel).toBe(FLAG.tunnel);
    expect((ix.flags[1] as number) & FLAG.tunnel).toBe(0);
    expect((ix.flags[2] as number) & FLAG.nonStandardPort).toBe(FLAG.nonStandardPort);
    expect(ix.tunnelPort[2]).toBe(8472);
    // the hash covers the inner frame: a VXLAN-carried ARP hashes like the bare ARP frame
    expect(ix.hash[2]).toBe(ix.hash[1]);
    expect(ix.hashLen[2]).toBe(arp.length);
    expect(ix.offsets[0]).toBe(24);
    expect(ix.offsets[1]).toBe(24 + 16 + (ix.wireLen[0] as number));
  });

  test('a file that is not a capture is refused with the reason', async () => {
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'hello, this is not a capture\n');
    await expect(buildCaptureIndex(file)).rejects.toThrow(/not a pcap or pcapng capture/);
  });

  test('a damaged tail keeps the packets before it and says where', async () => {
    const file = path.join(dir, 'cut.pcap');
    const bytes = new PcapWriter().file(frames(4));
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    const ix = await buildCaptureIndex(file);
    expect(ix.count).toBe(3);
    expect(ix.error).toMatch(/truncated pcap record/);
  });
});

describe('readRecords re-reads pages by offset', () => {
  const cases: [string, () => Uint8Array][] = [
    ['pcap (µs)', () => new PcapWriter().file(frames(500))],
    ['pcap (ns, big-endian)', () => new PcapWriter({ nanosecond: true, bigEndian: true }).file(frames(500))],
    [
      'pcapng',
      () =>
        new PcapngWriter({ interfaces: [{ name: 'eth1' }, { name: 'vxlan_bridge', tsresol: 9 }] }).file(
          frames(500).map((f, i) => ({ ...f, interfaceId: i % 2 })),
        ),
    ],
    [
      'pcapng, two sections',
      () => {
        const a = new PcapngWriter({ interfaces: [{ name: 'eth1' }] }).file(frames(250));
        const b = new PcapngWriter({ interfaces: [{ name: 'x' }, { name: 'y', tsresol: 9 }], bigEndian: true }).file(
          frames(250).map((f, i) => ({ ...f, interfaceId: i % 2 })),
        );
        return concatBytes([a, b]);
      },
    ],
  ];
  for (const [name, make] of cases) {
    test(name, async () => {
      const file = path.join(dir, `${name.replace(/\W+/g, '_')}.cap`);
      writeFileSync(file, make());
      const ix = await buildCaptureIndex(file);
      const full = await all(file);
      expect(ix.count).toBe(full.length);
      // several sections: the header blocks of each section are found and put before a page
      expect(ix.headerBlocks !== undefined).toBe(name.includes('two sections'));
      // a page in the middle, a scattered set, and the last record
      const want = [...Array.from({ length: 100 }, (_, i) => 200 + i), 3, 7, 250, 251, 499];
      const got = await readRecords(ix, want);
      for (const i of want) {
        const a = got.get(i);
        const b = full[i] as RawPacket;
        expect(a, `record ${i}`).toBeDefined();
        expect(Buffer.from(a!.data).equals(Buffer.from(b.data))).toBe(true);
        expect(a!.tsSec).toBe(b.tsSec);
        expect(a!.tsNsec).toBe(b.tsNsec);
        expect(a!.fileOffset).toBe(b.fileOffset);
        expect(a!.interfaceName).toBe(b.interfaceName);
      }
    });
  }
});

describe('filters', () => {
  test('terms, shorthands and errors', async () => {
    const file = path.join(dir, 'filter.pcap');
    writeFileSync(file, new PcapWriter().file(frames(9)));
    const ix = await buildCaptureIndex(file);
    const run = (t: string): number[] => Array.from(filterIndex(ix, parseFilter(t)));
    expect(run('')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run('vni=10')).toEqual([0, 3, 6]);
    expect(run('vni 20')).toEqual([2, 5, 8]);
    expect(run('20')).toEqual([2, 5, 8]);
    expect(run('proto=arp')).toEqual([1, 2, 4, 5, 7, 8]);
    expect(run('proto=arp vni=20')).toEqual([2, 5, 8]);
    expect(run('proto=vxlan')).toEqual([0, 2, 3, 5, 6, 8]);
    expect(run('ip=10.220.220.12')).toEqual([0, 3, 6]);
    expect(run('10.3.1.174')).toEqual([0, 2, 3, 5, 6, 8]);
    expect(run('mac=52:54:00:aa:00:12')).toEqual([0, 3, 6]);
    expect(run('flood')).toEqual([1, 2, 4, 5, 7, 8]);
    expect(run('icmp')).toEqual([0, 3, 6]);
    expect(() => parseFilter('vni=banana')).toThrow(/cannot understand filter "vni=banana"/);
    expect(() => parseFilter('colour=blue')).toThrow(/filter terms: vni=10/);
  });
});

test('innerFrame gives the decapsulated Ethernet frame, bounded by the UDP length', () => {
  const raw: RawPacket = {
    tsSec: 0,
    tsNsec: 0,
    tsDigits: 6,
    caplen: 0,
    len: 0,
    linkType: 1,
    fileOffset: 0,
    data: concatBytes([vxlanPacket(arp), new Uint8Array(6)]),
  };
  raw.caplen = raw.len = raw.data.length;
  const inner = innerFrame(decodePacket(raw, 1));
  expect(inner && Buffer.from(inner).equals(Buffer.from(arp))).toBe(true);
});
