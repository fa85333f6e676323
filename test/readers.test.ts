/**
 * One case table run through both writers and the streaming reader (hono's common.case pattern):
 * each case is written with the pcap and/or pcapng writer, optionally damaged at a known byte,
 * then read back whole, one byte at a time and in random chunk sizes. All three readings must
 * give the expected packets, warnings and error offset.
 */
import { describe, expect, it } from 'vitest';
import { CaptureParser, PcapWriter, PcapngWriter, concatBytes, type CaptureInterface, type RawPacket } from '../src/index.js';

type Format = 'pcap' | 'pcapng';

interface Pkt {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
  len?: number;
}

interface Spec {
  bigEndian?: boolean;
  nanosecond?: boolean;
  snaplen?: number;
  linkType?: number;
  packets: Pkt[];
}

/** A file written from a spec, with the byte offset of each record/block. */
interface Written {
  bytes: Uint8Array;
  offsets: number[];
  /** Absolute position of record i's captured-length field. */
  caplenAt(i: number): number;
}

interface Adapter {
  format: Format;
  write(spec: Spec): Written;
  /** The packet the reader must deliver for spec packet i. */
  expected(spec: Spec, w: Written, i: number): RawPacket;
}

function withOffsets(header: Uint8Array, records: Uint8Array[], caplenField: number): Written {
  const offsets: number[] = [];
  let o = header.length;
  for (const r of records) {
    offsets.push(o);
    o += r.length;
  }
  return { bytes: concatBytes([header, ...records]), offsets, caplenAt: (i) => (offsets[i] ?? NaN) + caplenField };
}

const pcap: Adapter = {
  format: 'pcap',
  write(s) {
    const w = new PcapWriter({ bigEndian: s.bigEndian, nanosecond: s.nanosecond, snaplen: s.snaplen, linkType: s.linkType });
    return withOffsets(
      w.header(),
      s.packets.map((p) => w.record(p)),
      8,
    );
  },
  expected(s, w, i) {
    const p = s.packets[i]!;
    return {
      tsSec: p.tsSec,
      tsNsec: s.nanosecond ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000,
      tsDigits: s.nanosecond ? 9 : 6,
      caplen: p.data.length,
      len: p.len ?? p.data.length,
      linkType: (s.linkType ?? 1) & 0x03ffffff,
      interfaceId: undefined,
      interfaceName: undefined,
      fileOffset: w.offsets[i]!,
      data: p.data,
    };
  },
};

const pcapng: Adapter = {
  format: 'pcapng',
  write(s) {
    const w = new PcapngWriter({
      bigEndian: s.bigEndian,
      interfaces: [{ linkType: s.linkType, snaplen: s.snaplen, tsresol: s.nanosecond ? 9 : undefined }],
    });
    return withOffsets(
      w.header(),
      s.packets.map((p) => w.record(p)),
      20,
    );
  },
  expected(s, w, i) {
    return { ...pcap.expected(s, w, i), interfaceId: 0 };
  },
};

const ADAPTERS = [pcap, pcapng];

/** Bytes 0..n-1 with a recognisable pattern. */
function frame(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

const THREE: Pkt[] = [
  { tsSec: 1_700_000_000, tsNsec: 123_456_789, data: frame(60) },
  { tsSec: 1_700_000_001, tsNsec: 0, data: frame(1, 3), len: 1514 },
  { tsSec: 4_294_967_295, tsNsec: 999_999_999, data: frame(0) },
];

function u32(bytes: Uint8Array, at: number, v: number, le: boolean): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, v, le);
}

