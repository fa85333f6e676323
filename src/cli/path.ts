/**
 * `vxlan-inspect path DIR`: follows every frame across the overlay, from one node's bridge to the
 * other's — source bridge → source underlay → destination underlay → destination bridge — and
 * says per direction and VNI what was sent, delivered and lost at which hop and why, with the
 * per-hop latency; `--frame N` shows one frame's journey.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import {
  followPaths,
  pathInputsFromDir,
  type ConfigComparison,
  type ExplicitNode,
  type FrameRef,
  type NodeConfigView,
  type PathBranch,
  type PathGroup,
  type PathPoint,
  type PathReport,
} from '../analysis/path.js';
import { createRegistry } from '../decode/registry.js';
import type { LatencySummary } from '../correlate/latency.js';
import type { CliIo } from './main.js';
import { collectPorts } from './options.js';

interface PathFlags {
  json?: boolean;
  frame?: string;
  node?: ExplicitNode[];
  vtep?: [string, string][];
  clockOffset?: [string, number][];
  window?: number;
  vxlanPort?: number[];
  list?: number;
}

const SHOWN = 10;

function collectNode(value: string, previous: ExplicitNode[] = []): ExplicitNode[] {
  const m = /^([^=]+)=(.+)$/.exec(value);
  const files = m?.[2]?.split(',').filter((f) => f !== '');
  if (!m || !files || files.length < 1 || files.length > 2) {
    throw new UsageError(
      `--node must be NAME=UNDERLAY,BRIDGE (two capture files) or NAME=FILE (one file holding both sides), not ${JSON.stringify(value)}`,
    );
  }
  return [...previous, { name: m[1] as string, files: files as [string] | [string, string] }];
}

function collectVtep(value: string, previous: [string, string][] = []): [string, string][] {
  const m = /^([^=]+)=(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/.exec(value);
  if (!m)
    throw new UsageError(`--vtep must be NODE=ADDRESS (the node's underlay address, e.g. kvm1=10.3.1.156), not ${JSON.stringify(value)}`);
  return [...previous, [m[1] as string, m[2] as string]];
}

function collectOffset(value: string, previous: [string, number][] = []): [string, number][] {
  const m = /^([^=]+)=([-+]?\d+(?:\.\d+)?)$/.exec(value);
  if (!m)
    throw new UsageError(
      `--clock-offset must be NODE=MICROSECONDS (how far the node's clock is ahead, e.g. kvm2=-1500), not ${JSON.stringify(value)}`,
    );
  return [...previous, [m[1] as string, Number(m[2])]];
}

function parseWindowMs(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0)
    throw new UsageError(`--window must be a number of milliseconds above 0, not ${JSON.stringify(value)}`);
  const ms = Number(value);
  if (ms > 60_000) throw new UsageError(`--window ${ms} ms is more than a minute: give it in milliseconds (e.g. --window 1000)`);
  return ms;
}

function parseList(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--list must be a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** `N`, `NODE:N`, `NODE:bridge:N` or `NODE:underlay:N` (a frame number as decode and Wireshark count them). */
export function parseFrameRef(value: string, nodes: readonly string[]): FrameRef {
  const parts = value.split(':');
  const frame = Number(parts[parts.length - 1]);
  const bad = (): UsageError =>
    new UsageError(
      `--frame must be N, NODE:N, NODE:bridge:N or NODE:underlay:N (N: the frame's number in that capture, from 1), not ${JSON.stringify(value)}`,
    );
  if (!/^\d+$/.test(parts[parts.length - 1] ?? '') || frame < 1 || parts.length > 3) throw bad();
  const node = parts.length >= 2 ? (parts[0] as string) : (nodes[0] as string);
  let side: FrameRef['side'] = 'overlay';
  if (parts.length === 3) {
    const s = parts[1];
    if (s === 'underlay' || s === 'eth1') side = 'underlay';
    else if (s !== 'bridge' && s !== 'overlay' && s !== 'vxlan_bridge') throw bad();
  }
  if (!nodes.includes(node))
    throw new UsageError(`--frame ${value}: no node ${JSON.stringify(node)} in this session (nodes: ${nodes.join(', ')})`);
  return { node, side, frame };
}

const num = (n: number): string => n.toLocaleString('en-US');
const pad = (s: string | number, n: number): string => String(s).padEnd(n);
const lpad = (s: string | number, n: number): string => String(s).padStart(n);

