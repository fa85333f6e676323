/**
 * The web API on a real server (port 0, 127.0.0.1) over real capture files: the synthetic lab
 * sample of src/web/sample.ts, whose every frame is listed there. Expected numbers below are
 * counted from that list by hand, not computed by the code under test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readCapture } from '../src/decode/file/read.js';
import { PcapWriter } from '../src/decode/file/writer.js';
import type { RawPacket } from '../src/decode/types.js';
import { writeSampleSession } from '../src/web/sample.js';
import { sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-api-'));
let server: RunningServer;
let base: string;

// biome-ignore lint/suspicious/noExplicitAny: the CLI's and the API's JSON, walked field by field in expects (a wrong path fails the expect)
type J = any;
async function get(p: string): Promise<J> {
  const r = await fetch(base + p);
  const body = await r.json();
  if (!r.ok) throw new Error(`${r.status} ${JSON.stringify(body)}`);
  return body;
}

beforeAll(async () => {
  writeSampleSession(dir);
  server = await startServer(sessionFromDir(dir), { port: 0 });
  base = server.url.replace(/\/$/, '');
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function captureId(node: string, role: 'underlay' | 'overlay'): Promise<string> {
  const s = await get('/api/session');
  return s.nodes.find((n: J) => n.name === node)[role].id;
}

describe('session', () => {
  test('pairs the four files into two nodes and correlates each', async () => {
    const s = await get('/api/session');
    expect(s.nodes.map((n: J) => n.name)).toEqual(['kvm1', 'kvm2']);
    const [k1, k2] = s.nodes;
    expect([k1.underlay.name, k1.underlay.packets, k1.underlay.iface]).toEqual(['kvm1-eth1.pcap', 16, 'eth1']);
    expect([k1.overlay.name, k1.overlay.packets, k1.overlay.iface]).toEqual(['kvm1-vxlan_bridge.pcap', 14, 'vxlan_bridge']);
    expect(k1.underlay.tunnelled).toBe(14);
    expect([k2.underlay.packets, k2.overlay.packets]).toEqual([12, 12]);
    // 12 frames cross the tunnel, the ARP request twice (flooded to two VTEPs); VNI 20 reaches kvm1
    // with no bridge for it; vm1 ↔ bridge stays local
    expect([k1.analysis.matched, k1.analysis.underlayOnly, k1.analysis.overlayOnly, k1.analysis.underlayNotTunnelled]).toEqual([
      13, 1, 2, 2,
    ]);
    expect([k1.analysis.floodedFrames, k2.analysis.floodedFrames]).toEqual([1, 0]);
    expect([k2.analysis.matched, k2.analysis.underlayOnly, k2.analysis.overlayOnly]).toEqual([12, 0, 0]);
    // kvm1 sends 7 (the ARP request twice, 5 echo requests) and receives 6
    expect([k1.analysis.encapsulated, k1.analysis.decapsulated]).toEqual([7, 6]);
    expect(k1.analysis.localVtep).toBe('10.3.1.156');
    expect(k2.analysis.localVtep).toBe('10.3.1.174');
    // every frame: 14 + 20 + 8 + 8 = 50 bytes more on the underlay
    expect(k1.analysis.overhead.perPacket).toBe(50);
    expect(k1.analysis.byVni['20']).toMatchObject({ packets: 1, matched: 0, underlayOnly: 1 });
    expect(k1.analysis.latencyUs.max).toBeGreaterThan(0);
    expect(s.live).toBe(false);
  });
});

describe('packet list', () => {
  test('pages, with totals', async () => {
    const id = await captureId('kvm1', 'underlay');
    const p1 = await get(`/api/captures/${id}/packets?offset=0&limit=10`);
    expect([p1.total, p1.all, p1.rows.length]).toEqual([16, 16, 10]);
    expect(p1.rows[0]).toMatchObject({ n: 1, vni: 10, proto: 'arp', len: 92, match: 1 });
    expect(p1.rows[0].summary).toMatch(
      /^10\.3\.1\.156:\d+ > 10\.3\.1\.174:4789 VXLAN vni 10 \| .*ARP who-has 10\.220\.220\.12 tell 10\.220\.220\.11/,
    );
    expect(p1.rows[0].time).toBe('06:53:20.100023');
    const p2 = await get(`/api/captures/${id}/packets?offset=10&limit=10`);
    expect(p2.rows.map((r: J) => r.n)).toEqual([11, 12, 13, 14, 15, 16]);
  });

  test('filters by VNI, protocol, IP, MAC, match', async () => {
    const u1 = await captureId('kvm1', 'underlay');
    const o1 = await captureId('kvm1', 'overlay');
    const o2 = await captureId('kvm2', 'overlay');
    const count = async (id: string, f: string): Promise<number> =>
      (await get(`/api/captures/${id}/packets?filter=${encodeURIComponent(f)}`)).total;
    expect(await count(u1, 'vni=20')).toBe(1);
    expect(await count(u1, 'vni=10')).toBe(13);
    expect(await count(u1, 'proto=tcp')).toBe(2);
    expect(await count(u1, 'unmatched')).toBe(3); // the VNI 20 packet and the two SSH packets
    expect(await count(o1, 'proto=icmp')).toBe(12); // 10 across the tunnel + 2 to the bridge itself
    expect(await count(o1, 'ip=10.220.220.201')).toBe(2);
    expect(await count(o1, 'unmatched')).toBe(2);
    // a bridge frame's VNI is the one it was carried in: the VNI filter works on the bridge list too (issue 11 #5)
    expect(await count(o1, 'vni=10')).toBe(12); // the 14 frames but the two to the bridge itself
    expect(await count(o1, 'vni=20')).toBe(0);
    expect(await count(o2, 'mac=52:54:00:aa:00:12')).toBe(11); // every frame but vm1's broadcast ARP request
    expect(await count(o2, 'flood')).toBe(1);
  });

  test('a bad filter or page is a 400 with the reason', async () => {
    const id = await captureId('kvm1', 'underlay');
    let r = await fetch(`${base}/api/captures/${id}/packets?filter=vni%3Dten`);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatchObject({
      code: 'VXI_USAGE',
      message: expect.stringMatching(/cannot understand filter "vni=ten".*vni=10/),
    });
    r = await fetch(`${base}/api/captures/${id}/packets?limit=100000`);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatchObject({
      code: 'VXI_WEB_BAD_REQUEST',
      message: expect.stringMatching(/limit must be an integer from 1 to 500/),
    });
    r = await fetch(`${base}/api/captures/c99/packets`);
    expect(r.status).toBe(404);
    expect((await r.json()).error).toMatchObject({ code: 'VXI_WEB_NOT_FOUND', message: expect.stringMatching(/no capture "c99"/) });
    r = await fetch(`${base}/api/no-such-route`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { code: 'VXI_WEB_NOT_FOUND', message: 'no such API route' } });
    r = await fetch(`${base}/api/captures/${id}/packets/17`);
    expect(r.status).toBe(404);
    expect((await r.json()).error).toMatchObject({ code: 'VXI_WEB_NOT_FOUND', message: expect.stringMatching(/has 16 packets/) });
  });
});

describe('packet detail', () => {
  test('a bridge frame, and the underlay packet that carried it', async () => {
    const id = await captureId('kvm1', 'overlay');
    const d = await get(`/api/captures/${id}/packets/1`);
    expect(d.summary).toBe('52:54:00:aa:00:11 > ff:ff:ff:ff:ff:ff ARP who-has 10.220.220.12 tell 10.220.220.11');
    expect(d.packet.layers.map((l: J) => l.type)).toEqual(['eth', 'arp']);
    expect(d.hex).toHaveLength(42 * 2);
    expect(d.match).toMatchObject({ n: 1, direction: 'encap', deltaUs: 23 });
    expect(d.match.capture.name).toBe('kvm1-eth1.pcap');
    const layers = d.match.packet.layers;
    expect(layers.map((l: J) => `${l.type}@${l.offset}+${l.length}`)).toEqual([
      'eth@0+14',
      'ipv4@14+20',
      'udp@34+8',
      'vxlan@42+8',
      'eth@50+14',
      'arp@64+28',
    ]);
    expect(layers[3]).toMatchObject({ type: 'vxlan', vni: 10, flags: 0x08 });
    // the inner bytes of the underlay packet are the bridge frame
    expect(d.match.hex.slice(50 * 2)).toBe(d.hex);
    // VXLAN header bytes: flags 08, reserved, VNI 00 00 0a, reserved
    expect(d.match.hex.slice(42 * 2, 50 * 2)).toBe('08' + '000000' + '00000a' + '00');
    // a broadcast: one copy per remote VTEP
    expect(d.copies).toEqual([
      { n: 1, vtep: '10.3.1.174' },
      { n: 2, vtep: '10.3.1.180' },
    ]);
    expect((await get(`/api/captures/${id}/packets/2`)).copies).toEqual([]);
  });

  test('a frame coming in is decapsulated, after the underlay saw it', async () => {
    const id = await captureId('kvm1', 'overlay');
    const page = await get(`/api/captures/${id}/packets?filter=${encodeURIComponent('proto=arp')}`);
    const reply = page.rows.find((r: J) => /ARP reply/.test(r.summary));
    const d = await get(`/api/captures/${id}/packets/${reply.n}`);
    expect(d.match.direction).toBe('decap');
    expect(d.match.deltaUs).toBe(-28);
  });

  test('unmatched packets say why', async () => {
    const u1 = await captureId('kvm1', 'underlay');
    const stray = (await get(`/api/captures/${u1}/packets?filter=vni%3D20`)).rows[0];
    const d = await get(`/api/captures/${u1}/packets/${stray.n}`);
    expect(d.match).toBeNull();
    expect(d.unmatched).toMatch(/20/);
    const ssh = (await get(`/api/captures/${u1}/packets?filter=proto%3Dtcp`)).rows[0];
    expect((await get(`/api/captures/${u1}/packets/${ssh.n}`)).unmatched).toMatch(/not a VXLAN packet/);
  });

  test('position of a packet in a filtered list', async () => {
    const u1 = await captureId('kvm1', 'underlay');
    expect((await get(`/api/captures/${u1}/position/7`)).position).toBe(6);
    const stray = (await get(`/api/captures/${u1}/packets?filter=vni%3D20`)).rows[0];
    expect((await get(`/api/captures/${u1}/position/${stray.n}?filter=vni%3D20`)).position).toBe(0);
    expect((await get(`/api/captures/${u1}/position/1?filter=vni%3D20`)).position).toBeNull();
  });
});

describe('overview, topology, diagnostics', () => {
  test('series: both sides on one time axis, stacked per VNI', async () => {
    const s = await get('/api/nodes/kvm1/series?bins=100');
    expect(s.bins).toBeGreaterThan(10);
    expect(s.bins).toBeLessThanOrEqual(100);
    expect(Object.keys(s.sides.underlay.groups).sort()).toEqual(['VNI 10', 'VNI 20', 'underlay (not tunnelled)']);
    expect(Object.keys(s.sides.overlay.groups).sort()).toEqual(['VNI 10', 'stayed on the node']);
    expect(s.sides.underlay.groups['VNI 10'].packets).toBe(13);
    expect(s.sides.overlay.groups['stayed on the node'].packets).toBe(2);
    const perSec = 1e6 / s.binUs;
    const sum = s.sides.overlay.groups['VNI 10'].packetsPerSec.reduce((a: number, b: number) => a + b, 0);
    expect(Math.round(sum / perSec)).toBe(12);
    expect(s.sides.underlay.groups['VNI 10'].packetsPerSec).toHaveLength(s.bins);
  });

  test('topology: each VTEP, its VNIs and the guests behind it', async () => {
    const t = await get('/api/topology');
    expect(t.vteps.map((v: J) => v.ip)).toEqual(['10.3.1.156', '10.3.1.174', '10.3.1.200']);
    expect(t.localOf).toEqual({ '10.3.1.156': 'kvm1', '10.3.1.174': 'kvm2' });
    const k1 = t.vteps[0];
    expect(k1.vnis).toEqual([expect.objectContaining({ vni: 10, macs: ['52:54:00:aa:00:11'], ips: ['10.220.220.11'] })]);
    expect(k1.ports).toEqual([4789]);
    expect(t.vteps[2].vnis[0].vni).toBe(20);
  });

  test('diagnostics list the unmatched with a reason, and the flood', async () => {
    const { diagnostics } = await get('/api/diagnostics');
    // the library's diagnostics of the node's one analysis, found by their stable codes
    const find = (node: string, code: RegExp): J => diagnostics.find((d: J) => d.node === node && code.test(d.code ?? ''));
    const stray = find('kvm1', /^unmatched-underlay:/);
    expect(stray).toMatchObject({ side: 'underlay', packets: [14], severity: 'warning' });
    expect(stray.title).toMatch(/^1 VXLAN packet\(s\) on the underlay with no frame on the bridge/);
    expect(find('kvm1', /^unmatched-overlay:/)).toMatchObject({ side: 'overlay', packets: [9, 10] });
    expect(find('kvm1', /^flooded$/)).toMatchObject({
      packets: [1],
      title: expect.stringMatching(/^1 bridge frame\(s\) flooded to several VTEPs/),
    });
    expect(find('kvm2', /^all-accounted-for$/)).toBeDefined();
    // errors first, then warnings, then information
    const rank = { error: 0, warning: 1, info: 2 } as Record<string, number>;
    expect(diagnostics.map((d: J) => rank[d.severity])).toEqual([...diagnostics.map((d: J) => rank[d.severity])].sort());
  });
});

describe('downloads', () => {
  test('the capture as loaded', async () => {
    const id = await captureId('kvm2', 'overlay');
    const r = await fetch(`${base}/api/captures/${id}/file`);
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="?kvm2-vxlan_bridge\.pcap"?$/);
    expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(path.join(dir, 'kvm2-vxlan_bridge.pcap')))).toBe(true);
  });

  test('inner-only pcap: the decapsulated frames, readable as a capture', async () => {
    const u1 = await captureId('kvm1', 'underlay');
    const r = await fetch(`${base}/api/captures/${u1}/inner.pcap`);
    expect(r.headers.get('content-disposition')).toMatch(/kvm1-eth1-inner\.pcap/);
    const file = path.join(dir, 'inner.out');
    writeFileSync(file, Buffer.from(await r.arrayBuffer()));
    const inner: RawPacket[] = [];
    const summary = await readCapture(file, (p) => {
      inner.push(p);
    });
    expect(summary.error).toBeUndefined();
    expect(inner).toHaveLength(14); // 13 for VNI 10, 1 for VNI 20; the 2 SSH packets are not tunnelled
    expect(inner[0]!.tsDigits).toBe(9);
    // the first one is the bridge's first frame, byte for byte
    const bridge: RawPacket[] = [];
    await readCapture(path.join(dir, 'kvm1-vxlan_bridge.pcap'), (p) => {
      bridge.push(p);
    });
    expect(Buffer.from(inner[0]!.data).equals(Buffer.from(bridge[0]!.data))).toBe(true);
  });

  test('every packet decoded, as JSON lines', async () => {
    const u1 = await captureId('kvm1', 'underlay');
    const r = await fetch(`${base}/api/captures/${u1}/packets.ndjson`);
    expect(r.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (await r.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(16);
    expect(lines[0]).toMatchObject({ n: 1, ts: 1764140000.100023, len: 92 });
    expect(lines[0].layers.find((l: J) => l.type === 'vxlan').vni).toBe(10);
  });

  test('the node report as JSON', async () => {
    const r = await fetch(`${base}/api/nodes/kvm1/report.json`);
    expect(r.headers.get('content-disposition')).toMatch(/kvm1-report\.json/);
    const j = await r.json();
    expect(j.correlation.matched).toBe(13);
    expect(j.topology.vteps).toHaveLength(3);
  });
});

describe('uploads', () => {
  test('an uploaded underlay capture joins its node', async () => {
    // kvm3: a node of its own, its underlay only
    const file = new PcapWriter().file([
      { tsSec: 1_764_140_000, tsNsec: 0, data: readFileSync(path.join(dir, 'kvm2-eth1.pcap')).subarray(40, 40 + 92) },
    ]);
    const r = await fetch(`${base}/api/captures?name=kvm3-eth1.pcap`, {
      method: 'POST',
      headers: { 'X-VXI-Token': server.token, 'Content-Type': 'application/octet-stream' },
      body: Buffer.from(file),
    });
    expect(r.status).toBe(201);
    const j = await r.json();
    expect(j.node).toBe('kvm3');
    expect(j.capture).toMatchObject({ name: 'kvm3-eth1.pcap', role: 'underlay', packets: 1, tunnelled: 1, uploaded: true });
    const s = await get('/api/session');
    expect(s.nodes.map((n: J) => n.name)).toEqual(['kvm1', 'kvm2', 'kvm3']);
    const page = await get(`/api/captures/${j.capture.id}/packets`);
    expect(page.rows[0].vni).toBe(10);
  });
});
