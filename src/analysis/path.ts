/**
 * A frame's path across the overlay: from a capture of two or more nodes (each node's underlay,
 * eth1, and bridge, vxlan_bridge), every inner frame is followed through up to four sightings —
 * source bridge → source underlay (encapsulated) → destination underlay → destination bridge
 * (decapsulated) — with per-hop times, and for every frame that does not complete its path,
 * where it was last seen and why.
 *
 * Built on the one analysis, run twice per node:
 *  1. profile (path/profile.ts): analyzeCaptures, the correlator alone, gives each node's VTEP,
 *     the correlator's reasons, what the VXLAN devices are configured with, where MACs live;
 *  2. follow: every node's pass and correlator again, read side by side in reference-time order
 *     (path/track.ts); the records each releases are joined across nodes (path/join.ts), whose
 *     reasons use each node's recorded configuration (session.json nodes[].config) where there is one;
 *  3. compare (path/config.ts): each node's recorded configuration against the others' and the traffic.
 *
 * Memory is bounded by the window (and by caps), not by the capture's length; time is linear.
 * `onSighting` tells a caller (export's path columns) every sighting as its branch is decided.
 */
import { chunksOf } from '../decode/file/read.js';
import { createRegistry } from '../decode/registry.js';
import { UsageError } from '../errors.js';
import { ConfigEvidence, compareConfig } from './path/config.js';
import { PathJoiner } from './path/join.js';
import { MacHomes, deduceVteps, flowsOf, profileNode, type NodeProfile } from './path/profile.js';
import { NodeTrack } from './path/track.js';
import type { PathNodeInput, PathOptions, PathReport } from './path/types.js';

export type * from './path/types.js';
export { PATH_POINTS } from './path/types.js';
export { pathInputsFromDir, type PathInputs, type ExplicitNode } from './path/inputs.js';

export const DEFAULT_PATH_WINDOW_US = 1_000_000;
const DEFAULT_MAX_LISTED = 1000;

