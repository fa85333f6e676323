/**
 * A million-packet capture: indexed in one pass with a few bytes per packet, and any page of
 * the packet list (filtered or not) served quickly by re-reading just that page from disk.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PcapWriter } from '../src/decode/file/writer.js';
import { ethernet, icmpEcho, ipv4, vxlanPacket } from '../src/synth/frames.js';
import type { CaptureIndex } from '../src/web/capture-index.js';
import { specForFile } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';

const N = 1_000_000;
const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-scale-'));
const file = path.join(dir, 'big-eth1.pcap');
let server: RunningServer;
let indexMs = 0;

/** One VXLAN/ICMP packet, copied N times with its VNI (bytes 46-48) and ICMP sequence changed. */
function writeBig(): void {
  const w = new PcapWriter();
  const inner = ethernet(
    '52:54:00:aa:00:12',
    '52:54:00:aa:00:11',
    0x0800,
    ipv4({ src: '10.220.220.11', dst: '10.220.220.12', proto: 1 }, icmpEcho(8, 7, 0)),
  );
  const data = vxlanPacket(inner, { vni: 10 });
  const fd = openSync(file, 'w');
  writeSync(fd, w.header());
  const rec = 16 + data.length;
  const batch = Buffer.alloc(rec * 10_000);
  for (let i = 0; i < N; i += 10_000) {
    for (let k = 0; k < 10_000; k++) {
      const j = i + k;
      const at = k * rec;
      batch.writeUInt32LE(1_700_000_000 + Math.floor(j / 10_000), at);
      batch.writeUInt32LE((j % 10_000) * 100, at + 4);
      batch.writeUInt32LE(data.length, at + 8);
      batch.writeUInt32LE(data.length, at + 12);
      batch.set(data, at + 16);
      batch[at + 16 + 48] = 10 + (j % 3); // VNI 10, 11, 12 in turn
      batch.writeUInt16BE(j & 0xffff, at + 16 + 50 + 14 + 20 + 6); // ICMP sequence
    }
    writeSync(fd, batch);
  }
  closeSync(fd);
}

beforeAll(async () => {
  writeBig();
  const t = Date.now();
  server = await startServer({ files: [specForFile(file)], nodes: [], vxlanPorts: [] }, { port: 0 });
  indexMs = Date.now() - t;
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('indexed in one pass, with a few bytes per packet', () => {
  const c = server.store.captures()[0]!;
  expect(c.index.count).toBe(N);
  const ix = c.index as unknown as Record<string, unknown>;
  let bytes = 0;
  for (const v of Object.values(ix)) if (ArrayBuffer.isView(v)) bytes += v.byteLength;
  // the typed-array columns are all there is per packet: no decoded packet is kept
  expect(bytes / N).toBeLessThan(80);
  expect((c.index as CaptureIndex).wireLen[N - 1]).toBe(50 + 14 + 20 + 8); // outer 50 + inner Ethernet, IPv4, ICMP echo
  // about 4 s on the 2-core CI machine; a decoded object per packet would take far longer and ~1 GB
  expect(indexMs).toBeLessThan(60_000);
});

test('any page comes back fast, filtered or not', async () => {
  const id = server.store.captures()[0]!.id;
  const timed = async (
    q: string,
  ): Promise<{ ms: number; body: { total: number; rows: { n: number; vni: number; summary: string }[] } }> => {
    const t = Date.now();
    const r = await fetch(`${server.url}api/captures/${id}/packets?${q}`);
    const body = await r.json();
    return { ms: Date.now() - t, body };
  };
  const last = await timed('offset=999900&limit=100');
  expect(last.body.total).toBe(N);
  expect(last.body.rows.map((r) => r.n)).toEqual(Array.from({ length: 100 }, (_, i) => 999_901 + i));
  expect(last.body.rows[0]!.summary).toMatch(/VXLAN vni 10 \| 10\.220\.220\.11 > 10\.220\.220\.12 ICMP echo request id 7 seq 16860$/); // 999 900 mod 65 536
  expect(last.ms).toBeLessThan(1000);
  const filtered = await timed(`offset=300000&limit=100&filter=${encodeURIComponent('vni=11')}`);
  expect(filtered.body.total).toBe(333_333);
  expect(filtered.body.rows[0]!.n).toBe(300_000 * 3 + 2);
  expect(filtered.body.rows.every((r) => r.vni === 11)).toBe(true);
  expect(filtered.ms).toBeLessThan(2000);
  // the same filter again is served from the cached positions
  const again = await timed(`offset=300100&limit=100&filter=${encodeURIComponent('vni=11')}`);
  expect(again.body.rows[0]!.n).toBe(300_100 * 3 + 2);
  expect(again.ms).toBeLessThan(500);
}, 30_000);
