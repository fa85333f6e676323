/**
 * The crafted malformed files of fixtures/malformed/: each built here from explained bytes,
 * with what `vxlan-inspect decode` must do with it. Two kinds:
 *  - a damaged file (the container is broken): the packets before the fault are printed, one
 *    line on stderr names the fault and its byte offset, exit code 1;
 *  - a valid file with a frame that is malformed inside: every packet is printed, the bad one
 *    says `[malformed <layer> at byte N: …]` (or keeps its bytes undecoded), exit code 0.
 * test/malformed.test.ts checks the files on disk are these bytes and runs the CLI on each;
 * `node scripts/fuzz.mjs --malformed` rewrites the files and prints the measured table.
 */
import { PcapWriter, PcapngWriter, concatBytes, type PacketToWrite } from '../decode/file/index.js';
import * as f from '../synth/frames.js';

export interface MalformedCase {
  /** File name under fixtures/malformed/. */
  file: string;
  /** The fault, in a few words (the table's first column). */
  fault: string;
  /** How it is made. */
  how: string;
  bytes: Uint8Array;
  /** Packets `decode` prints (those before the fault, or all of them). */
  packets: number;
  exitCode: 0 | 1;
  /** Damaged files: the reader's message (without the offset suffix) and the byte offset. */
  error?: { message: RegExp; offset: number };
  /** Valid files with a bad frame: its number and what its line says (`every`: all frames say it). */
  frame?: { n: number; says: RegExp; every?: boolean };
}

const T0 = 1_764_140_000;
const MAC_A = '02:00:0a:dc:dc:c9';
const MAC_B = '02:00:0a:dc:dc:ca';

function ping(seq: number): Uint8Array {
  return f.ethernet(
    MAC_B,
    MAC_A,
    0x0800,
    f.ipv4({ src: '10.220.220.201', dst: '10.220.220.202', proto: 1, id: seq }, f.icmpEcho(8, 0x1234, seq, new Uint8Array(16).fill(seq))),
  );
}

function overlay(seq: number): Uint8Array {
  return f.vxlanPacket(ping(seq), { vni: 10 });
}

function pkt(i: number, data: Uint8Array = overlay(i)): PacketToWrite {
  return { tsSec: T0 + i, tsNsec: 0, data };
}

const good = (n: number): PacketToWrite[] => Array.from({ length: n }, (_, i) => pkt(i + 1));

function setU32(b: Uint8Array, at: number, v: number, le = true): Uint8Array {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v, le);
  return b;
}

/** A pcap of `packets` whose record `i` is then changed by `patch(bytes, recordOffset)`. */
function pcapWith(packets: PacketToWrite[], i: number, patch: (b: Uint8Array, at: number) => void): { bytes: Uint8Array; at: number } {
  const w = new PcapWriter();
  const bytes = w.file(packets);
  let at = 24;
  for (let k = 0; k < i; k++) at += 16 + (packets[k] as PacketToWrite).data.length;
  patch(bytes, at);
  return { bytes, at };
}

/** A pcapng (SHB + one Ethernet IDB = 48 bytes) of good packets followed by `tail`. */
function pcapngThen(n: number, tail: Uint8Array): { bytes: Uint8Array; at: number } {
  const head = new PcapngWriter().file(good(n));
  return { bytes: concatBytes([head, tail]), at: head.length };
}

function pcapOf(frames: Uint8Array[], linkType = 1): Uint8Array {
  return new PcapWriter({ linkType }).file(frames.map((d, i) => pkt(i + 1, d)));
}

function damaged(
  file: string,
  fault: string,
  how: string,
  made: { bytes: Uint8Array; at: number },
  packets: number,
  message: RegExp,
): MalformedCase {
  return { file, fault, how, bytes: made.bytes, packets, exitCode: 1, error: { message, offset: made.at } };
}

function badFrame(file: string, fault: string, how: string, frames: Uint8Array[], n: number, says: RegExp, linkType = 1): MalformedCase {
  return { file, fault, how, bytes: pcapOf(frames, linkType), packets: frames.length, exitCode: 0, frame: { n, says } };
}

