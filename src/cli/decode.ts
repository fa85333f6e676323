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
import { readSessionIfindexNames } from '../correlate/session.js';

interface DecodeFlags {
  count?: number;
  vni?: number;
  vxlanPort?: number[];
  json?: boolean;
  lineBuffered?: boolean;
  session?: string;
}

/** Bytes of output collected before they are handed to stdout. */
const FLUSH_AT = 1024 * 1024;

/** Exit code after Ctrl-C (128 + SIGINT), as a shell reports a program it interrupted. */
export const INTERRUPTED_EXIT = 130;

/** How a decode ended: the read summary, or interrupted (Ctrl-C) after writing what was decoded. */
type DecodeEnd = ReadSummary | 'interrupted';

interface DecodeRun {
  flags: DecodeFlags;
  out: LineWriter;
  /** Each packet's line goes out at once (a terminal, or -l), not in blocks of FLUSH_AT. */
  lineBuffered: boolean;
  /** Aborted by Ctrl-C. */
  interrupt: AbortSignal;
  /** Names of SLL2 interface indexes (from --session). */
  ifNames?: ReadonlyMap<number, string>;
}

/** One thread: decode and format each packet as it is read. */
async function decodeHere(file: string, run: DecodeRun): Promise<DecodeEnd> {
  const { flags, out, lineBuffered, interrupt } = run;
  const writeLine = lineWriter(flags.json ? 'json' : 'text', run.ifNames);
  // line by line: a small buffer per line (take() hands it over), not a megabyte
  const w = new ByteWriter(lineBuffered ? 512 : FLUSH_AT + 64 * 1024);
  const flushAt = lineBuffered ? 1 : FLUSH_AT;
  let printed = 0;
  let wait: Promise<void> | undefined;
  let summary: ReadSummary;
  try {
    summary = await decodeCapture(
      file,
      (p) => {
        if (flags.vni !== undefined && !hasVni(p, flags.vni)) return true;
        writeLine(w, p);
        w.byte(0x0a);
        if (w.pos >= flushAt) wait = out.bytes(w.take()) ?? wait;
        printed++;
        return flags.count === undefined || printed < flags.count;
      },
      {
        vxlanPorts: flags.vxlanPort ?? [],
        signal: interrupt,
        // Back-pressure: when stdout is full, reading waits (memory stays bounded behind a slow pipe).
        afterChunk: () => {
          const pending = wait;
          wait = undefined;
          return pending;
        },
      },
    );
  } catch (err) {
    if (!interrupt.aborted) throw err;
    // Ctrl-C: the lines of every packet decoded so far still go out (runDecode's out.flush() waits for them)
    void out.bytes(w.take());
    return 'interrupted';
  }
  void out.bytes(w.take()); // runDecode's out.flush() waits for it and reports a failed write
  return summary;
}

/** Worker threads decode and format batches; their lines are written here in input order. */
async function decodeOnWorkers(file: string, run: DecodeRun, workers: number): Promise<DecodeEnd> {
  const { flags, out, interrupt } = run;
  const count = flags.count;
  const task: DecodeLinesTask = { format: flags.json ? 'json' : 'text', vxlanPorts: flags.vxlanPort ?? [], lineEnds: count !== undefined };
  if (flags.vni !== undefined) task.vni = flags.vni;
  if (run.ifNames) task.ifNames = [...run.ifNames];
  let printed = 0;
  const summary = await decodeInParallel<DecodeLinesResult>(file, {
    worker: DECODE_WORKER,
    workerData: task,
    workers,
    // each batch's lines go out as soon as they are decoded (in order): nothing waits for more
    onResult: (r, giveBack) => {
      let bytes = r.output;
      let more = !interrupt.aborted;
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
  return interrupt.aborted ? 'interrupted' : summary;
}

/**
 * The interface names `capture` recorded for the node FILE was made on (session.json
 * `ifindexNames`); undefined, with a line on stderr saying why, when the session does not have them.
 */
async function namesFromSession(session: string, file: string, io: CliIo): Promise<ReadonlyMap<number, string> | undefined> {
  const found = await readSessionIfindexNames(session, file);
  if (found.node === undefined) {
    io.stderr.write(
      `vxlan-inspect: ${session} lists no node for ${file} (by its file name or a <node>- prefix): interface indexes are printed as they are\n`,
    );
    return undefined;
  }
  if (!found.names) {
    io.stderr.write(
      `vxlan-inspect: ${session} holds no interface names for node ${found.node} ` +
        `(recorded by capture since ifindexNames was added): interface indexes are printed as they are\n`,
    );
    return undefined;
  }
  return found.names;
}

export async function runDecode(file: string, flags: DecodeFlags, io: CliIo): Promise<number> {
  const out = new LineWriter(io.stdout);
  const lineBuffered = flags.lineBuffered === true || (io.stdout as { isTTY?: boolean }).isTTY === true;
  // Ctrl-C: stop reading, write the lines of what was decoded, exit 130; a second Ctrl-C does not wait
  const interrupter = new AbortController();
  const onInterrupt = (): void => {
    if (interrupter.signal.aborted) process.exit(INTERRUPTED_EXIT);
    interrupter.abort(new Error('interrupted (Ctrl-C)'));
  };
  process.on('SIGINT', onInterrupt);
  try {
    const run: DecodeRun = { flags, out, lineBuffered, interrupt: interrupter.signal };
    if (flags.session !== undefined) {
      const names = await namesFromSession(flags.session, file, io);
      if (names) run.ifNames = names;
    }
    const workers = workersFor(file, DECODE_WORKER);
    const end = workers > 0 ? await decodeOnWorkers(file, run, workers) : await decodeHere(file, run);
    await out.flush();
    return end === 'interrupted' ? INTERRUPTED_EXIT : reportDamage(file, end, io);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
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
    .option(
      '--session <file>',
      'session.json of the capture: names the interface indexes of a tcpdump -i any capture (eth1 Out, not ifindex 3 Out)',
    )
    .option('-l, --line-buffered', "write each packet's line at once (as tcpdump -l; always on a terminal), e.g. for `decode - -l | grep`")
    .addHelpText(
      'after',
      '\nExamples:\n  vxlan-inspect decode fixtures/lab/kvm1-eth1.pcap --vni 10 -c 5\n  ssh kvm1 tcpdump -U -w - -i eth1 | vxlan-inspect decode - -l\n',
    )
    .action(async (file: string, flags: DecodeFlags) => {
      process.exitCode = await runDecode(file, flags, io);
    });
}
