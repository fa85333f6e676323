/**
 * The Path API on a real server (port 0, 127.0.0.1): GET /api/path and /api/path/frame over the
 * lab recording (fixtures/lab), and over a copy of it whose kvm2 underlay capture misses some
 * packets (frames lost on the underlay), and over a copy with a session.json that records each
 * node's overlay configuration. The expected figures are the CLI's (`vxlan-inspect path DIR
 * --json`, `--frame NODE:N`), run on the same folder: the page must say what the CLI says. A
 * frame's sightings carry their bytes as the packet detail draws them (the same fields, the same hex).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ConfigComparison, PathReport } from '../src/analysis/path.js';
import type { PacketDetail, PathBranchView, PathFrameBranchView, PathFrameResponse, PathResponse } from '../src/web/api-types.js';
import { pathResponse } from '../src/web/routes/path.js';
import { sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { runCli } from './helpers/cli.js';
import { copyCaptures, recordedLabConfig, writeConfiguredCopy, writeLossyCopy } from './helpers/path-copies.js';

const LAB = path.join(import.meta.dirname, '../fixtures/lab');
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-web-path-'));
const servers: RunningServer[] = [];

async function serve(dir: string): Promise<string> {
  const s = await startServer(sessionFromDir(dir), { port: 0 });
  servers.push(s);
  return s.url.replace(/\/$/, '');
}

async function get<T>(base: string, p: string): Promise<{ status: number; body: T }> {
  const r = await fetch(base + p);
  return { status: r.status, body: (await r.json()) as T };
}

async function cli(dir: string, ...more: string[]): Promise<PathReport> {
  const r = await runCli(['path', dir, '--json', ...more]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PathReport;
}

/** A branch as the CLI gives it: the page's sightings carry where the Packets view shows them (and a journey's, their bytes) on top. */
function withoutPackets(b: PathBranchView | PathFrameBranchView): unknown {
  const sightings = Object.fromEntries(
    Object.entries(b.sightings).map(([k, s]) => {
      const { packet: _packet, ...rest } = s;
      return [k, rest];
    }),
  );
  const { bytes: _bytes, ...branch } = b as PathFrameBranchView;
  return JSON.parse(JSON.stringify({ ...branch, sightings })) as unknown;
}

let lab: string;
let lossy: string;
let configured: string;
const LOSSY = path.join(tmp, 'lossy');
const CONFIGURED = path.join(tmp, 'configured');

