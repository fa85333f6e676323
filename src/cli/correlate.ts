/**
 * `vxlan-inspect correlate UNDERLAY OVERLAY`: matches the inner frames of the underlay's VXLAN
 * packets (eth1) with the frames of a bridge capture (vxlan_bridge) and says what went through
 * the tunnel, what stayed on the node, and what was lost.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError, VxiError, isVxiError } from '../errors.js';
import { readSessionOffsets, type CorrelationReport, type Unmatched } from '../correlate/index.js';
import { readSessionIfindexNames } from '../correlate/session.js';
import { analyzeCaptures, sidesOfOneFile, wholeFile } from '../analysis/run.js';
import type { SideSource } from '../analysis/sides.js';
import { createRegistry } from '../decode/registry.js';
import type { CliIo } from './main.js';
import { collectPorts, parseWindowMs } from './options.js';

interface CorrelateFlags {
  json?: boolean;
  matches?: boolean;
  window?: number;
  vxlanPort?: number[];
  session?: string;
  clockOffset?: number;
  list?: number;
}

const SHOWN_UNMATCHED = 10;

function parseOffsetUs(value: string): number {
  if (!/^[-+]?\d+(\.\d+)?$/.test(value))
    throw new UsageError(`--clock-offset must be a number of microseconds, not ${JSON.stringify(value)}`);
  return Number(value);
}

function parseList(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--list must be a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}

const num = (n: number): string => n.toLocaleString('en-US');
const pad = (s: string | number, n: number): string => String(s).padEnd(n);
const lpad = (s: string | number, n: number): string => String(s).padStart(n);

function us(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`;
}

function listLines(title: string, list: Unmatched[], total: number, shown: number): string[] {
  if (total === 0 || shown === 0) return [];
  const lines = [`${title} (first ${Math.min(shown, list.length)} of ${num(total)})`];
  for (const u of list.slice(0, shown))
    lines.push(`  ${pad(`#${u.n}`, 9)}${pad(u.vni === undefined ? '' : `VNI ${u.vni}`, 11)}${u.reason}`);
  return lines;
}

/** The session.json a run took clock offsets (and VXLAN ports) from, and whether it was found or named. */
export interface SessionUsed {
  file: string;
  /** Found beside the underlay capture, not named with --session. */
  beside: boolean;
}

export function correlationToText(
  underlay: string,
  overlay: string,
  r: CorrelationReport,
  shown = SHOWN_UNMATCHED,
  session?: SessionUsed,
): string {
  const L: string[] = [];
  L.push(`${pad('underlay', 10)}${underlay}: ${num(r.underlayPackets)} packets, ${num(r.underlayVxlan)} VXLAN`);
  L.push(`${pad('overlay', 10)}${overlay}: ${num(r.overlayPackets)} frames`);
  if (session)
    L.push(
      `${pad('session', 10)}${session.file}${session.beside ? ' (beside the underlay capture; --session FILE or --clock-offset US to choose otherwise)' : ''}`,
    );
  L.push(
    `${pad('', 10)}window ±${r.windowUs / 1000} ms, overlay clock ` +
      `offset ${r.overlayClockOffsetUs >= 0 ? '+' : ''}${r.overlayClockOffsetUs} ` +
      `µs${session ? ' (from the session file)' : ''}`,
  );
  L.push('');
  L.push(`${pad('matched', 16)}${lpad(num(r.matched), 10)}   encapsulated ${num(r.encap)}, decapsulated ${num(r.decap)}`);
  L.push(`${pad('underlay only', 16)}${lpad(num(r.underlayOnly), 10)}   VXLAN packets whose inner frame is not on the bridge`);
  L.push(`${pad('overlay only', 16)}${lpad(num(r.overlayOnly), 10)}   bridge frames not seen on the underlay`);
  L.push(`${pad('flooded', 16)}${lpad(num(r.floodedFrames), 10)}   bridge frames sent to several VTEPs (BUM, head-end replication)`);
  if (r.latencyUs.count > 0) {
    L.push(
      `${pad('latency', 16)}p50 ${us(r.latencyUs.p50)}   p99 ${us(r.latencyUs.p99)}   max ${us(r.latencyUs.max)}   (time between the two sightings)`,
    );
  }
  if (r.snaplenCut) L.push(`${pad('snaplen', 16)}${lpad(num(r.snaplenCut), 10)}   matches compared over the shorter captured length`);
  if (r.checksumDiffers)
    L.push(`${pad('checksums', 16)}${lpad(num(r.checksumDiffers), 10)}   matches that differ only in the TCP/UDP checksum (offload)`);
  const vnis = Object.entries(r.byVni);
  if (vnis.length) {
    L.push('');
    L.push(`${pad('per VNI', 12)}${lpad('packets', 10)}${lpad('bytes', 14)}${lpad('matched', 10)}${lpad('underlay only', 15)}`);
    for (const [vni, v] of vnis)
      L.push(
        `  ${pad(vni, 10)}${lpad(num(v.packets), 10)}${lpad(num(v.bytes), 14)}${lpad(num(v.matched), 10)}${lpad(num(v.underlayOnly), 15)}`,
      );
  }
  if (r.byVtepPair.length) {
    L.push('');
    L.push(`${pad('per VTEP pair', 36)}${lpad('VNI', 9)}${lpad('packets', 10)}${lpad('bytes', 14)}${lpad('matched', 10)}`);
    for (const p of r.byVtepPair)
      L.push(
        `  ${pad(`${p.src} > ${p.dst}`, 34)}${lpad(p.vni, 9)}${lpad(num(p.packets), 10)}${lpad(num(p.bytes), 14)}${lpad(num(p.matched), 10)}`,
      );
  }
  for (const [title, counts] of [
    ['underlay only, by reason', r.reasons.underlay],
    ['overlay only, by reason', r.reasons.overlay],
  ] as const) {
    const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (!rows.length) continue;
    L.push('');
    L.push(title);
    for (const [code, n] of rows) L.push(`  ${pad(code, 20)}${lpad(num(n), 10)}`);
  }
  const u = listLines('unmatched on the underlay', r.unmatchedUnderlay, r.underlayOnly, shown);
  const o = listLines('unmatched on the bridge', r.unmatchedOverlay, r.overlayOnly, shown);
  if (u.length) L.push('', ...u);
  if (o.length) L.push('', ...o);
  return L.join('\n') + '\n';
}

