/**
 * The export's engine: DuckDB, embedded (@duckdb/node-api). Rows go in as numbers, in data
 * chunks of CHUNK_ROWS through an appender, into a staging database on disk beside the output
 * (DuckDB spills past its memory limit, so memory stays bounded whatever the capture's
 * length); the text of addresses and Community IDs goes in once per flow (flows.ts). At the end
 * DuckDB joins the packets with the matches and the flows and writes Parquet (COPY … TO …
 * (FORMAT parquet)); the flow rows are grouped from that Parquet file, so every count they
 * imply is the packet rows' own.
 */
import { rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { DOUBLE, DuckDBDataChunk, DuckDBInstance, INTEGER, UINTEGER, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import { VxiError } from '../errors.js';
import type { FlowEntry, LinkEntry } from './flows.js';

/** Rows per data chunk: DuckDB's vector size, the most a chunk holds. */
export const CHUNK_ROWS = 2048;

type Kind = 'i32' | 'u32' | 'f64';
export type Buf = Int32Array | Uint32Array | Float64Array;

const TYPE_OF: Record<Kind, DuckDBType> = { i32: INTEGER, u32: UINTEGER, f64: DOUBLE };
const SQL_OF: Record<Kind, string> = { i32: 'INTEGER', u32: 'UINTEGER', f64: 'DOUBLE' };

/** Numeric rows into one table: column buffers filled in place, a data chunk appended per CHUNK_ROWS rows. */
export class ChunkTable {
  readonly cols: Buf[];
  private readonly chunk: DuckDBDataChunk;
  private readonly vectors: DuckDBVector<number>[];
  private row = 0;
  rows = 0;

  constructor(
    private readonly appender: DuckDBAppender,
    kinds: readonly Kind[],
  ) {
    this.cols = kinds.map((k) => (k === 'i32' ? new Int32Array(CHUNK_ROWS) : k === 'u32' ? new Uint32Array(CHUNK_ROWS) : new Float64Array(CHUNK_ROWS)));
    this.chunk = DuckDBDataChunk.create(kinds.map((k) => TYPE_OF[k]), CHUNK_ROWS);
    this.vectors = kinds.map((_, j) => this.chunk.getColumnVector(j) as DuckDBVector<number>);
  }

  /** Column j's buffer: fill row `at`, then call next(). */
  col(j: number): Buf {
    const b = this.cols[j];
    if (!b) throw new Error(`ChunkTable: no column ${j}`);
    return b;
  }

  /** The row being filled (write `cols[j][at]`, then `next()`). */
  get at(): number {
    return this.row;
  }

  next(): void {
    this.rows++;
    if (++this.row === CHUNK_ROWS) this.flush();
  }

  /** Appends the rows filled so far. */
  flush(): void {
    const n = this.row;
    if (n === 0) return;
    for (let j = 0; j < this.vectors.length; j++) {
      const v = this.vectors[j] as DuckDBVector<number>;
      const b = this.cols[j] as Buf;
      for (let i = 0; i < n; i++) v.setItem(i, b[i] as number);
      v.flush();
    }
    this.chunk.rowCount = n;
    this.appender.appendDataChunk(this.chunk);
    this.chunk.rowCount = CHUNK_ROWS;
    this.row = 0;
  }

  close(): void {
    this.flush();
    this.appender.flushSync();
    this.appender.closeSync();
  }
}

/**
 * The packet staging columns, in order: integers only (DuckDB casts a DOUBLE to an integer at
 * some 0.7 µs a value: the time is staged as whole seconds and microseconds).
 */
export const PK = { src: 0, n: 1, frame: 2, sec: 3, usec: 4, wireLen: 5, capLen: 6, vni: 7, codes: 8, outerFlow: 9, innerFlow: 10, link: 11 } as const;
const PK_COLUMNS: [string, Kind][] = [
  ['src', 'i32'], ['n', 'u32'], ['frame', 'u32'], ['sec', 'u32'], ['usec', 'i32'], ['wire_len', 'u32'], ['cap_len', 'u32'], ['vni', 'i32'], ['codes', 'i32'],
  ['outer_flow', 'i32'], ['inner_flow', 'i32'], ['link', 'i32'],
];
/** `codes`: the tunnel in bits 0–1, malformed bit 2, truncated bit 3, the protocol label's number from bit 8. */
export const CODE_MALFORMED = 4;
export const CODE_TRUNCATED = 8;
export const CODE_LABEL_SHIFT = 8;

/**
 * The match staging columns, in order: one row per matched packet of either side, keyed like
 * the packet (source, n), with its partner. A bridge frame flooded to several VTEPs has one
 * row (its first partner, `copies` the number of underlay packets); an underlay packet's row
 * has copies 0.
 */
export const MT = { src: 0, n: 1, psrc: 2, pn: 3, dir: 4, delta: 5, flood: 6, copies: 7, vni: 8 } as const;
const MT_COLUMNS: [string, Kind][] = [['src', 'i32'], ['n', 'u32'], ['psrc', 'i32'], ['pn', 'u32'], ['dir', 'i32'], ['delta', 'f64'], ['flood', 'i32'], ['copies', 'i32'], ['vni', 'i32']];

export interface SourceRow {
  id: number;
  node: string;
  side: 'underlay' | 'overlay';
  interface: string;
  file: string;
  /** The node has both sides: its packets are matched (or not). */
  paired: boolean;
  /** Its packets are some of a file's (n is not the record number). */
  split: boolean;
}

export interface StageOptions {
  /** DuckDB's memory limit (e.g. '1GB'); past it, it spills to the staging folder. */
  memoryLimit?: string;
  /** Worker threads of DuckDB (default: its own, one per core). */
  threads?: number;
}

export interface WrittenFiles {
  packets: string;
  flows: string;
  packetRows: number;
  flowRows: number;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const TABLES = `
CREATE TABLE src (id INTEGER, node VARCHAR, side VARCHAR, interface VARCHAR, file VARCHAR, paired BOOLEAN, split BOOLEAN);
CREATE TABLE pk (${PK_COLUMNS.map(([n, k]) => `${n} ${SQL_OF[k]}`).join(', ')});
CREATE TABLE mt (${MT_COLUMNS.map(([n, k]) => `${n} ${SQL_OF[k]}`).join(', ')});
CREATE TABLE fl (id INTEGER, ip_version INTEGER, src VARCHAR, dst VARCHAR, proto INTEGER, sport INTEGER, dport INTEGER, community_id VARCHAR);
CREATE TABLE lk (id INTEGER, eth_src VARCHAR, eth_dst VARCHAR, ethertype INTEGER);
CREATE TABLE lbl (id INTEGER, name VARCHAR);
`;

/** The staging database of one export, and the Parquet files it writes. */
export class Stage {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
    private readonly dir: string,
    readonly packets: ChunkTable,
    readonly matches: ChunkTable,
    private readonly flowAppender: DuckDBAppender,
    private readonly linkAppender: DuckDBAppender,
  ) {}

  /** A staging database in `dir` (a folder of its own, removed by close()). */
  static async open(dir: string, opts: StageOptions = {}): Promise<Stage> {
    const dbFile = path.join(dir, 'stage.duckdb');
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(dbFile, {
        temp_directory: path.join(dir, 'spill'),
        memory_limit: opts.memoryLimit ?? '1GB',
        ...(opts.threads !== undefined ? { threads: String(opts.threads) } : {}),
      });
    } catch (err) {
      throw new VxiError('VXI_IO', `cannot open DuckDB's staging database ${dbFile}: ${(err as Error).message}`, { cause: err });
    }
    const db = await instance.connect();
    await db.run("SET TimeZone = 'UTC'");
    await db.run(TABLES);
    const packets = new ChunkTable(await db.createAppender('pk'), PK_COLUMNS.map(([, k]) => k));
    const matches = new ChunkTable(await db.createAppender('mt'), MT_COLUMNS.map(([, k]) => k));
    return new Stage(instance, db, dir, packets, matches, await db.createAppender('fl'), await db.createAppender('lk'));
  }

  addFlow(f: FlowEntry): void {
    const a = this.flowAppender;
    a.appendInteger(f.id);
    a.appendInteger(f.ipVersion);
    a.appendVarchar(f.src);
    a.appendVarchar(f.dst);
    a.appendInteger(f.proto);
    a.appendInteger(f.sport);
    a.appendInteger(f.dport);
    if (f.communityId === undefined) a.appendNull();
    else a.appendVarchar(f.communityId);
    a.endRow();
  }

  addLink(l: LinkEntry): void {
    const a = this.linkAppender;
    a.appendInteger(l.id);
    if (l.src === undefined) a.appendNull();
    else a.appendVarchar(l.src);
    if (l.dst === undefined) a.appendNull();
    else a.appendVarchar(l.dst);
    a.appendInteger(l.ethertype);
    a.endRow();
  }

  async addSources(rows: readonly SourceRow[]): Promise<void> {
    const a = await this.db.createAppender('src');
    for (const r of rows) {
      a.appendInteger(r.id);
      a.appendVarchar(r.node);
      a.appendVarchar(r.side);
      a.appendVarchar(r.interface);
      a.appendVarchar(r.file);
      a.appendBoolean(r.paired);
      a.appendBoolean(r.split);
      a.endRow();
    }
    a.closeSync();
  }

  async addLabels(labels: ReadonlyMap<string, number>): Promise<void> {
    const a = await this.db.createAppender('lbl');
    for (const [name, id] of labels) {
      a.appendInteger(id);
      a.appendVarchar(name);
      a.endRow();
    }
    a.closeSync();
  }

  /**
   * Writes `packets.parquet` and `flows.parquet` into `outDir` (each under a `.partial` name,
   * renamed once whole: a failed export leaves no half file under the final name). `capture`
   * names the capture in every row (to tell apart several exports merged). `anySplit`: some
   * side is part of a file (a partner's record number is looked up); `dedupe`: some packet may
   * have two match rows.
   */
  async write(outDir: string, capture: string, anySplit: boolean, dedupe: boolean): Promise<WrittenFiles> {
    this.packets.close();
    this.matches.close();
    for (const a of [this.flowAppender, this.linkAppender]) {
      a.flushSync();
      a.closeSync();
    }
    const packetsFile = path.join(outDir, 'packets.parquet');
    const flowsFile = path.join(outDir, 'flows.parquet');
    const partnerJoin = anySplit ? 'LEFT JOIN src ps ON ps.id = m.psrc LEFT JOIN pk q ON ps.split AND q.src = m.psrc AND q.n = m.pn' : '';
    const partner = anySplit ? 'CASE WHEN ps.split THEN q.frame ELSE m.pn END' : 'm.pn';
    // one row per packet: a second row for one packet (its matches not consecutive) is folded
    const matches = dedupe
      ? `(SELECT src, n, min(psrc) AS psrc, min(pn) AS pn, min(dir) AS dir, min(delta) AS delta, max(flood) AS flood, sum(copies) AS copies, min(vni) AS vni FROM mt GROUP BY src, n)`
      : 'mt';
    const packetsSql = `
      SELECT
        ${sqlString(capture)} AS capture, s.node, s.side, s.interface, s.file,
        p.frame::BIGINT AS frame, p.n::BIGINT AS n,
        make_timestamp(p.sec::BIGINT * 1000000 + p.usec)::TIMESTAMPTZ AS ts,
        p.wire_len::INTEGER AS wire_len, p.cap_len::INTEGER AS cap_len,
        CASE p.codes & 3 WHEN 1 THEN 'vxlan' WHEN 2 THEN 'geneve' WHEN 3 THEN 'vxlan-gpe' END AS tunnel,
        coalesce(nullif(p.vni, -1), m.vni) AS vni,
        fo.src AS outer_src, fo.dst AS outer_dst, fo.proto AS outer_proto,
        nullif(fo.sport, -1) AS outer_sport, nullif(fo.dport, -1) AS outer_dport, fo.community_id AS outer_community_id,
        lk.eth_src AS inner_eth_src, lk.eth_dst AS inner_eth_dst, nullif(lk.ethertype, -1) AS inner_ethertype,
        fi.src AS inner_src, fi.dst AS inner_dst, fi.proto AS inner_proto,
        nullif(fi.sport, -1) AS inner_sport, nullif(fi.dport, -1) AS inner_dport, fi.community_id AS inner_community_id,
        l.name AS protocol,
        CASE WHEN s.paired AND (s.side = 'overlay' OR p.codes & 3 = 1) THEN m.n IS NOT NULL END AS matched,
        (${partner})::BIGINT AS partner_frame,
        m.pn::BIGINT AS partner_n,
        CASE m.dir WHEN 0 THEN 'encap' WHEN 1 THEN 'decap' END AS direction,
        m.delta AS latency_us,
        m.flood = 1 AS flood,
        nullif(m.copies, 0)::INTEGER AS copies,
        NULL::VARCHAR AS path_hop,
        NULL::VARCHAR AS loss_reason,
        p.codes & ${CODE_MALFORMED} <> 0 AS malformed,
        p.codes & ${CODE_TRUNCATED} <> 0 AS truncated
      FROM pk p
      JOIN src s ON s.id = p.src
      LEFT JOIN ${matches} m ON m.src = p.src AND m.n = p.n
      LEFT JOIN fl fo ON fo.id = p.outer_flow
      LEFT JOIN fl fi ON fi.id = p.inner_flow
      LEFT JOIN lk ON lk.id = p.link
      LEFT JOIN lbl l ON l.id = p.codes >> ${CODE_LABEL_SHIFT}
      ${partnerJoin}
      ORDER BY p.src, p.n`;
    const flowsSql = `
      SELECT capture, node, side, interface, tunnel, vni,
        outer_src, outer_dst, outer_proto, outer_sport, outer_dport, outer_community_id,
        CASE WHEN inner_src IS NULL THEN inner_eth_src END AS inner_eth_src,
        CASE WHEN inner_src IS NULL THEN inner_eth_dst END AS inner_eth_dst,
        inner_ethertype, inner_src, inner_dst, inner_proto, inner_sport, inner_dport, inner_community_id, protocol,
        count(*)::BIGINT AS packets, sum(wire_len)::BIGINT AS bytes, min(ts) AS first, max(ts) AS last,
        count(*) FILTER (WHERE matched)::BIGINT AS matched
      FROM read_parquet(${sqlString(packetsFile)})
      GROUP BY ALL
      ORDER BY node, side, first, packets DESC`;
    const copy = async (sql: string, file: string): Promise<number> => {
      const partial = `${file}.partial`;
      try {
        const r = await this.db.run(`COPY (${sql}) TO ${sqlString(partial)} (FORMAT parquet, COMPRESSION zstd)`);
        const rows = Number(r.rowsChanged);
        await rename(partial, file);
        return rows;
      } catch (err) {
        rmSync(partial, { force: true });
        throw new VxiError('VXI_IO', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
      }
    };
    const packetRows = await copy(packetsSql, packetsFile);
    const flowRows = await copy(flowsSql, flowsFile);
    return { packets: packetsFile, flows: flowsFile, packetRows, flowRows };
  }

  /** Closes DuckDB and removes the staging folder. */
  close(): void {
    try {
      this.db.closeSync();
      this.instance.closeSync();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

