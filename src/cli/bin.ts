#!/usr/bin/env -S node --max-semi-space-size=4
// The V8 flag (Linux's env -S passes it): a young generation of 2 × 4 MB instead of 2 × 16 MB. What
// survives a scavenge is small (the correlator keeps its frames in typed arrays and reuses its
// objects), so scavenging four times as often cost no measurable CPU, and `correlate` on 1M + 1M
// packets peaked 20–25 MB lower (README Performance). `node dist/cli/bin.js` runs without it.
import { main } from './main.js';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});
// main answers every failure with an exit code; a rejection here would be a bug, and Node's default
// (print it, exit 1) is then the right end
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