/** Follows every frame of the session's nodes across the overlay. */
export async function followPaths(inputs: readonly PathNodeInput[], opts: PathOptions = {}): Promise<PathReport> {
  if (inputs.length < 2)
    throw new UsageError(`a path needs two or more nodes, each with an underlay and a bridge capture; got ${inputs.length}`);
  const names = new Set<string>();
  for (const i of inputs) {
    if (names.has(i.name)) throw new UsageError(`node ${i.name} is given twice: each node once (--node NAME=UNDERLAY,BRIDGE)`);
    names.add(i.name);
  }
  if (opts.follow && !names.has(opts.follow.node))
    throw new UsageError(`--frame: no node ${JSON.stringify(opts.follow.node)} in this session (nodes: ${[...names].join(', ')})`);
  const windowUs = opts.windowUs ?? DEFAULT_PATH_WINDOW_US;
  const vxlanPorts = opts.vxlanPorts ?? [];
  const registry = opts.registry ?? createRegistry({ vxlanPorts });
  const notes: string[] = [];

  // 1. each node alone
  const homes = new MacHomes();
  const profiles: NodeProfile[] = [];
  for (const [i, input] of inputs.entries())
    profiles.push(await profileNode(input, i, homes, { registry, windowUs, vxlanPorts, ...(opts.signal ? { signal: opts.signal } : {}) }));
  deduceVteps(profiles);
  // a node whose traffic does not tell its VTEP (it sent nothing through its bridge): its recorded configuration does
  const config = inputs.map((i) => (i.config && i.config.error === undefined ? new ConfigEvidence(i.name, i.config) : undefined));
  for (const [i, p] of profiles.entries()) {
    const v = config[i]?.vtep;
    if (p.vtep === undefined && v !== undefined && !profiles.some((q) => q.vtep === v)) {
      p.vtep = v;
      p.vtepFrom = 'deduced';
      notes.push(
        `${p.input.name}'s VTEP ${v} is taken from its recorded configuration (${config[i]?.source ?? ''}): its traffic did not tell it`,
      );
    }
  }
  const byVtep = new Map<string, string>();
  for (const p of profiles) {
    if (p.vtep === undefined) {
      notes.push(
        `${p.input.name}'s VTEP could not be told from its traffic ` +
          '(nothing it sent crossed its bridge first): its packets are left out of the paths; ' +
          `give it with --vtep ${p.input.name}=ADDRESS`,
      );
      continue;
    }
    const other = byVtep.get(p.vtep);
    if (other !== undefined)
      throw new UsageError(
        `nodes ${other} and ${p.input.name} both have VTEP ${p.vtep}: ` +
          `are they captures of the same host? Give each node's own captures ` +
          '(or its VTEP with --vtep NODE=ADDRESS)',
      );
    byVtep.set(p.vtep, p.input.name);
  }

  // 2. every node side by side
  const tracks: NodeTrack[] = [];
  const joiner = new PathJoiner({
    tracks,
    profiles,
    homes,
    windowUs,
    maxListed: opts.maxListed ?? DEFAULT_MAX_LISTED,
    follow: opts.follow,
    config,
    onSighting: opts.onSighting,
  });
  for (const [i, input] of inputs.entries())
    tracks.push(new NodeTrack(i, input, { registry, windowUs, vxlanPorts, vtep: profiles[i]?.vtep }, (r) => joiner.receive(r)));
  await readSideBySide(tracks, () => joiner.advance(), opts.signal);
  joiner.finish();

  const inputErrors: PathReport['inputErrors'] = profiles.flatMap((p) => p.inputErrors.map((e) => ({ node: p.input.name, ...e })));
  const paths = joiner.groupsOut();
  const totals = { sent: 0, delivered: 0, lost: 0, notCaptured: 0, checksumOffload: 0 };
  for (const g of paths) {
    totals.sent += g.sent;
    totals.delivered += g.delivered;
    totals.lost += g.lost;
    totals.notCaptured += Object.values(g.notCaptured).reduce((a, b) => a + b, 0);
    totals.checksumOffload += g.checksumOffload;
  }
  // packets that left one node unseen by the other, and as many that arrived unseen leaving: the clocks are apart
  for (const g of paths) {
    const lost = (g.lostAt.underlay['lost-underlay'] ?? 0) + (g.notCaptured['outside-underlay-capture'] ?? 0);
    if (lost > 0 && g.sourceUnderlayMissed > 0) {
      notes.push(
        `${g.src} → ${g.dst}: ${lost} packets left ${g.src} and were not seen on ${g.dst}, ` +
          `while ${g.sourceUnderlayMissed} arrived on ${g.dst} that were not seen leaving ${g.src}: ` +
          `the two nodes' clocks are probably further apart than the ±${windowUs / 1000} ms window; ` +
          `give the clock offsets (the session.json capture writes, or --clock-offset ${g.dst}=MICROSECONDS) ` +
          'or a larger --window',
      );
    }
  }
  const report: PathReport = {
    windowUs,
    nodes: profiles.map((p, i) => ({
      name: p.input.name,
      underlay: p.input.underlay.name,
      overlay: p.input.overlay.name,
      clockOffsetUs: p.input.clockOffsetUs ?? 0,
      overlayClockOffsetUs: p.input.overlayClockOffsetUs ?? 0,
      vtep: p.vtep ?? null,
      vtepFrom: p.vtepFrom,
      ...joiner.nodeInfo(i),
    })),
    paths,
    totals,
    incomplete: joiner.incomplete,
    listsCapped: joiner.listsCapped,
    notes,
    inputErrors,
    work: {
      peakHeld: Math.max(joiner.peakQueued, ...tracks.map((t) => t.peakHeld)),
      forced: joiner.forced + tracks.reduce((a, t) => a + t.forced, 0),
      lateLinks: tracks.reduce((a, t) => a + t.lateLinks, 0),
    },
    config: compareConfig({
      nodes: profiles.map((p) => ({
        traffic: {
          name: p.input.name,
          vtep: p.vtep ?? null,
          flows: flowsOf(p),
          largest: p.largest,
          tooBig: p.tooBig,
          tooBigCount: p.tooBigCount,
          underlayFile: p.input.underlay.name,
          overlayFile: p.input.overlay.name,
        },
        config: p.input.config,
      })),
      homes,
      paths,
    }),
  };
  if (opts.follow) {
    const f = opts.follow;
    const input = inputs.find((i) => i.name === f.node) as PathNodeInput;
    const file = f.side === 'overlay' ? input.overlay.name : input.underlay.name;
    report.followed = { ref: f, file, branches: joiner.followed };
    if (joiner.followed.length === 0) {
      report.followed.note =
        joiner.followNote ??
        `${f.node}'s ${f.side === 'overlay' ? 'bridge' : 'underlay'} capture ${file} has no ` +
          `frame ${f.frame} that is a VXLAN packet or an Ethernet frame (frames are numbered from 1, ` +
          'as decode and Wireshark number them)';
    }
  }
  return report;
}

/**
 * Reads every node's files to the end, always advancing the node that is furthest behind on the
 * reference clock: the nodes stay within a chunk of each other, so what the joiner holds is
 * bounded by the window, not by how far one file is ahead of another.
 */
async function readSideBySide(tracks: NodeTrack[], step: () => void, signal?: AbortSignal): Promise<void> {
  const readers = new Map<string, AsyncGenerator<Uint8Array>>();
  try {
    for (;;) {
      signal?.throwIfAborted();
      let next: NodeTrack | undefined;
      for (const t of tracks) if (!t.done && (next === undefined || t.progress() < next.progress())) next = t;
      if (!next) break;
      const pass = next.pass;
      pass.drain(true);
      const f = pass.starving();
      if (!f) {
        pass.drain(false);
        next.finish();
      } else {
        const key = `${next.index}\u0000${f.path}`;
        let it = readers.get(key);
        if (!it) readers.set(key, (it = chunksOf(f.path)));
        const r = await it.next();
        if (r.done) pass.end(f.path);
        else pass.push(f.path, r.value);
        pass.drain(true);
        next.settle();
      }
      step();
    }
  } finally {
    await Promise.all([...readers.values()].map((it) => it.return(undefined)));
  }
}
