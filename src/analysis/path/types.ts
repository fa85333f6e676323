/**
 * A frame's path across nodes: the inputs, the four capture points, and the report.
 *
 *   source bridge ──encapsulation──▶ source underlay ──underlay──▶ destination underlay ──decapsulation──▶ destination bridge
 *   (vxlan_bridge)                    (eth1, VXLAN)                  (eth1, VXLAN)                           (vxlan_bridge)
 *
 * One inner frame leaving a node is one branch per destination VTEP (a flooded frame, head-end
 * replication, has one branch per VTEP it was sent to).
 */
import type { OverlayConfigRecord } from '../../capture/session-file.js';
import type { LatencySummary } from '../../correlate/latency.js';
import type { DecoderRegistry } from '../../decode/registry.js';
import type { Side, SideSource } from '../sides.js';
import type { PathConfigComparison, PathConfigFinding, PathConfigNodeView } from '../../web/api-types.js';

export interface PathNodeInput {
  name: string;
  underlay: SideSource;
  overlay: SideSource;
  /** How far this node's clock is ahead of the reference clock, µs (session.json): subtracted from its timestamps. */
  clockOffsetUs?: number;
  /** Added to the bridge capture's timestamps on top, to line it up with the underlay's (normally 0). */
  overlayClockOffsetUs?: number;
  /** The node's VTEP (its underlay address), when known; otherwise inferred from its traffic. */
  vtep?: string;
  /** The node's overlay configuration as recorded at capture or check time (session.json nodes[].config). */
  config?: OverlayConfigRecord;
  /**
   * When each capture surely ran, on the node's clock, µs (session.json: from tcpdump's "listening
   * on" to the stop request). A capture's first and last frames say less: a frame lost at the end
   * of a quiet capture would otherwise look as if it came after the capture that would have seen it.
   */
  captureWindowUs?: { underlay?: [number, number]; overlay?: [number, number] };
}

/** A frame of one capture: node, side and its record number in the file (what Wireshark and `decode` number). */
export interface FrameRef {
  node: string;
  side: Side;
  frame: number;
}

export interface PathOptions {
  /**
   * Largest time between two sightings of a frame, µs (default 1 s): between a node's bridge and
   * underlay (the correlator's window), and between the two underlays once the clock offsets are applied.
   */
  windowUs?: number;
  /** Extra UDP ports decoded as VXLAN (4789 and 8472 always are). */
  vxlanPorts?: number[];
  registry?: DecoderRegistry;
  /** Incomplete paths listed in the report at most (default 1,000; all are counted). */
  maxListed?: number;
  /** Report the whole journey of this frame (every branch it is a sighting of). */
  follow?: FrameRef;
  signal?: AbortSignal;
  /** Told every sighting of every branch as the branch is decided (`export` fills its rows' path columns from it). */
  onSighting?: PathSightingHook;
}

/**
 * One sighting of a decided branch: the record (node index in the inputs, side, its number among
 * the side's packets, as the pass numbers them), the point it was seen at, the branch's status
 * and code, and whether it is the branch's last sighting (where an incomplete branch stopped).
 * Called as each branch is decided, in no particular order of records; a record can be a sighting
 * of several branches (a flooded frame, one branch per VTEP). Nothing is kept for it.
 */
export type PathSightingHook = (
  node: number,
  side: Side,
  n: number,
  point: PathPoint,
  status: PathStatus,
  code: string,
  last: boolean,
) => void;

/** The four capture points, in the order a frame passes them. */
export type PathPoint = 'srcBridge' | 'srcUnderlay' | 'dstUnderlay' | 'dstBridge';
export const PATH_POINTS: readonly PathPoint[] = ['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge'];

/** The three hops between them. */
export type PathHop = 'encapsulation' | 'underlay' | 'decapsulation';

export interface PathSighting {
  node: string;
  /** The capture file (as named in the session) and the frame's record number in it. */
  file: string;
  frame: number;
  /** Time on the node's own clock (the capture's timestamp; the bridge side's overlay offset added), µs. */
  tsUs: number;
  /** Time on the reference clock (the node's clock offset taken off), µs. */
  refUs: number;
}

/**
 * How a branch ended:
 *  - delivered: seen on the destination bridge (decapsulated);
 *  - not-encapsulated: seen on the source bridge only;
 *  - lost-underlay: left the source underlay, never seen on the destination's;
 *  - not-decapsulated: arrived on the destination underlay, never on its bridge;
 *  - misdirected: sent to a VTEP its destination MAC does not live behind (a stale FDB entry);
 *  - not-captured: a capture that would have seen the next hop does not cover it (a VTEP not
 *    captured, a capture that started later or stopped earlier): not a loss.
 */
export type PathStatus = 'delivered' | 'not-encapsulated' | 'lost-underlay' | 'not-decapsulated' | 'misdirected' | 'not-captured';

