/**
 * The readers against public captures (tcpdump's and Zeek's test files, see
 * fixtures/public/README.md) and against an independent reader, the npm package pcap-parser.
 *  - packet count equals capinfos' (CAPINFOS.tsv) for every .pcap/.pcapng;
 *  - each frame's len, caplen, timestamp and interface id equal tshark's (F.tshark.tsv), except the
 *    invalid sub-second fields, which we keep raw (tshark prints them three different wrong ways);
 *  - classic µs files give the same packets as pcap-parser.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PcapWriter, readCapture, type RawPacket } from '../src/index.js';

const ROOT = new URL('../fixtures/public', import.meta.url).pathname;
const HAVE = existsSync(`${ROOT}/CAPINFOS.tsv`);
const SKIP_REASON = `public captures not found at ${ROOT}`;

interface Row {
  file: string;
  packets: number;
  fileType: string;
  precision: string;
}
const ROWS: Row[] = HAVE
  ? readFileSync(`${ROOT}/CAPINFOS.tsv`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'))
      .map(([file = '', packets = '', , fileType = '', precision = '']) => ({ file, packets: Number(packets), fileType, precision }))
      .filter((r) => /\.pcap(ng)?$/.test(r.file))
  : [];

async function readAll(path: string): Promise<{ pkts: RawPacket[]; error?: Error; warnings: string[] }> {
  const pkts: RawPacket[] = [];
  const s = await readCapture(path, (p) => void pkts.push(p));
  return { pkts, error: s.error, warnings: s.warnings };
}

describe.skipIf(!HAVE)(`public captures (${HAVE ? ROWS.length : SKIP_REASON})`, () => {
  it('lists 80 captures', () => expect(ROWS).toHaveLength(80));

  it.each(ROWS)('$file: $packets packets, each as tshark reads it', async ({ file, packets }) => {
    const { pkts, error } = await readAll(`${ROOT}/${file}`);
    expect(error).toBeUndefined();
    expect(pkts).toHaveLength(packets);
    const tshark = readFileSync(`${ROOT}/${file}.tshark.tsv`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    pkts.forEach((p, i) => {
      const [, len, caplen, epoch, ifid] = tshark[i] ?? [];
      expect(String(p.len), `frame ${i + 1} len`).toBe(len);
      expect(String(p.caplen), `frame ${i + 1} caplen`).toBe(caplen);
      expect(p.data.length).toBe(p.caplen);
      expect(p.interfaceId === undefined ? '' : String(p.interfaceId), `frame ${i + 1} interface`).toBe(ifid);
      if (p.tsNsec < 1e9) expect(`${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`, `frame ${i + 1} time`).toBe(epoch);
    });
  });

  it('keeps invalid sub-second fields raw (README §4)', async () => {
    const micro = await readAll(`${ROOT}/tcpdump/timestamp_invalid_micro.pcap`);
    expect(micro.pkts.map((p) => p.tsNsec).filter((ns) => ns >= 1e9)).toEqual([1_000_000_000, 2_147_483_648_000]);
    const nano = await readAll(`${ROOT}/tcpdump/timestamp_invalid_nano.pcap`);
    expect(nano.pkts.some((p) => p.tsNsec >= 1e9 && p.tsDigits === 9)).toBe(true);
  });

  it('masks the FCS bits of link type 0x30000001', async () => {
    const { pkts } = await readAll(`${ROOT}/tcpdump/aarp-heapoverflow-1.pcap`);
    expect(pkts[0]?.linkType).toBe(1);
  });

  it('warns, and delivers, records whose caplen exceeds the snaplen', async () => {
    const { pkts, warnings } = await readAll(`${ROOT}/tcpdump/icmp-icmp_print-oobr-1.pcap`);
    expect(pkts).toHaveLength(3);
    expect(warnings).toEqual([24, 104, 184].map((o) => `record at byte offset ${o}: captured length 64 exceeds the file's snaplen 37`));
  });

  it('reads two interfaces with different if_tsresol, and interface ids up to 48 of 126', async () => {
    const multi = await readAll(`${ROOT}/zeek/pcapng-multi-interface.pcapng`);
    expect(new Set(multi.pkts.map((p) => `${p.interfaceId}:${p.tsDigits}`)).size).toBe(2);
    const ldap = await readAll(`${ROOT}/zeek/ldap/modify-request.pcapng`);
    expect(new Set(ldap.pkts.map((p) => p.interfaceId))).toEqual(new Set([48]));
  });
});

// --- cross-check with pcap-parser (classic microsecond pcap only) ---

interface PpPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
interface PpParser {
  on(ev: 'packet', f: (p: PpPacket) => void): void;
  on(ev: 'end', f: () => void): void;
  on(ev: 'error', f: (e: Error) => void): void;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(input: string | NodeJS.ReadableStream): PpParser };

function viaPcapParser(input: string | NodeJS.ReadableStream): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const out: string[] = [];
    const p = pcapParser.parse(input);
    p.on('packet', ({ header: h, data }) =>
      out.push(`${h.timestampSeconds}.${h.timestampMicroseconds} ${h.capturedLength}/${h.originalLength} ${data.toString('hex')}`),
    );
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

async function viaUs(input: string | NodeJS.ReadableStream): Promise<string[]> {
  const out: string[] = [];
  const s = await readCapture(
    input,
    (p) => void out.push(`${p.tsSec}.${p.tsNsec / 1000} ${p.caplen}/${p.len} ${Buffer.from(p.data).toString('hex')}`),
  );
  expect(s.error).toBeUndefined();
  return out;
}

describe('same packets as pcap-parser', () => {
  const classic = ROWS.filter((r) => r.fileType === 'pcap' && r.precision.startsWith('microseconds'));

  it.skipIf(!HAVE)(`on the ${classic.length} classic µs public captures`, async () => {
    expect(classic.length).toBeGreaterThan(50);
    for (const { file } of classic) {
      const theirs = await viaPcapParser(`${ROOT}/${file}`);
      expect(await viaUs(`${ROOT}/${file}`), file).toEqual(theirs);
    }
  });

  it.each([false, true])('on files from our writer (big-endian %s)', async (bigEndian) => {
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const pkts = Array.from({ length: 300 }, () => ({
      tsSec: rnd(2 ** 31),
      tsNsec: rnd(1e6) * 1000,
      data: Uint8Array.from({ length: rnd(1600) }, () => rnd(256)),
      len: 1600 + rnd(100),
    }));
    const file = new PcapWriter({ bigEndian }).file(pkts);
    const theirs = await viaPcapParser(Readable.from([Buffer.from(file)]));
    expect(theirs).toHaveLength(300);
    expect(await viaUs(Readable.from([Buffer.from(file)]))).toEqual(theirs);
  });
});
