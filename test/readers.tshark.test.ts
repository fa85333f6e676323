/**
 * Our writers' files, read by tshark (an independent implementation) and by our reader:
 * the same frames, lengths, timestamps and interface ids. Skips when tshark is not installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter, concatBytes, readCapture } from '../src/index.js';

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const HAVE = hasTshark();
const dir = mkdtempSync(join(tmpdir(), 'vxi-tshark-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fr = (n: number, s = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + s) & 0xff);
const PKTS = [
  { tsSec: 1_700_000_000, tsNsec: 123_456_789, data: fr(60) },
  { tsSec: 1_700_000_001, tsNsec: 5_000, data: fr(61, 1), len: 1514 },
  { tsSec: 4_294_967_295, tsNsec: 999_999_000, data: fr(14, 2) },
];

function pcapng(): Uint8Array {
  const w1 = new PcapngWriter({
    interfaces: [{ name: 'eth1' }, { name: 'vxlan_bridge', tsresol: 9 }, { linkType: 113, tsresol: 0x80 | 20, snaplen: 0 }],
  });
  const w2 = new PcapngWriter({ bigEndian: true, interfaces: [{ name: 'c', tsresol: 9, snaplen: 64 }] });
  return concatBytes([
    w1.header(),
    w1.record({ interfaceId: 1, tsSec: 1_700_000_000, tsNsec: 123_456_789, data: fr(60) }),
    w1.block(0x0ccc, fr(10)), // an unassigned block type: both readers skip it
    w1.obsoletePacket({ interfaceId: 2, tsSec: 7, tsNsec: 500_000_000, data: fr(20), len: 99 }),
    w1.record({ interfaceId: 0, tsSec: 1_700_000_001, tsNsec: 5_000, data: fr(61) }),
    w2.header(),
    w2.simplePacket(fr(100)),
    w2.record({ tsSec: 2 ** 32, tsNsec: 1, data: fr(14) }),
  ]);
}

const FILES: [string, Uint8Array][] = [
  ['le-us.pcap', new PcapWriter().file(PKTS)],
  ['be-ns.pcap', new PcapWriter({ bigEndian: true, nanosecond: true, linkType: 113 }).file(PKTS)],
  ['two-sections.pcapng', pcapng()],
];

describe.skipIf(!HAVE)('tshark reads what our writers write, as our reader does', () => {
  it.each(FILES)('%s', async (name, bytes) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const fields = ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.interface_id'];
    const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])], {
      encoding: 'utf8',
      env: { ...process.env, WIRESHARK_CONFIG_DIR: dir, TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const theirs = out
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => l.split('\t'));
    const ours: string[][] = [];
    const s = await readCapture(path, (p) => {
      // a simple packet block has no timestamp: tshark prints nothing, we say 0
      const simple = name.endsWith('pcapng') && p.tsSec === 0 && p.tsNsec === 0;
      ours.push([
        simple ? '' : `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`,
        String(p.len),
        String(p.caplen),
        p.interfaceId === undefined ? '' : String(p.interfaceId),
      ]);
    });
    expect(s.error).toBeUndefined();
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThanOrEqual(3);
  });
});