function us(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`;
}

function p50p99(l: LatencySummary): string {
  return l.count === 0 ? '–' : `${us(l.p50)} / ${us(l.p99)}`;
}

const POINT_WORDS: Record<PathPoint, string> = {
  srcBridge: 'source bridge',
  srcUnderlay: 'source underlay',
  dstUnderlay: 'destination underlay',
  dstBridge: 'destination bridge',
};

const HOP_AFTER: Partial<Record<PathPoint, ['encapsulation' | 'underlay' | 'decapsulation', string]>> = {
  srcBridge: ['encapsulation', 'encapsulation'],
  srcUnderlay: ['underlay', 'underlay crossing, one way, clock offsets applied'],
  dstUnderlay: ['decapsulation', 'decapsulation'],
};

function pathName(g: { src: string; dst: string; vni: number | null }): string {
  return `${g.src} → ${g.dst}`;
}

function groupLines(g: PathGroup): string[] {
  const L: string[] = [];
  const name = pathName(g);
  const notCaptured = Object.values(g.notCaptured).reduce((a, b) => a + b, 0);
  L.push(
    `  ${pad(name, 22)}${lpad(g.vni ?? '–', 6)}${lpad(num(g.sent), 8)}${lpad(num(g.delivered), 11)}${lpad(num(g.lost), 7)}` +
      `${lpad(num(notCaptured), 14)}   ` +
      `${pad(p50p99(g.latencyUs.encapsulation), 18)}${pad(p50p99(g.latencyUs.underlay), 18)}${p50p99(g.latencyUs.decapsulation)}`,
  );
  return L;
}

function detailLines(g: PathGroup): string[] {
  const L: string[] = [];
  const name = `${pathName(g)}${g.vni === null ? '' : ` VNI ${g.vni}`}`;
  const hops: [keyof PathGroup['lostAt'], string][] = [
    ['encapsulation', 'not encapsulated'],
    ['underlay', 'lost on the underlay'],
    ['decapsulation', 'not decapsulated'],
    ['delivery', 'sent to the wrong VTEP'],
  ];
  for (const [hop, words] of hops) {
    for (const [code, n] of Object.entries(g.lostAt[hop]).sort((a, b) => b[1] - a[1]))
      L.push(`  ${pad(name, 26)}${pad(words, 24)}${pad(code, 26)}${lpad(num(n), 8)}`);
  }
  for (const [code, n] of Object.entries(g.notCaptured))
    L.push(`  ${pad(name, 26)}${pad('not captured (no loss)', 24)}${pad(code, 26)}${lpad(num(n), 8)}`);
  const info: string[] = [];
  if (g.fromVxlanDevice)
    info.push(`${num(g.fromVxlanDevice)} sent by the VXLAN device itself (IPv6 MLD/RS/DAD: they start on the underlay, normal)`);
  if (g.sourceBridgeMissed)
    info.push(`${num(g.sourceBridgeMissed)} not found on the source bridge (the correlator says why: --frame on one of them)`);
  if (g.sourceUnderlayMissed)
    info.push(`${num(g.sourceUnderlayMissed)} first seen on the destination underlay (the source's capture missed them)`);
  if (g.flooded) info.push(`${num(g.flooded)} branches of flooded frames (head-end replication: one branch per VTEP)`);
  if (g.checksumOffload)
    info.push(
      `${num(g.checksumOffload)} with a TCP/UDP checksum that differs between sightings: ` +
        `checksum offload ("bad udp/tcp cksum" on the sender's capture), not a loss`,
    );
  if (g.negativeUnderlay)
    info.push(
      `${num(g.negativeUnderlay)} underlay crossings came out negative: ` +
        'the clock offsets are missing or not precise enough (capture with session.json, ' +
        'or --clock-offset NODE=US)',
    );
  for (const i of info) L.push(`  ${pad(name, 26)}${i}`);
  return L;
}

function sightingLine(b: PathBranch, p: PathPoint): string {
  const s = b.sightings[p];
  if (!s) return `  ${pad(POINT_WORDS[p], 22)}–  not seen`;
  return `  ${pad(POINT_WORDS[p], 22)}${pad(s.node, 8)}${pad(`${s.file} #${s.frame}`, 34)}t ${(s.refUs / 1e6).toFixed(6)} s`;
}

export function journeyText(b: PathBranch, i: number, n: number): string[] {
  const L: string[] = [];
  const tunnel = b.vtepSrc !== undefined ? `, VTEP ${b.vtepSrc} → ${b.vtepDst} UDP ${b.udpPort}` : '';
  L.push(
    `branch ${i + 1} of ${n}: ${b.src} ` +
      `→ ${b.dst}${b.vni === null ? '' : `, VNI ${b.vni}`}${tunnel}${b.flood ? ' (flooded)' : ''}: ${b.status}${b.loss ? ' (lost)' : ''}`,
  );
  for (const p of ['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge'] as const) {
    L.push(sightingLine(b, p));
    const hop = HOP_AFTER[p];
    if (hop) {
      const v = b.hopsUs[hop[0]];
      if (v !== undefined) L.push(`  ${pad('', 22)}↓ ${v >= 0 ? '+' : ''}${v} µs ${hop[1]}`);
      else L.push(`  ${pad('', 22)}↓`);
    }
  }
  L.push(`  ${b.reason}`);
  for (const note of b.notes) L.push(`  note: ${note}`);
  return L;
}

/** One line of a node's recorded configuration. */
export function configSummary(v: NodeConfigView): string {
  if (v.recordedAt === null) return 'not recorded (capture records it; for older captures: check NODE… --save DIR)';
  const when = `${v.recordedBy ?? '?'} ${v.recordedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`;
  if (v.error !== undefined) return `could not be read (${when}): ${v.error}`;
  const parts: string[] = [];
  const x = v.vxlan;
  if (x) {
    const to = x.group !== null ? ` group ${x.group}` : x.remote !== null ? ` remote ${x.remote}` : '';
    parts.push(
      `${x.device} VNI ${x.vni} ` +
        `UDP ${x.port}${x.local !== null ? ` local ${x.local}` : ''}${to}${x.dev !== null ? ` dev ${x.dev}` : ''} ` +
        `mtu ${x.mtu}${x.up ? '' : ' DOWN'}`,
    );
  } else parts.push('no VXLAN device');
  if (v.bridge) parts.push(`${v.bridge.name} mtu ${v.bridge.mtu}${v.bridge.up ? '' : ' DOWN'}`);
  if (v.underlay)
    parts.push(`${v.underlay.name} mtu ${v.underlay.mtu}${v.underlay.addresses.length ? ` ${v.underlay.addresses.join(' ')}` : ''}`);
  if (x && x.group === null) {
    const flood = v.fdb.filter((e) => e.flood).map((e) => e.dst);
    parts.push(`floods to ${flood.length ? flood.join(', ') : 'no one'}`);
  }
  const unicast = v.fdb.filter((e) => !e.flood);
  if (unicast.length)
    parts.push(
      `${unicast.length} unicast FDB ` +
        `entr${unicast.length === 1 ? 'y' : 'ies'}${unicast.some((e) => e.permanent) ? ` (${unicast.filter((e) => e.permanent).length} static)` : ''}`,
    );
  for (const o of v.otherVxlan ?? []) parts.push(`also ${o.device} VNI ${o.vni} UDP ${o.port}`);
  return `${parts.join(', ')}  (${when})`;
}

/** The comparison of the recorded configuration with the traffic: per node a summary, then the findings with their evidence. */
export function configLines(c: ConfigComparison): string[] {
  if (c.nodes.length === 0) return [];
  if (c.nodes.every((v) => v.recordedAt === null))
    return [
      '',
      'configuration: not recorded in this session (capture records it in session.json; ' +
        'for older captures: check NODE… --save DIR): the reasons rest on the traffic alone',
    ];
  const L: string[] = ['', 'configuration (session.json nodes[].config)'];
  for (const v of c.nodes) {
    L.push(`  ${pad(v.node, 8)}${configSummary(v)}`);
    if (v.recordedAt !== null && v.error === undefined) for (const f of v.firewall) L.push(`  ${pad('', 8)}${f}`);
  }
  const findings = c.findings.filter((f) => f.code !== 'config-not-recorded');
  if (findings.length === 0) {
    if (c.nodes.some((v) => v.recordedAt !== null)) L.push('', 'configuration against traffic: no disagreement');
    return L;
  }
  L.push('', 'configuration against traffic');
  const label = { fail: 'FAIL', warn: 'WARN', info: 'info' } as const;
  for (const f of findings) {
    L.push(`  ${label[f.severity]}  ${pad(f.code, 30)}${f.message}`);
    for (const e of f.evidence.config) L.push(`        config:  ${e}`);
    for (const e of f.evidence.traffic) L.push(`        traffic: ${e}`);
  }
  return L;
}

export function pathToText(r: PathReport, shown = SHOWN, source?: string): string {
  const L: string[] = [];
  if (source) L.push(`${pad('session', 10)}${source}`);
  for (const n of r.nodes) {
    L.push(
      `${pad('node', 10)}${pad(n.name, 8)}VTEP ${pad(n.vtep ?? '?', 16)}(${n.vtepFrom})  ${n.underlay} ` +
        `+ ${n.overlay}  clock ${n.clockOffsetUs >= 0 ? '+' : ''}${n.clockOffsetUs} µs`,
    );
  }
  L.push(`${pad('window', 10)}±${r.windowUs / 1000} ms`);
  L.push('');
  L.push(
    `  ${pad('path', 22)}${lpad('VNI', 6)}${lpad('sent', 8)}${lpad('delivered', 11)}${lpad('lost', 7)}${lpad('not captured', 14)}   ` +
      `${pad('encap p50/p99', 18)}${pad('underlay p50/p99', 18)}decap p50/p99`,
  );
  for (const g of r.paths) L.push(...groupLines(g));
  if (r.paths.length === 0) L.push('  (no frame crossed between the nodes)');
  const details = r.paths.flatMap(detailLines);
  if (details.length) L.push('', 'where and why', ...details);
  L.push(...configLines(r.config));
  const local = r.nodes.filter((n) => n.localFrames || n.arrivedUnseen || n.thirdParty);
  if (local.length) {
    L.push('', 'not paths');
    for (const n of local) {
      const parts: string[] = [];
      if (n.localFrames) parts.push(`${num(n.localFrames)} bridge frames stayed on the node (guest ↔ bridge, local guests)`);
      if (n.arrivedUnseen) parts.push(`${num(n.arrivedUnseen)} bridge frames from another VTEP that its underlay capture did not see`);
      if (n.thirdParty) parts.push(`${num(n.thirdParty)} underlay packets between other VTEPs`);
      L.push(`  ${pad(n.name, 8)}${parts.join('; ')}`);
    }
  }
  const total = r.totals.sent - r.totals.delivered;
  if (total > 0 && shown > 0) {
    L.push(
      '',
      `incomplete paths (first ${Math.min(shown, r.incomplete.length)} of ${num(total)}; --frame NODE:N for one, --json for all listed)`,
    );
    for (const b of r.incomplete.slice(0, shown)) {
      const first = b.sightings.srcBridge ?? b.sightings.srcUnderlay ?? b.sightings.dstUnderlay;
      const id = first ? `${first.node}:${first === b.sightings.srcBridge ? '' : 'underlay:'}${first.frame}` : '?';
      L.push(`  ${pad(id, 20)}${pad(pathName(b), 16)}${pad(b.status, 18)}${b.reason}`);
    }
  }
  if (r.followed) {
    L.push(
      '',
      `frame ${r.followed.ref.frame} of ${r.followed.file} (${r.followed.ref.node}, ${r.followed.ref.side === 'overlay' ? 'bridge' : 'underlay'})`,
    );
    if (r.followed.note) L.push(`  ${r.followed.note}`);
    r.followed.branches.forEach((b, i) => L.push(...journeyText(b, i, r.followed?.branches.length ?? 0)));
  }
  for (const note of r.notes) L.push('', `note: ${note}`);
  if (r.work.forced > 0)
    L.push(
      '',
      `note: ${num(r.work.forced)} decisions were taken early to keep memory bounded ` +
        `(more than the window's worth of packets held): raise nothing, but read their outcome with care`,
    );
  return L.join('\n') + '\n';
}

export async function runPath(dir: string | undefined, flags: PathFlags, io: CliIo): Promise<number> {
  if (dir === undefined && (flags.node?.length ?? 0) === 0) {
    throw new UsageError(
      'path needs a capture folder (path DIR, as `capture kvm1 kvm2 --out DIR` writes it) ' +
        "or the nodes' captures (--node kvm1=UNDERLAY,BRIDGE --node kvm2=UNDERLAY,BRIDGE)",
    );
  }
  const ports0 = [...(flags.vxlanPort ?? [])];
  const got = await pathInputsFromDir(dir, { explicit: flags.node ?? [], registry: createRegistry({ vxlanPorts: ports0 }) });
  const ports = [...new Set([...ports0, ...got.vxlanPorts])];
  const names = got.inputs.map((i) => i.name);
  for (const [node, vtep] of flags.vtep ?? []) {
    const input = got.inputs.find((i) => i.name === node);
    if (!input)
      throw new UsageError(`--vtep ${node}=${vtep}: no node ${JSON.stringify(node)} in this session (nodes: ${names.join(', ')})`);
    input.vtep = vtep;
  }
  for (const [node, off] of flags.clockOffset ?? []) {
    const input = got.inputs.find((i) => i.name === node);
    if (!input)
      throw new UsageError(`--clock-offset ${node}=${off}: no node ${JSON.stringify(node)} in this session (nodes: ${names.join(', ')})`);
    input.clockOffsetUs = off;
  }
  const follow = flags.frame !== undefined ? parseFrameRef(flags.frame, names) : undefined;
  const report = await followPaths(got.inputs, {
    registry: createRegistry({ vxlanPorts: ports }),
    vxlanPorts: ports,
    windowUs: (flags.window ?? 1000) * 1000,
    ...(follow ? { follow } : {}),
  });
  report.notes.unshift(...got.notes);
  if (flags.json) {
    io.stdout.write(JSON.stringify({ ...(got.sessionFile ? { sessionFile: got.sessionFile } : {}), ...report }) + '\n');
  } else {
    const source =
      dir === undefined
        ? undefined
        : `${dir}${got.sessionFile ? ' (session.json: files and clock offsets)' : ' (no session.json: files paired by name, clock offsets 0)'}`;
    io.stdout.write(pathToText(report, follow ? 0 : (flags.list ?? SHOWN), source));
  }
  for (const e of report.inputErrors) io.stderr.write(`vxlan-inspect: node ${e.node}: ${e.message}; the packets before it were followed\n`);
  return report.inputErrors.length ? 1 : 0;
}

export function registerPath(program: Command, io: CliIo): void {
  program
    .command('path')
    .description(
      'follow every frame across the overlay (source bridge → underlay → underlay → destination bridge): ' +
        'delivered, lost at which hop and why, per-hop latency',
    )
    .argument('[dir]', 'capture folder of two or more nodes (session.json from capture, or NODE-eth1.pcap + NODE-vxlan_bridge.pcap files)')
    .option(
      '--json',
      'one JSON object: per path and VNI, per hop, the incomplete paths with their reasons, ' +
        'the recorded configuration and its comparison with the traffic (config)',
    )
    .option(
      '--frame <ref>',
      "one frame's journey: N, NODE:N (frame N of NODE's bridge capture, default the first node), or NODE:underlay:N",
    )
    .option(
      '--node <name=files>',
      "a node's captures: NAME=UNDERLAY,BRIDGE or NAME=FILE holding both (repeatable; replaces the folder's pairing of that node)",
      collectNode,
    )
    .option('--vtep <node=address>', "a node's VTEP (underlay address), when its traffic does not tell (repeatable)", collectVtep)
    .option(
      '--clock-offset <node=us>',
      "how far a node's clock is ahead of the others, µs (repeatable; instead of session.json's)",
      collectOffset,
    )
    .option('--window <ms>', 'largest time between two sightings of a frame, in ms (default 1000)', parseWindowMs)
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable; 4789 and 8472 always are)', collectPorts)
    .option('--list <n>', `incomplete paths to list in the text output (default ${SHOWN})`, parseList)
    .addHelpText(
      'after',
      '\nExamples:\n  vxlan-inspect path fixtures/lab\n  vxlan-inspect path captures/ --frame kvm1:12\n  ' +
        'vxlan-inspect path --node kvm1=kvm1-eth1.pcap,kvm1-br.pcap --node ' +
        'kvm2=kvm2-eth1.pcap,kvm2-br.pcap --json\n',
    )
    .action(async (dir: string | undefined, flags: PathFlags) => {
      process.exitCode = await runPath(dir, flags, io);
    });
}
