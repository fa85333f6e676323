/** Runs the CLI in-process (main(argv)) and collects what it prints. */
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export async function runCli(args: string[]): Promise<CliResult> {
  const out = sink();
  const err = sink();
  const prev = process.exitCode;
  process.exitCode = undefined;
  const code = await main(args, { stdout: out.stream, stderr: err.stream });
  process.exitCode = prev;
  return { code, stdout: out.text(), stderr: err.text() };
}
