/**
 * What the web API answers, in one place: the routes (src/web/routes/) type their answers with
 * these, and the page (src/web/client/) imports them with `import type`, so an API change fails
 * the build on both sides. Plain JSON shapes only: this module imports nothing, so the browser's
 * program (tsconfig.client.json) does not pull in the server.
 *
 * The server's own types (NodeAnalysis in analysis.ts, CaptureSummary in store.ts…) must stay
 * assignable to these: the routes assign them, so a field removed or retyped there fails the
 * server's build.
 */

/** Every error: a stable code (src/errors.ts, src/web/errors.ts) and a message for people. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

export type Side = 'underlay' | 'overlay';

/** How a node's captures were paired (src/analysis/sides.ts PairRule). */
export type PairRule = 'session.json' | 'explicit' | 'pcapng interfaces' | 'cooked interfaces' | 'file names';

export interface CaptureSummary {
  id: string;
  name: string;
  node: string;
  role: Side;
  iface: string | null;
  packets: number;
  bytes: number;
  fileSize: number;
  format: string | null;
  firstTsUs: number;
  lastTsUs: number;
  tunnelled: number;
  uploaded: boolean;
  live: boolean;
  warnings: string[];
  error: string | null;
}

export interface VniRow {
  packets: number;
  bytes: number;
  matched: number;
  underlayOnly: number;
}

export interface VtepPairRow {
  src: string;
  dst: string;
  vni: number;
  packets: number;
  bytes: number;
  matched: number;
}

export interface UnmatchedEntry {
  n: number;
  reason: string;
  code: string;
}

/** A node's figures, all from its one analysis (src/web/analysis.ts). */
export interface NodeAnalysis {
  node: string;
  pairedBy: PairRule | null;
  correlated: boolean;
  disjoint: boolean;
  matched: number;
  underlayOnly: number;
  overlayOnly: number;
  vxlanPackets: number;
  underlayNotTunnelled: number;
  floodedFrames: number;
  /** Null when nothing matched: shown as "–", never "0 µs". */
  latencyUs: { p50: number; p99: number; max: number } | null;
  byVni: Record<string, VniRow>;
  byVtepPair: VtepPairRow[];
  unmatchedUnderlay: UnmatchedEntry[];
  unmatchedOverlay: UnmatchedEntry[];
  encapsulated: number;
  decapsulated: number;
  localVtep: string | null;
  /** Null without a tunnelled packet: shown as "–". */
  overhead: { packets: number; bytes: number; perPacket: number; percent: number } | null;
}

export interface Diagnostic {
  severity: 'info' | 'warning' | 'error';
  title: string;
  detail: string;
  code?: string;
  count?: number;
  packets?: number[];
  node?: string;
  side?: Side;
}

export interface LiveCaptureStatus {
  id: string;
  node: string;
  interfaces: string[];
  running: boolean;
  startedAt: string;
  outDir?: string;
  errors: string[];
}

export interface NodeEntry {
  name: string;
  clockOffsetUs: number;
  underlay: CaptureSummary | null;
  overlay: CaptureSummary | null;
  analysis: NodeAnalysis | null;
}

/** GET /api/session */
export interface SessionResponse {
  nodes: NodeEntry[];
  captures: CaptureSummary[];
  problems: string[];
  live: boolean;
  liveNodes: string[];
  liveCaptures: LiveCaptureStatus[];
  uploadLimitBytes: number;
  filterHelp: string;
  banner: string | null;
  tokenHeader: string;
}

export interface SeriesGroup {
  packetsPerSec: number[];
  bytesPerSec: number[];
  packets: number;
  bytes: number;
}

/** GET /api/nodes/:node/series: one time axis for every node of the session. */
export interface SeriesResponse {
  node: string;
  t0Us: number;
  binUs: number;
  bins: number;
  sides: Record<string, { groups: Record<string, SeriesGroup> }>;
}

export interface TopologyHost {
  mac: string;
  ips: string[];
}