/** Elements of a top-level array written in one piece at most (a few hundred kB of JSON). */
const JSON_BATCH = 1000;

/**
 * JSON.stringify(value) + '\n', in pieces: the top-level arrays (matches, unmatched frames: up
 * to 10,000 each) a batch of elements at a time. As one string, the 1M + 1M report with
 * --matches was 6.7M characters, two bytes each (the reasons' ± and µ), and writing it made a
 * UTF-8 copy: 30 MB more at the very end of the run, its peak.
 */
export function* jsonPieces(value: Record<string, unknown>): Generator<string> {
  let sep = '{';
  for (const [key, v] of Object.entries(value)) {
    if (!Array.isArray(v)) {
      const text = JSON.stringify(v);
      if (text === undefined) continue; // undefined, a function: JSON.stringify leaves the key out
      yield `${sep}${JSON.stringify(key)}:${text}`;
    } else if (v.length === 0) yield `${sep}${JSON.stringify(key)}:[]`;
    else {
      for (let i = 0; i < v.length; i += JSON_BATCH) {
        const part = v.slice(i, i + JSON_BATCH).map((x: unknown) => JSON.stringify(x) ?? 'null');
        yield `${i === 0 ? `${sep}${JSON.stringify(key)}:[` : ','}${part.join(',')}${i + JSON_BATCH >= v.length ? ']' : ''}`;
      }
    }
    sep = ',';
  }
  yield sep === '{' ? '{}\n' : '}\n';
}

/** The JSON the command prints, in pieces: the report (with `sessionFile` when one was read), without the list of matches unless asked. */
export function correlationJson(r: CorrelationReport, withMatches: boolean, session?: SessionUsed, split?: string): Generator<string> {
  const { matches, ...rest } = r;
  const head = { ...(session ? { sessionFile: session.file } : {}), ...(split ? { sides: split } : {}) };
  return jsonPieces(withMatches ? { ...head, ...rest, matches } : { ...head, ...rest });
}

export async function runCorrelate(underlay: string, overlay: string | undefined, flags: CorrelateFlags, io: CliIo): Promise<number> {
  let offsetUs = flags.clockOffset ?? 0;
  const ports = [...(flags.vxlanPort ?? [])];
  let session: SessionUsed | undefined = flags.session === undefined ? undefined : { file: flags.session, beside: false };
  if (session === undefined) {
    const beside = path.join(path.dirname(underlay), 'session.json');
    if (underlay !== '-' && existsSync(beside)) session = { file: beside, beside: true };
  }
  if (flags.clockOffset !== undefined) session = undefined; // --clock-offset wins: no session file is read
  let ifindexNames: ReadonlyMap<number, string> | undefined;
  if (session !== undefined) {
    // one the user did not name: say where it came from and how to do without it
    const explain = (err: unknown): never => {
      if (session?.beside && isVxiError(err))
        throw new VxiError(
          err.code,
          `${err.message} (the session.json beside the underlay capture: name another with --session FILE, or give --clock-offset 0 to read none)`,
          { exitCode: err.exitCode, cause: err },
        );
      throw err;
    };
    const s = await readSessionOffsets(session.file, underlay, overlay ?? underlay).catch(explain);
    offsetUs = s.overlayClockOffsetUs;
    for (const p of s.vxlanPorts) if (!ports.includes(p)) ports.push(p);
    // one file holding both sides: the names of its interface indexes (tcpdump -i any)
    if (overlay === undefined) ifindexNames = (await readSessionIfindexNames(session.file, underlay).catch(explain)).names;
  }
  if (underlay === '-' && overlay === '-') throw new UsageError('only one of the two captures can be read from standard input');
  const registry = createRegistry({ vxlanPorts: ports });
  let sides: { underlay: SideSource; overlay: SideSource };
  let note = '';
  if (overlay === undefined) {
    // one file that holds both sides (dumpcap -i eth1 -i vxlan_bridge, tcpdump -i any)
    if (underlay === '-') throw new UsageError('a capture holding both sides is read from a file, not standard input: correlate FILE');
    const one = await sidesOfOneFile(underlay, registry, ifindexNames);
    sides = { underlay: one.pairing.underlay as SideSource, overlay: one.pairing.overlay as SideSource };
    note = one.note;
  } else sides = { underlay: wholeFile(underlay), overlay: wholeFile(overlay) };
  const run = await analyzeCaptures(sides, {
    registry,
    correlationOnly: true,
    windowUs: (flags.window ?? 1000) * 1000,
    vxlanPorts: ports,
    overlayClockOffsetUs: offsetUs,
  });
  const report = run.figures.correlation as CorrelationReport;
  if (run.inputErrors.length) report.inputErrors = run.inputErrors;
  if (note && !flags.json) io.stderr.write(`vxlan-inspect: ${underlay}: ${note}\n`);
  if (flags.json) for (const piece of correlationJson(report, flags.matches ?? false, session, note)) io.stdout.write(piece);
  else
    io.stdout.write(
      correlationToText(
        overlay === undefined ? `${underlay} [${sides.underlay.iface ?? 'underlay'}]` : underlay,
        overlay ?? `${underlay} [${sides.overlay.iface ?? 'bridge'}]`,
        report,
        flags.list ?? SHOWN_UNMATCHED,
        session,
      ),
    );
  for (const e of report.inputErrors ?? []) io.stderr.write(`vxlan-inspect: ${e.message}; the packets before it were correlated\n`);
  return report.inputErrors?.length ? 1 : 0;
}

export function registerCorrelate(program: Command, io: CliIo): void {
  program
    .command('correlate')
    .description(
      "match the inner frames of the underlay's VXLAN packets with the frames seen on the bridge: encapsulated, decapsulated, flooded, lost",
    )
    .argument('<underlay>', 'capture of the underlay interface (eth1), pcap or pcapng')
    .argument(
      '[overlay]',
      'capture of the bridge (vxlan_bridge), same node or another one; ' +
        'without it, UNDERLAY must hold both sides (a pcapng of eth1 and vxlan_bridge, or tcpdump -i any)',
    )
    .option('--json', 'one JSON object (counts, latency, per VNI, per VTEP pair, unmatched with reasons)')
    .option('--matches', 'with --json: include the list of matches (first 10,000)')
    .option('--window <ms>', 'largest time between the two sightings of a frame, in ms (default 1000)', parseWindowMs)
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable; 4789 and 8472 always are)', collectPorts)
    .option('--session <file>', "session.json giving each node's clock offset (default: the one beside the underlay capture, if any)")
    .option('--clock-offset <us>', "µs to add to the overlay's timestamps (instead of session.json)", parseOffsetUs)
    .option('--list <n>', `unmatched frames to list per side in the text output (default ${SHOWN_UNMATCHED})`, parseList)
    .addHelpText(
      'after',
      '\nExamples:\n  vxlan-inspect correlate fixtures/lab/kvm1-eth1.pcap ' +
        'fixtures/lab/kvm1-vxlan_bridge.pcap\n  vxlan-inspect correlate kvm1-eth1.pcap ' +
        'kvm2-vxlan_bridge.pcap --session session.json --json\n  vxlan-inspect correlate ' +
        'kvm1-any.pcapng        # one capture holding both sides, split by interface\n',
    )
    .action(async (underlay: string, overlay: string | undefined, flags: CorrelateFlags) => {
      process.exitCode = await runCorrelate(underlay, overlay, flags, io);
    });
}
