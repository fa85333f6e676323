/**
 * `correlateFiles` and `vxlan-inspect correlate` on pcap files written with PcapWriter from
 * frames whose bytes are explained (src/correlate/synth.ts), plus damaged input and usage errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter } from '../src/decode/file/index.js';
import { correlateFiles, type Match } from '../src/correlate/index.js';
import { arpWhoHas, BR1_MAC, BR2_MAC, encap, GUEST1_MAC, KVM1, KVM2, ping } from '../src/correlate/synth.js';
import { runCli as run } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vxi-correlate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000; // s

function writePcap(name: string, packets: [Uint8Array, number][], opts: { nanosecond?: boolean } = {}): string {
  const w = new PcapWriter(opts);
  const file = join(dir, name);
  writeFileSync(file, w.file(packets.map(([data, us]) => ({ tsSec: T0 + Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000, data }))));
  return file;
}

// kvm1: a ping out and its reply in, a broadcast ARP, a guest ↔ bridge ping that stays local,
// and a VNI 20 packet for a bridge that was not captured.
const out = ping(1);
const back = ping(1, { from: BR2_MAC, to: BR1_MAC, srcIp: '10.220.220.202', dstIp: '10.220.220.201' });
const arp = arpWhoHas();
const local = ping(2, { from: BR1_MAC, to: GUEST1_MAC, dstIp: '10.220.220.5' });
const other = ping(3, { to: '52:54:00:bb:00:01', dstIp: '10.220.221.2' });
const underlay = writePcap('kvm1-eth1.pcap', [
  [encap(arp), 1000 + 30],
  [encap(out), 2000 + 25],
  [encap(back, { outerSrc: KVM2, outerDst: KVM1 }), 2300],
  [encap(other, { vni: 20 }), 2400],
]);
const overlay = writePcap('kvm1-vxlan_bridge.pcap', [
  [arp, 1000],
  [out, 2000],
  [back, 2310],
  [local, 3000],
]);

describe('correlateFiles', () => {
  it('correlates two pcap files and feeds every packet to onPacket', async () => {
    const seen: string[] = [];
    const matches: Match[] = [];
    const r = await correlateFiles(underlay, overlay, {
      onPacket: (p, side) => seen.push(`${side[0]}${p.n}`),
      onMatch: (m) => matches.push(m),
    });
    expect(seen).toEqual(['o1', 'u1', 'o2', 'u2', 'u3', 'o3', 'u4', 'o4']);
    expect(r).toMatchObject({
      underlayPackets: 4,
      underlayVxlan: 4,
      overlayPackets: 4,
      matched: 3,
      underlayOnly: 1,
      overlayOnly: 1,
      encap: 2,
      decap: 1,
      localVtep: KVM1,
    });
    expect(r.inputErrors).toBeUndefined();
    expect(matches.map((m) => [m.underlay.n, m.overlay.n, m.direction, m.deltaUs])).toEqual([
      [1, 1, 'encap', 30],
      [2, 2, 'encap', 25],
      [3, 3, 'decap', 10],
    ]);
    expect(r.unmatchedUnderlay).toEqual([expect.objectContaining({ n: 4, vni: 20, code: 'vni-not-on-bridge' })]);
    expect(r.unmatchedOverlay).toEqual([expect.objectContaining({ n: 4, code: 'local' })]);
  });

  it('reads nanosecond pcap and keeps sub-µs deltas', async () => {
    const w = new PcapWriter({ nanosecond: true });
    const u = join(dir, 'ns-eth1.pcap');
    const o = join(dir, 'ns-bridge.pcap');
    writeFileSync(u, w.file([{ tsSec: T0, tsNsec: 1_000_750, data: encap(out) }]));
    writeFileSync(o, w.file([{ tsSec: T0, tsNsec: 1_000_000, data: out }]));
    const r = await correlateFiles(u, o);
    expect(r.matches[0]?.deltaUs).toBe(0.75);
  });

  it('correlates what comes before damage, says where it is, and does not throw', async () => {
    const whole = new PcapWriter().file([
      { tsSec: T0, tsNsec: 100_000, data: encap(out) },
      { tsSec: T0, tsNsec: 500_000, data: encap(back, { outerSrc: KVM2, outerDst: KVM1 }) },
    ]);
    const cut = join(dir, 'cut-eth1.pcap');
    const recLen = 16 + encap(out).length;
    // keep the file header, the first record and a record header claiming an absurd length
    const broken = whole.slice(0, 24 + recLen + 16);
    new DataView(broken.buffer).setUint32(24 + recLen + 8, 0x7fffffff, true);
    writeFileSync(cut, broken);
    const o = writePcap('cut-bridge.pcap', [[out, 0]]);
    const r = await correlateFiles(cut, o);
    expect(r.matched).toBe(1);
    expect(r.inputErrors).toEqual([{ side: 'underlay', message: expect.stringContaining('cut-eth1.pcap') }]);
  });

  it('throws VXI_IO for a file that is not there', async () => {
    await expect(correlateFiles(join(dir, 'missing.pcap'), overlay)).rejects.toMatchObject({
      code: 'VXI_IO',
      message: expect.stringContaining('missing.pcap'),
    });
  });
});

describe('vxlan-inspect correlate', () => {
  it('prints the table: counts, latency, per VNI, per VTEP pair, reasons', async () => {
    const r = await run(['correlate', underlay, overlay]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain(`matched                  3   encapsulated 2, decapsulated 1`);
    expect(lines).toContain(`underlay only            1   VXLAN packets whose inner frame is not on the bridge`);
    expect(lines).toContain(`overlay only             1   bridge frames not seen on the underlay`);
    expect(lines.find((l) => l.startsWith('latency'))).toBe(
      'latency         p50 25 µs   p99 30 µs   max 30 µs   (time between the two sightings)',
    );
    expect(lines).toContain(
      `  10                 3           ${(arp.length + out.length + back.length + 150).toLocaleString('en-US')}         3              0`,
    );
    expect(lines).toContain(`  20                 1           ${other.length + 50}         0              1`);
    expect(lines.some((l) => /^ {2}10\.3\.1\.156 > 10\.3\.1\.174 +10 +2 /.test(l))).toBe(true);
    expect(lines).toContain('  vni-not-on-bridge            1');
    expect(r.stdout).toMatch(/#4 +VNI 20 +VNI 20 has no match at all/);
    expect(r.stdout).toMatch(/#4 +dst MAC 52:54:00:aa:00:01 is not behind any VTEP/);
  });

  it('prints JSON with the counts, latency and per-VNI / per-VTEP-pair rows', async () => {
    const r = await run(['correlate', underlay, overlay, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({
      matched: 3,
      underlayOnly: 1,
      overlayOnly: 1,
      floodedFrames: 0,
      latencyUs: { p50: 25, p99: 30, max: 30 },
      byVni: { '10': { matched: 3, underlayOnly: 0, packets: 3 }, '20': { matched: 0, underlayOnly: 1, packets: 1 } },
    });
    expect(j.byVtepPair).toEqual(
      expect.arrayContaining([expect.objectContaining({ src: KVM1, dst: KVM2, vni: 10, packets: 2, matched: 2 })]),
    );
    expect(j.matches).toBeUndefined();
    const withMatches = JSON.parse((await run(['correlate', underlay, overlay, '--json', '--matches'])).stdout) as { matches: unknown[] };
    expect(withMatches.matches).toHaveLength(3);
  });

  it('takes the window in ms and the clock offset from session.json', async () => {
    const sub = mkdtempSync(join(dir, 'session-'));
    const u = join(sub, 'kvm1-eth1.pcap');
    const o = join(sub, 'kvm2-vxlan_bridge.pcap');
    writeFileSync(u, new PcapWriter().file([{ tsSec: T0 + 10, tsNsec: 40_000, data: encap(out) }]));
    writeFileSync(o, new PcapWriter().file([{ tsSec: T0 + 12, tsNsec: 0, data: out }])); // kvm2's clock is 2 s ahead
    expect(JSON.parse((await run(['correlate', u, o, '--json'])).stdout)).toMatchObject({ matched: 0, underlayOnly: 1 });
    expect(JSON.parse((await run(['correlate', u, o, '--json', '--window', '2500'])).stdout)).toMatchObject({ matched: 1 });
    writeFileSync(
      join(sub, 'session.json'),
      JSON.stringify({
        nodes: [
          { name: 'kvm1', clockOffsetUs: 0 },
          { name: 'kvm2', clockOffsetUs: 2_000_000 },
        ],
      }),
    );
    const r = JSON.parse((await run(['correlate', u, o, '--json'])).stdout) as {
      matched: number;
      overlayClockOffsetUs: number;
      matches?: unknown;
    };
    expect(r).toMatchObject({ matched: 1, overlayClockOffsetUs: -2_000_000 });
    const m = JSON.parse((await run(['correlate', u, o, '--json', '--matches', '--window', '50'])).stdout) as { matches: Match[] };
    expect(m.matches[0]?.deltaUs).toBe(40); // tsNsec 40,000 = 40 µs after the bridge's (offset) time
    expect(JSON.parse((await run(['correlate', u, o, '--json', '--clock-offset', '0'])).stdout)).toMatchObject({ matched: 0 });
  });

  it('prints the report, then the damage, and exits 1 on damaged input', async () => {
    writeFileSync(join(dir, 'garbage.pcap'), Buffer.from('this is not a capture file at all'));
    const r = await run(['correlate', underlay, join(dir, 'garbage.pcap')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('underlay only            4');
    expect(r.stderr).toMatch(/^vxlan-inspect: overlay capture ".*garbage\.pcap": .*; the packets before it were correlated\n$/);
  });

  it('exits 2 on usage errors and 1 for a missing file, with one line and no stack', async () => {
    expect((await run(['correlate', underlay])).code).toBe(2);
    const w = await run(['correlate', underlay, overlay, '--window', 'soon']);
    expect(w).toMatchObject({ code: 2, stderr: 'vxlan-inspect: --window must be a number of milliseconds, not "soon"\n' });
    expect((await run(['correlate', underlay, overlay, '--vxlan-port', '70000'])).code).toBe(2);
    const missing = await run(['correlate', join(dir, 'nope.pcap'), overlay]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^vxlan-inspect: cannot open capture file ".*nope\.pcap": ENOENT/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