export interface TopologyVni {
  vni: number;
  packets: number;
  bytes: number;
  macs: string[];
  ips: string[];
  hosts: TopologyHost[];
}

export interface TopologyVtep {
  ip: string;
  seenBy: string[];
  vnis: TopologyVni[];
  ports: number[];
  peers: string[];
  packets: number;
  bytes: number;
}

export interface FdbEntry {
  mac: string;
  vtep: string;
  vni: number;
  ips: string[];
  packets: number;
  firstTsUs: number;
  lastTsUs: number;
}

/** The session's topology (src/web/analysis.ts pageTopology). */
export interface PageTopology {
  vteps: TopologyVtep[];
  fdb: FdbEntry[];
  packets: number;
  vxlanPackets: number;
}

/** GET /api/topology */
export interface TopologyResponse extends PageTopology {
  /** VTEP address → the node it belongs to. */
  localOf: Record<string, string>;
  nodes: { name: string; underlay: string | null; overlay: string | null }[];
}

/** GET /api/diagnostics */
export interface DiagnosticsResponse {
  diagnostics: Diagnostic[];
}

/** GET /api/nodes/:node/report.json */
export interface NodeReport {
  node: string;
  underlay: CaptureSummary | null;
  overlay: CaptureSummary | null;
  correlation: NodeAnalysis | null;
  diagnostics: Diagnostic[];
  topology: PageTopology;
}

export interface PacketRow {
  n: number;
  frame: number;
  time: string;
  tsUs: number;
  len: number;
  caplen: number;
  vni: number | null;
  proto: string;
  summary: string;
  match: number | null;
  flags: string[];
}

/** GET /api/captures/:id/packets */
export interface PacketPage {
  captureId: string;
  total: number;
  all: number;
  offset: number;
  filter: string;
  rows: PacketRow[];
}

/** GET /api/captures/:id/position/:n */
export interface PositionResponse {
  n: number;
  /** 0-based row in the filtered list, or null when the filter hides it. */
  position: number | null;
}

/** One field of a layer, with its bytes in the frame (src/decode/format/fields.ts). */
export interface FieldView {
  name: string;
  /** Offset in the frame of its first byte, and how many bytes it spans. */
  offset: number;
  length: number;
  value: string;
  explain: string;
}

/** One layer as the page draws it: where it is, what to call it, its fields. */
export interface LayerView {
  type: string;
  /** "Ethernet", "VXLAN"… */
  name: string;
  offset: number;
  length: number;
  depth: number;
  /** " · VNI 10", " · 10.0.0.1 → 10.0.0.2"…, or "". */
  describe: string;
  /** One sentence about the layer as a whole, or "". */
  note: string;
  fields: FieldView[];
}

/** The decoded frame as the page shows it. */
export interface FrameView {
  len: number;
  caplen: number;
  truncated: boolean;
  warnings: string[];
  error: { layer: string; offset: number; message: string } | null;
  /** Whether a tunnel header (VXLAN, GENEVE, VXLAN-GPE) is in it. */
  tunnelled: boolean;
  layers: LayerView[];
}

export interface PacketView {
  capture: { id: string; name: string; role: string; node: string };
  n: number;
  time: string;
  summary: string;
  /** The `decode --json` object of the packet. */
  packet: { [key: string]: unknown };
  frame: FrameView;
  hex: string;
}

export type MatchDirection = 'encap' | 'decap';

/** GET /api/captures/:id/packets/:n */
export interface PacketDetail extends PacketView {
  match: (PacketView & { deltaUs: number; direction: MatchDirection }) | null;
  unmatched: string | null;
  copies: { n: number; vtep: string }[];
}

/** POST /api/captures */
export interface UploadResponse {
  capture: CaptureSummary;
  node: string;
}

/** POST /api/captures/live and POST /api/captures/live/:id/stop */
export interface LiveResponse {
  id: string;
  status: LiveCaptureStatus | null;
}

