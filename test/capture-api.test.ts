/**
 * The library API (startCapture → CaptureHandle) as the web view uses it, in-process, against a
 * real OpenSSH sshd on 127.0.0.1 (a random high port, its own keys) and the real tcpdump on `lo`.
 * Nothing leaves the loopback interface.
 *
 * The capture runs over an SSH session on the very interface it captures, with a user filter that
 * would take that session in: only the self-exclusion filter keeps the stream out of its own file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCapture,
  type CapturedPacket,
  type CaptureStreamError,
  type CaptureRunSummary,
  type StreamStats,
} from '../src/capture/index.js';
import { CaptureParser } from '../src/decode/file/parser.js';
import { SessionPool } from '../src/remote/connection.js';
import { parseInventory, type Inventory } from '../src/remote/inventory.js';
import { freePort, waitForPort } from './helpers/net.js';

const SSHD = '/usr/sbin/sshd';
const canRun = existsSync(SSHD) && process.getuid?.() === 0;

let dir = '';
let port = 0;
let sshd: ChildProcess | undefined;
let inventory: Inventory;

/** Sends `n` UDP datagrams to 127.0.0.1:port, 20 ms apart. */
async function sendUdp(udpPort: number, n: number): Promise<void> {
  const s = createSocket('udp4');
  for (let i = 0; i < n; i++) {
    await new Promise<void>((r) => s.send(Buffer.from(`vxi-capture-test ${i}`), udpPort, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 20));
  }
  s.close();
}

function readAll(file: string): { packets: number; error: string | undefined; sshPackets: number; udp: number[] } {
  const b = readFileSync(file);
  const p = new CaptureParser();
  p.push(b);
  p.end();
  let packets = 0;
  let sshPackets = 0;
  const udp: number[] = [];
  for (let r = p.next(); r; r = p.next()) {
    packets++;
    const d = Buffer.from(r.data);
    // Ethernet (lo) / IPv4: by hand, not by our decoder
    if (d.readUInt16BE(12) !== 0x0800) continue;
    const ihl = ((d[14] ?? 0) & 0x0f) * 4;
    const proto = d[23];
    const sport = d.readUInt16BE(14 + ihl);
    const dport = d.readUInt16BE(14 + ihl + 2);
    if (proto === 6 && (sport === port || dport === port)) sshPackets++;
    if (proto === 17) udp.push(dport);
  }
  return { packets, error: p.error?.message, sshPackets, udp };
}

/** PIDs of the per-connection sshd processes (children of the listener). */
function sessionChildren(parent: number): number[] {
  return readdirSync('/proc')
    .filter((f) => /^\d+$/.test(f))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    });
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

