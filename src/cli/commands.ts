/** The list of commands. Each file under src/cli/ exports one `register` function. */
import type { Command } from 'commander';
import type { CliIo } from './main.js';

export type RegisterCommand = (program: Command, io: CliIo) => void;

export const COMMANDS: RegisterCommand[] = [];