export interface PathBranch {
  /** Source and destination node names (a VTEP not captured is named `VTEP <address>`). */
  src: string;
  dst: string;
  /** VXLAN network identifier (null for a frame never encapsulated). */
  vni: number | null;
  vtepSrc?: string;
  vtepDst?: string;
  udpPort?: number;
  /** The bridge frame was sent to several VTEPs (BUM traffic, head-end replication): this is one branch. */
  flood: boolean;
  sightings: Partial<Record<PathPoint, PathSighting>>;
  /** Per-hop times, µs: encapsulation and decapsulation on one node's clock, the underlay crossing one way on the reference clock. */
  hopsUs: Partial<Record<PathHop, number>>;
  status: PathStatus;
  /**
   * Where the branch was first seen: on the source bridge (the usual case); on the source underlay
   * because the VXLAN device sent it itself (IPv6 MLD, RS, DAD: normal) or because its bridge
   * sighting was not found; on the destination underlay because the source's capture missed it,
   * or because the source VTEP is not captured.
   */
  start: 'bridge' | 'vxlan-device' | 'source-bridge-missed' | 'source-underlay-missed' | 'source-not-captured';
  /** The frame is lost (not-encapsulated, lost-underlay, not-decapsulated, misdirected). */
  loss: boolean;
  /** The last point it was seen at. */
  lastSeen: PathPoint | null;
  /** Machine code of the reason (the correlator's codes where it decided, else this module's). */
  code: string;
  /** Where it stopped and why, from the evidence, in words. */
  reason: string;
  /** The TCP/UDP checksum differs between sightings: checksum offload on the sender ("bad udp cksum"), not a loss. */
  checksumOffload: boolean;
  /** Facts worth saying that do not change the outcome (the path started on the underlay, checksum offload…). */
  notes: string[];
}

export interface PathGroup {
  src: string;
  dst: string;
  vni: number | null;
  /** Branches that started here (a flooded frame counts once per destination). */
  sent: number;
  delivered: number;
  /** Branches seen at each point. */
  seen: Record<PathPoint, number>;
  /** Lost branches. */
  lost: number;
  /** Losses by hop, each by reason code. `delivery`: decapsulated at the wrong node (misdirected). */
  lostAt: Record<PathHop | 'delivery', Record<string, number>>;
  /** Incomplete branches that are not losses (a capture did not cover the next hop), by reason code. */
  notCaptured: Record<string, number>;
  /** Branches whose checksum differs between sightings (offload): all counted as they are, none as lost. */
  checksumOffload: number;
  /** Branches that started on the underlay: the VXLAN device's own traffic (IPv6 MLD, RS, DAD), which never crosses the bridge. */
  fromVxlanDevice: number;
  /** Branches that started on the underlay for another reason (the source bridge sighting was not found). */
  sourceBridgeMissed: number;
  /** Branches first seen on the destination underlay: the source's underlay capture did not see them. */
  sourceUnderlayMissed: number;
  flooded: number;
  /** Per-hop latency over the branches that have both sightings of the hop. */
  latencyUs: Record<PathHop, LatencySummary>;
  /** Underlay crossings that came out negative (clock offsets not given or not precise enough): counted as 0 in the latency. */
  negativeUnderlay: number;
}

export interface PathNodeInfo {
  name: string;
  underlay: string;
  overlay: string;
  clockOffsetUs: number;
  overlayClockOffsetUs: number;
  /** The node's VTEP and how it is known. */
  vtep: string | null;
  /** given (--vtep), inferred (its traffic), deduced (the others' traffic, or its recorded configuration when the traffic did not tell: a note says so). */
  vtepFrom: 'given' | 'inferred' | 'deduced' | 'unknown';
  /** VNIs and UDP ports this node sends with (its VXLAN device's id and dstport, from traffic). */
  sends: { vni: number; port: number; packets: number }[];
  /** VNIs this node decapsulates onto its bridge (from traffic). */
  decapsulates: number[];
  /** Bridge frames that stayed on the node (guest ↔ bridge, local guests): not paths. */
  localFrames: number;
  /** Bridge frames that arrived from another VTEP but were not seen on this node's underlay. */
  arrivedUnseen: number;
  /** Underlay VXLAN packets between two other VTEPs (a mirrored port, a hub): not this node's paths. */
  thirdParty: number;
}

export interface PathReport {
  windowUs: number;
  nodes: PathNodeInfo[];
  /** Per direction (source node → destination node) and VNI. */
  paths: PathGroup[];
  totals: { sent: number; delivered: number; lost: number; notCaptured: number; checksumOffload: number };
  /** The first `maxListed` branches that did not complete, with where and why. */
  incomplete: PathBranch[];
  listsCapped: boolean;
  /** The journey of the frame asked for (`follow`). */
  followed?: { ref: FrameRef; file: string; branches: PathBranch[]; note?: string };
  /** Things the user should know (a VTEP that could not be told, a damaged file…). */
  notes: string[];
  inputErrors: { node: string; side: Side; message: string }[];
  /** Bounded-memory bookkeeping: the most records held at once, and decisions taken early because a cap was reached. */
  work: { peakHeld: number; forced: number; lateLinks: number };
  /** Each node's overlay configuration as recorded at capture/check time (session.json), compared with the traffic. */
  config: ConfigComparison;
}

/**
 * The recorded configuration as the report shows it, and its findings: the page receives exactly
 * these, so they are defined once where the browser build can read them (src/web/api-types.ts,
 * which imports nothing) and named here as the analysis names them.
 */
export type NodeConfigView = PathConfigNodeView;
export type ConfigFinding = PathConfigFinding;
export type ConfigComparison = PathConfigComparison;
