#!/usr/bin/env node
import { main } from './main.js';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});
// main answers every failure with an exit code; a rejection here would be a bug, and Node's default
// (print it, exit 1) is then the right end
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