interface Outcome {
  packets: RawPacket[];
  warnings: string[];
  error?: { offset: number; message: string; code: string };
  interfaces: CaptureInterface[];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `bytes` in chunks of the sizes `size()` returns and collects everything the parser says. */
function feed(bytes: Uint8Array, size: () => number = () => bytes.length): Outcome {
  const parser = new CaptureParser();
  const packets: RawPacket[] = [];
  for (let o = 0; o < bytes.length; ) {
    const n = Math.max(1, size());
    parser.push(bytes.subarray(o, o + n));
    o += n;
    for (let p = parser.next(); p; p = parser.next()) packets.push(p);
  }
  parser.end();
  for (let p = parser.next(); p; p = parser.next()) packets.push(p);
  const out: Outcome = { packets, warnings: parser.warnings, interfaces: parser.interfaces };
  if (parser.error) out.error = { offset: parser.error.offset, message: parser.error.message, code: parser.error.code };
  return out;
}

/**
 * toEqual on the packets, every field, the bytes compared byte for byte by Buffer.equals first:
 * vitest's deep equality walks a Uint8Array element by element, about 1.5 s for the 256 KiB
 * frame each of the 8 times it is read. A difference still goes through toEqual, which shows it.
 */
function expectPackets(got: RawPacket[], want: RawPacket[]): void {
  const bytes = (d: Uint8Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  expect(got.length, 'packets delivered').toBe(want.length);
  got.forEach((p, i) => {
    const w = want[i]!;
    expect(p.data, `packet ${i} data`).toBeInstanceOf(Uint8Array);
    if (!bytes(p.data).equals(bytes(w.data))) expect(p.data, `packet ${i} data`).toEqual(w.data);
    expect({ ...p, data: undefined }, `packet ${i}`).toEqual({ ...w, data: undefined });
  });
}

const CHUNKINGS: [string, (len: number) => () => number][] = [
  ['whole', (len) => () => len],
  ['1 byte at a time', () => () => 1],
  [
    'random chunks (seed 1)',
    () => {
      const r = mulberry32(1);
      return () => 1 + Math.floor(r() * 40);
    },
  ],
  [
    'random chunks (seed 2)',
    () => {
      const r = mulberry32(2);
      return () => 1 + Math.floor(r() * 300);
    },
  ],
];

/** A hand-built pcapng file: its blocks' offsets, and what the reader must deliver. */
interface Built {
  w: Written;
  packets: RawPacket[];
  interfaces?: CaptureInterface[];
}

interface Case {
  name: string;
  only?: Format;
  spec: Spec;
  /** pcapng-only rows built block by block (spec is then unused). */
  build?: () => Built;
  /** Damage the written file; returns the bytes to read (default: as written). */
  damage?: (w: Written, a: Adapter, le: boolean) => Uint8Array;
  /** Indexes of spec packets expected (default all). */
  delivered?: number[];
  error?: { at: (w: Written) => number; message: RegExp };
  warnings?: RegExp[];
}

const CASES: Case[] = [
  { name: 'little-endian, microseconds', spec: { packets: THREE } },
  { name: 'big-endian, microseconds', spec: { bigEndian: true, packets: THREE } },
  { name: 'little-endian, nanoseconds', spec: { nanosecond: true, packets: THREE } },
  { name: 'big-endian, nanoseconds', spec: { bigEndian: true, nanosecond: true, packets: THREE } },
  { name: 'no packets', spec: { packets: [] } },
  { name: 'Linux SLL link type', spec: { linkType: 113, packets: THREE.slice(0, 1) } },
  { name: 'pcap link type with FCS bits: masked off', only: 'pcap', spec: { linkType: 0x30000001, packets: THREE.slice(0, 1) } },
  {
    name: 'invalid microsecond fields are kept raw (usec 1,000,000 and 2^31)',
    only: 'pcap',
    spec: {
      packets: [
        { tsSec: 1418145370, tsNsec: 1_000_000_000, data: frame(68) },
        { tsSec: 1418145370, tsNsec: 2_147_483_648_000, data: frame(68) },
      ],
    },
  },
  {
    name: 'invalid nanosecond field is kept raw (1.5e9)',
    only: 'pcap',
    spec: { nanosecond: true, bigEndian: true, packets: [{ tsSec: 1, tsNsec: 1_500_000_000, data: frame(10) }] },
  },
  {
    name: 'captured length above the snaplen but within 256 KiB: delivered with a warning',
    spec: { snaplen: 31, packets: [{ tsSec: 5, tsNsec: 0, data: frame(34), len: 20 }] },
    warnings: [/offset (24|\d+): captured length 34 exceeds .*snaplen 31/],
  },
  {
    name: 'a 256 KiB frame (the maximum) is read',
    spec: { packets: [{ tsSec: 5, tsNsec: 0, data: frame(262_144) }, ...THREE.slice(0, 1)] },
  },
  {
    name: 'captured length 262145: fatal, earlier packets delivered',
    spec: { packets: THREE },
    damage: (w, _a, le) => {
      const b = w.bytes.slice();
      u32(b, w.caplenAt(1), 262_145, le);
      return b;
    },
    delivered: [0],
    error: { at: (w) => w.offsets[1]!, message: /captured length of 262145 bytes, more than the 262144-byte maximum/ },
  },
  {
    name: 'captured length 2 GiB: fatal, nothing allocated',
    spec: { bigEndian: true, packets: THREE },
    damage: (w, _a, le) => {
      const b = w.bytes.slice();
      u32(b, w.caplenAt(2), 0x8000_0000, le);
      return b;
    },
    delivered: [0, 1],
    error: { at: (w) => w.offsets[2]!, message: /2147483648 bytes/ },
  },
  {
    name: 'last record cut one byte short',
    spec: { packets: THREE.slice(0, 2) },
    damage: (w) => w.bytes.subarray(0, w.bytes.length - 1),
    delivered: [0],
    error: { at: (w) => w.offsets[1]!, message: /^truncated/ },
  },
  {
    name: 'input ends inside a record header',
    spec: { packets: THREE.slice(0, 2) },
    damage: (w) => w.bytes.subarray(0, w.offsets[1]! + 5),
    delivered: [0],
    error: { at: (w) => w.offsets[1]!, message: /^truncated .*ends 5 byte\(s\) into it/ },
  },
  {
    name: 'input ends inside the file header',
    spec: { packets: THREE },
    damage: (w) => w.bytes.subarray(0, 10),
    delivered: [],
    error: { at: () => 0, message: /^truncated/ },
  },
  {
    name: 'wrong magic',
    spec: { packets: THREE },
    damage: (w) => {
      const b = w.bytes.slice();
      b[0] = 0x42;
      return b;
    },
    delivered: [],
    error: { at: () => 0, message: /not a pcap or pcapng capture: unknown magic 0x42/ },
  },
  {
    name: 'empty input',
    spec: { packets: [] },
    damage: () => new Uint8Array(0),
    delivered: [],
    error: { at: () => 0, message: /empty input/ },
  },
  {
    name: 'three bytes of input',
    spec: { packets: [] },
    damage: (w) => w.bytes.subarray(0, 3),
    delivered: [],
    error: { at: () => 0, message: /only 3 byte\(s\) long/ },
  },
  {
    name: 'gzip input is named as such',
    spec: { packets: [] },
    damage: () => Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0),
    delivered: [],
    error: { at: () => 0, message: /gzip-compressed/ },
  },
];

/** Concatenates blocks, remembering where each starts. */
function assemble(parts: Uint8Array[]): Written {
  const offsets: number[] = [];
  let o = 0;
  for (const p of parts) {
    offsets.push(o);
    o += p.length;
  }
  return { bytes: concatBytes(parts), offsets, caplenAt: (i) => (offsets[i] ?? NaN) + 20 };
}

/** An expected packet: µs Ethernet unless said otherwise. */
function rp(f: Pick<RawPacket, 'tsSec' | 'tsNsec' | 'fileOffset' | 'data'> & Partial<RawPacket>): RawPacket {
  return {
    tsSec: f.tsSec,
    tsNsec: f.tsNsec,
    tsDigits: f.tsDigits ?? 6,
    caplen: f.caplen ?? f.data.length,
    len: f.len ?? f.data.length,
    linkType: f.linkType ?? 1,
    interfaceId: f.interfaceId ?? 0,
    interfaceName: f.interfaceName,
    // said only when the section declares several interfaces (text output then names each packet's)
    ...(f.interfaceCount !== undefined ? { interfaceCount: f.interfaceCount } : {}),
    fileOffset: f.fileOffset,
    data: f.data,
  };
}

function iface(f: Partial<CaptureInterface> & { id: number }): CaptureInterface {
  const out: CaptureInterface = {
    id: f.id,
    linkType: f.linkType ?? 1,
    snaplen: f.snaplen ?? 262_144,
    tsDigits: f.tsDigits ?? 6,
    section: f.section ?? 0,
  };
  if (f.name !== undefined) out.name = f.name;
  return out;
}

const NO_SPEC: Spec = { packets: [] };

/** header, EPB, EPB: the base for damaged-block rows (block i+1 is EPB i). */
function twoEpbs(): Built {
  const w = new PcapngWriter({ interfaces: [{ name: 'eth1' }] });
  const a = { tsSec: 10, tsNsec: 1000, data: frame(60) };
  const b = { tsSec: 11, tsNsec: 2000, data: frame(61) };
  const f = assemble([w.header(), w.record(a), w.record(b)]);
  return {
    w: f,
    packets: [
      rp({ ...a, interfaceName: 'eth1', fileOffset: f.offsets[1]! }),
      rp({ ...b, interfaceName: 'eth1', fileOffset: f.offsets[2]! }),
    ],
    interfaces: [iface({ id: 0, name: 'eth1' })],
  };
}

/** Rewrites a 32-bit little-endian field of a copy of the file. */
function patched(w: Written, at: number, v: number): Uint8Array {
  const b = w.bytes.slice();
  u32(b, at, v, true);
  return b;
}

const PCAPNG_ROWS: Case[] = [
  {
    name: 'several interfaces: if_name, µs (default) / ns / 2^-20 resolution; EPB and OPB',
    only: 'pcapng',
    spec: NO_SPEC,
    build: () => {
      const w = new PcapngWriter({
        interfaces: [{ name: 'eth1' }, { name: 'vxlan_bridge', tsresol: 9 }, { linkType: 113, tsresol: 0x80 | 20, snaplen: 0 }],
      });
      const f = assemble([
        w.header(),
        w.record({ interfaceId: 1, tsSec: 1_700_000_000, tsNsec: 123_456_789, data: frame(50) }),
        w.record({ interfaceId: 0, tsSec: 1_700_000_000, tsNsec: 123_456_789, data: frame(50), len: 9000 }),
        w.obsoletePacket({ interfaceId: 2, tsSec: 7, tsNsec: 500_000_000, data: frame(20) }),
        w.record({ interfaceId: 2, tsSec: 8, tsNsec: 250_000_000, data: frame(21) }),
      ]);
      return {
        w: f,
        packets: [
          rp({
            interfaceCount: 3,
            interfaceId: 1,
            interfaceName: 'vxlan_bridge',
            tsSec: 1_700_000_000,
            tsNsec: 123_456_789,
            tsDigits: 9,
            data: frame(50),
            fileOffset: f.offsets[1]!,
          }),
          rp({
            interfaceCount: 3,
            interfaceId: 0,
            interfaceName: 'eth1',
            tsSec: 1_700_000_000,
            tsNsec: 123_456_000,
            data: frame(50),
            len: 9000,
            fileOffset: f.offsets[2]!,
          }),
          // 2^-20 s units: 0.5 s and 0.25 s are exact; ceil(20·log10 2) = 7 digits
          rp({
            interfaceCount: 3,
            interfaceId: 2,
            linkType: 113,
            tsSec: 7,
            tsNsec: 500_000_000,
            tsDigits: 7,
            data: frame(20),
            fileOffset: f.offsets[3]!,
          }),
          rp({
            interfaceCount: 3,
            interfaceId: 2,
            linkType: 113,
            tsSec: 8,
            tsNsec: 250_000_000,
            tsDigits: 7,
            data: frame(21),
            fileOffset: f.offsets[4]!,
          }),
        ],
        interfaces: [
          iface({ id: 0, name: 'eth1' }),
          iface({ id: 1, name: 'vxlan_bridge', tsDigits: 9 }),
          iface({ id: 2, linkType: 113, snaplen: 0, tsDigits: 7 }),
        ],
      };
    },
  },
  {
    name: 'two sections (little- then big-endian), each with its own interface list',
    only: 'pcapng',
    spec: NO_SPEC,
    build: () => {
      const w1 = new PcapngWriter({ interfaces: [{ name: 'a' }, { name: 'b' }] });
      const w2 = new PcapngWriter({ bigEndian: true, interfaces: [{ name: 'c', linkType: 276, tsresol: 9 }] });
      const f = assemble([
        w1.header(),
        w1.record({ interfaceId: 1, tsSec: 1, tsNsec: 1000, data: frame(30) }),
        w2.header(),
        w2.record({ interfaceId: 0, tsSec: 2, tsNsec: 3, data: frame(31) }),
      ]);
      return {
        w: f,
        packets: [
          rp({ interfaceCount: 2, interfaceId: 1, interfaceName: 'b', tsSec: 1, tsNsec: 1000, data: frame(30), fileOffset: f.offsets[1]! }),
          rp({
            interfaceId: 0,
            interfaceName: 'c',
            linkType: 276,
            tsDigits: 9,
            tsSec: 2,
            tsNsec: 3,
            data: frame(31),
            fileOffset: f.offsets[3]!,
          }),
        ],
        interfaces: [
          iface({ id: 0, name: 'a' }),
          iface({ id: 1, name: 'b' }),
          iface({ id: 0, name: 'c', linkType: 276, tsDigits: 9, section: 1 }),
        ],
      };
    },
  },
  {
    name: 'simple packet blocks: captured length = min(original length, snaplen), padding excluded',
    only: 'pcapng',
    spec: NO_SPEC,
    build: () => {
      const w = new PcapngWriter({ bigEndian: true, interfaces: [{ name: 'eth1', snaplen: 64 }] });
      // a writer that did not cut at the snaplen (100 bytes: hand-made), one that did (64 of 1500), and 30 bytes padded to 32
      const uncut = concatBytes([Uint8Array.of(0, 0, 0, 100), frame(100)]);
      const f = assemble([w.header(), w.block(3, uncut), w.simplePacket(frame(100), 1500), w.simplePacket(frame(30))]);
      return {
        w: f,
        packets: [
          rp({ interfaceName: 'eth1', tsSec: 0, tsNsec: 0, data: frame(64), len: 100, fileOffset: f.offsets[1]! }),
          rp({ interfaceName: 'eth1', tsSec: 0, tsNsec: 0, data: frame(64), len: 1500, fileOffset: f.offsets[2]! }),
          rp({ interfaceName: 'eth1', tsSec: 0, tsNsec: 0, data: frame(30), len: 30, fileOffset: f.offsets[3]! }),
        ],
        interfaces: [iface({ id: 0, name: 'eth1', snaplen: 64 })],
      };
    },
  },
  {
    name: 'unknown and unparsed blocks are skipped by their length (one of 1 MiB)',
    only: 'pcapng',
    spec: NO_SPEC,
    build: () => {
      const w = new PcapngWriter();
      const f = assemble([
        w.header(),
        w.block(0x0bad, frame(10)),
        w.record({ tsSec: 3, tsNsec: 0, data: frame(40) }),
        w.block(0x40000bad, frame(1 << 20)),
        w.block(5, frame(8)), // interface statistics
        w.record({ tsSec: 4, tsNsec: 0, data: frame(41) }),
      ]);
      return {
        w: f,
        packets: [
          rp({ tsSec: 3, tsNsec: 0, data: frame(40), fileOffset: f.offsets[2]! }),
          rp({ tsSec: 4, tsNsec: 0, data: frame(41), fileOffset: f.offsets[5]! }),
        ],
        interfaces: [iface({ id: 0 })],
      };
    },
  },
  {
    name: '64-bit timestamp past 2106 (2^32 s)',
    only: 'pcapng',
    spec: NO_SPEC,
    build: () => {
      const w = new PcapngWriter({ interfaces: [{ tsresol: 9 }] });
      const f = assemble([w.header(), w.record({ tsSec: 2 ** 32, tsNsec: 999_999_999, data: frame(14) })]);
      return {
        w: f,
        packets: [rp({ tsSec: 2 ** 32, tsNsec: 999_999_999, tsDigits: 9, data: frame(14), fileOffset: f.offsets[1]! })],
        interfaces: [iface({ id: 0, tsDigits: 9 })],
      };
    },
  },
  {
    name: 'captured length above the interface snaplen: delivered with a warning',
    only: 'pcapng',
    spec: NO_SPEC,
    build: () => {
      const w = new PcapngWriter({ interfaces: [{ snaplen: 40 }] });
      const f = assemble([w.header(), w.record({ tsSec: 1, tsNsec: 0, data: frame(41) })]);
      return {
        w: f,
        packets: [rp({ tsSec: 1, tsNsec: 0, data: frame(41), fileOffset: f.offsets[1]! })],
        interfaces: [iface({ id: 0, snaplen: 40 })],
      };
    },
    warnings: [/offset 48: captured length 41 exceeds interface 0's snaplen 40/],
  },
  {
    name: 'block length not a multiple of 4',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0],
    damage: (w) => patched(w, w.offsets[2]! + 4, 98),
    error: { at: (w) => w.offsets[2]!, message: /total length 98, which is not a multiple of 4/ },
  },
  {
    name: 'block length smaller than 12',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [],
    damage: (w) => patched(w, w.offsets[1]! + 4, 8),
    error: { at: (w) => w.offsets[1]!, message: /total length 8, which is smaller than 12/ },
  },
  {
    name: 'trailing block length does not match',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0],
    damage: (w) => patched(w, w.bytes.length - 4, 1234),
    error: { at: (w) => w.offsets[2]!, message: /trailing length says 1234/ },
  },
  {
    name: 'block length past the end of the input',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0],
    damage: (w) => patched(w, w.offsets[2]! + 4, 4096),
    error: { at: (w) => w.offsets[2]!, message: /^truncated pcapng block/ },
  },
  {
    name: 'block larger than 16 MiB',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0],
    damage: (w) => patched(w, w.offsets[2]! + 4, 16 * 1024 * 1024 + 4),
    error: { at: (w) => w.offsets[2]!, message: /claims 16777220 bytes, more than the 16777216-byte limit/ },
  },
  {
    name: 'captured length runs past the end of its block',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0],
    damage: (w) => patched(w, w.caplenAt(2), 200),
    error: { at: (w) => w.offsets[2]!, message: /captured length 200 runs past the end of its 96-byte block/ },
  },
  {
    name: 'enhanced packet block refers to an interface that does not exist',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0],
    damage: (w) => patched(w, w.offsets[2]! + 8, 3),
    error: { at: (w) => w.offsets[2]!, message: /refers to interface 3, but section 0 declares 1 interface/ },
  },
  {
    name: 'unknown block running past the end of the input',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0, 1],
    damage: (w) => concatBytes([w.bytes, Uint8Array.of(0xad, 0x0b, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4)]),
    error: { at: (w) => w.bytes.length, message: /^truncated pcapng block: its length runs past the end/ },
  },
  {
    name: 'unknown block claiming 2 GiB: skipped without buffering, then truncated',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [0, 1],
    damage: (w) => concatBytes([w.bytes, Uint8Array.of(0xad, 0x0b, 0, 0, 0, 0, 0, 0x80), frame(1000)]),
    error: { at: (w) => w.bytes.length, message: /^truncated pcapng block/ },
  },
  {
    name: 'skipped unknown block whose trailing length does not match',
    only: 'pcapng',
    spec: NO_SPEC,
    delivered: [0],
    build: () => {
      const w = new PcapngWriter();
      const f = assemble([w.header(), w.record({ tsSec: 3, tsNsec: 0, data: frame(40) }), w.block(0x0bad, frame(100_000))]);
      return { w: f, packets: [rp({ tsSec: 3, tsNsec: 0, data: frame(40), fileOffset: f.offsets[1]! })] };
    },
    damage: (w) => patched(w, w.bytes.length - 4, 12),
    error: { at: (w) => w.offsets[2]!, message: /^pcapng block of type 0xbad has total length 100012 but its trailing length says 12 / },
  },
  {
    name: 'simple packet block before any interface description',
    only: 'pcapng',
    spec: NO_SPEC,
    delivered: [],
    build: () => {
      const w = new PcapngWriter({ interfaces: [] });
      return { w: assemble([w.header(), w.simplePacket(frame(10))]), packets: [] };
    },
    error: { at: (w) => w.offsets[1]!, message: /simple packet block refers to interface 0, but section 0 declares 0/ },
  },
  {
    name: 'second section with a bad byte-order magic',
    only: 'pcapng',
    spec: NO_SPEC,
    delivered: [0, 1],
    build: () => {
      const b = twoEpbs();
      const f = assemble([b.w.bytes, new PcapngWriter().header()]);
      return { ...b, w: f };
    },
    damage: (w) => patched(w, w.offsets[1]! + 8, 0x11223344),
    error: { at: (w) => w.offsets[1]!, message: /byte-order magic 0x44332211/ },
  },
  {
    name: 'section header with version 2.0',
    only: 'pcapng',
    spec: NO_SPEC,
    build: twoEpbs,
    delivered: [],
    damage: (w) => {
      const b = w.bytes.slice();
      b[12] = 2;
      return b;
    },
    error: { at: () => 0, message: /version 2\.0; only version 1\.x/ },
  },
  {
    name: 'if_tsresol 10^-20 does not fit 64 bits',
    only: 'pcapng',
    spec: NO_SPEC,
    delivered: [],
    build: () => {
      const w = new PcapngWriter({ interfaces: [{ tsresol: 20 }] });
      const shbLen = 28;
      return { w: assemble([w.header().subarray(0, shbLen), w.header().subarray(shbLen)]), packets: [] };
    },
    error: { at: () => 28, message: /if_tsresol 10\^-20 does not fit/ },
  },
];

