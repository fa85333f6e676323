/**
 * The export's engine: DuckDB, embedded (@duckdb/node-api). Rows go in as numbers, a data chunk
 * of CHUNK_ROWS at a time, into an in-memory staging database whose buffers spill to a folder
 * beside the output past its memory limit (memory stays bounded whatever the capture's length);
 * the text of addresses and Community IDs goes in once per flow (flows.ts). At the end DuckDB
 * joins the packets with the matches (numbers only, `pm`), then writes Parquet (COPY … TO …
 * (FORMAT parquet)): the packet rows with the text of their flows, the flow rows grouped from
 * `pm` by flow number, so every count they imply is the packet rows' own.
 *
 * Where the time goes, and why it is spent this way (README "Export", measured on 1M + 1M):
 *  - text columns whose values repeat (node, side, interface, file, addresses, MACs, protocol…)
 *    are DuckDB ENUMs: a join copies a small code, not a string, and the Parquet writer writes
 *    an ENUM as a dictionary it already has (an eighth of the cost of a VARCHAR column, which
 *    it hashes row by row); readers see plain strings (UTF8), the Parquet files' types are as
 *    documented;
 *  - flow rows are grouped by numbers, and only the groups get text;
 *  - numbers are written into the data chunk's own arrays (no call per value).
 */
import { rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import {
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  UINTEGER,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBVector,
} from '@duckdb/node-api';
import { VxiError } from '../errors.js';
import type { FlowEntry, LinkEntry } from './flows.js';
import { OUTCOME_LAST, OUTCOME_STATUS_SHIFT, PATH_POINT_NAMES, PATH_STATUSES } from './path-rows.js';

/** Rows per data chunk: DuckDB's vector size, the most a chunk holds. */
export const CHUNK_ROWS = 2048;

type Kind = 'i32' | 'u32' | 'f64' | 'str';
export type Buf = Int32Array | Uint32Array | Float64Array;

const TYPE_OF: Record<Kind, DuckDBType> = { i32: INTEGER, u32: UINTEGER, f64: DOUBLE, str: VARCHAR };
const SQL_OF: Record<Kind, string> = { i32: 'INTEGER', u32: 'UINTEGER', f64: 'DOUBLE', str: 'VARCHAR' };

/**
 * The typed array a numeric vector of the node-api keeps its items in, to be filled in place and
 * copied to DuckDB by one flush() per chunk. The node-api does not publish it (`items` is
 * private): it is used only when it is there with the right type and length; otherwise the
 * column is copied into the vector with setItem (the published way, a call per value).
 */
function itemsOf(v: DuckDBVector, kind: Kind): Buf | undefined {
  const items = (v as unknown as { items?: unknown }).items;
  const typed =
    kind === 'i32'
      ? items instanceof Int32Array
      : kind === 'u32'
        ? items instanceof Uint32Array
        : kind === 'f64'
          ? items instanceof Float64Array
          : false;
  return typed && (items as Buf).length >= CHUNK_ROWS ? (items as Buf) : undefined;
}

/** Rows into one table: column buffers filled in place, a data chunk appended per CHUNK_ROWS rows. */
export class ChunkTable {
  readonly cols: (Buf | (string | null)[])[];
  private readonly chunk: DuckDBDataChunk;
  private readonly vectors: DuckDBVector[];
  /** Columns whose buffer is the vector's own array (nothing to copy at flush). */
  private readonly inPlace: boolean[];
  private row = 0;
  rows = 0;

  constructor(
    private readonly appender: DuckDBAppender,
    kinds: readonly Kind[],
  ) {
    this.chunk = DuckDBDataChunk.create(
      kinds.map((k) => TYPE_OF[k]),
      CHUNK_ROWS,
    );
    this.vectors = kinds.map((_, j) => this.chunk.getColumnVector(j));
    this.inPlace = [];
    this.cols = kinds.map((k, j) => {
      const own = itemsOf(this.vectors[j] as DuckDBVector, k);
      this.inPlace.push(own !== undefined);
      if (own) return own;
      return k === 'i32'
        ? new Int32Array(CHUNK_ROWS)
        : k === 'u32'
          ? new Uint32Array(CHUNK_ROWS)
          : k === 'f64'
            ? new Float64Array(CHUNK_ROWS)
            : new Array<string | null>(CHUNK_ROWS).fill(null);
    });
  }

  /** Column j's numeric buffer: fill row `at`, then call next(). */
  col(j: number): Buf {
    const b = this.cols[j];
    if (!b || Array.isArray(b)) throw new Error(`ChunkTable: no numeric column ${j}`);
    return b;
  }

  /** Column j's text buffer (null: NULL). */
  text(j: number): (string | null)[] {
    const b = this.cols[j];
    if (!Array.isArray(b)) throw new Error(`ChunkTable: no text column ${j}`);
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
      const v = this.vectors[j] as DuckDBVector<number | string | null>;
      if (!this.inPlace[j]) {
        const b = this.cols[j] as ArrayLike<number | string | null>;
        for (let i = 0; i < n; i++) v.setItem(i, b[i] as number | string | null);
      }
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
export const PK = {
  src: 0,
  n: 1,
  frame: 2,
  sec: 3,
  usec: 4,
  wireLen: 5,
  capLen: 6,
  vni: 7,
  codes: 8,
  outerFlow: 9,
  innerFlow: 10,
  link: 11,
  ethertype: 12,
} as const;
const PK_COLUMNS: [string, Kind][] = [
  ['src', 'i32'],
  ['n', 'u32'],
  ['frame', 'u32'],
  ['sec', 'u32'],
  ['usec', 'i32'],
  ['wire_len', 'u32'],
  ['cap_len', 'u32'],
  ['vni', 'i32'],
  ['codes', 'i32'],
  ['outer_flow', 'i32'],
  ['inner_flow', 'i32'],
  ['link', 'i32'],
  ['ethertype', 'i32'],
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
const MT_COLUMNS: [string, Kind][] = [
  ['src', 'i32'],
  ['n', 'u32'],
  ['psrc', 'i32'],
  ['pn', 'u32'],
  ['dir', 'i32'],
  ['delta', 'f64'],
  ['flood', 'i32'],
  ['copies', 'i32'],
  ['vni', 'i32'],
];

/**
 * The path sighting staging columns (path-rows.ts): one row per sighting of a branch `path`
 * decided, keyed like the packet (source, n); `point` the capture point's number, `outcome` the
 * branch's status and code (path-rows.ts explains its bits).
 */
export const PH = { src: 0, n: 1, point: 2, outcome: 3 } as const;
const PH_COLUMNS: [string, Kind][] = [
  ['src', 'i32'],
  ['n', 'u32'],
  ['point', 'i32'],
  ['outcome', 'i32'],
];

const FL_COLUMNS: [string, Kind][] = [
  ['id', 'i32'],
  ['ip_version', 'i32'],
  ['src', 'str'],
  ['dst', 'str'],
  ['proto', 'i32'],
  ['sport', 'i32'],
  ['dport', 'i32'],
  ['community_id', 'str'],
];
const LK_COLUMNS: [string, Kind][] = [
  ['id', 'i32'],
  ['eth_src', 'str'],
  ['eth_dst', 'str'],
  ['ethertype', 'i32'],
];

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

/**
 * DuckDB's memory limit unless told: past it, the staging tables, the joins and the sort into
 * file order spill into the staging folder. Measured on the 1M + 1M pair (README "Export"): peak
 * RSS 570-710 MiB at 256MB with one thread against 1,330-1,560 MiB at 1GB, DuckDB's CPU time the
 * same; 128MB ran out of memory in the sort. Two such nodes (4M rows) outgrow 256MB in the flow
 * grouping: a step that runs out of it is done again under a larger limit (withRoom).
 */
export const DEFAULT_MEMORY_LIMIT = '256MB';
/** The limits a write step that ran out of the default one is done again with, in turn. */
const RAISED_LIMITS = ['1GB', '4GB'];

function isOutOfMemory(err: unknown): boolean {
  return err instanceof Error && /out of memory/i.test(err.message);
}

/** What DuckDB's allocator keeps of the memory it freed before it gives it back (its defaults: 128 MiB and 512 MiB). */
const ALLOCATOR_FLUSH = '16MB';

export interface StageOptions {
  /** DuckDB's memory limit (e.g. '1GB'; default DEFAULT_MEMORY_LIMIT); past it, it spills to the staging folder. */
  memoryLimit?: string;
  /** Worker threads of DuckDB (default: one under the default memory limit, else its own, one per core). */
  threads?: number;
}

export interface WrittenFiles {
  packets: string;
  flows: string;
  packetRows: number;
  flowRows: number;
}

/** What write() must know of the rows staged. */
export interface WriteOptions {
  /** What every row's `capture` column says. */
  capture: string;
  /** Some side is part of a file (a partner's record number is looked up). */
  anySplit: boolean;
  /** Some packet may have two match rows. */
  dedupe: boolean;
  /** Some flow or link header has two numbers (a table started afresh): flow rows are grouped by text again. */
  renumbered: boolean;
  /** path's sightings were staged (`ph`): the path columns are filled from them (default: NULL). */
  pathRows?: boolean;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const columnsSql = (cols: readonly [string, Kind][]): string => cols.map(([n, k]) => `${n} ${SQL_OF[k]}`).join(', ');

const TABLES = `
CREATE TABLE src (id INTEGER, node VARCHAR, side VARCHAR, interface VARCHAR, file VARCHAR, paired BOOLEAN, split BOOLEAN);
CREATE TABLE pk (${columnsSql(PK_COLUMNS)});
CREATE TABLE mt (${columnsSql(MT_COLUMNS)});
CREATE TABLE fl (${columnsSql(FL_COLUMNS)});
CREATE TABLE lk (${columnsSql(LK_COLUMNS)});
CREATE TABLE lbl (id INTEGER, name VARCHAR);
CREATE TABLE ph (${columnsSql(PH_COLUMNS)});
CREATE TABLE pcode (id INTEGER, name VARCHAR);
CREATE TYPE path_hop_t AS ENUM (${PATH_POINT_NAMES.map((x) => `'${x}'`).join(', ')});
CREATE TYPE path_status_t AS ENUM (${PATH_STATUSES.map((x) => `'${x}'`).join(', ')});
CREATE TYPE tunnel_t AS ENUM ('vxlan', 'geneve', 'vxlan-gpe');
CREATE TYPE direction_t AS ENUM ('encap', 'decap');
`;

/**
 * Past this many distinct values a text column stays VARCHAR: the Parquet writer puts an ENUM's
 * whole dictionary in every row group (a few hundred kB at this size), a VARCHAR's only the
 * values the row group has.
 */
const ENUM_MAX_VALUES = 20_000;

/** The staging database of one export, and the Parquet files it writes. */
export class Stage {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
    private readonly dir: string,
    readonly packets: ChunkTable,
    readonly matches: ChunkTable,
    private readonly flows: ChunkTable,
    private readonly links: ChunkTable,
    readonly pathSightings: ChunkTable,
    private memoryLimit: string,
    /** The limit is the user's (--memory-limit): never raised. */
    private readonly limitGiven: boolean,
  ) {}

  /** Steps done again under a larger memory limit, in words (export.json's notes). */
  readonly notes: string[] = [];
  private raised = 0;

  /** A DuckDB error as the user can act on it: out of its memory limit says which option raises it. */
  private failed(what: string, err: unknown): VxiError {
    const m = (err as Error).message;
    const hint = isOutOfMemory(err)
      ? ` (DuckDB's memory limit ${this.memoryLimit} is too small for these captures: give more with --memory-limit, e.g. ${RAISED_LIMITS.at(-1)})`
      : '';
    return new VxiError('VXI_IO', `${what}: ${m}${hint}`, { cause: err });
  }

  /**
   * Runs one step of the write; when it runs out of the default memory limit (a class's captures
   * outgrow 256MB in the joins or the flow grouping), the same step again under the next limit of
   * RAISED_LIMITS: the rows are all staged, nothing is lost, and the common case keeps its small peak.
   */
  private async withRoom<T>(what: string, step: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await step();
      } catch (err) {
        const next = this.limitGiven ? undefined : RAISED_LIMITS[this.raised];
        if (!isOutOfMemory(err) || next === undefined) throw this.failed(what, err);
        this.raised++;
        await this.db.run(`SET memory_limit = ${sqlString(next)}`);
        this.notes.push(`${what} did not fit DuckDB's memory limit ${this.memoryLimit}: done again with ${next} (--memory-limit sets it)`);
        this.memoryLimit = next;
      }
    }
  }

  /** A staging database spilling into `dir` (a folder of its own, removed by close()). */
  static async open(dir: string, opts: StageOptions = {}): Promise<Stage> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        temp_directory: path.join(dir, 'spill'),
        memory_limit: opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
        // one thread under the default limit: two sorting at once spill twice as much (README "Export", measured)
        ...(opts.threads !== undefined ? { threads: String(opts.threads) } : opts.memoryLimit === undefined ? { threads: '1' } : {}),
        // memory freed (a dropped table, a finished sort) goes back to the system, not kept for later (peak RSS)
        allocator_flush_threshold: ALLOCATOR_FLUSH,
        allocator_bulk_deallocation_flush_threshold: ALLOCATOR_FLUSH,
      });
    } catch (err) {
      throw new VxiError('VXI_IO', `cannot start DuckDB for the export (spilling to ${dir}): ${(err as Error).message}`, { cause: err });
    }
    const db = await instance.connect();
    await db.run("SET TimeZone = 'UTC'");
    await db.run(TABLES);
    const table = async (name: string, cols: readonly [string, Kind][]): Promise<ChunkTable> =>
      new ChunkTable(
        await db.createAppender(name),
        cols.map(([, k]) => k),
      );
    return new Stage(
      instance,
      db,
      dir,
      await table('pk', PK_COLUMNS),
      await table('mt', MT_COLUMNS),
      await table('fl', FL_COLUMNS),
      await table('lk', LK_COLUMNS),
      await table('ph', PH_COLUMNS),
      opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
      opts.memoryLimit !== undefined,
    );
  }

  addFlow(f: FlowEntry): void {
    const t = this.flows;
    const i = t.at;
    t.col(0)[i] = f.id;
    t.col(1)[i] = f.ipVersion;
    t.text(2)[i] = f.src;
    t.text(3)[i] = f.dst;
    t.col(4)[i] = f.proto;
    t.col(5)[i] = f.sport;
    t.col(6)[i] = f.dport;
    t.text(7)[i] = f.communityId ?? null;
    t.next();
  }

  addLink(l: LinkEntry): void {
    const t = this.links;
    const i = t.at;
    t.col(0)[i] = l.id;
    t.text(1)[i] = l.src ?? null;
    t.text(2)[i] = l.dst ?? null;
    t.col(3)[i] = l.ethertype;
    t.next();
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

  async addLabels(labels: ReadonlyMap<string, number>, table: 'lbl' | 'pcode' = 'lbl'): Promise<void> {
    const a = await this.db.createAppender(table);
    for (const [name, id] of labels) {
      a.appendInteger(id);
      a.appendVarchar(name);
      a.endRow();
    }
    a.closeSync();
  }

  /**
   * The text columns `columns` of `table` as one ENUM type `type` (their distinct values),
   * unless they have none or too many (then they stay VARCHAR).
   */
  private async enumerate(type: string, table: string, columns: readonly string[]): Promise<void> {
    const values = columns.map((c) => `SELECT ${c} AS v FROM ${table} WHERE ${c} IS NOT NULL`).join(' UNION ');
    const r = await this.db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM (${values})`);
    const n = Number(r.getRows()[0]?.[0] ?? 0);
    if (n === 0 || n > ENUM_MAX_VALUES) return;
    await this.db.run(`CREATE TYPE ${type} AS ENUM (SELECT v FROM (${values}) ORDER BY v)`);
    for (const c of columns) await this.db.run(`ALTER TABLE ${table} ALTER ${c} TYPE ${type}`);
  }

  /**
   * Writes `packets.parquet` and `flows.parquet` into `outDir` (each under a `.partial` name,
   * renamed once whole: a failed export leaves no half file under the final name).
   */
  async write(outDir: string, o: WriteOptions): Promise<WrittenFiles> {
    for (const t of [this.packets, this.matches, this.flows, this.links, this.pathSightings]) t.close();
    await this.db.run(`CREATE TYPE capture_t AS ENUM (${sqlString(o.capture)})`);
    await this.enumerate('node_t', 'src', ['node']);
    await this.enumerate('side_t', 'src', ['side']);
    await this.enumerate('interface_t', 'src', ['interface']);
    await this.enumerate('file_t', 'src', ['file']);
    await this.enumerate('addr_t', 'fl', ['src', 'dst']);
    await this.enumerate('mac_t', 'lk', ['eth_src', 'eth_dst']);
    await this.enumerate('label_t', 'lbl', ['name']);
    await this.enumerate('path_code_t', 'pcode', ['name']);

    const packetsFile = path.join(outDir, 'packets.parquet');
    const flowsFile = path.join(outDir, 'flows.parquet');
    const partnerJoin = o.anySplit ? 'LEFT JOIN src ps ON ps.id = m.psrc LEFT JOIN pk q ON ps.split AND q.src = m.psrc AND q.n = m.pn' : '';
    const partner = o.anySplit ? 'CASE WHEN ps.split THEN q.frame ELSE m.pn END' : 'm.pn';
    // one row per packet: a second row for one packet (its matches not consecutive) is folded
    const matches = o.dedupe
      ? '(SELECT src, n, min(psrc) AS psrc, min(pn) AS pn, min(dir) AS dir, min(delta) AS delta, max(flood) ' +
        'AS flood, sum(copies) AS copies, min(vni) AS vni FROM mt GROUP BY src, n)'
      : 'mt';
    // a record's sightings folded into one: the worst outcome, and the point it was seen at there
    const pathJoin = o.pathRows
      ? 'LEFT JOIN (SELECT src, n, max(outcome) AS outcome, arg_max(point, outcome) AS point FROM ph GROUP BY src, n) h ' +
        'ON h.src = p.src AND h.n = p.n'
      : '';
    const pathCols = o.pathRows === true ? ', h.point AS path_point, h.outcome AS path_outcome' : '';
    // every packet with what the correlator said of it, numbers only
    await this.run(
      'joining the packets with their matches',
      `
      CREATE TABLE pm AS SELECT
        p.src, p.n, p.frame, p.sec::BIGINT * 1000000 + p.usec AS us, p.wire_len, p.cap_len, p.codes,
        coalesce(nullif(p.vni, -1), m.vni) AS vni, p.outer_flow, p.inner_flow, p.link, p.ethertype,
        CASE WHEN s.paired AND (s.side = 'overlay' OR p.codes & 3 = 1) THEN m.n IS NOT NULL END AS matched,
        ${partner} AS partner_frame, m.pn AS partner_n, m.dir, m.delta, m.flood, m.copies${pathCols}
      FROM pk p
      JOIN src s ON s.id = p.src
      LEFT JOIN ${matches} m ON m.src = p.src AND m.n = p.n
      ${partnerJoin}
      ${pathJoin}`,
    );
    await this.db.run('DROP TABLE pk; DROP TABLE mt; DROP TABLE ph');
    const status = `((p.path_outcome >> ${OUTCOME_STATUS_SHIFT}) & 15)`;
    // loss_reason: the branch's code on its last sighting, when it did not complete (status 0 is delivered)
    const pathSelect = o.pathRows
      ? `enum_range(NULL::path_hop_t)[p.path_point + 1] AS path_hop,
        CASE WHEN p.path_outcome & ${OUTCOME_LAST} <> 0 AND ${status} <> 0 THEN pc.name END AS loss_reason,
        enum_range(NULL::path_status_t)[${status} + 1] AS path_status`
      : 'NULL::VARCHAR AS path_hop, NULL::VARCHAR AS loss_reason, NULL::VARCHAR AS path_status';
    const tunnel = (codes: string): string =>
      `CASE ${codes} & 3 WHEN 1 THEN 'vxlan'::tunnel_t WHEN 2 THEN 'geneve'::tunnel_t WHEN 3 THEN 'vxlan-gpe'::tunnel_t END`;
    const packetsSql = `
      SELECT
        ${sqlString(o.capture)}::capture_t AS capture, s.node, s.side, s.interface, s.file,
        p.frame::BIGINT AS frame, p.n::BIGINT AS n,
        make_timestamp(p.us)::TIMESTAMPTZ AS ts,
        p.wire_len::INTEGER AS wire_len, p.cap_len::INTEGER AS cap_len,
        ${tunnel('p.codes')} AS tunnel,
        p.vni,
        fo.src AS outer_src, fo.dst AS outer_dst, fo.proto AS outer_proto,
        nullif(fo.sport, -1) AS outer_sport, nullif(fo.dport, -1) AS outer_dport, fo.community_id AS outer_community_id,
        lk.eth_src AS inner_eth_src, lk.eth_dst AS inner_eth_dst, nullif(lk.ethertype, -1) AS inner_ethertype,
        fi.src AS inner_src, fi.dst AS inner_dst, fi.proto AS inner_proto,
        nullif(fi.sport, -1) AS inner_sport, nullif(fi.dport, -1) AS inner_dport, fi.community_id AS inner_community_id,
        l.name AS protocol,
        p.matched,
        p.partner_frame::BIGINT AS partner_frame,
        p.partner_n::BIGINT AS partner_n,
        CASE p.dir WHEN 0 THEN 'encap'::direction_t WHEN 1 THEN 'decap'::direction_t END AS direction,
        p.delta AS latency_us,
        p.flood = 1 AS flood,
        nullif(p.copies, 0)::INTEGER AS copies,
        ${pathSelect},
        p.codes & ${CODE_MALFORMED} <> 0 AS malformed,
        p.codes & ${CODE_TRUNCATED} <> 0 AS truncated
      FROM pm p
      JOIN src s ON s.id = p.src
      LEFT JOIN fl fo ON fo.id = p.outer_flow
      LEFT JOIN fl fi ON fi.id = p.inner_flow
      LEFT JOIN lk ON lk.id = p.link
      LEFT JOIN lbl l ON l.id = p.codes >> ${CODE_LABEL_SHIFT}
      ${o.pathRows === true ? 'LEFT JOIN pcode pc ON pc.id = p.path_outcome & 65535' : ''}
      ORDER BY p.src, p.n`;
    // Flow rows: the packets grouped by numbers (source, tunnel, VNI, flows, link header where the
    // inner level has no IP, label), then given their text. The MACs are part of a flow only
    // when it has no IP header: a flow with one is grouped by its EtherType alone.
    const byNumbers = `
      SELECT src, codes & 3 AS tunnel, vni, outer_flow, inner_flow, CASE WHEN inner_flow < 0 THEN link ELSE -1 END AS link, ethertype,
        codes >> ${CODE_LABEL_SHIFT} AS label,
        count(*) AS packets, sum(wire_len) AS bytes, min(us) AS first, max(us) AS last, count(*) FILTER (WHERE matched) AS matched
      FROM pm GROUP BY ALL`;
    const withText = `
      SELECT ${sqlString(o.capture)}::capture_t AS capture, s.node, s.side, s.interface, ${tunnel('g.tunnel')} AS tunnel, g.vni,
        fo.src AS outer_src, fo.dst AS outer_dst, fo.proto AS outer_proto,
        nullif(fo.sport, -1) AS outer_sport, nullif(fo.dport, -1) AS outer_dport, fo.community_id AS outer_community_id,
        lk.eth_src AS inner_eth_src, lk.eth_dst AS inner_eth_dst, nullif(g.ethertype, -1) AS inner_ethertype,
        fi.src AS inner_src, fi.dst AS inner_dst, fi.proto AS inner_proto,
        nullif(fi.sport, -1) AS inner_sport, nullif(fi.dport, -1) AS inner_dport, fi.community_id AS inner_community_id,
        l.name AS protocol, g.packets, g.bytes, g.first, g.last, g.matched
      FROM (${byNumbers}) g
      JOIN src s ON s.id = g.src
      LEFT JOIN fl fo ON fo.id = g.outer_flow
      LEFT JOIN fl fi ON fi.id = g.inner_flow
      LEFT JOIN lk ON lk.id = g.link
      LEFT JOIN lbl l ON l.id = g.label`;
    // a flow with two numbers (a table started afresh) is one flow row again
    const grouped = o.renumbered
      ? 'SELECT * EXCLUDE (packets, bytes, first, last, matched), sum(packets) AS packets, sum(bytes) ' +
        'AS bytes, min(first) AS first, max(last) AS last, sum(matched) AS matched FROM ' +
        `(${withText}) GROUP BY ALL`
      : withText;
    const flowsSql = `
      SELECT * EXCLUDE (packets, bytes, first, last, matched),
        packets::BIGINT AS packets, bytes::BIGINT AS bytes,
        make_timestamp(first)::TIMESTAMPTZ AS first, make_timestamp(last)::TIMESTAMPTZ AS last, matched::BIGINT AS matched
      FROM (${grouped})
      ORDER BY node, side, first, packets DESC,
        -- flows that tie on all of the above: the same order every run
        interface, tunnel, vni, outer_src, outer_dst, outer_proto, outer_sport, outer_dport,
        inner_eth_src, inner_eth_dst, inner_ethertype, inner_src, inner_dst, inner_proto, inner_sport, inner_dport, protocol`;
    const copy = (sql: string, file: string): Promise<number> =>
      this.withRoom(`writing ${file}`, async () => {
        const partial = `${file}.partial`;
        try {
          const r = await this.db.run(`COPY (${sql}) TO ${sqlString(partial)} (FORMAT parquet, COMPRESSION zstd)`);
          const rows = Number(r.rowsChanged);
          await rename(partial, file);
          return rows;
        } catch (err) {
          rmSync(partial, { force: true });
          throw err;
        }
      });
    const packetRows = await copy(packetsSql, packetsFile);
    const flowRows = await copy(flowsSql, flowsFile);
    return { packets: packetsFile, flows: flowsFile, packetRows, flowRows };
  }

  private async run(what: string, sql: string): Promise<void> {
    await this.withRoom(what, async () => {
      await this.db.run(sql);
    });
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
