/** The one line on stderr when a capture is damaged, and the exit code that goes with it. */
import type { ReadSummary } from '../decode/file/index.js';
import type { CliIo } from './main.js';

export function reportDamage(file: string, summary: ReadSummary, io: CliIo): number {
  if (!summary.error) return 0;
  const name = file === '-' ? 'standard input' : file;
  io.stderr.write(
    `vxlan-inspect: ${name}: ${summary.error.message}; ${summary.packets} packet${summary.packets === 1 ? '' : 's'} read before it\n`,
  );
  return 1;
}
