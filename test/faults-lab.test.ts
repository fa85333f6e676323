/**
 * Faults against the namespace lab, each with the real thing broken: the remote tcpdump killed,
 * the local disk full, a node that hangs on connect, the underlay link set down mid-capture,
 * and provision killed half-way. (sshd killed mid-capture is in capture-lab.test.ts.)
 *
 * For every capture fault: the files stay valid pcaps (read to the end by CaptureParser), the
 * error names the node (and the interface), no tcpdump is left in the node namespaces and no
 * capture process is left here, exit 1.
 *
 * Network safety: the CLI (the only thing that talks SSH to 10.3.1.x) runs inside the lab's
 * frontend namespace, after checking that the namespace exists; everything else is `ip netns
 * exec`/`ip -n` into lab namespaces. Root only; skipped with the reason where namespaces
 * cannot be made. Everything (lab, tmpfs, listener, route) goes in afterAll even on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labPreflight, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { canRunNetns, cmdline, namespaces, processesIn, uniquePrefix } from './helpers/netns.js';
import { wholePcapCount } from './helpers/pcap.js';

const can = canRunNetns();
const preflight = can.ok ? await labPreflight() : can.reason;
const suite = preflight === null ? describe : describe.skip;

/** What the CLI prints on stderr once every tcpdump listens. */
const STARTED = 'capture: kvm1 eth1, kvm1 vxlan_bridge -> ';
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');

function mustExist(ns: string): void {
  if (!namespaces().includes(ns)) throw new Error(`namespace ${ns} does not exist: refusing to send anything`);
}

