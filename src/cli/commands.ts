/**
 * The list of commands. Each file under src/cli/ exports one register function; it is
 * imported only when its command runs (or for --help), so `decode` does not pay for loading
 * the web server or the SSH library.
 */
import type { Command } from 'commander';
import type { CliIo } from './main.js';

export type RegisterCommand = (program: Command, io: CliIo) => void;

export interface CommandEntry {
  /** The command's name on the command line. */
  name: string;
  load: () => Promise<RegisterCommand>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'decode', load: async () => (await import('./decode.js')).register },
  { name: 'stats', load: async () => (await import('./stats.js')).register },
  { name: 'correlate', load: async () => (await import('./correlate.js')).registerCorrelate },
  { name: 'path', load: async () => (await import('./path.js')).registerPath },
  { name: 'serve', load: async () => (await import('./serve.js')).registerServe },
  { name: 'demo', load: async () => (await import('./demo.js')).registerDemo },
  { name: 'lab', load: async () => (await import('./lab.js')).registerLab },
  { name: 'provision', load: async () => (await import('./provision.js')).registerProvision },
  { name: 'check', load: async () => (await import('./check.js')).registerCheck },
  { name: 'teardown', load: async () => (await import('./teardown.js')).registerTeardown },
  { name: 'capture', load: async () => (await import('./capture.js')).registerCapture },
  { name: 'export', load: async () => (await import('./export.js')).registerExport },
];
