/** `vxlan-inspect demo`: the web view of the bundled lab recording (fixtures/lab). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { PrerequisiteError } from '../errors.js';
import { writeSampleSession } from '../web/sample.js';
import { sessionFromDir } from '../web/session.js';
import type { CliIo } from './main.js';
import { collectPorts, parseIntInRange } from './options.js';
import { runServer, serveOptions, type ServeFlags } from './serve.js';

const LAB_FILES = ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'];

/** fixtures/lab of the package (from src/cli or dist/cli). */
export function labRecordingDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'lab');
}

interface DemoFlags extends ServeFlags {
  live?: boolean;
}

export async function runDemo(flags: DemoFlags, io: CliIo, signal?: AbortSignal, dir = labRecordingDir()): Promise<number> {
  if (flags.live) {
    throw new PrerequisiteError('demo --live is not available yet (it needs the live capture support); run `vxlan-inspect lab record` to record the lab, then `vxlan-inspect serve DIR`');
  }
  const complete = LAB_FILES.every((f) => existsSync(path.join(dir, f)));
  if (complete) return runServer(sessionFromDir(dir), serveOptions(flags), path.relative(process.cwd(), dir) || dir, io, signal);
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-demo-'));
  try {
    writeSampleSession(tmp);
    io.stderr.write(`note: the lab recording ${dir} is missing: serving a small synthetic sample instead\n`);
    return await runServer(sessionFromDir(tmp), { ...serveOptions(flags), banner: 'Synthetic sample (the lab recording fixtures/lab is missing)' }, 'a synthetic sample', io, signal);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('web view of the bundled lab recording (kvm1 and kvm2, eth1 and vxlan_bridge): the quick start')
    .option('--port <n>', 'TCP port (0: any free port)', parseIntInRange('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--vxlan-port <port>', 'also decode this UDP port as VXLAN (repeatable)', collectPorts)
    .option('--live', 'bring the lab up, capture kvm1 and kvm2 live and serve it (not available yet)')
    .action(async (flags: DemoFlags) => {
      process.exitCode = await runDemo(flags, io);
    });
}
