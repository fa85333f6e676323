import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureParser } from '../decode/file/parser.js';
import { PcapWriter } from '../decode/index.js';
import type { RawPacket } from '../decode/types.js';
import { sll2FromEthernet } from '../synth/frames.js';
import { findCookedSides } from './cooked.js';

const LAB = path.join(import.meta.dirname, '..', '..', 'fixtures', 'lab');
const dir = mkdtempSync(path.join(tmpdir(), 'vxi-cooked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function records(file: string): RawPacket[] {
  const p = new CaptureParser();
  const out: RawPacket[] = [];
  p.push(new Uint8Array(readFileSync(file)));
  p.end();
  for (let r = p.next(); r; r = p.next()) out.push(r);
  return out;
}

/** A frame of the bridge's own (the host's ARP): never inside a VXLAN packet. */
function ownFrame(i: number): Uint8Array {
  return Uint8Array.from({ length: 60 }, (_, k) => (k === 12 ? 0x08 : k === 13 ? 0x06 : k === 20 ? 1 : k >= 28 && k < 32 ? i & 0xff : 0));
}

/**
 * kvm1's lab recording as `tcpdump -i any` writes it while another capture keeps the bridge
 * promiscuous: eth1 on ifindex 2, every bridged frame on the bridge (ifindex 3) and on the VXLAN
 * device (ifindex 5) but the first one only on the bridge (a flooded copy), and the bridge's
 * own frames besides.
 */
function writeAny(file: string): void {
  const rows: { p: RawPacket; data: Uint8Array }[] = [];
  const underlay = records(path.join(LAB, 'kvm1-eth1.pcap'));
  // the inner frames: after Ethernet (14), IPv4 without options (20), UDP (8) and VXLAN (8)
  const inner = new Set(underlay.map((p) => Buffer.from(p.data.subarray(50)).toString('hex')));
  for (const p of underlay) rows.push({ p, data: sll2FromEthernet(p.data, 2, 0) });
  let carried = 0;
  for (const [k, p] of records(path.join(LAB, 'kvm1-vxlan_bridge.pcap')).entries()) {
    rows.push({ p, data: sll2FromEthernet(p.data, 3, 0) });
    if (inner.has(Buffer.from(p.data).toString('hex')) && carried++ > 0) rows.push({ p, data: sll2FromEthernet(p.data, 5, 4) });
    if (k % 5 === 0) rows.push({ p, data: sll2FromEthernet(ownFrame(k), 3, 1) });
  }
  rows.sort((a, b) => a.p.tsSec - b.p.tsSec || a.p.tsNsec - b.p.tsNsec);
  const w = new PcapWriter({ linkType: 276 });
  writeFileSync(file, w.file(rows.map(({ p, data }) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec, data, len: data.length }))));
}

describe('findCookedSides: the two sides of a tcpdump -i any capture, from its traffic', () => {
  it('names the VXLAN device apart even when a promiscuous bridge carries one frame more and has frames of its own', async () => {
    const file = path.join(dir, 'kvm1-any.pcap');
    writeAny(file);
    const sides = await findCookedSides(file);
    expect(sides?.underlay.ifindexes).toEqual([2]);
    expect(sides?.overlay.ifindexes).toEqual([3]);
    expect(sides?.note).toMatch(
      /^split by interface from the traffic: underlay ifindex 2 \(\d+ VXLAN packets in the first \d+ records\), /,
    );
    expect(sides?.note).toContain('bridge side ifindex 3 (');
    expect(sides?.note).toContain('; not the VXLAN device ifindex 5, which carries them all');
  });
});
