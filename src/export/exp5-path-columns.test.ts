/**
 * `export --path`: the packet rows' path columns come from `path`'s own run (its joiner's
 * onSighting hook), read back through DuckDB and compared with `path --json` of the same folder:
 *  - fixtures/lab (two nodes, every frame delivered): each row's hop, the counts per node, side
 *    and hop equal path's `seen` per direction, one frame's four rows are the four sightings
 *    `path --frame` prints, and no row says a loss;
 *  - src/analysis/path/fixtures/lab-fdb (`lab break fdb`): the broadcasts kvm2 did not flood have
 *    loss_reason bum-not-flooded on their source bridge rows, and every row with a reason is the
 *    last sighting of one of path's incomplete branches, with its status and code;
 *  - a folder path cannot follow (one node), and an export without --path: the columns stay NULL
 *    and export.json says why.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/helpers/cli.js';
import { openTestDb, type Row, type TestDb } from '../../test/helpers/duckdb.js';
import type { PathReport } from '../analysis/path.js';
import type { ExportSummary } from './export.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const LAB = path.join(ROOT, 'fixtures', 'lab');
const FDB = path.join(ROOT, 'src', 'analysis', 'path', 'fixtures', 'lab-fdb');
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-exp5-'));
let tdb: TestDb | undefined;

beforeAll(async () => {
  tdb = await openTestDb();
});
afterAll(() => {
  tdb?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const query = (sql: string): Promise<Row[]> => (tdb as TestDb).query(sql);

async function exportOf(dir: string, out: string, extra: string[] = ['--path']): Promise<{ summary: ExportSummary; packets: string }> {
  const r = await runCli(['export', dir, '--out', path.join(tmp, out), '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout) as ExportSummary;
  return { summary, packets: `'${summary.files.packets.replace(/'/g, "''")}'` };
}

async function pathOf(dir: string): Promise<PathReport> {
  const r = await runCli(['path', dir, '--json', '--list', '100000']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PathReport;
}

const POINTS = ['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge'] as const;
const SIDE_OF: Record<(typeof POINTS)[number], string> = {
  srcBridge: 'overlay',
  srcUnderlay: 'underlay',
  dstUnderlay: 'underlay',
  dstBridge: 'overlay',
};

/** path's sightings per node, side and point: each direction's `seen`, at its source or destination node. */
function seenByRow(report: PathReport): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of report.paths) {
    for (const p of POINTS) {
      const node = p.startsWith('src') ? g.src : g.dst;
      const n = g.seen[p];
      if (n === 0) continue;
      const k = `${node} ${SIDE_OF[p]} ${p}`;
      out.set(k, (out.get(k) ?? 0) + n);
    }
  }
  return out;
}

function byFileFrame(x: Row, y: Row): number {
  return String(x.file) < String(y.file) ? -1 : String(x.file) > String(y.file) ? 1 : Number(x.frame) - Number(y.frame);
}

describe('export --path on fixtures/lab (two nodes, every frame delivered)', () => {
  let summary: ExportSummary;
  let packets: string;
  let report: PathReport;
  beforeAll(async () => {
    ({ summary, packets } = await exportOf(LAB, 'lab'));
    report = await pathOf(LAB);
  });

  it('ran path over both nodes and says so in export.json', () => {
    expect(summary.path.followed).toBe(true);
    expect(summary.path.nodes).toEqual(['kvm1', 'kvm2']);
    expect(summary.path.branches).toBe(report.totals.sent);
    expect(report.totals.sent).toBe(83);
  });

  it('gives each row the hop path saw it at: counts per node, side and hop equal path --json', async () => {
    const rows = await query(`SELECT node, side, path_hop, count(*) AS n FROM ${packets} WHERE path_hop IS NOT NULL GROUP BY ALL`);
    const got = new Map(rows.map((r) => [`${r.node} ${r.side} ${r.path_hop}`, r.n as number]));
    expect(got).toEqual(seenByRow(report));
    // every tunnelled underlay packet of the recording is on a path, once
    const [u] = await query(
      `SELECT count(*) FILTER (WHERE tunnel = 'vxlan') AS vxlan, count(path_hop) AS hops FROM ${packets} WHERE side = 'underlay'`,
    );
    expect(u?.hops).toBe(u?.vxlan);
    expect(u?.vxlan).toBe(2 * report.totals.sent);
    // the bridge frames on no path are the ones path says stayed on their node
    const local = await query(
      `SELECT node, count(*) AS n FROM ${packets} WHERE side = 'overlay' AND path_hop IS NULL GROUP BY node ORDER BY node`,
    );
    expect(local).toEqual(report.nodes.map((n) => ({ node: n.name, n: n.localFrames })));
  });

  it('puts one frame on the four rows `path --frame kvm1:12` names', async () => {
    const r = await runCli(['path', LAB, '--frame', 'kvm1:12', '--json']);
    const followed = (JSON.parse(r.stdout) as PathReport).followed;
    const b = followed?.branches[0];
    expect(b?.status).toBe('delivered');
    const want = POINTS.map((p) => ({
      node: b?.sightings[p]?.node,
      file: b?.sightings[p]?.file,
      frame: b?.sightings[p]?.frame,
      path_hop: p,
    }));
    const where = want.map((w) => `(file = '${w.file}' AND frame = ${w.frame})`).join(' OR ');
    const rows = await query(`SELECT node, file, frame, path_hop FROM ${packets} WHERE ${where} ORDER BY ts, side DESC`);
    expect(rows).toEqual(want);
  });

  it('says no loss: every row on a path is delivered, no reason', async () => {
    const rows = await query(
      `SELECT path_status, count(loss_reason) AS reasons, count(*) AS n FROM ${packets} WHERE path_hop IS NOT NULL GROUP BY ALL`,
    );
    expect(rows).toEqual([{ path_status: 'delivered', reasons: 0, n: rows[0]?.n }]);
    const [off] = await query(`SELECT count(path_status) AS s FROM ${packets} WHERE path_hop IS NULL`);
    expect(off?.s).toBe(0);
  });
});

