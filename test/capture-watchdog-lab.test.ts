/**
 * The remote end of a capture when the local end dies, against the namespace lab's real
 * OpenSSH sshd and tcpdump:
 * - `kill -9` of the CLI while tcpdump listens on an idle interface (one that never carries a
 *   packet: a veth pair without addresses, so tcpdump never writes and never meets a broken pipe):
 *   the watchdog on the SSH channel stops tcpdump, nothing of the capture is left on the node;
 * - sshd's session processes killed while a command runs (`--tcpdump` names a script that
 *   sleeps through `--version`): the error says the connection closed while that command ran,
 *   naming the node, instead of "failed (exit ?): " with no reason.
 *
 * Network safety: the CLI (the only thing that talks SSH to 10.3.1.x) runs inside the lab's
 * frontend namespace after a check that it exists; everything else is `ip -n`/`ip netns
 * pids`/`/proc` (local queries) and signals to processes by PID. Root only; skipped with the
 * reason otherwise. The lab, the dummy interface and every process started here go in
 * afterAll, even on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labPreflight, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { canRunNetns, namespaces, processesIn, uniquePrefix } from './helpers/netns.js';

const can = canRunNetns();
const preflight = can.ok ? await labPreflight() : can.reason;
const suite = preflight === null ? describe : describe.skip;

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
/** The idle interface made in kvm1's namespace for the test (a veth pair, both ends there). */
const IDLE = 'vxiwd0';
const IDLE_PEER = 'vxiwd1';
const DEADLINE_MS = 20_000;

function mustExist(ns: string): void {
  if (!namespaces().includes(ns)) throw new Error(`namespace ${ns} does not exist: refusing to send anything`);
}