/** Server-sent events on GET /api/events. */
export interface LiveStartEvent {
  id: string;
  node: string;
  interfaces: { iface: string; role: Side }[];
  outDir: string;
  via: string;
}

export interface LiveStatsEvent {
  id: string;
  node: string;
  iface: string;
  packets: number;
  bytes: number;
  vxlanPackets: number;
  packetsPerSec: number;
  elapsedSec: number;
  fileBytes: number;
  captureId: string | null;
}

export interface LiveErrorEvent {
  id: string;
  node: string;
  iface: string | null;
  message: string;
}

export interface LiveEndEvent {
  id: string;
  node: string;
  ok: boolean;
  reason: string;
  errors: string[];
  outDir: string;
}

export interface ServerEvents {
  hello: { captures: number };
  update: CaptureSummary;
  'live-start': LiveStartEvent;
  'live-stats': LiveStatsEvent;
  'live-error': LiveErrorEvent;
  'live-end': LiveEndEvent;
}

/** The four capture points of a frame's path, in the order it passes them (src/analysis/path/types.ts). */
export type PathPointName = 'srcBridge' | 'srcUnderlay' | 'dstUnderlay' | 'dstBridge';
/** The three hops between them. */
export type PathHopName = 'encapsulation' | 'underlay' | 'decapsulation';
export type PathStatusName = 'delivered' | 'not-encapsulated' | 'lost-underlay' | 'not-decapsulated' | 'misdirected' | 'not-captured';

export interface PathLatency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** One sighting of a frame: the file's record number, and where the page shows it (packet n of capture id). */
export interface PathSightingView {
  node: string;
  file: string;
  /** Record number in the file (what `decode`, Wireshark and `path --frame` number). */
  frame: number;
  tsUs: number;
  refUs: number;
  /** The capture and packet number the Packets view shows it as; null when the store does not serve that side. */
  packet: { captureId: string; side: Side; n: number } | null;
}

export interface PathBranchView {
  src: string;
  dst: string;
  vni: number | null;
  vtepSrc?: string;
  vtepDst?: string;
  udpPort?: number;
  flood: boolean;
  sightings: Partial<Record<PathPointName, PathSightingView>>;
  hopsUs: Partial<Record<PathHopName, number>>;
  status: PathStatusName;
  start: 'bridge' | 'vxlan-device' | 'source-bridge-missed' | 'source-underlay-missed' | 'source-not-captured';
  loss: boolean;
  lastSeen: PathPointName | null;
  code: string;
  reason: string;
  checksumOffload: boolean;
  notes: string[];
}

/** Per direction (source node → destination node) and VNI. */
export interface PathGroupView {
  src: string;
  dst: string;
  vni: number | null;
  sent: number;
  delivered: number;
  seen: Record<PathPointName, number>;
  lost: number;
  /** Losses by hop, each by reason code; `delivery`: decapsulated at the wrong node. */
  lostAt: Record<PathHopName | 'delivery', Record<string, number>>;
  notCaptured: Record<string, number>;
  checksumOffload: number;
  fromVxlanDevice: number;
  sourceBridgeMissed: number;
  sourceUnderlayMissed: number;
  flooded: number;
  latencyUs: Record<PathHopName, PathLatency>;
  negativeUnderlay: number;
}

export interface PathNodeView {
  name: string;
  underlay: string;
  overlay: string;
  clockOffsetUs: number;
  overlayClockOffsetUs: number;
  vtep: string | null;
  vtepFrom: 'given' | 'inferred' | 'deduced' | 'unknown';
  sends: { vni: number; port: number; packets: number }[];
  decapsulates: number[];
  localFrames: number;
  arrivedUnseen: number;
  thirdParty: number;
  /** The captures the page serves for this node (ids for the Packets view). */
  captures: { underlay: string | null; overlay: string | null };
}

