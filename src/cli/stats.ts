/** `vxlan-inspect stats FILE`: totals, per VNI, per VTEP pair, MACs behind VTEPs, top flows, overhead. */
import type { Command } from 'commander';
import type { CaptureStats } from '../stats/stats.js';
import { collectStats } from '../stats/parallel.js';
import type { CliIo } from './main.js';
import { collectPorts } from './options.js';
import { reportDamage } from './damage.js';

interface StatsFlags {
  vxlanPort?: number[];
  json?: boolean;
  top?: number;
}

function pad(s: string | number, n: number): string {
  return String(s).padEnd(n);
}
function num(n: number): string {
  return n.toLocaleString('en-US');
}
/** A column as wide as its longest entry plus two spaces, and never narrower than `least`. */
function width(entries: readonly string[], least: number): number {
  let w = least;
  for (const e of entries) w = Math.max(w, e.length + 2);
  return w;
}

/** Protocol names as people write them (the library's flow labels say "ICMPV6"). */
const PROTOCOL_NAMES: Record<string, string> = { ICMPV6: 'ICMPv6', ARP: 'ARP', ICMP: 'ICMP', TCP: 'TCP', UDP: 'UDP' };

/** A flow label for printing: its last word, the protocol, spelled as in PROTOCOL_NAMES. */
export function flowText(flow: string): string {
  const cut = flow.lastIndexOf(' ');
  const name = PROTOCOL_NAMES[flow.slice(cut + 1)];
  return name === undefined ? flow : flow.slice(0, cut + 1) + name;
}

export function statsToText(file: string, s: CaptureStats, format: string): string {
  const lines: string[] = [];
  lines.push(`${pad('capture', 16)}${file} (${format}, link type ${Object.keys(s.linkTypes).join(', ') || 'none'})`);
  lines.push(
    `${pad('packets', 16)}${num(s.packets)} (${num(s.bytes)} bytes on the wire, ${num(s.capturedBytes)} captured, ${s.durationSec.toFixed(3)} s)`,
  );
  const ports = Object.entries(s.vxlan.ports)
    .map(([p, c]) => `${p}${c !== s.vxlan.packets ? ` (${num(c)})` : ''}`)
    .join(', ');
  lines.push(`${pad('VXLAN', 16)}${num(s.vxlan.packets)} packets, ${num(s.vxlan.bytes)} bytes${ports ? `, UDP port ${ports}` : ''}`);
  for (const [vni, c] of Object.entries(s.vxlan.byVni))
    lines.push(`  ${pad(`VNI ${vni}`, 14)}${pad(`${num(c.packets)} packets`, 18)}${num(c.bytes)} bytes`);
  if (s.geneve.packets) {
    lines.push(`${pad('GENEVE', 16)}${num(s.geneve.packets)} packets`);
    for (const [vni, c] of Object.entries(s.geneve.byVni))
      lines.push(`  ${pad(`VNI ${vni}`, 14)}${pad(`${num(c.packets)} packets`, 18)}${num(c.bytes)} bytes`);
  }
  if (s.vxlanGpe.packets) lines.push(`${pad('VXLAN-GPE', 16)}${num(s.vxlanGpe.packets)} packets`);
  // Columns fit the longest entry (IPv6 addresses are long), at least the widths IPv4 needs.
  if (s.vtepPairs.length) {
    lines.push('VTEP pairs (outer source > destination)');
    const pairs = s.vtepPairs.map((p) => `${p.src} > ${p.dst}`);
    const w = width(pairs, 34);
    const vniW = width(
      s.vtepPairs.map((p) => `vni ${p.vni}`),
      12,
    );
    s.vtepPairs.forEach((p, i) =>
      lines.push(`  ${pad(pairs[i] as string, w)}${pad(`vni ${p.vni}`, vniW)}${pad(`${num(p.packets)} packets`, 18)}${num(p.bytes)} bytes`),
    );
  }
  const vteps = Object.entries(s.macsBehindVtep);
  if (vteps.length) {
    lines.push('inner MACs behind each VTEP (learned from encapsulated source MACs)');
    const w = width(
      vteps.map(([vtep]) => vtep),
      18,
    );
    for (const [vtep, macs] of vteps) lines.push(`  ${pad(vtep, w)}${macs.join(' ')}`);
  }
  if (s.topFlows.length) {
    lines.push('top flows (innermost level, by bytes)');
    const vnis = s.topFlows.map((f) => (f.vni === null ? '' : `vni ${f.vni}`));
    const flows = s.topFlows.map((f) => flowText(f.flow));
    const vniW = width(vnis, 10);
    const w = width(flows, 58);
    const pkts = width(
      s.topFlows.map((f) => `${num(f.packets)} pkts`),
      14,
    );
    s.topFlows.forEach((f, i) =>
      lines.push(
        `  ${pad(vnis[i] as string, vniW)}${pad(flows[i] as string, w)}${pad(`${num(f.packets)} pkts`, pkts)}${num(f.bytes)} bytes`,
      ),
    );
  }
  lines.push(
    `${pad('overhead', 16)}${num(s.overhead.bytes)} of ${num(s.overhead.tunnelledBytes)} tunnelled ` +
      `bytes are encapsulation (${s.overhead.percent.toFixed(2)} %)`,
  );
  lines.push(
    `${pad('malformed', 16)}${num(s.malformed)}   truncated by snaplen ${num(s.truncated)}   with warnings ${num(s.withWarnings)}`,
  );
  return lines.join('\n') + '\n';
}

export async function runStats(file: string, flags: StatsFlags, io: CliIo): Promise<number> {
  const { collector, summary } = await collectStats(file, { vxlanPorts: flags.vxlanPort ?? [] });
  const s = collector.result(flags.top ?? 10);
  if (flags.json) io.stdout.write(JSON.stringify(s) + '\n');
  else io.stdout.write(statsToText(file === '-' ? 'standard input' : file, s, summary.format ?? 'unknown format'));
  return reportDamage(file, summary, io);
}

export function register(program: Command, io: CliIo): void {
  program
    .command('stats')
    .description('totals, per VNI, per VTEP pair, inner MACs behind each VTEP, top flows, encapsulation overhead')
    .argument('<file>', 'pcap or pcapng file ("-" for standard input)')
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable)', collectPorts)
    .option('--top <n>', 'how many flows to list', (v) => Math.max(1, Number.parseInt(v, 10) || 10))
    .option('--json', 'one JSON object')
    .addHelpText('after', '\nExample:\n  vxlan-inspect stats fixtures/lab/kvm1-eth1.pcap --json\n')
    .action(async (file: string, flags: StatsFlags) => {
      process.exitCode = await runStats(file, flags, io);
    });
}
