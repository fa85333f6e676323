/**
 * The path columns of the packet rows (`path_hop`, `path_status`, `loss_reason`): `path`'s own
 * second run (analysis/path.ts followPaths) over the same folder, its joiner telling every
 * sighting of every branch as it decides the branch (PathOptions.onSighting). Nothing is
 * recomputed here: the point a record was seen at, the branch's status and code are path's.
 * Each sighting becomes one staged row of numbers (stage.ts `ph`); DuckDB folds a record's
 * sightings into one (a flooded frame is a sighting of one branch per VTEP) and joins them with
 * the packet rows by (source, n) — path's pass numbers a side's packets as export's pass does.
 *
 * A folder path cannot follow (one node, a node with one side, two nodes with one VTEP): the
 * columns stay NULL and export.json says why, in path's words.
 */
import { type PathNodeInput, type PathPoint, type PathStatus, followPaths, pathInputsFromDir } from '../analysis/path.js';
import type { Side, SideSource } from '../analysis/sides.js';
import type { DecoderRegistry } from '../decode/registry.js';
import { isVxiError } from '../errors.js';
import type { ExportNode } from './nodes.js';
import type { ChunkTable } from './stage.js';

/** `path_status` values, by their number in the staged rows. */
export const PATH_STATUSES: readonly PathStatus[] = [
  'delivered',
  'not-captured',
  'not-encapsulated',
  'lost-underlay',
  'not-decapsulated',
  'misdirected',
];
/** `path_hop` values (path's four capture points, its own names), by their number in the staged rows. */
export const PATH_POINT_NAMES: readonly PathPoint[] = ['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge'];

/**
 * `ph.outcome`, one integer a record's sightings are folded by (max): the code's number in bits
 * 0–15, the status in 16–19, "last sighting of its branch" bit 20, the rank in 21–22 (a loss 2,
 * not captured 1, delivered 0). A record seen on several branches thus shows the worst outcome,
 * and where one of them stopped at it, that one.
 */
export const OUTCOME_STATUS_SHIFT = 16;
export const OUTCOME_LAST = 1 << 20;
const RANK_SHIFT = 21;

const STATUS_NUMBER = new Map<PathStatus, number>(PATH_STATUSES.map((s, i) => [s, i]));
const POINT_NUMBER = new Map<PathPoint, number>(PATH_POINT_NAMES.map((p, i) => [p, i]));

/** What export.json says of the path columns. */
export interface PathColumnsSummary {
  /** path ran and its sightings fill the columns. */
  followed: boolean;
  /** Why not (path's own words), when it did not run. */
  why?: string;
  /** Branches path decided (the sum of `path --json` paths[].sent), and sightings staged. */
  branches?: number;
  sightings?: number;
  /** Nodes path followed, and what it noted (a VTEP it could not tell…). */
  nodes?: string[];
  notes?: string[];
  seconds?: { wall: number; cpu: number };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function sameSource(a: SideSource | undefined, b: SideSource): boolean {
  return a !== undefined && a.path === b.path && JSON.stringify(a.select) === JSON.stringify(b.select);
}

export interface PathRowsInput {
  /** The capture folder, when export was given one (its session.json gives clock offsets and configuration). */
  dir: string | undefined;
  /** Export's nodes, in the order their sources are numbered (node k: underlay 2k, bridge 2k + 1). */
  nodes: readonly ExportNode[];
  registry: DecoderRegistry;
  vxlanPorts: number[];
  windowUs: number;
  /** Staged rows: src, n, point, outcome (stage.ts PH). */
  table: ChunkTable;
  /** The number of a code (the staged rows carry numbers; stage.ts writes the names). */
  codeId: (code: string) => number;
}

/** Runs path over the export's nodes and stages every sighting; says why not when path cannot follow them. */
export async function stagePathRows(input: PathRowsInput): Promise<PathColumnsSummary> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let inputs: PathNodeInput[];
  let ports: number[];
  let notes: string[];
  try {
    // path's own pairing: the folder's (its session.json), or export's nodes named one by one
    const explicit = input.dir
      ? undefined
      : input.nodes
          .filter((n) => n.pairing.underlay && n.pairing.overlay)
          .map((n) => {
            const u = n.pairing.underlay as SideSource;
            const o = n.pairing.overlay as SideSource;
            return { name: n.pairing.node, files: (u.path === o.path ? [u.path] : [u.path, o.path]) as [string] | [string, string] };
          });
    const found = await pathInputsFromDir(input.dir, { registry: input.registry, ...(explicit ? { explicit } : {}) });
    inputs = found.inputs;
    ports = [...new Set([...input.vxlanPorts, ...found.vxlanPorts])];
    notes = found.notes;
  } catch (err) {
    // path's own refusal (one node, a node with one side…): its words; anything else is a fault
    if (isVxiError(err)) return { followed: false, why: err.message };
    throw err;
  }
  // path's node i → export's source numbers, for the nodes whose files export reads the same way
  const srcOf: Int32Array[] = inputs.map((p) => {
    const k = input.nodes.findIndex((n) => n.pairing.node === p.name);
    const e = input.nodes[k];
    const ok = e !== undefined && sameSource(e.pairing.underlay, p.underlay) && sameSource(e.pairing.overlay, p.overlay);
    if (!ok) notes.push(`node ${p.name}: path pairs its files otherwise than export does; its rows' path columns stay empty`);
    return Int32Array.of(ok ? 2 * k : -1, ok ? 2 * k + 1 : -1);
  });
  const t = input.table;
  const cSrc = t.col(0),
    cN = t.col(1),
    cPoint = t.col(2),
    cOutcome = t.col(3);
  let sightings = 0;
  // the last code looked up: a run of branches mostly shares one (delivered)
  let lastCode = '';
  let lastCodeId = -1;
  const onSighting = (node: number, side: Side, n: number, point: PathPoint, status: PathStatus, code: string, last: boolean): void => {
    const src = srcOf[node]?.[side === 'underlay' ? 0 : 1] ?? -1;
    if (src < 0) return;
    if (code !== lastCode) {
      lastCode = code;
      lastCodeId = input.codeId(code);
    }
    const s = STATUS_NUMBER.get(status) ?? 0;
    const rank = status === 'delivered' ? 0 : status === 'not-captured' ? 1 : 2;
    const i = t.at;
    cSrc[i] = src;
    cN[i] = n;
    cPoint[i] = POINT_NUMBER.get(point) ?? 0;
    cOutcome[i] = (rank << RANK_SHIFT) | (last ? OUTCOME_LAST : 0) | (s << OUTCOME_STATUS_SHIFT) | lastCodeId;
    t.next();
    sightings++;
  };
  try {
    const report = await followPaths(inputs, {
      registry: input.registry,
      vxlanPorts: ports,
      windowUs: input.windowUs,
      maxListed: 0,
      onSighting,
    });
    notes.push(...report.notes);
    return {
      followed: true,
      branches: report.totals.sent,
      sightings,
      nodes: inputs.map((p) => p.name),
      notes,
      seconds: { wall: round3((performance.now() - t0) / 1000), cpu: round3(cpuSince(c0)) },
    };
  } catch (err) {
    // path refuses the session (two nodes with one VTEP…): its words, and the columns stay empty
    if (isVxiError(err) && sightings === 0) return { followed: false, why: err.message };
    throw err;
  }
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}