beforeAll(async () => {
  if (!canRun) return;
  dir = mkdtempSync(path.join(tmpdir(), 'vxi-capture-api-'));
  for (const k of ['host', 'client'])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vxi-test', '-f', path.join(dir, k)]);
  copyFileSync(path.join(dir, 'client.pub'), path.join(dir, 'authorized_keys'));
  port = await freePort();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(port, 10_000);
  const pub = readFileSync(path.join(dir, 'host.pub'), 'utf8').split(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`);
  inventory = parseInventory(
    `defaults: { identityFile: ${dir}/client, knownHosts: ${dir}/known_hosts }\noverlay: { underlay: ` +
      `lo, bridge: lo }\nnodes:\n  local: { host: 127.0.0.1, port: ${port} }\n`,
    'test',
    dir,
  );
});

afterAll(() => {
  sshd?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!canRun)(
  `startCapture against sshd and tcpdump on 127.0.0.1${canRun ? '' : ' (skipped: needs root and /usr/sbin/sshd)'}`,
  () => {
    it('streams packets and stats while it runs, stops by PID on stop(), and never records itself', async () => {
      const udpPort = await freePort();
      const pool = new SessionPool({ agent: false });
      const out = path.join(dir, 'run1');
      const h = await startCapture({
        inventory,
        nodes: ['local'],
        ifaces: ['lo'],
        outDir: out,
        pool,
        filter: `udp port ${udpPort} or tcp port ${port}`,
        statsIntervalMs: 200,
      });
      const packets: CapturedPacket[] = [];
      const stats: StreamStats[] = [];
      h.on('packet', (p) => packets.push(p));
      h.on('stats', (s) => stats.push(s));
      const ended = new Promise<CaptureRunSummary>((r) => h.once('end', r));
      try {
        expect(h.streams).toEqual([{ node: 'local', iface: 'lo', file: path.join(out, 'local-lo.pcap') }]);
        await sendUdp(udpPort, 10);
        const deadline = Date.now() + 10_000;
        while (packets.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(packets.length).toBe(10);
        expect(packets.every((p) => p.node === 'local' && p.iface === 'lo')).toBe(true);
        expect(packets.map((p) => p.packet.layers.find((l) => l.type === 'udp'))).toEqual(
          packets.map(() => expect.objectContaining({ dstPort: udpPort })),
        );
        expect(Buffer.from(packets[3]?.packet.raw.data ?? []).toString('latin1')).toContain('vxi-capture-test 3');
        // stats come every 200 ms: wait for one that has all 10, not a fixed while
        const statsBy = Date.now() + 10_000;
        while (!stats.some((x) => x.packets === 10) && Date.now() < statsBy) await new Promise((r) => setTimeout(r, 50));
        expect(stats.length).toBeGreaterThan(0);
        expect(h.stats()[0]).toMatchObject({ node: 'local', iface: 'lo', packets: 10, vxlanPackets: 0 });
        const summary = await h.stop();
        expect(await ended).toBe(summary);
        const s = summary.nodes[0]?.streams[0];
        expect(summary).toMatchObject({ ok: true, reason: 'stopped', errors: [] });
        expect(summary.nodes[0]?.ssh).toMatchObject({ clientAddress: '127.0.0.1', serverPort: port });
        expect(summary.nodes[0]?.exclusionFilter).toBe(`not (tcp port ${port} and host 127.0.0.1)`);
        expect(s).toMatchObject({
          iface: 'lo',
          end: 'stopped',
          packets: 10,
          filter: `(not (tcp port ${port} and host 127.0.0.1)) and (udp port ${udpPort} or tcp port ${port})`,
        });
        expect(s?.tcpdump).toMatchObject({ captured: 10 });
        // the remote PID was tcpdump's own, and it is gone
        expect(s?.remotePid).toBeGreaterThan(1);
        expect(alive(s?.remotePid ?? 0)).toBe(false);
        const file = readAll(path.join(out, 'local-lo.pcap'));
        expect(file).toEqual({ packets: 10, error: undefined, sshPackets: 0, udp: Array(10).fill(udpPort) });
        const session = JSON.parse(readFileSync(path.join(out, 'session.json'), 'utf8')) as {
          nodes: { name: string; clockOffsetUs: number; interfaces: { file: string }[] }[];
        };
        expect(session.nodes[0]?.interfaces[0]?.file).toBe('local-lo.pcap');
        expect(typeof session.nodes[0]?.clockOffsetUs).toBe('number');
        // our pool stays open for the caller
        expect(
          (await (await pool.get({ ...(await import('../src/remote/inventory.js')).resolveNode(inventory, 'local') })).run(['true'])).code,
        ).toBe(0);
      } finally {
        await h.stop();
        await pool.closeAll();
      }
    });

    it('reports a lost connection as a stream error naming node and interface, and keeps a valid file', async () => {
      const udpPort = await freePort();
      const out = path.join(dir, 'run2');
      const before = new Set(sessionChildren(sshd?.pid ?? -1));
      const h = await startCapture({
        inventory,
        nodes: ['local'],
        ifaces: ['lo'],
        outDir: out,
        filter: `udp port ${udpPort}`,
        connectTimeoutMs: 5000,
      });
      const errors: CaptureStreamError[] = [];
      h.on('stream-error', (e) => errors.push(e));
      await sendUdp(udpPort, 5);
      const deadline = Date.now() + 10_000;
      while ((h.stats()[0]?.packets ?? 0) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const ours = sessionChildren(sshd?.pid ?? -1).filter((p) => !before.has(p));
      expect(ours.length).toBeGreaterThan(0);
      for (const pid of ours) process.kill(pid, 'SIGKILL');
      const summary = await h.done;
      expect(summary.ok).toBe(false);
      expect(summary.reason).toBe('error');
      expect(errors.map((e) => [e.node, e.iface])).toEqual([['local', 'lo']]);
      expect(summary.errors).toEqual([
        expect.stringMatching(
          /^local \(127\.0\.0\.1\) lo: the SSH connection was lost mid-capture .*local-lo\.pcap keeps the 5 whole packet\(s\) received so far$/,
        ),
      ]);
      expect(readAll(path.join(out, 'local-lo.pcap'))).toMatchObject({ packets: 5, error: undefined });
      // tcpdump lost its stdout with the session: the next packet it writes ends it (SIGPIPE)
      const pid = summary.nodes[0]?.streams[0]?.remotePid ?? 0;
      expect(pid).toBeGreaterThan(1);
      try {
        await sendUdp(udpPort, 2);
        const until = Date.now() + 5000;
        while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        expect(alive(pid)).toBe(false);
      } finally {
        if (alive(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tcpdump') process.kill(pid, 'SIGKILL');
      }
    });

    it('names node and interface when it cannot connect: refused, unknown host key, authentication failed', async () => {
      const inv = (extra: string, knownHosts = 'known_hosts', identity = 'client'): Inventory =>
        parseInventory(
          `defaults: { identityFile: ${dir}/${identity}, knownHosts: ${dir}/${knownHosts} }\noverlay: ` +
            `{ underlay: lo, bridge: lo }\nnodes:\n  local: { host: 127.0.0.1, ${extra} }\n`,
          'test',
          dir,
        );
      const closed = await freePort();
      const pool = (): SessionPool => new SessionPool({ agent: false, timeoutMs: 5000 });
      const out = path.join(dir, 'noconnect');
      await expect(startCapture({ inventory: inv(`port: ${closed}`), nodes: ['local'], outDir: out, pool: pool() })).rejects.toThrow(
        new RegExp(`^local \\(127\\.0\\.0\\.1:${closed}\\) lo: connection refused on port ${closed}`),
      );
      writeFileSync(path.join(dir, 'empty_known_hosts'), '');
      await expect(
        startCapture({ inventory: inv(`port: ${port}`, 'empty_known_hosts'), nodes: ['local'], outDir: out, pool: pool() }),
      ).rejects.toMatchObject({
        code: 'VXI_HOSTKEY',
        message: expect.stringMatching(new RegExp(`^local \\(127\\.0\\.0\\.1:${port}\\) lo: host key not in .*--accept-new`)),
      });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'stranger')]);
      await expect(
        startCapture({ inventory: inv(`port: ${port}`, 'known_hosts', 'stranger'), nodes: ['local'], outDir: out, pool: pool() }),
      ).rejects.toThrow(new RegExp(`^local \\(127\\.0\\.0\\.1:${port}\\) lo: authentication failed as root`));
      expect(existsSync(out)).toBe(false);
    });

    it('refuses to overwrite a capture and checks options before connecting', async () => {
      const out = path.join(dir, 'run1'); // has local-lo.pcap from the first test
      await expect(startCapture({ inventory, nodes: ['local'], ifaces: ['lo'], outDir: out })).rejects.toThrow(
        /local-lo\.pcap already exists/,
      );
      await expect(startCapture({ inventory, nodes: [], outDir: out })).rejects.toThrow(/at least one node/);
      await expect(startCapture({ inventory, nodes: ['local'], ifaces: ['bad name'], outDir: out })).rejects.toThrow(/--iface "bad name"/);
      await expect(startCapture({ inventory, nodes: ['local'], outDir: out, filter: 'udp) or (tcp' })).rejects.toThrow(/unbalanced/);
      await expect(startCapture({ inventory, nodes: ['nosuch'], outDir: out })).rejects.toMatchObject({ code: 'VXI_INVENTORY' });
    });
  },
);
