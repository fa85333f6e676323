/**
 * What the class dashboard's API answers (`GET /api/class`, the events of `/api/class/events`):
 * plain JSON shapes that import nothing, so the browser's program (tsconfig.client.json, rooted
 * at src/web) can import them without pulling in the server. The server builds them from the
 * class check's own types (src/class/types.ts) in src/web/class/board.ts, which states that
 * those stay assignable to these: a field renamed there fails the server's build.
 */

/** A cell's verdict: the checks' pass / warn / fail, and `error` when the check could not run. */
export type ClassCellStatus = 'pass' | 'warn' | 'fail' | 'error';

export interface ClassCellView {
  status: ClassCellStatus;
  /** One line: which node, what is wrong (or what passed). */
  detail: string;
}

/** A column of the grid: one check, by its name and its short header (as `check --class` prints it). */
export interface ClassColumn {
  name: string;
  short: string;
}

/** Traffic through one VNI's VXLAN devices, summed over the group's nodes. */
export interface VniRateView {
  vni: number;
  /** Packets received from the tunnel / sent into it, counted by the kernel since the devices were made. */
  rxPackets: number;
  txPackets: number;
  /** Packets per second since the previous check; null on the first check, or when the counters went back (device re-created). */
  rxPerSec: number | null;
  txPerSec: number | null;
}

/** The latest check of a group, without the per-node detail the grid does not show. */
export interface GroupCheckView {
  status: ClassCellStatus;
  /** When the check started (ISO 8601). */
  checkedAt: string;
  durationMs: number;
  cells: Record<string, ClassCellView>;
  /** Why the group has no verdict (deadline passed, unexpected failure). */
  error?: string;
}

export interface ClassGroupRow {
  group: string;
  nodes: { name: string; host: string }[];
  /** A check of this group is running now. */
  checking: boolean;
  /** The latest check, or null before the first one ended. */
  last: GroupCheckView | null;
  /** Per VNI, in VNI order (empty before the first check, or when no VXLAN device was read). */
  vnis: VniRateView[];
}

export interface ClassBoardResponse {
  /** The class inventory served. */
  source: string;
  /** Each group is checked again this long after its previous check ended. */
  refreshSec: number;
  /** SSH sessions in flight at most. */
  parallel: number;
  /** The server's clock (ISO 8601), so the page can say "checked N s ago" whatever its own clock says. */
  now: string;
  columns: ClassColumn[];
  /** In the class file's order. */
  groups: ClassGroupRow[];
}

/** `GET /api/class/groups/:name/view`: the group's own page (the single-overlay view), on its own port of this host. */
export interface ClassGroupViewResponse {
  group: string;
  port: number;
}

/** `POST /api/class/groups/:name/check`. */
export interface ClassCheckNowResponse {
  group: string;
  /** `started`: a check began now; `running`: one was already running (its result comes as an event). */
  state: 'started' | 'queued' | 'running';
}

/** The server-sent events of `/api/class/events`. */
export interface ClassEvents {
  /** First, on every connection: the whole board. */
  hello: ClassBoardResponse;
  /** A group's check started. */
  checking: { group: string; now: string };
  /** A group's check ended: its row, and the columns (which grow as the first checks end). */
  group: { row: ClassGroupRow; columns: ClassColumn[]; now: string };
}