/** Runs argv inside a lab namespace (checked first); throws unless it exits 0. */
function inNs(ns: string, argv: string[]): string {
  mustExist(ns);
  const [cmd, ...args] = netnsExec(ns, argv);
  const r = spawnSync(cmd as string, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${ns}: ${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Cli {
  child: ChildProcess;
  done: Promise<CliRun>;
  stdout: () => string;
  stderr: () => string;
}

/** Our CLI inside the frontend namespace (refuses unless it exists), killed after `limitMs`. */
function startCli(h: LabHandle, args: string[], limitMs = 120_000): Cli {
  mustExist(h.frontendNetns);
  const argv = netnsExec(h.frontendNetns, [process.execPath, BIN, ...args]);
  const t0 = Date.now();
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
  return Date.now() - t0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tcpdumpsIn(netns: string): { pid: number; argv: string[] }[] {
  return processesIn(netns).filter((p) => p.comm === 'tcpdump');
}

/** Local processes (any namespace) whose command line mentions `marker` (a capture's unique --out folder). */
function localProcessesWith(marker: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .map((d) => cmdline(Number(d)))
    .filter((a) => a.some((x) => x.includes(marker)))
    .map((a) => a.join(' '));
}

interface JsonStream {
  iface: string;
  end: string;
  packets: number;
  file: string | null;
  fileBytes: number;
  error?: string;
  tcpdump: { captured: number | null; droppedByKernel: number | null } | null;
}
interface JsonSummary {
  ok: boolean;
  reason: string;
  errors: string[];
  nodes: { node: string; streams: JsonStream[] }[];
}

/** `kvm1 + ip link add …` for each command provision printed as applied (its live `+ ` lines, per node). */
function appliedLines(stdout: string): string[] {
  let node = '?';
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const head = /^(\S+) \([^)]*\):$/.exec(line);
    if (head) node = head[1] ?? '?';
    else if (line.startsWith('  + ')) out.push(`${node} ${line.slice(4).replace(/ {4}#.*$/, '')}`);
  }
  return out;
}

function streamsOf(r: CliRun): JsonStream[] {
  const s = JSON.parse(r.stdout) as JsonSummary;
  return s.nodes.flatMap((n) => n.streams);
}

suite(`faults against the lab${preflight ? ` (skipped: ${preflight})` : ''}`, { timeout: 180_000 }, () => {
  const prefix = uniquePrefix();
  const kvm1 = `${prefix}kvm1`;
  const kvm2 = `${prefix}kvm2`;
  let work = '';
  let h: LabHandle;
  /** vm1 → vm2 across the overlay all along, so every capture has VXLAN on eth1 and frames on the bridge. */
  let steady: ChildProcess | undefined;
  const mounts: string[] = [];
  const started: ChildProcess[] = [];

  /** A helper process inside a lab namespace, stopped in finally/afterAll by its pid. */
  function background(ns: string, argv: string[]): ChildProcess & { out: () => string } {
    mustExist(ns);
    const a = netnsExec(ns, argv);
    const child = spawn(a[0] as string, a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
    started.push(child);
    return Object.assign(child, { out: () => out });
  }

  /** vm1 pings vm2 across the overlay (inside vm1's namespace). */
  function pingsVm2(): boolean {
    const ns = `${prefix}vm1`;
    mustExist(ns);
    return spawnSync('ip', netnsExec(ns, ['ping', '-c', '1', '-W', '1', '10.220.220.6']).slice(1)).status === 0;
  }

  async function stopChild(c: ChildProcess): Promise<void> {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    c.kill('SIGKILL');
    await Promise.race([gone, sleep(5000)]);
  }

  function expectNoOrphans(out: string): void {
    expect(tcpdumpsIn(kvm1).map((p) => p.argv.join(' '))).toEqual([]);
    expect(tcpdumpsIn(kvm2).map((p) => p.argv.join(' '))).toEqual([]);
    expect(localProcessesWith(out)).toEqual([]);
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-faults-'));
    h = await labUp({ prefix, dir: path.join(work, 'lab'), provisioned: true });
    // a steady ping, not the lab's traffic mix in a loop: the mix starts node processes every round,
    // CPU the captures and CLI runs here then wait for on a loaded machine
    steady = background(`${prefix}vm1`, ['ping', '-n', '-q', '-i', '0.2', '10.220.220.6']);
  }, 180_000);

  afterAll(async () => {
    for (const c of started) await stopChild(c);
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    await labDown({ prefix, dir: work ? path.join(work, 'lab') : undefined });
    if (work) rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('the remote tcpdump killed with SIGKILL: that stream fails naming kvm1 eth1, the other runs to --duration, exit 1', async () => {
    const out = path.join(work, 'tcpdump-killed');
    const run = startCli(h, ['capture', 'kvm1', '--inventory', h.inventoryPath, '--out', out, '--duration', '6']);
    await waitFor('the capture to start', () => run.stderr().includes(STARTED), 30_000);
    // the sink grows its file by whole records only: past the 24-byte file header, eth1 has a packet to keep
    const eth1File = path.join(out, 'kvm1-eth1.pcap');
    await waitFor('a packet in kvm1-eth1.pcap', () => existsSync(eth1File) && statSync(eth1File).size > 24, 4000);
    const eth1 = tcpdumpsIn(kvm1).filter((p) => p.argv.includes('eth1'));
    expect(eth1).toHaveLength(1);
    process.kill((eth1[0] as { pid: number }).pid, 'SIGKILL');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^vxlan-inspect: kvm1 \(10\.3\.1\.156\) eth1: tcpdump failed: killed by SIGKILL$/m);
    expect(r.stderr).not.toMatch(/vxlan_bridge:/);
    const session = JSON.parse(readFileSync(path.join(out, 'session.json'), 'utf8')) as {
      nodes: { interfaces: { iface: string; end: string; packets: number; file: string }[] }[];
    };
    const ifs = session.nodes[0]?.interfaces ?? [];
    expect(ifs.map((i) => [i.iface, i.end])).toEqual([
      ['eth1', 'failed'],
      ['vxlan_bridge', 'stopped'],
    ]);
    for (const i of ifs) expect(wholePcapCount(path.join(out, i.file))).toBe(i.packets);
    expect(ifs[0]?.packets).toBeGreaterThan(0);
    expectNoOrphans(out);
  });

  it('the local disk full (a 64 KiB tmpfs): files truncated to their last whole record, ENOSPC and the path named, exit 1', async () => {
    const mnt = path.join(work, 'full');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    mounts.push(mnt);
    // a steady 1000-byte ping across the overlay: ~200 KB/s on each interface, the tmpfs fills in well under a second
    const ping = background(`${prefix}vm1`, ['ping', '-q', '-i', '0.01', '-s', '1000', '-w', '40', '10.220.220.6']);
    try {
      const out = path.join(mnt, 'cap');
      const run = startCli(h, ['capture', 'kvm1', '--inventory', h.inventoryPath, '--out', out, '--duration', '30', '--json']);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.ms).toBeLessThan(25_000); // both streams fail long before --duration
      const streams = streamsOf(r);
      expect(streams.map((s) => s.end)).toEqual(['failed', 'failed']);
      for (const s of streams) {
        const file = path.join(out, `kvm1-${s.iface}.pcap`);
        expect(s.error).toBe(
          `kvm1 (10.3.1.156) ${s.iface}: cannot write ${file}: ENOSPC: no space left on device, write; the file keeps its ${s.packets} whole packet(s)`,
        );
        expect(r.stderr).toContain(s.error);
        // the file is exactly its whole records: the partial write was cut off
        expect(statSync(file).size).toBe(s.fileBytes);
        expect(wholePcapCount(file)).toBe(s.packets);
      }
      // the faster stream may fill the disk before the other's first record: that file is a header alone, still valid
      expect(streams.reduce((a, s) => a + s.packets, 0)).toBeGreaterThan(0);
      // session.json fits in the space the truncation gave back, or its failure is named too
      const sessionFile = path.join(out, 'session.json');
      if (existsSync(sessionFile)) expect((JSON.parse(readFileSync(sessionFile, 'utf8')) as { reason: string }).reason).toBe('error');
      else expect(r.stderr).toContain(`cannot write ${sessionFile}`);
      expectNoOrphans(out);
    } finally {
      await stopChild(ping);
    }
  });

  it('a node that accepts TCP but never speaks SSH: the connect timeout names the node and host:port, no folder left, exit 1', async () => {
    const lines = readFileSync(h.inventoryPath, 'utf8').trimEnd();
    const inv = path.join(work, 'inventory-stuck.yaml');
    // `stuck` is kvm1's address on port 2222, where a listener reads and never answers
    writeFileSync(inv, `${lines}\n  stuck: { host: 10.3.1.156, port: 2222 }\n`);
    const listener = background(kvm1, [
      process.execPath,
      '-e',
      "require('net').createServer(s=>{s.on('data',()=>{});s.on('error',()=>{})}).listen(2222,'10.3.1.156',()=>console.log('listening'))",
    ]);
    try {
      await waitFor('the silent listener', () => listener.out().includes('listening'), 10_000);
      const out = path.join(work, 'stuck');
      const r = await startCli(h, ['capture', 'stuck', '--inventory', inv, '--out', out, '--connect-timeout', '1']).done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(
        'capture: connecting to stuck…\nvxlan-inspect: stuck (10.3.1.156:2222) eth1, vxlan_bridge: ' +
          'no SSH session within 1 s (connect timeout); is the host up and port 2222 open?\n',
      );
      expect(r.ms).toBeGreaterThanOrEqual(1000);
      expect(r.ms).toBeLessThan(10_000);
      expect(existsSync(out)).toBe(false);
      expectNoOrphans(out);
    } finally {
      await stopChild(listener);
    }
  });

  it('a node whose replies are dropped (blackhole route to the frontend in kvm1): the connect timeout names kvm1, exit 1', async () => {
    inNs(kvm1, ['ip', 'route', 'add', 'blackhole', '10.3.1.250/32']);
    try {
      const out = path.join(work, 'blackhole');
      const r = await startCli(h, ['capture', 'kvm1', '--inventory', h.inventoryPath, '--out', out, '--connect-timeout', '1']).done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /^vxlan-inspect: kvm1 \(10\.3\.1\.156\) eth1, vxlan_bridge: no SSH session within 1 s \(connect timeout\); is the host up and port 22 open\?$/m,
      );
      expect(r.ms).toBeLessThan(10_000);
      expect(existsSync(out)).toBe(false);
      expectNoOrphans(out);
    } finally {
      inNs(kvm1, ['ip', 'route', 'del', 'blackhole', '10.3.1.250/32']);
    }
  });

  it('the underlay link set down mid-capture (the SSH session rides it): the keepalive ends the capture with a clear error, valid files, exit 1', async () => {
    const out = path.join(work, 'link-down');
    const run = startCli(
      h,
      ['capture', 'kvm1', '--inventory', h.inventoryPath, '--out', out, '--duration', '150', '--keepalive', '1'],
      170_000,
    );
    await waitFor('the capture to start', () => run.stderr().includes(STARTED), 30_000);
    // packets recorded before the link goes: files with something in them to keep whole
    const eth1File = path.join(out, 'kvm1-eth1.pcap');
    await waitFor('a packet in kvm1-eth1.pcap', () => existsSync(eth1File) && statSync(eth1File).size > 24, 10_000);
    const down = Date.now();
    inNs(kvm1, ['ip', 'link', 'set', 'eth1', 'down']);
    let r: CliRun;
    let noticedMs = 0;
    try {
      r = await run.done;
      noticedMs = Date.now() - down;
    } finally {
      const left = tcpdumpsIn(kvm1).map((p) => p.argv.filter((a) => a === 'eth1' || a === 'vxlan_bridge').join(''));
      console.log(`link down: tcpdump still running on kvm1 while eth1 is down: ${left.join(', ') || 'none'}`);
      inNs(kvm1, ['ip', 'link', 'set', 'eth1', 'up']);
    }
    const up = Date.now();
    console.log(`link down: the capture ended ${(noticedMs / 1000).toFixed(1)} s after eth1 went down`);
    expect(r.code, r.stderr).toBe(1);
    // ended by the SSH keepalive (--keepalive 1: 1 s interval x (3 missed + 1)), not by --duration (150 s)
    expect(noticedMs).toBeLessThan(120_000);
    for (const iface of ['eth1', 'vxlan_bridge']) {
      expect(r.stderr).toMatch(
        new RegExp(
          `kvm1 \\(10\\.3\\.1\\.156\\) ${iface}: the SSH connection was lost mid-capture \\(SSH connection ` +
            `lost: Keepalive timeout\\); \\S*kvm1-${iface}\\.pcap keeps the \\d+ whole packet`,
        ),
      );
    }
    const session = JSON.parse(readFileSync(path.join(out, 'session.json'), 'utf8')) as {
      reason: string;
      nodes: { interfaces: { end: string; packets: number; file: string }[] }[];
    };
    expect(session.reason).toBe('error');
    for (const i of session.nodes[0]?.interfaces ?? []) {
      expect(i.end).toBe('connection-lost');
      expect(wholePcapCount(path.join(out, i.file))).toBe(i.packets);
    }
    expect(localProcessesWith(out)).toEqual([]);
    // on the node, sshd only learns the session is gone once the link is back (its retransmission
    // meets the frontend's reset); then tcpdump loses its stdout and ends on its next packet
    const goneMs = await waitFor('tcpdump to end on kvm1 once eth1 is up', () => tcpdumpsIn(kvm1).length === 0, 120_000);
    console.log(
      `link down: the node's tcpdump ended ${((Date.now() - up) / 1000).toFixed(1)} s after eth1 came back (waited ${goneMs} ms)`,
    );
    expectNoOrphans(out);
    // the overlay works again
    await waitFor('vm1 to reach vm2 again', () => pingsVm2(), 20_000);
  });

  // last: it tears the overlay down
  it('provision killed after its first applied command, then run again: converges, check passes, a third run changes nothing', async () => {
    // the guests cannot talk while the overlay is half-built: their ping stops first, not retrying into the teardown
    if (steady) await stopChild(steady);
    const td = await startCli(h, ['teardown', 'kvm1', 'kvm2', '--inventory', h.inventoryPath]).done;
    expect(td.code, td.stderr).toBe(0);

    const first = startCli(h, ['provision', 'kvm1', 'kvm2', '--inventory', h.inventoryPath]);
    await waitFor('the first applied command', () => /^ {2}\+ /m.test(first.stdout()), 60_000);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const applied = appliedLines(killed.stdout);
    expect(applied.length).toBeGreaterThanOrEqual(1);
    expect(applied.length).toBeLessThan(18); // 9 per node: it really stopped half-way

    const half = await startCli(h, ['check', 'kvm1', 'kvm2', '--inventory', h.inventoryPath, '--json']).done;
    expect(half.code).toBe(1);

    const again = await startCli(h, ['provision', 'kvm1', 'kvm2', '--inventory', h.inventoryPath]).done;
    expect(again.code, again.stderr).toBe(0);
    const reapplied = appliedLines(again.stdout);
    // the second run applies only what the first did not
    expect(reapplied.length).toBeGreaterThanOrEqual(1);
    expect(reapplied.filter((l) => applied.includes(l))).toEqual([]);

    const ok = await startCli(h, ['check', 'kvm1', 'kvm2', '--inventory', h.inventoryPath]).done;
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/check: ok \(\d+ passed, 0 warnings, 0 failed\)\n$/);
    const third = await startCli(h, ['provision', 'kvm1', 'kvm2', '--inventory', h.inventoryPath]).done;
    expect(third.stdout).toMatch(/provision: kvm1 nothing to change, kvm2 nothing to change\n$/);
    expect(pingsVm2()).toBe(true);
    for (const ns of [kvm1, kvm2])
      expect(
        processesIn(ns)
          .filter((p) => p.comm !== 'sshd')
          .map((p) => p.argv.join(' ')),
      ).toEqual([]);
  });
});
