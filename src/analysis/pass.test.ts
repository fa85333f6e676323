import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Correlator, correlateFiles } from '../correlate/index.js';
import { packets } from '../decode/file/read.js';
import { PcapngWriter } from '../decode/file/writer.js';
import type { RawPacket } from '../decode/types.js';
import { NodePass, runPass, type PassPacket } from './pass.js';
import { pairFiles, type SideSource } from './sides.js';

const LAB = path.resolve('fixtures/lab');
const dir = mkdtempSync(path.join(tmpdir(), 'vxi-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function records(file: string): Promise<RawPacket[]> {
  const out: RawPacket[] = [];
  for await (const p of packets(file)) out.push(p);
  return out;
}

const whole = (file: string): SideSource => ({ path: path.join(LAB, file), name: file, select: { kind: 'all' } });

async function correlateThroughPass(sides: {
  underlay: SideSource;
  overlay: SideSource;
}): Promise<{ report: ReturnType<Correlator['finish']>; seen: PassPacket[] }> {
  const correlator = new Correlator({ windowUs: 1_000_000 });
  const seen: PassPacket[] = [];
  const pass = new NodePass(sides).listen((x) => {
    seen.push(x);
    if (x.side === 'underlay') correlator.addUnderlay(x.p);
    else correlator.addOverlay(x.p);
  });
  await runPass(pass);
  return { report: correlator.finish(), seen };
}

describe('the one pass over a node', () => {
  it('gives the correlator the same packets, in time order, as reading the two files does', async () => {
    const ref = await correlateFiles(path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap'), { windowUs: 1_000_000 });
    const { report, seen } = await correlateThroughPass({ underlay: whole('kvm1-eth1.pcap'), overlay: whole('kvm1-vxlan_bridge.pcap') });
    expect(report.matched).toBe(ref.matched);
    expect(report.underlayOnly).toBe(ref.underlayOnly);
    expect(report.overlayOnly).toBe(ref.overlayOnly);
    expect(report.matches.map((m) => [m.underlay.n, m.overlay.n, m.direction])).toEqual(
      ref.matches.map((m) => [m.underlay.n, m.overlay.n, m.direction]),
    );
    expect(seen.filter((x) => x.side === 'underlay')).toHaveLength(107);
    expect(seen.filter((x) => x.side === 'overlay')).toHaveLength(84);
    for (let i = 1; i < seen.length; i++) expect((seen[i] as PassPacket).tsUs).toBeGreaterThanOrEqual((seen[i - 1] as PassPacket).tsUs);
  });

  it('splits one multi-interface pcapng (eth1 + vxlan_bridge, as dumpcap writes it) into the same two sides', async () => {
    const u = await records(path.join(LAB, 'kvm1-eth1.pcap'));
    const o = await records(path.join(LAB, 'kvm1-vxlan_bridge.pcap'));
    // merged by time, bridge first at equal times, plus a third interface that belongs to no side
    const merged = [...u.map((p) => ({ p, id: 0 })), ...o.map((p) => ({ p, id: 1 }))].sort(
      (a, b) => a.p.tsSec - b.p.tsSec || a.p.tsNsec - b.p.tsNsec || b.id - a.id,
    );
    const lo = { p: { ...(u[0] as RawPacket) }, id: 2 };
    const w = new PcapngWriter({ interfaces: [{ name: 'eth1' }, { name: 'vxlan_bridge' }, { name: 'lo' }] });
    const file = path.join(dir, 'kvm1.pcapng');
    writeFileSync(
      file,
      w.file([lo, ...merged].map(({ p, id }) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec, data: p.data, len: p.len, interfaceId: id }))),
    );
    const shape = {
      path: file,
      name: 'kvm1.pcapng',
      interfaces: [0, 1, 2].map((id) => ({
        id,
        linkType: 1,
        snaplen: 0,
        tsDigits: 6,
        section: 0,
        name: ['eth1', 'vxlan_bridge', 'lo'][id] as string,
      })),
    };
    const [node] = pairFiles([shape]).nodes;
    expect(node?.rule).toBe('pcapng interfaces');
    const ref = await correlateFiles(path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap'), { windowUs: 1_000_000 });
    const { report, seen } = await correlateThroughPass({ underlay: node!.underlay!, overlay: node!.overlay! });
    expect([report.matched, report.underlayOnly, report.overlayOnly, report.encap, report.decap]).toEqual([
      ref.matched,
      ref.underlayOnly,
      ref.overlayOnly,
      ref.encap,
      ref.decap,
    ]);
    // packet numbers per side equal those of the separate files; frame numbers are the file's
    expect(report.matches.map((m) => [m.underlay.n, m.overlay.n])).toEqual(ref.matches.map((m) => [m.underlay.n, m.overlay.n]));
    expect(seen[0]?.frame).toBeGreaterThan(1);
  });

  it('delivers what has arrived when files grow (live), in bounded pieces', () => {
    const u = readFileSync(path.join(LAB, 'kvm1-eth1.pcap'));
    const o = readFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap'));
    const pass = new NodePass({ underlay: whole('kvm1-eth1.pcap'), overlay: whole('kvm1-vxlan_bridge.pcap') });
    const correlator = new Correlator({ windowUs: 1_000_000, maxSkewUs: 5_000_000 });
    pass.listen((x) => (x.side === 'underlay' ? correlator.addUnderlay(x.p) : correlator.addOverlay(x.p)));
    let total = 0;
    for (let at = 0; at < Math.max(u.length, o.length); at += 1000) {
      if (at < u.length) pass.push(whole('kvm1-eth1.pcap').path, new Uint8Array(u.subarray(at, at + 1000)));
      if (at < o.length) pass.push(whole('kvm1-vxlan_bridge.pcap').path, new Uint8Array(o.subarray(at, at + 1000)));
      total += pass.drain(false);
    }
    expect(total).toBe(107 + 84);
    expect(correlator.finish().matched).toBe(79);
  });
});