beforeAll(async () => {
  expect(writeLossyCopy(LAB, LOSSY)).toBe(10);
  writeConfiguredCopy(LAB, CONFIGURED);
  lab = await serve(LAB);
  lossy = await serve(LOSSY);
  configured = await serve(CONFIGURED);
});
afterAll(async () => {
  for (const s of servers) await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('GET /api/path', () => {
  test('the lab recording: the report the CLI prints, per direction and VNI', async () => {
    const want = await cli(LAB);
    const { status, body } = await get<PathResponse>(lab, '/api/path');
    expect(status).toBe(200);
    expect(body.available).toBe(true);
    expect(body.reason).toBeNull();
    expect(body.totals).toEqual(want.totals);
    expect(body.totals.sent).toBeGreaterThan(0);
    expect(body.totals.delivered).toBe(body.totals.sent);
    expect(body.paths).toEqual(want.paths);
    expect(body.paths.map((g) => [g.src, g.dst, g.vni])).toEqual([
      ['kvm1', 'kvm2', 10],
      ['kvm2', 'kvm1', 10],
    ]);
    expect(body.nodes.map((n) => [n.name, n.vtep, n.underlay, n.overlay])).toEqual(
      want.nodes.map((n) => [n.name, n.vtep, n.underlay, n.overlay]),
    );
    // each node names the captures the page serves (for the Packets view)
    const session = (await get<{ nodes: { name: string; underlay: { id: string }; overlay: { id: string } }[] }>(lab, '/api/session')).body;
    for (const n of body.nodes) {
      const s = session.nodes.find((x) => x.name === n.name);
      expect(n.captures).toEqual({ underlay: s?.underlay.id, overlay: s?.overlay.id });
    }
    expect(body.incomplete).toEqual([]);
    // no session.json: nothing recorded to compare, as the CLI says
    expect(body.config).toEqual(JSON.parse(JSON.stringify(want.config)));
    expect(body.config.nodes.every((n) => n.recordedAt === null)).toBe(true);
    // asked again: the same answer (computed once per store generation)
    expect((await get<PathResponse>(lab, '/api/path')).body).toEqual(body);
  });

  test('frames lost on the underlay: counted per hop with the reason, each listed with where it stopped', async () => {
    const want = await cli(LOSSY);
    expect(want.totals.lost).toBeGreaterThan(0);
    const { body } = await get<PathResponse>(lossy, '/api/path');
    expect(body.totals).toEqual(want.totals);
    expect(body.paths).toEqual(want.paths);
    const k12 = body.paths.find((g) => g.src === 'kvm1' && g.dst === 'kvm2');
    expect(k12?.lostAt.underlay['lost-underlay']).toBeGreaterThan(0);
    expect(body.incomplete.map(withoutPackets)).toEqual(JSON.parse(JSON.stringify(want.incomplete)));
    const lost = body.incomplete.filter((b) => b.status === 'lost-underlay');
    expect(lost.length).toBeGreaterThan(0);
    for (const b of lost) {
      expect(b.lastSeen).toBe('srcUnderlay');
      expect(b.sightings.dstUnderlay).toBeUndefined();
      expect(b.reason).not.toBe('');
      // the sightings it has are packets the page can open
      expect(b.sightings.srcUnderlay?.packet).toMatchObject({ side: 'underlay', n: b.sightings.srcUnderlay?.frame });
    }
  });

  test("a session.json recording each node's configuration: the comparison the CLI prints", async () => {
    const want = await cli(CONFIGURED);
    const { status, body } = await get<PathResponse>(configured, '/api/path');
    expect(status).toBe(200);
    expect(body.totals).toEqual(want.totals);
    expect(body.config).toEqual(JSON.parse(JSON.stringify(want.config)));
    // each node's card: what was recorded
    expect(
      body.config.nodes.map((n) => [
        n.node,
        n.recordedBy,
        n.vxlan?.vni,
        n.vxlan?.port,
        n.vxlan?.local,
        n.fdb.filter((e) => e.flood).map((e) => e.dst),
      ]),
    ).toEqual([
      ['kvm1', 'capture', 10, 4789, '10.3.1.156', ['10.3.1.174']],
      ['kvm2', 'capture', 10, 4789, '10.3.1.174', ['10.3.1.156']],
    ]);
    // the findings are the analysis's, each with its evidence, messages naming files as the page does
    for (const f of body.config.findings) expect(JSON.stringify(f)).not.toContain(tmp);
  });

  test('a damaged nodes[].config: the paths without it, and a note naming the key', async () => {
    const dir = path.join(tmp, 'damaged');
    copyCaptures(LAB, dir);
    const bad = { ...recordedLabConfig('10.3.1.156', '10.3.1.174'), vxlan: [{ name: 'vxlan10', vni: 'ten' }] };
    const node = (name: string, config?: unknown): unknown => ({
      name,
      underlay: `${name}-eth1.pcap`,
      overlay: `${name}-vxlan_bridge.pcap`,
      ...(config ? { config } : {}),
    });
    writeFileSync(path.join(dir, 'session.json'), JSON.stringify({ nodes: [node('kvm1', bad), node('kvm2')] }));
    const base = await serve(dir);
    const { status, body } = await get<PathResponse>(base, '/api/path');
    expect(status).toBe(200);
    expect(body.available).toBe(true);
    expect(body.totals.delivered).toBeGreaterThan(0);
    expect(body.config.nodes.map((n) => [n.node, n.recordedAt])).toEqual([
      ['kvm1', null],
      ['kvm2', null],
    ]);
    const note = body.notes.find((n) => n.includes('recorded configuration'));
    expect(note).toMatch(/session\.json: nodes\[0\] \(kvm1\): config\.vxlan\[0\]\.vni must be a whole number/);
    expect(note).not.toContain(tmp);
  });

  test("the report's configuration comparison goes to the page as it is, its messages naming files as the page does", () => {
    const file = path.join(tmp, 'kvm2-eth1.pcap');
    const config: ConfigComparison = {
      nodes: [
        {
          node: 'kvm1',
          recordedAt: '2026-12-01T09:00:00.000Z',
          recordedBy: 'capture',
          vxlan: {
            device: 'vxlan10',
            vni: 10,
            port: 4789,
            local: '10.3.1.156',
            group: null,
            remote: null,
            dev: 'eth1',
            mtu: 1450,
            up: true,
          },
          bridge: { name: 'vxlan_bridge', mtu: 1450, up: true },
          underlay: { name: 'eth1', mtu: 1500, addresses: ['10.3.1.156/24'] },
          fdb: [{ mac: '00:00:00:00:00:00', dst: '10.3.1.174', flood: true, permanent: true }],
          firewall: [],
        },
        {
          node: 'kvm2',
          recordedAt: '2026-12-01T09:00:00.000Z',
          recordedBy: 'check',
          vxlan: {
            device: 'vxlan11',
            vni: 11,
            port: 4789,
            local: '10.3.1.174',
            group: null,
            remote: null,
            dev: 'eth1',
            mtu: 1450,
            up: true,
          },
          bridge: null,
          underlay: null,
          fdb: [],
          firewall: ['nftables inet filter input: udp dport 4789 drop'],
        },
      ],
      findings: [
        {
          code: 'vni-mismatch',
          severity: 'fail',
          nodes: ['kvm1', 'kvm2'],
          message: `kvm1 sends VNI 10; kvm2 is configured with VNI 11 (${file})`,
          evidence: { config: ['kvm2: vxlan11 id 11'], traffic: [`kvm1 → kvm2: 41 packets with VNI 10 in ${file}`] },
        },
      ],
    };
    const report: PathReport = {
      windowUs: 1_000_000,
      nodes: [],
      paths: [],
      totals: { sent: 0, delivered: 0, lost: 0, notCaptured: 0, checksumOffload: 0 },
      incomplete: [],
      listsCapped: false,
      notes: [],
      inputErrors: [],
      work: { peakHeld: 0, forced: 0, lateLinks: 0 },
      config,
    };
    const captures = { underlay: { id: 'c3' }, overlay: { id: 'c4' } } as unknown as Parameters<
      typeof pathResponse
    >[1]['nodes'][number]['captures'];
    const served = {
      nodes: [
        {
          input: {
            name: 'kvm2',
            underlay: { path: file, name: 'kvm2-eth1.pcap', select: { kind: 'all' as const } },
            overlay: { path: '/nowhere/b.pcap', name: 'b.pcap', select: { kind: 'all' as const } },
          },
          captures,
        },
      ],
      missing: null,
    };
    const body = pathResponse(report, served);
    expect(body.config.nodes).toEqual(config.nodes);
    expect(body.config.findings).toEqual([
      {
        ...config.findings[0],
        message: 'kvm1 sends VNI 10; kvm2 is configured with VNI 11 (kvm2-eth1.pcap)',
        evidence: { config: ['kvm2: vxlan11 id 11'], traffic: ['kvm1 → kvm2: 41 packets with VNI 10 in kvm2-eth1.pcap'] },
      },
    ]);
  });

  test('one node only: not available, and why', async () => {
    const one = path.join(tmp, 'one');
    copyCaptures(LAB, one, ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-eth1.pcap']);
    const base = await serve(one);
    const { status, body } = await get<PathResponse>(base, '/api/path');
    expect(status).toBe(200);
    expect(body.available).toBe(false);
    expect(body.reason).toMatch(/two or more nodes/);
    expect(body.reason).toMatch(/kvm2 \(no bridge capture\)/);
    expect(body.reason).not.toContain(tmp);
    expect(body.config).toEqual({ nodes: [], findings: [] });
    const f = await get<{ error: { code: string; message: string } }>(base, '/api/path/frame?node=kvm1&n=1');
    expect(f.status).toBe(404);
    expect(f.body.error.message).toMatch(/two or more nodes/);
  });
});

describe('GET /api/path/frame', () => {
  test('a bridge frame: its four sightings and hop times, as `path --frame NODE:N`', async () => {
    for (const [node, n] of [
      ['kvm1', 5],
      ['kvm2', 3],
    ] as const) {
      const want = await cli(LAB, '--frame', `${node}:${n}`);
      const { status, body } = await get<PathFrameResponse>(lab, `/api/path/frame?node=${node}&n=${n}`);
      expect(status).toBe(200);
      expect(body.ref).toEqual({ node, side: 'overlay', n, frame: n });
      expect(body.file).toBe(`${node}-vxlan_bridge.pcap`);
      expect(body.note).toBeNull();
      expect(want.followed?.branches.length).toBeGreaterThan(0);
      expect(body.branches.map(withoutPackets)).toEqual(JSON.parse(JSON.stringify(want.followed?.branches)));
      const b = body.branches[0] as PathBranchView;
      expect(b.status).toBe('delivered');
      expect(Object.keys(b.sightings).sort()).toEqual(['dstBridge', 'dstUnderlay', 'srcBridge', 'srcUnderlay']);
      expect(Object.keys(b.hopsUs).sort()).toEqual(['decapsulation', 'encapsulation', 'underlay']);
      // each sighting is a packet of the page: the capture of that node and side, numbered as in its file
      const session = (await get<{ nodes: { name: string; underlay: { id: string }; overlay: { id: string } }[] }>(lab, '/api/session'))
        .body;
      for (const [point, s] of Object.entries(b.sightings)) {
        const side = point.endsWith('Bridge') ? 'overlay' : 'underlay';
        const ids = session.nodes.find((x) => x.name === s.node);
        expect(s.packet, point).toEqual({ captureId: ids?.[side].id, side, n: s.frame });
        const p = await get<PacketDetail>(lab, `/api/captures/${s.packet?.captureId}/packets/${s.packet?.n}`);
        expect(p.status).toBe(200);
        // its bytes: the packet detail's, field for field
        const bytes = (b as PathFrameBranchView).bytes[point as keyof PathFrameBranchView['bytes']];
        expect(bytes?.hex, point).toBe(p.body.hex);
        expect(bytes?.frame, point).toEqual(p.body.frame);
        expect(bytes?.summary, point).toBe(p.body.summary);
      }
      // the guest's frame is the same bytes at every hop: after the outer headers on the underlay, the whole bridge frame
      const inner = (point: keyof PathFrameBranchView['bytes']): string => {
        const x = (b as PathFrameBranchView).bytes[point];
        const at = x?.frame.tunnelled ? (x.frame.layers.find((l) => l.depth === 1)?.offset as number) : 0;
        return x?.hex.slice(at * 2) ?? '';
      };
      expect(inner('srcBridge').length).toBeGreaterThan(0);
      for (const p of ['srcUnderlay', 'dstUnderlay', 'dstBridge'] as const) expect(inner(p), p).toBe(inner('srcBridge'));
    }
  });

  test('an underlay packet (side=underlay), as `path --frame NODE:underlay:N`', async () => {
    const want = await cli(LAB, '--frame', 'kvm2:underlay:1');
    const { body } = await get<PathFrameResponse>(lab, '/api/path/frame?node=kvm2&side=underlay&n=1');
    expect(body.ref).toEqual({ node: 'kvm2', side: 'underlay', n: 1, frame: 1 });
    expect(body.branches.map(withoutPackets)).toEqual(JSON.parse(JSON.stringify(want.followed?.branches)));
    expect(body.branches[0]?.src).toBe('kvm2');
  });

  test('a frame lost on the underlay: where it stopped and why', async () => {
    const { body: report } = await get<PathResponse>(lossy, '/api/path');
    const lost = report.incomplete.find((b) => b.status === 'lost-underlay' && b.sightings.srcBridge);
    expect(lost).toBeDefined();
    const n = lost?.sightings.srcBridge?.packet?.n as number;
    const want = await cli(LOSSY, '--frame', `kvm1:${n}`);
    const { body } = await get<PathFrameResponse>(lossy, `/api/path/frame?node=kvm1&n=${n}`);
    expect(body.branches.map(withoutPackets)).toEqual(JSON.parse(JSON.stringify(want.followed?.branches)));
    expect(body.branches[0]).toMatchObject({ status: 'lost-underlay', loss: true, lastSeen: 'srcUnderlay', reason: lost?.reason });
    // bytes for the sightings it has, none for those it does not
    expect(Object.keys(body.branches[0]?.bytes ?? {}).sort()).toEqual(Object.keys(body.branches[0]?.sightings ?? {}).sort());
    expect(body.branches[0]?.bytes.dstUnderlay).toBeUndefined();
  });

  test('a frame that crossed nothing says so, as the CLI does', async () => {
    // a bridge frame of kvm1 the correlator matched with nothing (it stayed on the node)
    const session = (await get<{ nodes: { name: string; overlay: { id: string } }[] }>(lab, '/api/session')).body;
    const id = session.nodes.find((x) => x.name === 'kvm1')?.overlay.id;
    const page = (await get<{ rows: { n: number }[] }>(lab, `/api/captures/${id}/packets?offset=0&limit=5&filter=unmatched`)).body;
    const n = page.rows[0]?.n as number;
    expect(n).toBeGreaterThan(0);
    const want = await cli(LAB, '--frame', `kvm1:${n}`);
    const { body } = await get<PathFrameResponse>(lab, `/api/path/frame?node=kvm1&n=${n}`);
    expect(body.branches.map(withoutPackets)).toEqual(JSON.parse(JSON.stringify(want.followed?.branches)));
    if (body.branches.length === 0) {
      expect(body.note).toBe(want.followed?.note);
      expect(body.note).toMatch(/\S/);
    }
  });

  test('bad requests are refused with a reason', async () => {
    const cases: [string, number, RegExp][] = [
      ['/api/path/frame?n=1', 400, /node= is required/],
      ['/api/path/frame?node=kvm1', 400, /n= is required/],
      ['/api/path/frame?node=kvm1&n=0', 400, /n must be an integer from 1/],
      ['/api/path/frame?node=kvm1&n=abc', 400, /n must be an integer/],
      ['/api/path/frame?node=kvm1&side=eth1&n=1', 400, /side must be overlay/],
      ['/api/path/frame?node=kvm9&n=1', 404, /no bridge capture of node "kvm9"/],
      ['/api/path/frame?node=kvm1&n=100000', 404, /has \d+ packets: there is no packet 100000/],
    ];
    for (const [url, status, message] of cases) {
      const r = await get<{ error: { code: string; message: string } }>(lab, url);
      expect([url, r.status]).toEqual([url, status]);
      expect(r.body.error.message).toMatch(message);
    }
  });
});