describe('export --path on lab-fdb (kvm2 has no flood entry for kvm1)', () => {
  let packets: string;
  let report: PathReport;
  beforeAll(async () => {
    ({ packets } = await exportOf(FDB, 'fdb'));
    report = await pathOf(FDB);
  });

  it("marks the broadcasts kvm2 did not flood on their source bridge rows: loss_reason bum-not-flooded, path's count", async () => {
    const lost = report.paths.reduce((a, g) => a + (g.lostAt.encapsulation['bum-not-flooded'] ?? 0), 0);
    expect(lost).toBeGreaterThan(0);
    const rows = await query(
      `SELECT node, side, path_hop, path_status, count(*) AS n, count(*) FILTER (WHERE inner_eth_dst = 'ff:ff:ff:ff:ff:ff') AS broadcast, ` +
        `bool_and(('0x' || substr(inner_eth_dst, 2, 1))::INTEGER & 1 = 1) AS group_addressed FROM ${packets} ` +
        `WHERE loss_reason = 'bum-not-flooded' GROUP BY ALL`,
    );
    // kvm2's ARP broadcast and its IPv6 multicasts (router solicitations), all never sent to kvm1
    expect(rows).toEqual([
      {
        node: 'kvm2',
        side: 'overlay',
        path_hop: 'srcBridge',
        path_status: 'not-encapsulated',
        n: lost,
        broadcast: 1,
        group_addressed: true,
      },
    ]);
  });

  it("gives every incomplete branch's last sighting its status and code, and no other row a reason", async () => {
    expect(report.listsCapped).toBe(false);
    const want = report.incomplete
      .map((b) => {
        const s = b.sightings[b.lastSeen as (typeof POINTS)[number]];
        return { file: s?.file, frame: s?.frame, path_hop: b.lastSeen, path_status: b.status, loss_reason: b.code };
      })
      .sort(byFileFrame);
    expect(want.length).toBe(report.totals.lost + report.totals.notCaptured);
    const rows = await query(`SELECT file, frame, path_hop, path_status, loss_reason FROM ${packets} WHERE loss_reason IS NOT NULL`);
    expect(rows.sort(byFileFrame)).toEqual(want);
  });
});

describe('export where path cannot follow', () => {
  it('leaves the columns NULL for one node, and export.json says why in path words', async () => {
    const one = mkdtempSync(path.join(tmp, 'one-'));
    for (const f of ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap']) copyFileSync(path.join(LAB, f), path.join(one, f));
    const { summary, packets } = await exportOf(one, 'one');
    expect(summary.path.followed).toBe(false);
    expect(summary.path.why).toMatch(/path needs two or more nodes/);
    const [r] = await query(`SELECT count(*) AS n, count(path_hop) + count(path_status) + count(loss_reason) AS set FROM ${packets}`);
    expect(r).toEqual({ n: 191, set: 0 });
  });

  it('leaves them NULL without --path', async () => {
    const { summary, packets } = await exportOf(LAB, 'nopath', []);
    expect(summary.path).toEqual({ followed: false, why: 'not asked for (export --path)' });
    const [r] = await query(`SELECT count(path_hop) + count(path_status) + count(loss_reason) AS set FROM ${packets}`);
    expect(r?.set).toBe(0);
  });
});
