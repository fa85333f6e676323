/**
 * `vxlan-inspect export DIR|FILES… --out OUTDIR`: a capture folder's analysis as Parquet
 * (packets.parquet, flows.parquet, export.json) for DuckDB, ClickHouse, Spark, and with
 * Community IDs to join Zeek, Arkime and Malcolm data. See src/export/export.ts.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from './main.js';
import { collectPorts, parseIntInRange, parseWindowMs } from './options.js';

interface ExportFlags {
  out?: string;
  capture?: string;
  window?: number;
  vxlanPort?: number[];
  seed?: number;
  memoryLimit?: string;
  path?: boolean;
  json?: boolean;
}

function parseMemory(value: string): string {
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value))
    throw new UsageError(`--memory-limit must be a size such as 512MB or 2GB, not ${JSON.stringify(value)}`);
  return value.replace(/\s+/g, '');
}

const num = (n: number): string => n.toLocaleString('en-US');

export function registerExport(program: Command, io: CliIo): void {
  program
    .command('export')
    .description(
      "write a capture folder's analysis as Parquet (per packet, per flow, with Community IDs) for DuckDB, ClickHouse, Spark, Zeek/Arkime joins",
    )
    .argument('<captures...>', 'a capture folder (session.json, or <node>-<interface>.pcap files), or capture files')
    .requiredOption(
      '--out <dir>',
      'folder to write packets.parquet, flows.parquet and export.json to (made if missing; an earlier export there is replaced)',
    )
    .option('--capture <name>', "what every row's `capture` column says, to tell merged exports apart (default: the capture folder's name)")
    .option('--window <ms>', 'largest time between the two sightings of a frame, in ms (default 1000, as correlate)', parseWindowMs)
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable; 4789 and 8472 always are)', collectPorts)
    .option(
      '--seed <n>',
      'Community ID seed (default 0, what Zeek, Suricata and Arkime use unless configured)',
      parseIntInRange('--seed', 0, 65535),
    )
    .option(
      '--memory-limit <size>',
      'memory DuckDB may use before it spills to the output folder (default 256MB, one DuckDB thread; more is faster on large captures)',
      parseMemory,
    )
    .option(
      '--path',
      "fill path_hop, path_status and loss_reason from path's own run over the folder (two or more nodes with both sides; a second analysis)",
    )
    .option('--json', 'print export.json (files, row counts, nodes, correlation counts) instead of the summary')
    .addHelpText(
      'after',
      '\nExamples:\n  vxlan-inspect export fixtures/lab --out /tmp/lab-export\n  duckdb -c "SELECT vni, ' +
        "count(*) FROM '/tmp/lab-export/packets.parquet' WHERE side = 'underlay' AND tunnel = 'vxlan' " +
        'GROUP BY vni"\n',
    )
    .action(async (captures: string[], flags: ExportFlags) => {
      const { exportCaptures } = await import('../export/export.js');
      const s = await exportCaptures(captures, {
        outDir: flags.out as string,
        ...(flags.capture !== undefined ? { capture: flags.capture } : {}),
        ...(flags.window !== undefined ? { windowUs: flags.window * 1000 } : {}),
        ...(flags.vxlanPort ? { vxlanPorts: flags.vxlanPort } : {}),
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.memoryLimit !== undefined ? { memoryLimit: flags.memoryLimit } : {}),
        ...(flags.path ? { path: true } : {}),
      });
      if (flags.json) io.stdout.write(`${JSON.stringify(s)}\n`);
      else {
        const lines = [`${s.files.packets}: ${num(s.packetRows)} packet rows`, `${s.files.flows}: ${num(s.flowRows)} flow rows`];
        for (const n of s.nodes) {
          const sides = [
            n.underlay && `${n.underlay.file} (${n.underlay.interface}, ${num(n.underlay.packets)})`,
            n.overlay && `${n.overlay.file} (${n.overlay.interface}, ${num(n.overlay.packets)})`,
          ]
            .filter(Boolean)
            .join(' + ');
          const c = n.correlation
            ? `: matched ${num(n.correlation.matched)}, underlay only ${num(n.correlation.underlayOnly)}, overlay only ${num(n.correlation.overlayOnly)}`
            : ': one side only, nothing matched';
          lines.push(`  node ${n.node}  ${sides}${c}`);
        }
        if (s.path.followed)
          lines.push(
            `  path      ${num(s.path.branches ?? 0)} branches across ${(s.path.nodes ?? []).join(', ')}: ${num(s.path.sightings ?? 0)} rows on a path`,
          );
        io.stdout.write(`${lines.join('\n')}\n`);
      }
      if (flags.path && !s.path.followed) io.stderr.write(`vxlan-inspect: path columns left empty: ${s.path.why ?? ''}\n`);
      for (const m of [...s.notes]) io.stderr.write(`vxlan-inspect: ${m}\n`);
      for (const m of s.problems) io.stderr.write(`vxlan-inspect: left out: ${m}\n`);
      for (const e of s.inputErrors) io.stderr.write(`vxlan-inspect: ${e}; the packets before it were exported\n`);
      process.exitCode = s.inputErrors.length ? 1 : 0;
    });
}
