/** `vxlan-inspect decode FILE`: one line per packet (or NDJSON with --json). */
import type { Command } from 'commander';
import { decodeCapture } from '../decode/decode-capture.js';
import { packetToJsonLine } from '../decode/format/json.js';
import { packetToText } from '../decode/format/text.js';
import type { DecodedPacket } from '../decode/types.js';
import type { CliIo } from './main.js';
import { LineWriter } from './output.js';
import { collectPorts, parseCount, parseVni } from './options.js';
import { reportDamage } from './damage.js';

interface DecodeFlags {
  count?: number;
  vni?: number;
  vxlanPort?: number[];
  json?: boolean;
}

function hasVni(p: DecodedPacket, vni: number): boolean {
  for (const l of p.layers) if ((l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe') && l.vni === vni) return true;
  return false;
}

export async function runDecode(file: string, flags: DecodeFlags, io: CliIo): Promise<number> {
  const out = new LineWriter(io.stdout);
  const format = flags.json ? packetToJsonLine : packetToText;
  let printed = 0;
  let wait: Promise<void> | undefined;
  const summary = await decodeCapture(
    file,
    (p) => {
      if (flags.vni !== undefined && !hasVni(p, flags.vni)) return true;
      const w = out.line(format(p));
      if (w) wait = w;
      printed++;
      return flags.count === undefined || printed < flags.count;
    },
    {
      vxlanPorts: flags.vxlanPort ?? [],
      // Back-pressure: when stdout is full, reading waits (memory stays bounded behind a slow pipe).
      afterChunk: () => {
        const w = wait;
        wait = undefined;
        return w;
      },
    },
  );
  wait = out.flush();
  if (wait) await wait;
  return reportDamage(file, summary, io);
}

export function register(program: Command, io: CliIo): void {
  program
    .command('decode')
    .description('print one line per packet: the outer summary, then the inner frame of each tunnel')
    .argument('<file>', 'pcap or pcapng file ("-" for standard input)')
    .option('-c, --count <n>', 'stop after N packets (after the --vni filter)', parseCount)
    .option('--vni <n>', 'only packets carried in this VXLAN/GENEVE VNI', parseVni)
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable; 4789 and 8472 always are)', collectPorts)
    .option('--json', 'NDJSON: one JSON object per packet')
    .addHelpText('after', '\nExample:\n  vxlan-inspect decode fixtures/lab/kvm1-eth1.pcap --vni 10 -c 5\n')
    .action(async (file: string, flags: DecodeFlags) => {
      process.exitCode = await runDecode(file, flags, io);
    });
}
