/**
 * `vxlan-inspect capture` against the namespace lab: real OpenSSH sshd on kvm1/kvm2, real tcpdump,
 * the kernel's VXLAN, while the lab's traffic mix runs in the background.
 *
 * Network safety: the CLI (the only thing that talks SSH to 10.3.1.x) runs inside the lab's
 * frontend namespace (`ip netns exec <prefix>frontend node dist/cli/bin.js capture …`), and every
 * run first checks that the namespace exists. This process never connects to a lab address.
 * Root only; skipped with the reason where namespaces cannot be made.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../src/decode/packet.js';
import type { DecodedPacket } from '../src/decode/types.js';
import { labDown, labPreflight, labTraffic, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { canRunNetns, namespaces, uniquePrefix } from './helpers/netns.js';
import { wholePcapRecords } from './helpers/pcap.js';

const can = canRunNetns();
const suite = can.ok ? describe : describe.skip;
if (!can.ok) describe.skip(`capture against the lab (skipped: ${can.reason})`, () => it('skipped', () => {}));

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI inside the frontend namespace; refuses unless that namespace exists. */
function startCli(h: LabHandle, args: string[]): { child: ReturnType<typeof spawn>; done: Promise<CliRun>; stderr: () => string } {
  if (!namespaces().includes(h.frontendNetns)) throw new Error(`namespace ${h.frontendNetns} does not exist: refusing to send anything`);
  const argv = netnsExec(h.frontendNetns, [process.execPath, BIN, 'capture', '--inventory', h.inventoryPath, ...args]);
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr }))),
  );
  return { child, done, stderr: () => stderr };
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function processesIn(netns: string): { pid: number; comm: string }[] {
  const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number);
  return pids.map((pid) => {
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      comm = 'gone';
    }
    return { pid, comm };
  });
}

/** Every record of a file, read to the end and decoded: a damaged or cut file fails here. */
function readCapture(file: string): DecodedPacket[] {
  return wholePcapRecords(file).map((r, i) => decodePacket(r, i + 1));
}

/** An interface's MAC as a 48-bit number (read with `ip -n NS`: a local netlink query, no packet sent). */
function ownMac(netns: string, dev: string): number {
  const j = JSON.parse(spawnSync('ip', ['-n', netns, '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' }).stdout) as {
    address: string;
  }[];
  return parseInt((j[0]?.address ?? '').replace(/:/g, ''), 16);
}

const tsOf = (p: DecodedPacket): number => p.raw.tsSec + p.raw.tsNsec / 1e9;
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

interface SessionIface {
  iface: string;
  file: string | null;
  packets: number;
  captured: number | null;
  droppedByKernel: number | null;
  listeningAt: string | null;
  stopRequestedAt: string | null;
  end: string;
}
interface SessionNode {
  name: string;
  underlay?: string;
  overlay?: string;
  clockOffsetUs: number;
  clockRttUs: number | null;
  tcpdumpVersion: string;
  ssh: { clientAddress: string; serverPort: number } | null;
  interfaces: SessionIface[];
}

function session(dir: string): { nodes: SessionNode[]; vxlanPorts: number[]; reason: string } {
  return JSON.parse(readFileSync(path.join(dir, 'session.json'), 'utf8')) as { nodes: SessionNode[]; vxlanPorts: number[]; reason: string };
}

