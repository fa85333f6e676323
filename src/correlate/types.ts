/** The correlator's options and results. */
import type { LatencySummary } from './latency.js';
import type { CompareFrom } from './frame.js';

export interface CorrelateOptions {
  /**
   * Where the compared bytes of a frame start: 'ethernet' (default) or 'network', after the
   * EtherType, for a bridge side captured with `tcpdump -i any` (Linux cooked: no Ethernet header).
   */
  compareFrom?: CompareFrom;
  /** Largest time between the two sightings of one frame, in µs. Default 1_000_000 (1 s). */
  windowUs?: number;
  /** Extra UDP ports to decode as VXLAN (4789 and 8472 always are). */
  vxlanPorts?: number[];
  /** Added to overlay timestamps (clock offsets from session.json) to line them up with the underlay's. */
  overlayClockOffsetUs?: number;
  /**
   * How far apart in time the two sides may be fed, in µs (default: windowUs). Packets wait in
   * a queue until the other side has caught up or they are older than this: bounded memory.
   */
  maxSkewUs?: number;
  /**
   * The underlay IP of the node whose bridge was captured (e.g. 10.3.1.156 for kvm1): frames
   * from it are encapsulated, frames to it decapsulated. Inferred from timing when not given.
   */
  localVtep?: string;
  /** Cap on the lists of matches and unmatched frames kept in the report. Default 10_000. */
  maxListed?: number;
  /** Called for every match (when its bridge frame leaves the window), listed or not. */
  onMatch?: (m: Match) => void;
}

/** One sighting: the packet number in its file and its time in µs. */
export interface Sighting {
  n: number;
  tsUs: number;
}

export interface Match {
  underlay: Sighting;
  overlay: Sighting;
  /** 'encap': the frame left the bridge node (its VTEP is the outer source); 'decap': it arrived there. */
  direction: 'encap' | 'decap';
  /** Time between the two sightings, in µs (>= 0). */
  deltaUs: number;
  vni: number;
  vtepSrc: string;
  vtepDst: string;
  /** The bridge frame went to more than one VTEP (BUM traffic, head-end replication). */
  flood: boolean;
  /** Inner frame length on the wire. */
  frameLen: number;
  /** Bytes compared: the shorter captured length. */
  comparedBytes: number;
  /** One side's snaplen cut the frame: compared over the common captured length only. */
  snaplenCut: boolean;
  /** The TCP/UDP checksums differ (checksum offload on one side); the rest is equal. */
  checksumDiffers: boolean;
}

export type UnderlayReasonCode =
  | 'fragment'
  | 'not-captured'
  | 'outside-window'
  | 'duplicate'
  | 'differs'
  | 'before-overlay'
  | 'after-overlay'
  | 'no-overlay'
  | 'vni-not-on-bridge'
  | 'from-vxlan-device'
  | 'left-without-bridge'
  | 'not-delivered'
  | 'no-match';

export type OverlayReasonCode =
  | 'not-ethernet'
  | 'before-underlay'
  | 'after-underlay'
  | 'no-underlay'
  | 'bum-not-flooded'
  | 'too-big'
  | 'remote-dst'
  | 'remote-src'
  | 'local';

export interface Unmatched {
  n: number;
  tsUs: number;
  /** A likely reason, in words. */
  reason: string;
  code: UnderlayReasonCode | OverlayReasonCode;
  /** Underlay only. */
  vni?: number;
}

export interface VniRow {
  matched: number;
  underlayOnly: number;
  /** VXLAN packets on the underlay with this VNI, and their bytes on the wire (outer). */
  packets: number;
  bytes: number;
}

export interface VtepPairRow {
  src: string;
  dst: string;
  vni: number;
  packets: number;
  bytes: number;
  matched: number;
}

export interface CorrelationReport {
  windowUs: number;
  overlayClockOffsetUs: number;
  /** Packets read from each side, and of those the VXLAN packets / Ethernet frames compared. */
  underlayPackets: number;
  underlayVxlan: number;
  overlayPackets: number;
  /** Underlay VXLAN packets matched with a bridge frame (a flooded frame counts once per VTEP). */
  matched: number;
  /** Underlay VXLAN packets whose inner frame is not on the bridge capture. */
  underlayOnly: number;
  /** Bridge frames not seen on the underlay. */
  overlayOnly: number;
  /** Bridge frames sent to more than one VTEP (head-end replication of BUM traffic). */
  floodedFrames: number;
  encap: number;
  decap: number;
  /** The bridge node's VTEP, given or inferred (undefined when nothing tells). */
  localVtep?: string;
  latencyUs: LatencySummary;
  latencyByDirection: { encap: LatencySummary; decap: LatencySummary };
  /** Matches compared over a shorter common length (snaplen), and matches whose checksums differ. */
  snaplenCut: number;
  checksumDiffers: number;
  byVni: Record<string, VniRow>;
  byVtepPair: VtepPairRow[];
  /** Unmatched counts by reason code. */
  reasons: { underlay: Record<string, number>; overlay: Record<string, number> };
  /** The first `maxListed` unmatched frames of each side, with their reason. */
  unmatchedUnderlay: Unmatched[];
  unmatchedOverlay: Unmatched[];
  /** The first `maxListed` matches (all of them go to onMatch). */
  matches: Match[];
  /** A list above reached its cap. */
  listsCapped: boolean;
  /** Damaged input (correlateFiles): what was read before the damage is correlated. */
  inputErrors?: { side: 'underlay' | 'overlay'; message: string }[];
}
