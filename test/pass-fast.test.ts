/**
 * The one pass counts statistics, topology and diagnostics from the facts it reads from each
 * packet's bytes (PassPacket.facts), and from the full decode only for the packets the fast
 * path leaves to it. Here the pass runs both ways — every packet fully decoded (fullDecode) and
 * the fast way — over every capture under fixtures/ (the project's own, the malformed and format
 * corpora, the public captures), the lab's node pairs and the realistic generator's traffic,
 * and every figure must be the same.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeAnalyzer, type NodeFigures } from '../src/analysis/node.js';
import { NodePass, runPass } from '../src/analysis/pass.js';
import type { SideSource } from '../src/analysis/sides.js';
import type { Topology } from '../src/correlate/topology.js';
import { createRegistry } from '../src/decode/registry.js';
import { PcapWriter } from '../src/decode/file/writer.js';
import * as f from '../src/synth/frames.js';
import { writeRealisticPcap } from '../src/synth/realistic.js';
import { captureFilesUnder } from './helpers/pcap.js';
import * as corner from './helpers/corner-frames.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

const whole = (path: string): SideSource => ({ path, name: path, select: { kind: 'all' } });

interface Outcome {
  figures: NodeFigures;
  topology: Topology;
  /** Packets whose facts the pass read from the bytes. */
  fast: number;
  packets: number;
}

async function analyse(
  sides: { underlay?: SideSource; overlay?: SideSource },
  fullDecode: boolean,
  vxlanPorts: number[] = [],
): Promise<Outcome> {
  const registry = createRegistry({ vxlanPorts });
  const pass = new NodePass(sides, { registry, fullDecode });
  const analyzer = new NodeAnalyzer({
    node: 'n1',
    windowUs: 1_000_000,
    vxlanPorts,
    sides: { underlay: sides.underlay !== undefined, overlay: sides.overlay !== undefined },
  });
  let fast = 0;
  let packets = 0;
  pass.listen(analyzer.listener);
  pass.listen((x) => {
    packets += 1;
    if (x.facts !== undefined) fast += 1;
  });
  await runPass(pass);
  const figures = analyzer.finish();
  return { figures, topology: analyzer.topology.result(), fast, packets };
}

async function bothWays(sides: { underlay?: SideSource; overlay?: SideSource }, vxlanPorts: number[] = []): Promise<Outcome> {
  const full = await analyse(sides, true, vxlanPorts);
  const fast = await analyse(sides, false, vxlanPorts);
  expect(full.fast).toBe(0);
  expect(fast.packets).toBe(full.packets);
  expect(fast.figures.stats).toEqual(full.figures.stats);
  expect(fast.topology).toEqual(full.topology);
  expect(fast.figures.diagnostics).toEqual(full.figures.diagnostics);
  expect(fast.figures.span).toEqual(full.figures.span);
  expect(fast.figures.correlation).toEqual(full.figures.correlation);
  return fast;
}

/**
 * Shapes the fast path reads from the bytes that the corpora above may not tell apart: hosts
 * known by ARP only (tagged or not, and the 0.0.0.0 probe), a group source MAC, IPv6 outer and
 * inner addresses, a non-standard port, a GSO-sized packet; on the bridge side, tagged, group
 * and oversized frames, and a frame that carries VXLAN itself.
 */
function cornerFrames(): Uint8Array[] {
  const { ip4, inner } = corner;
  const arp = (mac: string, ip: string): Uint8Array => f.ethernet('ff:ff:ff:ff:ff:ff', mac, 0x0806, f.arpRequest(mac, ip, '10.9.9.1'));
  const taggedArp = corner.taggedArp();
  const v6inner = f.ethernet(
    '02:00:00:00:00:02',
    '02:00:00:00:00:0b',
    0x86dd,
    f.ipv6({ src: 'fd00::b', dst: 'fd00::2', nextHeader: 17 }, f.udp(1, 2, new Uint8Array(8))),
  );
  const v6outer = corner.v6outer();
  return [
    f.vxlanPacket(arp('02:00:00:00:00:09', '10.9.9.9'), { vni: 20 }),
    f.vxlanPacket(arp('02:00:00:00:00:0d', '0.0.0.0'), { vni: 20 }),
    f.vxlanPacket(taggedArp, { vni: 20 }),
    f.vxlanPacket(inner('03:00:00:00:00:01', ip4('10.9.9.3', '10.9.9.2', new Uint8Array(4))), { vni: 20 }),
    f.vxlanPacket(v6inner, { vni: 20, outerSrc: '10.3.1.174', outerDst: '10.3.1.156' }),
    f.vxlanPacket(inner('02:00:00:00:00:0e', ip4('10.9.9.14', '10.9.9.2', new Uint8Array(4))), { vni: 21, dstPort: 8472 }),
    f.vxlanPacket(inner('02:00:00:00:00:0f', ip4('10.9.9.15', '10.9.9.2', new Uint8Array(1600))), { vni: 21 }),
    v6outer,
    f.ethernet('33:33:00:00:00:01', '02:00:00:00:00:10', 0x8100, f.vlanTag(7, 0x0800, ip4('10.9.9.16', '10.9.9.2', new Uint8Array(1460)))),
    f.ethernet('02:00:00:00:00:02', '02:00:00:00:00:11', 0x0800, ip4('10.9.9.17', '10.9.9.2', new Uint8Array(3000))),
    f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:12',
      0x8100,
      f.vlanTag(8, 0x0800, ip4('10.3.1.1', '10.3.1.2', new Uint8Array(0)).subarray(0, 0)),
    ),
    f.ethernet(
      '52:54:00:00:00:02',
      '52:54:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.3.1.1', dst: '10.3.1.2', proto: 17, flags: 0 }, f.udp(50001, 4789, f.concat(f.vxlanHeader(22), taggedArp))),
    ),
  ];
}