function must(argv: string[]): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function parentOf(pid: number): number {
  try {
    // `pid (comm) state ppid …`: comm may hold spaces, the last ')' ends it
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

async function waitFor(what: string, cond: () => boolean, ms = DEADLINE_MS): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

interface Cli {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stderr: () => string;
}

suite(`the remote end of a capture when the local end dies${preflight ? ` (skipped: ${preflight})` : ''}`, { timeout: 120_000 }, () => {
  const prefix = uniquePrefix();
  const kvm1 = `${prefix}kvm1`;
  let work = '';
  let h: LabHandle;
  const started: ChildProcess[] = [];

  /** Our CLI inside the frontend namespace (checked first); killed at the deadline whatever happens. */
  function startCli(args: string[]): Cli {
    mustExist(h.frontendNetns);
    const argv = netnsExec(h.frontendNetns, [process.execPath, BIN, ...args, '--inventory', h.inventoryPath]);
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    started.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const done = new Promise<Awaited<Cli['done']>>((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      }),
    );
    return { child, done, stderr: () => stderr };
  }

  /** Processes in kvm1's namespace whose command line mentions `word` (a capture's tcpdump, its watchdog, a script). */
  function onKvm1(word: string): { pid: number; comm: string; argv: string[] }[] {
    return processesIn(kvm1).filter((p) => p.argv.some((a) => a.includes(word)));
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-watchdog-lab-'));
    h = await labUp({ prefix, dir: path.join(work, 'lab'), provisioned: false });
    // an interface nothing is ever sent on: a veth pair without addresses (no IPv6 link-local, no DAD, no MLD), in kvm1 alone
    mustExist(kvm1);
    must(['ip', '-n', kvm1, 'link', 'add', IDLE, 'type', 'veth', 'peer', 'name', IDLE_PEER]);
    for (const dev of [IDLE, IDLE_PEER]) {
      must(['ip', '-n', kvm1, 'link', 'set', 'dev', dev, 'addrgenmode', 'none']);
      must(['ip', '-n', kvm1, 'link', 'set', 'dev', dev, 'up']);
    }
  }, 180_000);

  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // whatever this file started on the node (a tcpdump of the idle interface, the sleeping script)
    if (work && namespaces().includes(kvm1)) {
      const ours = [...onKvm1(IDLE), ...onKvm1(work)].map((p) => p.pid);
      // and the script's sleep
      const children = processesIn(kvm1)
        .filter((p) => ours.includes(parentOf(p.pid)))
        .map((p) => p.pid);
      for (const pid of [...children, ...ours]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await labDown({ prefix, dir: work ? path.join(work, 'lab') : undefined });
    if (work) rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('kill -9 of the CLI while tcpdump listens on an idle interface: tcpdump and its watchdog leave the node', async () => {
    const out = path.join(work, 'killed');
    const run = startCli(['capture', 'kvm1', '--iface', IDLE, '--out', out]);
    await waitFor('the capture to start', () => run.stderr().includes(`capture: kvm1 ${IDLE} -> `));
    const tcpdumps = onKvm1(IDLE).filter((p) => p.comm === 'tcpdump');
    expect(tcpdumps, JSON.stringify(processesIn(kvm1))).toHaveLength(1);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    // no packet ever comes on the idle interface: only the watchdog can end tcpdump
    try {
      const ms = await waitFor('no tcpdump of the idle interface (nor its watchdog) left on kvm1', () => onKvm1(IDLE).length === 0);
      console.log(`watchdog: the node's tcpdump was gone ${ms} ms after kill -9 of the CLI`);
    } finally {
      // a tcpdump left over would otherwise stay until the end (and spoil the next test)
      for (const p of onKvm1(IDLE)) process.kill(p.pid, 'SIGKILL');
    }
    // the file holds what arrived before: a header, no packet
    expect(readFileSync(path.join(out, `kvm1-${IDLE}.pcap`)).length).toBe(24);
  });

  it('a stopped capture still ends normally: tcpdump prints its counters, exit 0, nothing left on the node', async () => {
    const out = path.join(work, 'stopped');
    const run = startCli(['capture', 'kvm1', '--iface', IDLE, '--out', out, '--duration', '2', '--json']);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      ok: boolean;
      nodes: { streams: { end: string; tcpdump: { captured: number | null } | null }[] }[];
    };
    expect(summary.ok).toBe(true);
    expect(summary.nodes[0]?.streams.map((s) => [s.end, s.tcpdump?.captured])).toEqual([['stopped', 0]]);
    await waitFor('nothing of the capture left on kvm1', () => onKvm1(IDLE).length === 0);
  });

  it("sshd's session killed while a command runs: the error names kvm1 and the command, says the connection closed, exit 1", async () => {
    // `--tcpdump` names a script that sleeps through `--version`: the command that is running when sshd goes
    const slow = path.join(work, 'slow-tcpdump');
    writeFileSync(slow, '#!/bin/sh\nsleep 30\n');
    chmodSync(slow, 0o755);
    const run = startCli(['capture', 'kvm1', '--out', path.join(work, 'sshd-killed'), '--tcpdump', slow]);
    await waitFor('the script to run on kvm1', () => onKvm1(slow).length > 0);
    // sshd's per-connection processes ("sshd: root@notty", "sshd: root [priv]"), not the lab's listening sshd
    const sessions = processesIn(kvm1).filter((p) => p.comm === 'sshd' && (p.argv[0] ?? '').startsWith('sshd: '));
    expect(sessions.length, JSON.stringify(processesIn(kvm1))).toBeGreaterThan(0);
    for (const s of sessions) process.kill(s.pid, 'SIGKILL');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    // the first of the commands in flight to hear of it (the version check, or one started beside it) says so
    expect(r.stderr).toMatch(
      new RegExp(
        /^vxlan-inspect: kvm1 \(10\.3\.1\.156\) eth1, vxlan_bridge: the SSH connection closed while `[^`\n]+` was running /.source +
          /\(no exit status came back: sshd on kvm1 stopped, or the connection to 10\.3\.1\.156 was lost\); /.source +
          /whether it took effect is unknown: check the node, then run again$/.source,
        'm',
      ),
    );
    expect(r.stderr).not.toMatch(/exit \?\)|failed \(exit/);
  });
});
