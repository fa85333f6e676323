/**
 * `OUT/session.json`: what was captured, where, how, and each node's clock against ours — in the
 * shape the web view and `correlate` read (`nodes[].underlay`, `nodes[].overlay`, `clockOffsetUs`,
 * `overlayClockOffsetUs`, `vxlanPorts`), with everything else alongside.
 */
import { closeSync, constants, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { CaptureRunSummary, NodeSummary } from './types.js';

export const SESSION_FILE = 'session.json';

export interface SessionJsonNode {
  name: string;
  host: string;
  /** File name (in the folder) of the underlay capture. */
  underlay?: string;
  /** File name of the bridge capture. */
  overlay?: string;
  /** Node clock minus local clock, µs. */
  clockOffsetUs: number;
  /** The bridge capture runs on the same clock as the underlay one. */
  overlayClockOffsetUs: number;
  clockRttUs: number | null;
  tcpdumpVersion: string;
  libpcapVersion: string | null;
  ssh: NodeSummary['ssh'];
  sudo: boolean;
  interfaces: {
    iface: string;
    role: string;
    file: string | null;
    filter: string;
    packets: number;
    bytes: number;
    vxlanPackets: number;
    vnis: number[];
    captured: number | null;
    receivedByFilter: number | null;
    droppedByKernel: number | null;
    end: string;
    startedAt: string;
    listeningAt: string | null;
    stopRequestedAt: string | null;
    stoppedAt: string;
    error?: string;
  }[];
}

export interface SessionJson {
  tool: 'vxlan-inspect capture';
  version: 1;
  localHost: string;
  startedAt: string;
  stoppedAt: string;
  durationSec: number;
  reason: string;
  filter: string | null;
  vxlanPorts: number[];
  nodes: SessionJsonNode[];
  errors: string[];
}

export function sessionJson(s: CaptureRunSummary, vxlanPorts: number[]): SessionJson {
  return {
    tool: 'vxlan-inspect capture',
    version: 1,
    localHost: hostname(),
    startedAt: s.startedAt,
    stoppedAt: s.stoppedAt,
    durationSec: s.durationSec,
    reason: s.reason,
    filter: s.filter,
    vxlanPorts,
    nodes: s.nodes.map((n) => {
      const under = n.streams.find((x) => x.role === 'underlay' && x.file);
      const over = n.streams.find((x) => x.role === 'bridge' && x.file);
      const j: SessionJsonNode = {
        name: n.node,
        host: n.host,
        clockOffsetUs: n.clock?.offsetUs ?? 0,
        overlayClockOffsetUs: 0,
        clockRttUs: n.clock?.rttUs ?? null,
        tcpdumpVersion: n.tcpdumpVersion,
        libpcapVersion: n.libpcapVersion,
        ssh: n.ssh,
        sudo: n.sudo,
        interfaces: n.streams.map((x) => {
          const i: SessionJsonNode['interfaces'][number] = {
            iface: x.iface,
            role: x.role,
            file: x.file ? path.basename(x.file) : null,
            filter: x.filter,
            packets: x.packets,
            bytes: x.bytes,
            vxlanPackets: x.vxlanPackets,
            vnis: x.vnis,
            captured: x.tcpdump?.captured ?? null,
            receivedByFilter: x.tcpdump?.receivedByFilter ?? null,
            droppedByKernel: x.tcpdump?.droppedByKernel ?? null,
            end: x.end,
            startedAt: x.startedAt,
            listeningAt: x.listeningAt,
            stopRequestedAt: x.stopRequestedAt,
            stoppedAt: x.stoppedAt,
          };
          if (x.error) i.error = x.error;
          return i;
        }),
      };
      if (under?.file) j.underlay = path.basename(under.file);
      if (over?.file) j.overlay = path.basename(over.file);
      return j;
    }),
    errors: s.errors,
  };
}

/**
 * Written to a temporary name and renamed: a reader never sees half a file. The temporary file
 * is created new (a file or symlink already there under its name is removed first, never
 * written through), and removed again when writing or renaming fails (a full disk): nothing
 * is left behind but the error, which names the file.
 */
export function writeSessionJson(dir: string, json: SessionJson): string {
  const file = path.join(dir, SESSION_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  let created = false;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    created = true;
    try {
      writeFileSync(fd, `${JSON.stringify(json, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    if (created) rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}
