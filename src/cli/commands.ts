/** The list of commands. Each file under src/cli/ exports one `register` function. */
import type { Command } from 'commander';
import type { CliIo } from './main.js';
import { register as registerDecode } from './decode.js';
import { register as registerStats } from './stats.js';
import { registerLab } from './lab.js';

export type RegisterCommand = (program: Command, io: CliIo) => void;

export const COMMANDS: RegisterCommand[] = [registerDecode, registerStats, registerLab];
