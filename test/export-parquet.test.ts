/**
 * `vxlan-inspect export` over the bundled recording (fixtures/lab: kvm1 and kvm2, eth1 and
 * vxlan_bridge each), queried back with DuckDB: the counts per VNI and per VTEP pair the rows
 * imply equal `stats --json` of each underlay file, the matched counts equal `correlate --json`
 * of each node, the flow rows add up to the packet rows, and every Community ID is the one the
 * row's own tuple gives. Then the other inputs: a file holding both sides, one side alone, a
 * damaged file, session.json clock offsets, and usage errors.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityId, parseIp } from '../src/export/community-id.js';
import type { ExportSummary } from '../src/export/export.js';
import { runCli } from './helpers/cli.js';
import { openTestDb, type Row, sqlFile, type TestDb } from './helpers/duckdb.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAB = path.join(ROOT, 'fixtures', 'lab');
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-export-'));
let tdb: TestDb | undefined;

beforeAll(async () => {
  tdb = await openTestDb();
});
afterAll(() => {
  tdb?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const query = (sql: string): Promise<Row[]> => (tdb as TestDb).query(sql);
const q = sqlFile;

async function exportJson(args: string[]): Promise<{ code: number; summary: ExportSummary; stderr: string }> {
  const r = await runCli(['export', ...args, '--json']);
  expect(r.stderr, r.stderr).not.toMatch(/unexpected error/);
  return { code: r.code, summary: JSON.parse(r.stdout) as ExportSummary, stderr: r.stderr };
}

interface StatsJson {
  vxlan: { packets: number; bytes: number; byVni: Record<string, { packets: number; bytes: number }> };
  vtepPairs: { src: string; dst: string; vni: number; packets: number; bytes: number }[];
}

async function statsOf(file: string): Promise<StatsJson> {
  const r = await runCli(['stats', file, '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as StatsJson;
}

describe('export of the bundled recording (fixtures/lab)', () => {
  const out = path.join(tmp, 'lab');
  let summary: ExportSummary;
  let packets: string;
  let flows: string;

  beforeAll(async () => {
    const r = await exportJson([LAB, '--out', out]);
    expect(r.code).toBe(0);
    summary = r.summary;
    packets = summary.files.packets;
    flows = summary.files.flows;
  }, 60_000);

  it('writes the two Parquet files and the manifest, and nothing else is left in the folder', () => {
    expect(readdirSync(out).sort()).toEqual(['export.json', 'flows.parquet', 'packets.parquet']);
    expect(JSON.parse(readFileSync(path.join(out, 'export.json'), 'utf8'))).toEqual(summary);
    expect(summary.capture).toBe('lab');
    expect(summary.nodes.map((n) => [n.node, n.underlay?.file, n.overlay?.file])).toEqual([
      ['kvm1', 'kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap'],
      ['kvm2', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'],
    ]);
  });

  it('has one row per packet of every file', async () => {
    const expected = JSON.parse(readFileSync(path.join(LAB, 'expected.json'), 'utf8')) as { files: { file: string; packets: number }[] };
    const rows = await query(
      'SELECT file, count(*) AS packets, min(frame) AS first, max(frame) AS last, count(DISTINCT frame) ' +
        `AS distinct_frames FROM ${q(packets)} GROUP BY file ORDER BY file`,
    );
    expect(rows).toEqual(
      expected.files.map((f) => ({ file: f.file, packets: f.packets, first: 1, last: f.packets, distinct_frames: f.packets })),
    );
    expect(summary.packetRows).toBe(expected.files.reduce((a, f) => a + f.packets, 0));
  });

  it('the packet rows per VNI and per VTEP pair equal stats --json of each underlay file', async () => {
    for (const node of ['kvm1', 'kvm2']) {
      const file = path.join(LAB, `${node}-eth1.pcap`);
      const s = await statsOf(file);
      const byVni = await query(
        'SELECT vni::VARCHAR AS vni, count(*) AS packets, sum(wire_len) ' +
          `AS bytes FROM ${q(packets)} WHERE node = '${node}' AND side = 'underlay' AND tunnel = 'vxlan' GROUP ` +
          'BY vni ORDER BY vni',
      );
      expect(Object.fromEntries(byVni.map((r) => [r.vni, { packets: r.packets, bytes: r.bytes }]))).toEqual(s.vxlan.byVni);
      expect(Object.keys(s.vxlan.byVni).length).toBeGreaterThan(0);
      const pairs = await query(
        'SELECT outer_src AS src, outer_dst AS dst, vni, count(*) AS packets, sum(wire_len) ' +
          `AS bytes FROM ${q(packets)} WHERE node = '${node}' AND side = 'underlay' AND tunnel IS NOT NULL ` +
          'GROUP BY ALL ORDER BY packets DESC, src',
      );
      expect(pairs).toEqual([...s.vtepPairs].sort((a, b) => b.packets - a.packets || a.src.localeCompare(b.src)));
      expect(pairs.length).toBe(2);
    }
  });

  it('the flow rows imply the same counts (per VNI, per VTEP pair) and add up to the packet rows', async () => {
    for (const node of ['kvm1', 'kvm2']) {
      const s = await statsOf(path.join(LAB, `${node}-eth1.pcap`));
      const byVni = await query(
        'SELECT vni::VARCHAR AS vni, sum(packets) AS packets, sum(bytes) ' +
          `AS bytes FROM ${q(flows)} WHERE node = '${node}' AND side = 'underlay' AND tunnel = ` +
          `'vxlan' GROUP BY vni`,
      );
      expect(Object.fromEntries(byVni.map((r) => [r.vni, { packets: Number(r.packets), bytes: Number(r.bytes) }]))).toEqual(s.vxlan.byVni);
      const pairs = await query(
        'SELECT outer_src AS src, outer_dst AS dst, vni, sum(packets)::BIGINT AS packets, ' +
          `sum(bytes)::BIGINT AS bytes FROM ${q(flows)} WHERE node = '${node}' AND side = 'underlay' AND ` +
          'tunnel IS NOT NULL GROUP BY ALL ORDER BY packets DESC, src',
      );
      expect(pairs).toEqual([...s.vtepPairs].sort((a, b) => b.packets - a.packets || a.src.localeCompare(b.src)));
    }
    const [sums] = await query(
      `SELECT sum(packets)::BIGINT AS packets, sum(bytes)::BIGINT AS bytes, sum(matched)::BIGINT AS matched, count(*) AS rows FROM ${q(flows)}`,
    );
    const [direct] = await query(
      `SELECT count(*) AS packets, sum(wire_len)::BIGINT AS bytes, count(*) FILTER (WHERE matched) AS matched FROM ${q(packets)}`,
    );
    expect(sums).toEqual({ ...direct, rows: summary.flowRows });
  });

  it('the matched counts equal correlate --json of each node', async () => {
    for (const node of ['kvm1', 'kvm2']) {
      const r = await runCli(['correlate', path.join(LAB, `${node}-eth1.pcap`), path.join(LAB, `${node}-vxlan_bridge.pcap`), '--json']);
      expect(r.code).toBe(0);
      const c = JSON.parse(r.stdout) as {
        matched: number;
        underlayOnly: number;
        overlayOnly: number;
        encap: number;
        decap: number;
        underlayVxlan: number;
        byVni: Record<string, { matched: number; underlayOnly: number }>;
        byVtepPair: { src: string; dst: string; vni: number; matched: number }[];
      };
      const [u] = await query(
        'SELECT count(*) FILTER (WHERE matched) AS matched, count(*) FILTER (WHERE NOT matched) ' +
          `AS underlay_only, count(*) FILTER (WHERE direction = 'encap') AS encap, count(*) FILTER ` +
          `(WHERE direction = 'decap') AS decap, count(matched) ` +
          `AS compared FROM ${q(packets)} WHERE node = '${node}' AND side = 'underlay'`,
      );
      expect(u).toEqual({ matched: c.matched, underlay_only: c.underlayOnly, encap: c.encap, decap: c.decap, compared: c.underlayVxlan });
      const [o] = await query(
        'SELECT count(*) FILTER (WHERE NOT matched) AS overlay_only, sum(copies) FILTER ' +
          `(WHERE matched)::BIGINT AS copies FROM ${q(packets)} WHERE node = '${node}' AND side = 'overlay'`,
      );
      expect(o).toEqual({ overlay_only: c.overlayOnly, copies: c.matched });
      const byVni = await query(
        'SELECT vni::VARCHAR AS vni, count(*) FILTER (WHERE matched) AS matched, count(*) FILTER ' +
          `(WHERE NOT matched) AS underlay_only FROM ${q(packets)} WHERE node = '${node}' AND side = ` +
          `'underlay' AND tunnel = 'vxlan' GROUP BY vni`,
      );
      expect(Object.fromEntries(byVni.map((x) => [x.vni, { matched: x.matched, underlayOnly: x.underlay_only }]))).toEqual(
        Object.fromEntries(Object.entries(c.byVni).map(([k, v]) => [k, { matched: v.matched, underlayOnly: v.underlayOnly }])),
      );
      const pairs = await query(
        'SELECT outer_src AS src, outer_dst AS dst, vni, count(*) FILTER (WHERE matched) ' +
          `AS matched FROM ${q(packets)} WHERE node = '${node}' AND side = 'underlay' AND tunnel = 'vxlan' ` +
          'GROUP BY ALL ORDER BY src',
      );
      expect(pairs).toEqual(
        c.byVtepPair.map((p) => ({ src: p.src, dst: p.dst, vni: p.vni, matched: p.matched })).sort((a, b) => a.src.localeCompare(b.src)),
      );
      expect(summary.nodes.find((n) => n.node === node)?.correlation).toMatchObject({
        matched: c.matched,
        underlayOnly: c.underlayOnly,
        overlayOnly: c.overlayOnly,
      });
    }
  });

  it('each match points at its partner, both ways, with one direction and latency', async () => {
    const bad = await query(`
      SELECT u.node, u.frame, u.partner_frame, o.frame AS o_frame, o.partner_frame AS o_partner, u.direction, o.direction AS o_direction
      FROM ${q(packets)} u JOIN ${q(packets)} o ON o.node = u.node AND o.side = 'overlay' AND o.frame = u.partner_frame
      WHERE u.side = 'underlay' AND u.matched
        AND (o.copies = 1 AND o.partner_frame <> u.frame OR o.direction <> u.direction OR NOT o.matched OR u.latency_us < 0)`);
    expect(bad).toEqual([]);
    const [n] = await query(
      `SELECT count(*) AS n FROM ${q(packets)} WHERE matched AND (partner_frame IS NULL OR direction IS NULL OR latency_us IS NULL)`,
    );
    expect(n).toEqual({ n: 0 });
    // bridge frames carry the VNI of the underlay packets they matched
    const [v] = await query(`SELECT count(*) AS n FROM ${q(packets)} WHERE side = 'overlay' AND matched AND vni <> 10`);
    expect(v).toEqual({ n: 0 });
  });

  it("every Community ID is the one its row's tuple gives; the inner ping and its reply share one", async () => {
    const rows = await query(`
      SELECT DISTINCT 'outer' AS level, outer_src AS src, outer_dst AS dst, outer_proto AS proto, outer_sport AS sport,
        outer_dport AS dport, outer_community_id AS id FROM ${q(packets)} WHERE outer_src IS NOT NULL
      UNION SELECT DISTINCT 'inner', inner_src, inner_dst, inner_proto, inner_sport, inner_dport, inner_community_id
        FROM ${q(packets)} WHERE inner_src IS NOT NULL`);
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) {
      const sport = r.sport as number | null;
      const dport = r.dport as number | null;
      const want = communityId({
        src: parseIp(r.src as string) as Uint8Array,
        dst: parseIp(r.dst as string) as Uint8Array,
        proto: r.proto as number,
        ...(sport === null || dport === null ? {} : { sport, dport }),
      });
      expect({ r, id: r.id ?? undefined }).toEqual({ r, id: want });
    }
    const pings = await query(
      `SELECT DISTINCT inner_community_id AS id FROM ${q(packets)} WHERE protocol = 'ICMP' AND ` +
        `inner_sport IN (0, 8) AND inner_src IN ('10.220.220.5', '10.220.220.6') AND inner_dst IN ` +
        `('10.220.220.5', '10.220.220.6')`,
    );
    expect(pings.length).toBe(1);
    // the later fragments of the 3000-byte pings carry no ICMP header: no ports, no ID
    const [frags] = await query(
      `SELECT count(*) AS n, count(inner_community_id) AS with_id FROM ${q(packets)} WHERE inner_proto = 1 AND inner_sport IS NULL`,
    );
    expect(frags?.n).toBeGreaterThan(0);
    expect(frags?.with_id).toBe(0);
  });

  it('has the documented schema, path_hop and loss_reason nullable and null', async () => {
    const cols = await query(
      `SELECT column_name AS name, column_type AS type, "null" AS nullable FROM (DESCRIBE SELECT * FROM ${q(packets)})`,
    );
    expect(cols.map((c) => `${c.name} ${c.type}`)).toEqual([
      'capture VARCHAR',
      'node VARCHAR',
      'side VARCHAR',
      'interface VARCHAR',
      'file VARCHAR',
      'frame BIGINT',
      'n BIGINT',
      'ts TIMESTAMP WITH TIME ZONE',
      'wire_len INTEGER',
      'cap_len INTEGER',
      'tunnel VARCHAR',
      'vni INTEGER',
      'outer_src VARCHAR',
      'outer_dst VARCHAR',
      'outer_proto INTEGER',
      'outer_sport INTEGER',
      'outer_dport INTEGER',
      'outer_community_id VARCHAR',
      'inner_eth_src VARCHAR',
      'inner_eth_dst VARCHAR',
      'inner_ethertype INTEGER',
      'inner_src VARCHAR',
      'inner_dst VARCHAR',
      'inner_proto INTEGER',
      'inner_sport INTEGER',
      'inner_dport INTEGER',
      'inner_community_id VARCHAR',
      'protocol VARCHAR',
      'matched BOOLEAN',
      'partner_frame BIGINT',
      'partner_n BIGINT',
      'direction VARCHAR',
      'latency_us DOUBLE',
      'flood BOOLEAN',
      'copies INTEGER',
      'path_hop VARCHAR',
      'loss_reason VARCHAR',
      'path_status VARCHAR',
      'malformed BOOLEAN',
      'truncated BOOLEAN',
    ]);
    const [nulls] = await query(`SELECT count(path_hop) AS hop, count(loss_reason) AS reason FROM ${q(packets)}`);
    expect(nulls).toEqual({ hop: 0, reason: 0 });
    const flowCols = await query(`SELECT column_name AS name FROM (DESCRIBE SELECT * FROM ${q(flows)})`);
    expect(flowCols.map((c) => c.name)).toEqual([
      'capture',
      'node',
      'side',
      'interface',
      'tunnel',
      'vni',
      'outer_src',
      'outer_dst',
      'outer_proto',
      'outer_sport',
      'outer_dport',
      'outer_community_id',
      'inner_eth_src',
      'inner_eth_dst',
      'inner_ethertype',
      'inner_src',
      'inner_dst',
      'inner_proto',
      'inner_sport',
      'inner_dport',
      'inner_community_id',
      'protocol',
      'packets',
      'bytes',
      'first',
      'last',
      'matched',
    ]);
  });

  it("times are the capture's own (µs) and rows come in file order", async () => {
    const [first] = await query(`SELECT epoch_us(ts) AS us FROM ${q(packets)} WHERE node = 'kvm1' AND side = 'underlay' AND frame = 1`);
    const s = JSON.parse((await runCli(['stats', path.join(LAB, 'kvm1-eth1.pcap'), '--json'])).stdout) as { firstTs: number };
    expect(first?.us).toBe(Math.round(s.firstTs * 1e6));
    const [order] = await query(
      'SELECT count(*) AS n FROM (SELECT node, side, n, lag(n) OVER () AS prev, lag(side) OVER () ' +
        `AS prev_side FROM ${q(packets)}) WHERE side = prev_side AND n <> prev + 1`,
    );
    expect(order).toEqual({ n: 0 });
  });
});

describe('export of other inputs', () => {
  it("a pcapng holding both sides: rows name each side's interface, partners by record number", async () => {
    const out = path.join(tmp, 'pcapng');
    const file = path.join(ROOT, 'fixtures', 'synth', 'class-kvm1.pcapng');
    const { code, summary } = await exportJson([file, '--out', out, '--capture', 'group 7']);
    expect(code).toBe(0);
    const c = JSON.parse((await runCli(['correlate', file, '--json'])).stdout) as { matched: number; overlayOnly: number };
    const sides = await query(`SELECT DISTINCT capture, side, interface FROM ${q(summary.files.packets)} ORDER BY side`);
    expect(sides).toEqual([
      { capture: 'group 7', side: 'overlay', interface: 'vxlan_bridge' },
      { capture: 'group 7', side: 'underlay', interface: 'eth1' },
    ]);
    const [m] = await query(
      `SELECT count(*) FILTER (WHERE matched AND side = 'underlay') AS matched, count(*) FILTER ` +
        `(WHERE NOT matched AND side = 'overlay') AS overlay_only FROM ${q(summary.files.packets)}`,
    );
    expect(m).toEqual({ matched: c.matched, overlay_only: c.overlayOnly });
    // the partner's frame is its record number in the one file, not its number among its side's packets
    const bad = await query(
      `SELECT u.frame FROM ${q(summary.files.packets)} u LEFT JOIN ${q(summary.files.packets)} o ON ` +
        `o.frame = u.partner_frame AND o.side = 'overlay' WHERE u.side = 'underlay' AND u.matched AND ` +
        'o.frame IS NULL',
    );
    expect(bad).toEqual([]);
    const [differs] = await query(`SELECT count(*) AS n FROM ${q(summary.files.packets)} WHERE partner_frame <> partner_n`);
    expect(differs?.n).toBeGreaterThan(0);
  });

  it('one side alone: exported, nothing matched (matched is null)', async () => {
    const dir = mkdtempSync(path.join(tmp, 'one-'));
    copyFileSync(path.join(LAB, 'kvm1-eth1.pcap'), path.join(dir, 'kvm1-eth1.pcap'));
    const { code, summary } = await exportJson([dir, '--out', path.join(dir, 'out')]);
    expect(code).toBe(0);
    expect(summary.nodes).toMatchObject([{ node: 'kvm1', underlay: { packets: 107 }, overlay: null, correlation: null }]);
    const [r] = await query(`SELECT count(*) AS n, count(matched) AS with_matched FROM ${q(summary.files.packets)}`);
    expect(r).toEqual({ n: 107, with_matched: 0 });
  });

  it('session.json: its pairs and clock offsets are applied', async () => {
    const dir = mkdtempSync(path.join(tmp, 'session-'));
    copyFileSync(path.join(LAB, 'kvm1-eth1.pcap'), path.join(dir, 'a.pcap'));
    copyFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap'), path.join(dir, 'b.pcap'));
    writeFileSync(
      path.join(dir, 'session.json'),
      JSON.stringify({ nodes: [{ name: 'hv1', underlay: 'a.pcap', overlay: 'b.pcap', clockOffsetUs: 2_000_000 }] }),
    );
    const { code, summary } = await exportJson([dir, '--out', path.join(dir, 'out')]);
    expect(code).toBe(0);
    expect(summary.nodes).toMatchObject([
      { node: 'hv1', rule: 'session.json', underlay: { file: 'a.pcap' }, overlay: { file: 'b.pcap' }, correlation: { matched: 79 } },
    ]);
    const [t] = await query(`SELECT epoch_us(ts) AS us FROM ${q(summary.files.packets)} WHERE side = 'underlay' AND frame = 1`);
    const s = JSON.parse((await runCli(['stats', path.join(dir, 'a.pcap'), '--json'])).stdout) as { firstTs: number };
    expect(t?.us).toBe(Math.round(s.firstTs * 1e6) - 2_000_000);
  });

  it('a damaged capture: the packets before the damage are exported, exit 1 naming the file', async () => {
    const dir = mkdtempSync(path.join(tmp, 'damaged-'));
    const bytes = readFileSync(path.join(LAB, 'kvm1-eth1.pcap'));
    writeFileSync(path.join(dir, 'kvm1-eth1.pcap'), bytes.subarray(0, bytes.length - 30));
    copyFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap'), path.join(dir, 'kvm1-vxlan_bridge.pcap'));
    const r = await runCli(['export', dir, '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kvm1-eth1\.pcap.*the packets before it were exported/);
    const [n] = await query(`SELECT count(*) AS n FROM ${q(path.join(dir, 'out', 'packets.parquet'))} WHERE side = 'underlay'`);
    expect(n).toEqual({ n: 106 });
  });

  it('an export over an earlier one replaces its files', async () => {
    const out = path.join(tmp, 'again');
    await exportJson([path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap'), '--out', out]);
    const { summary } = await exportJson([path.join(LAB, 'kvm2-eth1.pcap'), '--out', out]);
    const nodes = await query(`SELECT DISTINCT node FROM ${q(summary.files.packets)}`);
    expect(nodes).toEqual([{ node: 'kvm2' }]);
    expect(readdirSync(out).sort()).toEqual(['export.json', 'flows.parquet', 'packets.parquet']);
  });

  it('usage errors: no such file, no capture in the folder, no --out', async () => {
    const missing = await runCli(['export', path.join(tmp, 'nope.pcap'), '--out', path.join(tmp, 'x')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such capture file or folder: .*nope\.pcap/);
    const empty = mkdtempSync(path.join(tmp, 'empty-'));
    const none = await runCli(['export', empty, '--out', path.join(tmp, 'y')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no capture to export in/);
    expect(existsSync(path.join(tmp, 'y'))).toBe(false);
    const noOut = await runCli(['export', LAB]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/--out/);
  });
});