function outcomeFor(c: Case, a: Adapter): { w: Written; bytes: Uint8Array; expected: Outcome } {
  if (c.build) {
    const b = c.build();
    const bytes = c.damage ? c.damage(b.w, a, !c.spec.bigEndian) : b.w.bytes;
    const packets = c.delivered ? c.delivered.map((i) => b.packets[i]!) : b.packets;
    return { w: b.w, bytes, expected: { packets, warnings: [], interfaces: b.interfaces ?? [] } };
  }
  const w = a.write(c.spec);
  const bytes = c.damage ? c.damage(w, a, !c.spec.bigEndian) : w.bytes;
  const idx = c.delivered ?? c.spec.packets.map((_, i) => i);
  return { w, bytes, expected: { packets: idx.map((i) => a.expected(c.spec, w, i)), warnings: [], interfaces: [] } };
}

describe.each(ADAPTERS)('$format writer → reader', (a) => {
  for (const c of [...CASES, ...PCAPNG_ROWS]) {
    if (c.only && c.only !== a.format) continue;
    describe(c.name, () => {
      const { w, bytes, expected } = outcomeFor(c, a);
      it.each(CHUNKINGS)('%s', (_name, sizes) => {
        const got = feed(bytes, sizes(bytes.length));
        expectPackets(got.packets, expected.packets);
        if (c.error) {
          expect(got.error?.code).toBe('VXI_CAPTURE_FORMAT');
          expect(got.error?.offset).toBe(c.error.at(w));
          expect(got.error?.message).toMatch(c.error.message);
          expect(got.error?.message).toContain(`(at byte offset ${c.error.at(w)})`);
        } else {
          expect(got.error).toBeUndefined();
          if (c.build) expect(got.interfaces).toEqual(expected.interfaces);
          else expect(got.interfaces).toHaveLength(1);
        }
        expect(got.warnings.length).toBe(c.warnings?.length ?? 0);
        c.warnings?.forEach((re, i) => expect(got.warnings[i]).toMatch(re));
      });
    });
  }
});

describe('pcap link-type FCS bits', () => {
  it('reports the FCS length libpcap encodes in the top bits (0x04000000 present, 2-byte units)', () => {
    const w = new PcapWriter({ linkType: 0x24000001 });
    const got = feed(w.file(THREE));
    expect(got.interfaces).toEqual([{ id: 0, linkType: 1, snaplen: 262_144, tsDigits: 6, section: 0, fcsBytes: 4 }]);
    expect(got.packets.map((p) => p.linkType)).toEqual([1, 1, 1]);
  });
});