/** GET /api/path: the session's path report (as `vxlan-inspect path DIR --json` gives it). */
export interface PathResponse {
  /** False when the session has fewer than two nodes with both sides captured: `reason` says what is missing. */
  available: boolean;
  reason: string | null;
  windowUs: number;
  nodes: PathNodeView[];
  paths: PathGroupView[];
  totals: { sent: number; delivered: number; lost: number; notCaptured: number; checksumOffload: number };
  /** The first branches that did not complete (all are counted in `paths`). */
  incomplete: PathBranchView[];
  listsCapped: boolean;
  notes: string[];
  inputErrors: { node: string; side: Side; message: string }[];
  /** Each node's recorded overlay configuration, compared with the traffic (empty lists without a recorded configuration). */
  config: PathConfigComparison;
}

/** GET /api/path/frame?node=&side=&n=: one frame's journey, every branch it is a sighting of. */
export interface PathFrameResponse {
  /** The frame asked for: packet n of the node's side as the Packets view numbers it, and its record number in the file. */
  ref: { node: string; side: Side; n: number; frame: number };
  file: string;
  branches: PathFrameBranchView[];
  /** Why no branch was found (the frame is not a VXLAN packet or Ethernet frame that crossed), else null. */
  note: string | null;
}

/**
 * A sighting's bytes as the packet detail draws them (src/web/packets.ts frameView: each layer's
 * fields with their byte ranges, built on the server), for the byte view at each hop.
 */
export interface PathSightingBytes {
  /** The one-line summary the packet list shows. */
  summary: string;
  frame: FrameView;
  hex: string;
}

/** A branch of one frame's journey (GET /api/path/frame): the report's branch, and the bytes of each sighting the page serves. */
export interface PathFrameBranchView extends PathBranchView {
  bytes: Partial<Record<PathPointName, PathSightingBytes>>;
}

/** A node's overlay configuration as recorded over SSH (session.json `nodes[].config`), in the form the path report shows (NodeConfigView there). */
export interface PathConfigNodeView {
  node: string;
  /** When and by which command it was recorded; null when the session holds no configuration for the node. */
  recordedAt: string | null;
  recordedBy: 'capture' | 'check' | null;
  /** The VXLAN device: name, VNI, UDP port, local address, multicast group or unicast remote, underlay device, MTU. */
  vxlan: {
    device: string;
    vni: number;
    port: number;
    local: string | null;
    group: string | null;
    remote: string | null;
    dev: string | null;
    mtu: number;
    up: boolean;
  } | null;
  bridge: { name: string; mtu: number; up: boolean } | null;
  underlay: { name: string; mtu: number; addresses: string[] } | null;
  /** Flood entries (00:00:00:00:00:00) and unicast entries of the VXLAN device. */
  fdb: { mac: string; dst: string | null; flood: boolean; permanent: boolean }[];
  /** What the node's packet filter does with the VXLAN port, in words (firewalld zone/ports/masquerade, nftables rules), when known. */
  firewall: string[];
  /** Why the configuration could not be read, when it could not (recordedAt/By say when it was tried). */
  error?: string;
  /** The node's other VXLAN devices (not the one on its bridge), in the same form. */
  otherVxlan?: NonNullable<PathConfigNodeView['vxlan']>[];
}

/** A disagreement between configuration and traffic, or between two nodes' configurations (ConfigFinding in the path report). */
export interface PathConfigFinding {
  /**
   * Machine code: vtep-missing-from-flood-list, fdb-to-silent-vtep, fdb-stale-after-move, group-mismatch,
   * port-mismatch, vni-mismatch, mtu-too-small, firewall-drops-port, … (README lists them all).
   */
  code: string;
  severity: 'fail' | 'warn' | 'info';
  /** The nodes it concerns. */
  nodes: string[];
  message: string;
  /** The facts it rests on: from the recorded configuration, and from the traffic. */
  evidence: { config: string[]; traffic: string[] };
}

export interface PathConfigComparison {
  nodes: PathConfigNodeView[];
  findings: PathConfigFinding[];
}
