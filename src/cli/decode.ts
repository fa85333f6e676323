/** `vxlan-inspect decode FILE`: one line per packet (or NDJSON with --json). */
import type { Command } from 'commander';
import { decodeCapture } from '../decode/decode-capture.js';
import type { ReadSummary } from '../decode/file/index.js';
import { decodeInParallel } from '../decode/parallel/pool.js';
import { workersFor } from '../decode/parallel/policy.js';
import { DECODE_WORKER, hasVni, lineWriter, type DecodeLinesResult, type DecodeLinesTask } from '../decode/parallel/decode-lines.js';
import { ByteWriter } from '../decode/format/bytes.js';
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

/** Bytes of output collected before they are handed to stdout. */
const FLUSH_AT = 1024 * 1024;

/** One thread: decode and format each packet as it is read. */
async function decodeHere(file: string, flags: DecodeFlags, out: LineWriter): Promise<ReadSummary> {
  const writeLine = lineWriter(flags.json ? 'json' : 'text');
  const w = new ByteWriter(FLUSH_AT + 64 * 1024);
  let printed = 0;
  let wait: Promise<void> | undefined;
  const summary = await decodeCapture(
    file,
    (p) => {
      if (flags.vni !== undefined && !hasVni(p, flags.vni)) return true;
      writeLine(w, p);
      w.byte(0x0a);
      if (w.pos >= FLUSH_AT) wait = out.bytes(w.take()) ?? wait;
      printed++;
      return flags.count === undefined || printed < flags.count;
    },
    {
      vxlanPorts: flags.vxlanPort ?? [],
      // Back-pressure: when stdout is full, reading waits (memory stays bounded behind a slow pipe).
      afterChunk: () => {
        const pending = wait;
        wait = undefined;
        return pending;
      },
    },
  );
  out.bytes(w.take());
  return summary;
}

/** Worker threads decode and format batches; their lines are written here in input order. */
async function decodeOnWorkers(file: string, flags: DecodeFlags, out: LineWriter, workers: number): Promise<ReadSummary> {
  const count = flags.count;
  const task: DecodeLinesTask = { format: flags.json ? 'json' : 'text', vxlanPorts: flags.vxlanPort ?? [], lineEnds: count !== undefined };
  if (flags.vni !== undefined) task.vni = flags.vni;
  let printed = 0;
  return decodeInParallel<DecodeLinesResult>(file, {
    worker: DECODE_WORKER,
    workerData: task,
    workers,
    onResult: (r, giveBack) => {
      let bytes = r.output;
      let more = true;
      if (count !== undefined && printed + r.lines >= count) {
        const keep = count - printed;
        bytes = keep === 0 ? bytes.subarray(0, 0) : bytes.subarray(0, r.lineEnds?.[keep - 1] ?? bytes.length);
        more = false;
      }
      printed += r.lines;
      const w = out.bytes(bytes, () => giveBack(r.output.buffer as ArrayBuffer));
      return w ? w.then(() => more) : more;
    },
  });
}

export async function runDecode(file: string, flags: DecodeFlags, io: CliIo): Promise<number> {
  const out = new LineWriter(io.stdout);
  const workers = workersFor(file, DECODE_WORKER);
  const summary = workers > 0 ? await decodeOnWorkers(file, flags, out, workers) : await decodeHere(file, flags, out);
  const wait = out.flush();
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