suite('capture against the lab', () => {
  const prefix = uniquePrefix();
  let work = '';
  let h: LabHandle;
  let trafficOn = true;
  let traffic: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-capture-test-'));
    expect(await labPreflight()).toBeNull();
    h = await labUp({ prefix, dir: path.join(work, 'lab'), provisioned: true });
    // the classroom mix, over and over, until afterAll
    traffic = (async () => {
      while (trafficOn) await labTraffic({ prefix, durationSec: 2 }).catch(() => new Promise((r) => setTimeout(r, 500)));
    })();
  });

  afterAll(async () => {
    trafficOn = false;
    await Promise.race([traffic, new Promise((r) => setTimeout(r, 20_000))]);
    await labDown({ prefix, dir: work ? path.join(work, 'lab') : undefined });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('captures kvm1 for 3 s: every VXLAN payload on eth1 is a frame on the bridge, and no tcpdump is left', async () => {
    const out = path.join(work, 'kvm1');
    const r = await startCli(h, ['kvm1', '--out', out, '--duration', '3']).done;
    expect(r.stderr).not.toMatch(/vxlan-inspect:/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^kvm1 \(10\.3\.1\.156\): tcpdump \d+\.\d+/m);
    expect(r.stdout).toMatch(
      /^ {2}eth1: \d+ packets, .* -> .*kvm1-eth1\.pcap; tcpdump: \d+ captured, \d+ received by filter, \d+ dropped by kernel$/m,
    );
    expect(r.stdout).toMatch(/stopped by --duration\n$/);
    expect(readdirSync(out).sort()).toEqual(['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'session.json']);

    const s = session(out);
    const node = s.nodes[0] as SessionNode;
    expect(node).toMatchObject({ name: 'kvm1', underlay: 'kvm1-eth1.pcap', overlay: 'kvm1-vxlan_bridge.pcap' });
    expect(node.ssh?.clientAddress).toBe('10.3.1.250'); // the frontend, as kvm1 sees it
    expect(node.tcpdumpVersion).toMatch(/^\d+\.\d+/);
    // one machine, one clock: the measured offset is within the round trip
    expect(Math.abs(node.clockOffsetUs)).toBeLessThanOrEqual((node.clockRttUs ?? 0) / 2 + 2000);
    for (const i of node.interfaces) {
      expect(i.end).toBe('stopped');
      // everything tcpdump captured arrived and was written
      expect(i.packets).toBe(i.captured);
      expect(i.droppedByKernel).toBe(0);
    }

    const eth1 = readCapture(path.join(out, 'kvm1-eth1.pcap'));
    const bridge = readCapture(path.join(out, 'kvm1-vxlan_bridge.pcap'));
    expect(eth1.length).toBe(node.interfaces[0]?.packets);
    // the capture never records its own SSH session
    const ssh = eth1.filter((p) => p.layers.some((l) => l.type === 'tcp' && l.depth === 0 && (l.srcPort === 22 || l.dstPort === 22)));
    expect(ssh).toEqual([]);
    // inner frames on eth1 while both captures ran (between the later "listening" and the earlier stop request)
    const from = Math.max(...node.interfaces.map((i) => Date.parse(i.listeningAt ?? '') / 1000)) + 0.2;
    const to = Math.min(...node.interfaces.map((i) => Date.parse(i.stopRequestedAt ?? '') / 1000)) - 0.2;
    expect(to - from).toBeGreaterThan(1.5);
    // kvm1's vxlan10 sends its own IPv6 link-local traffic (MLD reports, router solicitations for
    // a few seconds after it comes up): encapsulated straight onto eth1, it never crosses the bridge
    const vxlanMac = ownMac(`${prefix}kvm1`, 'vxlan10');
    const onBridge = new Set(bridge.map((p) => hex(p.raw.data)));
    const inner = eth1
      .filter((p) => tsOf(p) >= from && tsOf(p) <= to)
      .flatMap((p) => {
        const vx = p.layers.find((l) => l.type === 'vxlan' && l.depth === 0);
        const eth = p.layers.find((l) => l.type === 'eth' && l.depth === 1);
        if (!vx || eth?.type !== 'eth' || eth.src === vxlanMac) return [];
        return [{ n: p.n, frame: hex(p.raw.data.subarray(vx.offset + vx.length)), what: p.layers.map((l) => l.type).join('/') }];
      });
    expect(inner.length).toBeGreaterThan(3);
    expect(inner.filter((i) => !onBridge.has(i.frame)).map((i) => `#${i.n} ${i.what}`)).toEqual([]);

    expect(processesIn(`${prefix}kvm1`).filter((p) => p.comm !== 'sshd')).toEqual([]);
  });

  it('captures kvm1 and kvm2 at once until each interface has 4 packets (--count, --json)', async () => {
    const out = path.join(work, 'both');
    const r = await startCli(h, ['kvm1', 'kvm2', '--out', out, '--count', '4', '--duration', '40', '--json']).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const sum = JSON.parse(r.stdout) as {
      ok: boolean;
      reason: string;
      nodes: { node: string; streams: { iface: string; end: string; packets: number; file: string }[] }[];
    };
    expect(sum.ok).toBe(true);
    expect(sum.reason).toBe('count');
    expect(sum.nodes.map((n) => [n.node, n.streams.map((s) => [s.iface, s.end, s.packets])])).toEqual([
      [
        'kvm1',
        [
          ['eth1', 'count', 4],
          ['vxlan_bridge', 'count', 4],
        ],
      ],
      [
        'kvm2',
        [
          ['eth1', 'count', 4],
          ['vxlan_bridge', 'count', 4],
        ],
      ],
    ]);
    for (const n of sum.nodes) for (const s of n.streams) expect(readCapture(s.file)).toHaveLength(4);
    expect(session(out).nodes.map((n) => [n.name, n.underlay, n.overlay])).toEqual([
      ['kvm1', 'kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap'],
      ['kvm2', 'kvm2-eth1.pcap', 'kvm2-vxlan_bridge.pcap'],
    ]);
    for (const n of ['kvm1', 'kvm2']) expect(processesIn(`${prefix}${n}`).filter((p) => p.comm !== 'sshd')).toEqual([]);
  });

  it('stops cleanly on SIGINT: valid files, tcpdump counters, no tcpdump left', async () => {
    const out = path.join(work, 'sigint');
    const run = startCli(h, ['kvm1', '--out', out]);
    await waitFor('the capture to start', () => /until Ctrl-C/.test(run.stderr()), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('capture: stopping');
    expect(r.stdout).toMatch(/stopped by request/);
    for (const i of session(out).nodes[0]?.interfaces ?? []) {
      expect(i.end).toBe('stopped');
      expect(i.captured).toBe(i.packets);
      expect(readCapture(path.join(out, i.file ?? ''))).toHaveLength(i.packets);
    }
    expect(processesIn(`${prefix}kvm1`).filter((p) => p.comm !== 'sshd')).toEqual([]);
  });

  it('a stop keeps every packet that arrived before it: tcpdump hands over its last block before it is killed', async () => {
    // A reference tcpdump on kvm1's eth1 in immediate mode (each packet handed over as it comes),
    // with the capture's own exclusion; the background traffic keeps coming up to the stop. Killed
    // at once, the capture's tcpdump lost the up to 1 s of packets in its unfinished ring block.
    const ns = `${prefix}kvm1`;
    const out = path.join(work, 'handover');
    const ref = path.join(work, 'handover-ref.pcap');
    const [cmd, ...args] = netnsExec(ns, [
      'tcpdump',
      '-n',
      '-U',
      '--immediate-mode',
      '-s',
      '4096',
      '-B',
      '16384',
      '-i',
      'eth1',
      '-w',
      ref,
      'not (tcp port 22 and host 10.3.1.250)',
    ]);
    const reference = spawn(cmd ?? 'false', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let refErr = '';
    reference.stderr?.on('data', (d: Buffer) => (refErr += d.toString('utf8')));
    const refDone = new Promise((r) => reference.on('close', r));
    try {
      await waitFor('the reference tcpdump to listen', () => /listening on/.test(refErr), 15_000);
      const run = startCli(h, ['kvm1', '--iface', 'eth1', '--out', out]);
      await waitFor('the capture to start', () => /until Ctrl-C/.test(run.stderr()), 30_000);
      await new Promise((r) => setTimeout(r, 2500));
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
    } finally {
      reference.kill('SIGINT');
      await refDone;
    }
    const iface = session(out).nodes[0]?.interfaces[0] as SessionIface;
    const from = Date.parse(iface.listeningAt ?? '') / 1000 + 0.05;
    const to = Date.parse(iface.stopRequestedAt ?? '') / 1000;
    const got = new Set(readCapture(path.join(out, 'kvm1-eth1.pcap')).map((p) => hex(p.raw.data)));
    const want = readCapture(ref).filter((p) => tsOf(p) >= from && tsOf(p) <= to);
    expect(want.length, refErr).toBeGreaterThan(5);
    expect(want.filter((p) => !got.has(hex(p.raw.data))).map((p) => `#${p.n} ${(to - tsOf(p)).toFixed(3)} s before the stop`)).toEqual([]);
  });

  it('names node and interface when the interface does not exist, and leaves no folder', async () => {
    const out = path.join(work, 'nosuch');
    const r = await startCli(h, ['kvm1', '--iface', 'eth1', '--iface', 'nosuch0', '--out', out]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /vxlan-inspect: kvm1 \(10\.3\.1\.156\) nosuch0: interface nosuch0 does not exist on the node \(it has: eth1, lo, .*vxlan_bridge\)/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('says tcpdump is not installed when the node cannot find it (--tcpdump names a program it does not have)', async () => {
    const out = path.join(work, 'notcpdump');
    const r = await startCli(h, ['kvm1', '--tcpdump', 'tcpdump-not-here', '--out', out]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /vxlan-inspect: kvm1 \(10\.3\.1\.156\) eth1, vxlan_bridge: tcpdump-not-here is not installed \(or not on the PATH of root\).*apt install tcpdump/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('passes a filter with shell metacharacters to tcpdump as data: a syntax error, nothing run, no file', async () => {
    const marker = `/tmp/pwned-${randomBytes(6).toString('hex')}`;
    const out = path.join(work, 'filter');
    const r = await startCli(h, ['kvm1', '--out', out, '--filter', `udp port 4789; touch ${marker}`]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `kvm1 (10.3.1.156) eth1: tcpdump rejected the filter "(not (tcp port 22 and host 10.3.1.250)) and (udp port 4789; touch ${marker})"`,
    );
    expect(r.stderr).toMatch(/syntax error/);
    // the lab's namespaces share this machine's file system: the marker would be here
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(processesIn(`${prefix}kvm1`).filter((p) => p.comm !== 'sshd')).toEqual([]);
  });

  // last: it kills kvm1's sshd
  it('keeps valid files and says which node and interface failed when sshd is killed mid-capture (exit 1)', async () => {
    const out = path.join(work, 'sshd-killed');
    const run = startCli(h, ['kvm1', '--out', out, '--duration', '40']);
    await waitFor('the capture to start', () => / for 40\.0s\n/.test(run.stderr()), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    const sshd = processesIn(`${prefix}kvm1`).filter((p) => p.comm === 'sshd');
    expect(sshd.length).toBeGreaterThanOrEqual(2); // the listener and our session
    for (const p of sshd) process.kill(p.pid, 'SIGKILL');
    const t0 = Date.now();
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.code).toBe(1);
    for (const iface of ['eth1', 'vxlan_bridge']) {
      expect(r.stderr).toMatch(
        new RegExp(
          `kvm1 \\(10\\.3\\.1\\.156\\) ${iface}: the SSH connection was lost mid-capture .*kvm1-${iface}\\.pcap keeps the \\d+ whole packet`,
        ),
      );
    }
    const s = session(out);
    expect(s.reason).toBe('error');
    for (const i of s.nodes[0]?.interfaces ?? []) {
      expect(i.end).toBe('connection-lost');
      expect(readCapture(path.join(out, i.file ?? ''))).toHaveLength(i.packets);
    }
    expect(s.nodes[0]?.interfaces[0]?.packets).toBeGreaterThan(0);
    // tcpdump loses its stdout with the session and ends on its next packet
    await waitFor('tcpdump to end on kvm1', () => processesIn(`${prefix}kvm1`).every((p) => p.comm !== 'tcpdump'), 10_000);
  });
});
