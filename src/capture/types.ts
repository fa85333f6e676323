/** The capture's public shapes: what startCapture takes, what it reports while running and at the end. */
import type { DecodedPacket } from '../decode/types.js';
import type { SessionPool } from '../remote/connection.js';
import type { Inventory } from '../remote/inventory.js';
import type { ClockOffset } from './clock.js';
import type { IfindexName, OverlayConfigRecord } from './session-file.js';
import type { StreamStats } from './live-stats.js';
import type { SshEndpoints, TcpdumpCounters } from './tcpdump.js';

export interface CaptureOptions {
  inventory: Inventory;
  /** Inventory node names; each is captured at the same time. */
  nodes: string[];
  /** Interfaces on every node; default each node's `underlay` and `bridge` from the inventory. */
  ifaces?: string[];
  /** Folder for `<node>-<iface>.pcap` and `session.json`; created when missing. Existing capture files are never overwritten. */
  outDir: string;
  /** Stop after this many seconds (counted from when every tcpdump is listening). */
  durationSec?: number;
  /** Stop each interface after this many packets (tcpdump -c). */
  count?: number;
  /** tcpdump -s. */
  snaplen?: number;
  /** BPF filter ANDed with the self-exclusion filter. */
  filter?: string;
  /** Trust and record unknown host keys (StrictHostKeyChecking=accept-new). */
  acceptNew?: boolean;
  /** SSH connect timeout per hop, ms (default 10 s). */
  connectTimeoutMs?: number;
  /** SSH keepalive interval (default 5 s; 3 missed = the connection is declared lost). */
  keepaliveMs?: number;
  /** Use these connections (the caller closes them); default a pool of our own, closed at the end. */
  pool?: SessionPool;
  /** tcpdump program name or path on the nodes (default `tcpdump`). */
  tcpdumpPath?: string;
  /** Interval of 'stats' events, ms (default 1000). */
  statsIntervalMs?: number;
  /** Extra UDP ports to decode as VXLAN live (the inventory's overlay port is always added). */
  vxlanPorts?: number[];
}

/** One packet as it arrived, decoded ('packet' event). `packet.raw.data` stays valid. */
export interface CapturedPacket {
  node: string;
  iface: string;
  packet: DecodedPacket;
}

export type StreamRole = 'underlay' | 'bridge' | 'other';

export type StreamEnd =
  /** stopped by us (stop(), --duration, Ctrl-C) */
  | 'stopped'
  /** tcpdump reached -c N */
  | 'count'
  /** the SSH connection dropped */
  | 'connection-lost'
  /** tcpdump ended with an error, or the local file could not be written */
  | 'failed';

export interface StreamSummary {
  node: string;
  iface: string;
  role: StreamRole;
  /** Path of the pcap, or null when tcpdump never sent a file header. */
  file: string | null;
  /** The whole BPF expression tcpdump ran with. */
  filter: string;
  /** The exact command sent over SSH. */
  command: string;
  /** tcpdump's PID on the node. */
  remotePid: number | null;
  startedAt: string;
  /** When tcpdump said "listening on" (local clock): from here on the interface is captured. */
  listeningAt: string | null;
  /** When we asked it to stop (null when it ended by itself): packets before this are in the file. */
  stopRequestedAt: string | null;
  stoppedAt: string;
  end: StreamEnd;
  /** Packets written to the file. */
  packets: number;
  bytes: number;
  fileBytes: number;
  vxlanPackets: number;
  vnis: number[];
  /** tcpdump's own closing counters (null when it could not print them: connection lost). */
  tcpdump: TcpdumpCounters | null;
  exit: { code: number | null; signal: string | null };
  /** Bytes of a last record cut by the end of the stream (not written). */
  droppedTailBytes: number;
  error?: string;
}

export interface NodeSummary {
  node: string;
  host: string;
  sshPort: number;
  user: string;
  sudo: boolean;
  /** `$SSH_CONNECTION` as the node reported it. */
  ssh: SshEndpoints | null;
  /** The filter that leaves out our own SSH session. */
  exclusionFilter: string;
  /** First line of `tcpdump --version`. */
  tcpdumpVersion: string;
  libpcapVersion: string | null;
  clock: ClockOffset | null;
  /** The node's interfaces by index at capture start (`ip -j link show`); absent when it could not list them. */
  ifindexNames?: IfindexName[];
  /** The node's overlay configuration read over SSH at capture start (or the error that stopped it). */
  config?: OverlayConfigRecord;
  streams: StreamSummary[];
}

export type StopReason = 'duration' | 'count' | 'stopped' | 'error';

export interface CaptureRunSummary {
  ok: boolean;
  outDir: string;
  /** Where session.json is (or would have been: see sessionError). */
  sessionFile: string;
  /** Why session.json could not be written (a full disk); absent when it was. */
  sessionError?: string;
  startedAt: string;
  stoppedAt: string;
  durationSec: number;
  reason: StopReason;
  filter: string | null;
  nodes: NodeSummary[];
  /** One line per problem, each naming node and interface. */
  errors: string[];
}

/** Per-stream failure ('stream-error' event); also listed in the summary. */
export interface CaptureStreamError {
  node: string;
  iface: string;
  error: Error;
}

export interface CaptureEvents {
  packet: [CapturedPacket];
  stats: [StreamStats];
  'stream-error': [CaptureStreamError];
  end: [CaptureRunSummary];
}
