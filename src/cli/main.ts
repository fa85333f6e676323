/**
 * The command-line program: a thin layer over the library. Each command lives in its own
 * file under src/cli/ and registers itself on the commander program; `main(argv)` is
 * exported so tests drive the CLI without spawning a process.
 */
import { Command, CommanderError } from 'commander';
import { isVxiError } from '../errors.js';
import { COMMANDS } from './commands.js';
import { OutputError, watchOutput } from './output.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** The commands to register: only the one named on the command line, or all (help, unknown). */
function selectCommands(argv: string[]): typeof COMMANDS {
  const first = argv.find((a) => !a.startsWith('-'));
  const hit = COMMANDS.find((c) => c.name === first);
  return hit && first !== 'help' ? [hit] : COMMANDS;
}

export async function buildProgram(io: CliIo, argv: string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('vxlan-inspect')
    .description('Make a VXLAN overlay visible: decode, capture, provision, correlate, and show it.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  for (const entry of selectCommands(argv)) (await entry.load())(program, io);
  return program;
}

/** Runs the CLI and resolves to the process exit code. Never throws for a user's mistake. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  // Every command's output: a failed write (a full disk) is exit 1 naming it, whatever the command.
  const stdout = watchOutput(io.stdout);
  try {
    const program = await buildProgram(io, argv);
    await program.parseAsync(argv, { from: 'user' });
    await stdout.settled();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (caught) {
    await stdout.settled().catch(() => undefined);
    const code = report(caught, io);
    // the command failed on its own and its output failed too: say both
    const failed = stdout.error;
    if (failed && failed !== caught && !failed.brokenPipe) {
      io.stderr.write(`vxlan-inspect: ${failed.message}\n`);
      return Math.max(code, 1);
    }
    return code;
  }
}

/** The exit code for an error out of a command, after printing the one line that says what it was. */
function report(err: unknown, io: CliIo): number {
  if (err instanceof OutputError && err.brokenPipe) return 0;
  if (err instanceof CommanderError) {
    // help and version exit 0; usage errors exit 2 (commander already printed the message)
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (isVxiError(err)) {
    io.stderr.write(`vxlan-inspect: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as { code?: string; message?: string };
  if (e && e.code === 'EPIPE') return 0;
  io.stderr.write(`vxlan-inspect: unexpected error: ${e?.message ?? String(err)}\n`);
  if (process.env.VXI_DEBUG) io.stderr.write(`${(err as Error).stack ?? ''}\n`);
  return 1;
}