export function malformedCases(): MalformedCase[] {
  const cases: MalformedCase[] = [];
  const add = (c: MalformedCase): void => void cases.push(c);

  // ---- damaged files: the container is broken ----
  add(damaged('empty.pcap', 'empty file', '0 bytes', { bytes: new Uint8Array(0), at: 0 }, 0, /^empty input: no capture file header$/));
  add(
    damaged(
      'wrong-magic.pcap',
      'wrong magic',
      'an HTTP request saved as .pcap',
      { bytes: new TextEncoder().encode('GET / HTTP/1.1\r\nHost: 10.3.1.250\r\n\r\n'), at: 0 },
      0,
      /^not a pcap or pcapng capture: unknown magic 0x47455420$/,
    ),
  );
  add(
    damaged(
      'gzip-compressed.pcap',
      'compressed capture',
      'gzip magic 1f 8b',
      { bytes: Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4]), at: 0 },
      0,
      /^input is gzip-compressed \(magic 0x1f8b0800\): decompress it first$/,
    ),
  );
  add(
    damaged(
      'truncated-file-header.pcap',
      'truncated file header',
      'the first 10 of the 24 header bytes',
      { bytes: new PcapWriter().header().subarray(0, 10), at: 0 },
      0,
      /^truncated pcap file header: the input ends 10 byte\(s\) into it, 24 needed$/,
    ),
  );
  {
    const w = new PcapWriter();
    const full = w.file(good(3));
    const at = full.length - (16 + overlay(3).length);
    add(
      damaged(
        'truncated-last-record.pcap',
        'truncated last record',
        '3 records, the last one 20 bytes short (a capture killed mid-write)',
        { bytes: full.subarray(0, full.length - 20), at },
        2,
        /^truncated pcap record: the input ends \d+ byte\(s\) into it, \d+ needed$/,
      ),
    );
    add(
      damaged(
        'truncated-record-header.pcap',
        'truncated record header',
        '2 records, then 7 bytes of a third record header',
        { bytes: concatBytes([w.file(good(2)), new Uint8Array(7)]), at: w.file(good(2)).length },
        2,
        /^truncated pcap record: the input ends 7 byte\(s\) into it, 16 needed$/,
      ),
    );
  }
  add(
    damaged(
      'huge-caplen.pcap',
      'huge caplen',
      'third record says caplen 0xFFFFFFFF (4 GiB)',
      pcapWith(good(4), 2, (b, at) => setU32(b, at + 8, 0xffffffff)),
      2,
      /^pcap record claims a captured length of 4294967295 bytes, more than the 262144-byte maximum: the file is damaged$/,
    ),
  );
  add(
    damaged(
      'caplen-over-maximum.pcap',
      'caplen just over the maximum',
      "second record says caplen 262,145 (libpcap's maximum + 1)",
      pcapWith(good(3), 1, (b, at) => setU32(b, at + 8, 262_145)),
      1,
      /^pcap record claims a captured length of 262145 bytes/,
    ),
  );
  {
    const blk = setU32(new Uint8Array(12), 0, 6);
    add(
      damaged(
        'zero-length-block.pcapng',
        'zero-length pcapng block',
        '2 EPBs, then an EPB whose total length is 0',
        pcapngThen(2, blk),
        2,
        /^pcapng block of type 0x6 has total length 0, which is smaller than 12$/,
      ),
    );
  }
  {
    const blk = new Uint8Array(32);
    setU32(blk, 0, 6);
    setU32(blk, 4, 30);
    add(
      damaged(
        'block-length-not-multiple-of-4.pcapng',
        'block length not a multiple of 4',
        '2 EPBs, then an EPB of total length 30',
        pcapngThen(2, blk),
        2,
        /^pcapng block of type 0x6 has total length 30, which is not a multiple of 4$/,
      ),
    );
  }
  {
    const rec = new PcapngWriter().record(pkt(3));
    setU32(rec, rec.length - 4, rec.length + 4);
    add(
      damaged(
        'trailing-length-mismatch.pcapng',
        'block trailing length differs',
        '2 EPBs, then an EPB whose trailing length says 4 more',
        pcapngThen(2, rec),
        2,
        /^pcapng block of type 0x6 has total length \d+ but its trailing length says \d+$/,
      ),
    );
  }
  {
    const rec = new PcapngWriter().record(pkt(3));
    add(
      damaged(
        'truncated-last-block.pcapng',
        'truncated last pcapng block',
        '2 EPBs, then the first 40 bytes of a third',
        pcapngThen(2, rec.subarray(0, 40)),
        2,
        /^truncated pcapng block: the input ends 40 byte\(s\) into it, \d+ needed$/,
      ),
    );
  }
  {
    const blk = new Uint8Array(32);
    setU32(blk, 0, 6);
    setU32(blk, 4, 0xfffffffc);
    add(
      damaged(
        'huge-block.pcapng',
        'huge pcapng block',
        '2 EPBs, then an EPB claiming 4 GiB',
        pcapngThen(2, blk),
        2,
        /^pcapng block of type 0x6 claims 4294967292 bytes, more than the 16777216-byte limit: the file is damaged$/,
      ),
    );
  }
  {
    const rec = new PcapngWriter().record(pkt(3));
    setU32(rec, 8, 7); // interface id
    add(
      damaged(
        'interface-id-out-of-range.pcapng',
        'pcapng interface id out of range',
        '2 EPBs on interface 0, then one on interface 7 (1 declared)',
        pcapngThen(2, rec),
        2,
        /^pcapng enhanced packet block refers to interface 7, but section 0 declares 1 interface\(s\)$/,
      ),
    );
  }
  {
    const shb = new PcapngWriter().header().subarray(0, 28);
    const rec = new PcapngWriter().record(pkt(1));
    add(
      damaged(
        'packet-before-interface.pcapng',
        'packet block before any interface',
        'a section header, then an EPB with no IDB',
        { bytes: concatBytes([shb, rec]), at: 28 },
        0,
        /^pcapng enhanced packet block refers to interface 0, but section 0 declares 0 interface\(s\)$/,
      ),
    );
  }
  {
    const b = new PcapngWriter().file(good(1));
    setU32(b, 8, 0x11223344);
    add(
      damaged(
        'bad-byte-order-magic.pcapng',
        'pcapng byte-order magic wrong',
        'section header with byte-order magic 0x11223344',
        { bytes: b, at: 0 },
        0,
        /^pcapng section header has byte-order magic 0x44332211, expected 0x1a2b3c4d in either byte order$/,
      ),
    );
  }
  {
    const b = new PcapngWriter().file(good(1));
    b[12] = 2; // major version 2
    add(
      damaged(
        'section-version-2.pcapng',
        'pcapng version 2.0',
        'section header says major version 2',
        { bytes: b, at: 0 },
        0,
        /^pcapng section header says version 2\.0; only version 1\.x is defined$/,
      ),
    );
  }
  {
    const rec = new PcapngWriter().record(pkt(3));
    setU32(rec, 20, rec.length); // caplen larger than the block
    add(
      damaged(
        'caplen-past-block.pcapng',
        'EPB caplen past its block',
        '2 EPBs, then an EPB whose caplen runs past its block',
        pcapngThen(2, rec),
        2,
        /^pcapng enhanced packet block's captured length \d+ runs past the end of its \d+-byte block$/,
      ),
    );
  }

  // ---- valid files, malformed frames inside: exit 0, the frame says what is wrong ----
  add({
    ...badFrame(
      'unknown-link-type.pcap',
      'unknown link type',
      'link type 147 (USER0), 2 packets',
      [overlay(1), overlay(2)],
      1,
      /link type 147 .*\[unknown link type 147: bytes kept undecoded\]/,
      147,
    ),
    frame: { n: 1, says: /link type 147 .*\[unknown link type 147: bytes kept undecoded\]$/, every: true },
  });
  {
    let deep = ping(1);
    for (let i = 0; i < 9; i++) deep = f.vxlanPacket(deep, { vni: 100 + i });
    add(
      badFrame(
        'tunnel-nested-beyond-limit.pcap',
        'tunnel nested beyond the depth limit',
        'VXLAN in VXLAN 9 deep (limit 8), between 2 good packets',
        [overlay(1), deep, overlay(3)],
        2,
        /\[malformed eth at byte \d+: tunnels nested deeper than 8\]/,
      ),
    );
  }
  {
    const ext = Array.from({ length: 20 }, () => [60, 0, 1, 4, 0, 0, 0, 0]).flat();
    const loop = f.ethernet(MAC_B, MAC_A, 0x86dd, f.ipv6({ src: 'fd00::1', dst: 'fd00::2', nextHeader: 60 }, Uint8Array.from(ext)));
    add(
      badFrame(
        'ipv6-extension-header-loop.pcap',
        'IPv6 extension header loop',
        '20 destination-options headers each pointing to the next (limit 16)',
        [overlay(1), loop],
        2,
        /\[malformed ipv6 at byte 182: more than 16 IPv6 extension headers\]/,
      ),
    );
  }
  {
    let payload: Uint8Array = f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1));
    for (let i = 0; i < 100; i++) payload = f.vlanTag(i + 1, i === 0 ? 0x0800 : 0x8100, payload);
    add(
      badFrame(
        'vlan-stack-100-tags.pcap',
        'VLAN stack of 100 tags',
        '100 stacked 802.1Q tags (layer limit 64)',
        [f.ethernet(MAC_B, MAC_A, 0x8100, payload)],
        1,
        /\[malformed vlan at byte 266: more than 64 layers in one frame\]/,
      ),
    );
  }
  {
    const gen = Uint8Array.from([0x01, 0, 0x65, 0x58, 0, 0, 10, 0, 0x01, 0x02, 0x03, 0x1f]);
    const frame = f.ethernet(
      MAC_B,
      MAC_A,
      0x0800,
      f.ipv4({ src: '10.3.1.156', dst: '10.3.1.174', proto: 17 }, f.udp(50000, 6081, f.concat(gen, ping(2)))),
    );
    add(
      badFrame(
        'geneve-option-past-header.pcap',
        'GENEVE option length past the header',
        'options length 4 bytes, one option claiming 128',
        [frame],
        1,
        /\[malformed geneve at byte 50: GENEVE option of 128 bytes runs past the options \(4 left\)\]/,
      ),
    );
  }
  {
    const frame = ping(1);
    frame[14] = 0x44; // IHL 4 words = 16 bytes
    add(
      badFrame(
        'ipv4-header-length-below-20.pcap',
        'IPv4 IHL below 20',
        'IHL 4 (16 bytes)',
        [frame],
        1,
        /\[malformed ipv4 at byte 14: IPv4 header length 16 is below 20\]/,
      ),
    );
  }
  {
    const frame = ping(1);
    frame[16] = 0;
    frame[17] = 12; // total length 12 < 20
    add(
      badFrame(
        'ipv4-total-length-below-header.pcap',
        'IPv4 total length below its header',
        'total length 12',
        [frame],
        1,
        /\[malformed ipv4 at byte 16: IPv4 total length 12 is smaller than its header \(20\)\]/,
      ),
    );
  }
  {
    const frame = overlay(1);
    frame[14 + 20 + 4] = 0;
    frame[14 + 20 + 5] = 5; // UDP length 5 < 8
    add(
      badFrame(
        'udp-length-below-8.pcap',
        'UDP length below 8',
        'VXLAN packet whose UDP length is 5',
        [frame],
        1,
        /\[malformed udp at byte 38: UDP length 5 is below the 8-byte header\]/,
      ),
    );
  }
  {
    const frame = f.ethernet(
      MAC_B,
      MAC_A,
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, f.tcp({ srcPort: 40000, dstPort: 5201 }, new Uint8Array(8))),
    );
    frame[14 + 20 + 12] = 0x30; // data offset 3 words
    add(
      badFrame(
        'tcp-data-offset-below-20.pcap',
        'TCP data offset below 20',
        'data offset 3 (12 bytes)',
        [frame],
        1,
        /\[malformed tcp at byte 46: TCP data offset 12 is below 20\]/,
      ),
    );
  }
  {
    const arp = Uint8Array.from([0, 1, 8, 0, 255, 255, 0, 1, ...new Uint8Array(20)]);
    add(
      badFrame(
        'arp-address-lengths-255.pcap',
        'ARP address lengths past the frame',
        'hlen 255, plen 255 in a 42-byte frame',
        [f.ethernet('ff:ff:ff:ff:ff:ff', MAC_A, 0x0806, arp)],
        1,
        /\[malformed arp at byte 14: ARP addresses runs past the end of the frame \(1028 bytes needed, 28 on the wire\)\]/,
      ),
    );
  }
  {
    const frame = f.ethernet(MAC_B, MAC_A, 0x0800, Uint8Array.from([0x65, ...new Uint8Array(19)]));
    add(
      badFrame(
        'ip-version-6-in-ipv4.pcap',
        'wrong IP version',
        'EtherType IPv4, version nibble 6',
        [frame],
        1,
        /\[malformed ipv4 at byte 14: IPv4 header with IP version 6\]/,
      ),
    );
  }
  {
    // snaplen 60: the capture cut the frame inside the inner Ethernet header — truncated, not malformed
    const full = overlay(1);
    const bytes = new PcapWriter({ snaplen: 60 }).file([{ ...pkt(1, full.subarray(0, 60)), len: full.length }]);
    add({
      file: 'snaplen-cut-inside-vxlan.pcap',
      fault: 'snaplen cut inside the inner frame',
      how: "snaplen 60: the inner Ethernet header is cut (tcpdump's [|eth])",
      bytes,
      packets: 1,
      exitCode: 0,
      frame: { n: 1, says: /VXLAN vni 10 \(\d+ bytes, 60 captured\) \[\|eth\]$/ },
    });
  }
  return cases;
}