let tmp: string;
let realistic: string;
let corners: string;
const files = captureFilesUnder(FIXTURES);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vxi-pass-fast-'));
  realistic = join(tmp, 'realistic.pcap');
  await writeRealisticPcap(realistic, { packets: 30_000 });
  corners = join(tmp, 'corners.pcap');
  writeFileSync(corners, new PcapWriter().file(cornerFrames().map((data, i) => ({ tsSec: 1_700_000_000 + i, tsNsec: 0, data }))));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the one pass: figures from the bytes equal figures from the full decode', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.includes(`${join('fixtures', 'public')}`))).toBe(true);
  });

  it('on every fixture capture, taken as an underlay and as a bridge capture', async () => {
    let fast = 0;
    for (const file of files) {
      for (const side of ['underlay', 'overlay'] as const) {
        try {
          fast += (await bothWays({ [side]: whole(file) })).fast;
        } catch (e) {
          throw new Error(`${file} as the ${side}: ${(e as Error).message}`);
        }
      }
    }
    expect(fast).toBeGreaterThan(1000); // the fast path did run
  }, 300_000);

  it('on the lab nodes, both sides (with the correlation that feeds the diagnostics)', async () => {
    for (const node of ['kvm1', 'kvm2']) {
      const r = await bothWays({
        underlay: whole(join(FIXTURES, 'lab', `${node}-eth1.pcap`)),
        overlay: whole(join(FIXTURES, 'lab', `${node}-vxlan_bridge.pcap`)),
      });
      expect(r.topology.vxlanPackets).toBeGreaterThan(0);
      expect(r.figures.correlation?.matches.length).toBeGreaterThan(0);
    }
  });

  it('on realistic traffic (tens of thousands of flows, IPv6, ARP, 802.1Q, plain underlay), read from the bytes', async () => {
    const r = await bothWays({ underlay: whole(realistic) });
    expect(r.fast).toBe(r.packets);
    expect(r.topology.vteps.length).toBeGreaterThan(1);
    expect(r.topology.fdb.length).toBeGreaterThan(10);
    expect(r.topology.vteps.some((v) => v.vnis.some((n) => n.ips.some((ip) => ip.includes(':'))))).toBe(true);
    const o = await bothWays({ overlay: whole(realistic) });
    expect(o.figures.diagnostics.length).toBeGreaterThan(0);
  }, 120_000);

  it('on the shapes the corpora may not tell apart (ARP-only hosts, IPv6, tags, group MACs, big frames)', async () => {
    const u = await bothWays({ underlay: whole(corners) });
    const vni20 = u.topology.vteps.find((v) => v.ip === '10.3.1.156')?.vnis.find((v) => v.vni === 20);
    expect(vni20?.ips).toEqual(['10.9.9.3', '10.9.9.9', '10.9.9.10']);
    expect(vni20?.macs).toEqual(['02:00:00:00:00:09', '02:00:00:00:00:0a', '02:00:00:00:00:0d']);
    expect(u.topology.vteps.map((v) => v.ip)).toEqual(['10.3.1.1', '10.3.1.156', '10.3.1.174', 'fd10::1']);
    expect(u.topology.vteps.find((v) => v.ip === '10.3.1.174')?.vnis[0]?.ips).toEqual(['fd00::b']);
    expect(u.figures.diagnostics.map((d) => d.code).sort()).toEqual(['gso-underlay', 'malformed', 'non-standard-port:8472']);
    expect(u.fast).toBeGreaterThanOrEqual(u.packets - 1);
    const o = await bothWays({ overlay: whole(corners) });
    expect(o.figures.diagnostics.map((d) => d.code).sort()).toEqual([
      'broadcast-multicast',
      'gso-overlay',
      'malformed',
      'too-big-for-overlay',
    ]);
  });

  it('with an extra VXLAN port, the same figures', async () => {
    const lab = (n: string): SideSource => whole(join(FIXTURES, 'lab', n));
    await bothWays({ underlay: lab('kvm1-eth1.pcap'), overlay: lab('kvm1-vxlan_bridge.pcap') }, [4790]);
    await bothWays({ underlay: whole(realistic) }, [4790]);
  }, 120_000);
});
