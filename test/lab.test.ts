/**
 * The namespace lab against the real kernel, the real OpenSSH server and client, and tcpdump.
 * Runs as root; skipped with the reason where namespaces cannot be made. Every lab uses its
 * own random prefix and is torn down in afterAll, whatever happened.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../src/cli/main.js';
import { LabError, labDown, labPreflight, labRecord, labStatus, labTraffic, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { canRunNetns, uniquePrefix } from './helpers/netns.js';

const can = canRunNetns();
const suite = can.ok ? describe : describe.skip;
const ROLES = ['lan', 'frontend', 'kvm1', 'kvm2', 'vm1', 'vm2'];

function sh(argv: string[], timeout = 15_000): { code: number | null; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd ?? 'false', args, { encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function namespacesWith(prefix: string): string[] {
  return sh(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Sends nothing unless the namespace exists: lab addresses route to the outside world from the host. */
function inNetns(netns: string, argv: string[], timeout?: number): { code: number | null; stdout: string; stderr: string } {
  if (!namespacesWith(netns).includes(netns)) throw new Error(`namespace ${netns} does not exist: refusing to send anything`);
  return sh(netnsExec(netns, argv), timeout);
}

function vxlanCounters(netns: string): { tx: number; rx: number } {
  const j = JSON.parse(inNetns(netns, ['ip', '-s', '-j', 'link', 'show', 'dev', 'vxlan10']).stdout) as {
    stats64: { tx: { packets: number }; rx: { packets: number } };
  }[];
  const s = j[0]?.stats64;
  if (!s) throw new Error(`no stats for vxlan10 in ${netns}`);
  return { tx: s.tx.packets, rx: s.rx.packets };
}

function ssh(
  h: LabHandle,
  host: string,
  knownHosts: string,
  identity: string,
  command: string[],
): { code: number | null; stdout: string; stderr: string } {
  return inNetns(h.frontendNetns, [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    identity,
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'IdentitiesOnly=yes',
    `root@${host}`,
    ...command,
  ]);
}

/** Counts pcap records and, among them, IPv4/UDP frames to port 4789 — read by hand, not by our decoder. */
function pcapCounts(file: string): { records: number; vxlan: number } {
  const b = readFileSync(file);
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  let off = 24;
  let records = 0;
  let vxlan = 0;
  while (off + 16 <= b.length) {
    const caplen = b.readUInt32LE(off + 8);
    const f = b.subarray(off + 16, off + 16 + caplen);
    records++;
    if (f.length >= 42 && f.readUInt16BE(12) === 0x0800 && f[23] === 17) {
      const ihl = ((f[14] ?? 0) & 0x0f) * 4;
      if (f.readUInt16BE(14 + ihl + 2) === 4789) vxlan++;
    }
    off += 16 + caplen;
  }
  return { records, vxlan };
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(argv, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

if (!can.ok) describe.skip(`lab (skipped: ${can.reason})`, () => it('skipped', () => {}));

suite('lab: a provisioned lab', () => {
  const prefix = uniquePrefix();
  let work = '';
  let dir = '';
  let h: LabHandle;
  let sshdPids: number[] = [];

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-lab-test-'));
    dir = path.join(work, 'lab');
    expect(await labPreflight()).toBeNull();
    h = await labUp({ prefix, dir, provisioned: true });
  });

  afterAll(async () => {
    await labDown({ prefix, dir: dir || undefined });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('returns the handle others code against and writes the inventory', () => {
    expect(h.prefix).toBe(prefix);
    expect(h.frontendNetns).toBe(`${prefix}frontend`);
    expect(h.nodes).toEqual([
      { name: 'kvm1', netns: `${prefix}kvm1`, host: '10.3.1.156', bridgeAddress: '10.220.220.201/24', sshPort: 22 },
      { name: 'kvm2', netns: `${prefix}kvm2`, host: '10.3.1.174', bridgeAddress: '10.220.220.202/24', sshPort: 22 },
    ]);
    expect(h.guests.map((g) => [g.name, g.netns, g.address])).toEqual([
      ['vm1', `${prefix}vm1`, '10.220.220.5/24'],
      ['vm2', `${prefix}vm2`, '10.220.220.6/24'],
    ]);
    expect(namespacesWith(prefix).sort()).toEqual(ROLES.map((r) => prefix + r).sort());
    const inv = parse(readFileSync(h.inventoryPath, 'utf8')) as {
      defaults: Record<string, unknown>;
      nodes: Record<string, { host: string }>;
    };
    expect(inv.defaults).toEqual({
      user: 'root',
      identityFile: path.join(dir, 'id_ed25519'),
      knownHosts: path.join(dir, 'known_hosts'),
      sudo: false,
    });
    expect(inv.nodes.kvm1?.host).toBe('10.3.1.156');
    const kh = readFileSync(path.join(dir, 'known_hosts'), 'utf8');
    expect(kh).toMatch(/^10\.3\.1\.156 ssh-ed25519 AAAA\S+\n10\.3\.1\.174 ssh-ed25519 AAAA\S+\n$/);
  });

  it('puts no lab address in the machine’s own namespace', () => {
    const own = sh(['ip', '-o', 'addr', 'show']).stdout;
    expect(own).not.toMatch(/10\.3\.1\.(156|174|250)\//);
    expect(own).not.toMatch(/10\.220\.220\./);
  });

  it('carries vm1 → vm2 pings through vxlan10 (the kernel’s counters move on both nodes)', () => {
    const before1 = vxlanCounters(`${prefix}kvm1`);
    const before2 = vxlanCounters(`${prefix}kvm2`);
    const r = inNetns(`${prefix}vm1`, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.220.220.6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('3 received');
    const after1 = vxlanCounters(`${prefix}kvm1`);
    const after2 = vxlanCounters(`${prefix}kvm2`);
    expect(after1.tx - before1.tx).toBeGreaterThanOrEqual(3);
    expect(after2.rx - before2.rx).toBeGreaterThanOrEqual(3);
    const link = inNetns(`${prefix}kvm1`, ['ip', '-d', '-o', 'link', 'show', 'dev', 'vxlan10']).stdout;
    expect(link).toMatch(/vxlan id 10 local 10\.3\.1\.156 dev eth1 .*dstport 4789/);
    expect(link).toContain('master vxlan_bridge');
    expect(inNetns(`${prefix}kvm1`, ['bridge', 'fdb', 'show', 'dev', 'vxlan10']).stdout).toContain(
      '00:00:00:00:00:00 dst 10.3.1.174 self permanent',
    );
  });

  it('lets the frontend ssh into kvm1 and kvm2 with the inventory’s key and known_hosts (strict checking)', () => {
    for (const n of h.nodes) {
      const r = ssh(h, n.host, path.join(dir, 'known_hosts'), path.join(dir, 'id_ed25519'), [
        'ip',
        '-o',
        '-4',
        'addr',
        'show',
        'dev',
        'eth1',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`inet ${n.host}/24`);
    }
  });

  it('refuses a wrong host key and a key that is not authorized', () => {
    const lines = readFileSync(path.join(dir, 'known_hosts'), 'utf8').trim().split('\n');
    const kvm2Key = lines[1]?.split(' ').slice(1).join(' ');
    const wrong = path.join(work, 'wrong_known_hosts');
    writeFileSync(wrong, `10.3.1.156 ${kvm2Key}\n`);
    const r = ssh(h, '10.3.1.156', wrong, path.join(dir, 'id_ed25519'), ['true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);

    const other = path.join(work, 'other_key');
    expect(sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other]).code).toBe(0);
    const r2 = ssh(h, '10.3.1.156', path.join(dir, 'known_hosts'), other, ['true']);
    expect(r2.code).toBe(255);
    expect(r2.stderr).toContain('Permission denied (publickey)');
  });

  it('reports status: everything there and reachable', async () => {
    const s = await labStatus({ prefix, dir });
    expect(s.up).toBe(true);
    expect(s.provisioned).toBe(true);
    expect(s.nodes.map((n) => [n.sshd.running, n.sshd.listening, n.overlay.guestAttached])).toEqual([
      [true, true, true],
      [true, true, true],
    ]);
    expect(s.reachability.filter((r) => !r.ok)).toEqual([]);
    sshdPids = s.nodes.map((n) => n.sshd.pid ?? -1);
    expect(sshdPids.every((p) => p > 1)).toBe(true);
  });

  it('runs the classroom traffic mix and leaves no process behind', async () => {
    const t = await labTraffic({ prefix, durationSec: 1 });
    expect(t.steps.filter((s) => !s.ok)).toEqual([]);
    expect(t.steps.map((s) => s.name)).toEqual([
      'arp + ping',
      'ping 1400 bytes',
      'ping 3000 bytes (fragmented)',
      'tcp 32768 bytes to :5001',
      'udp 4×512 bytes echoed on :5002',
      'ipv6 neighbour discovery + link-local ping6',
      'ping local bridge (stays on the node)',
      'ping local bridge (stays on the node)',
    ]);
    for (const vm of ['vm1', 'vm2']) expect(sh(['ip', 'netns', 'pids', `${prefix}${vm}`]).stdout.trim()).toBe('');
  });

  it('records eth1 and vxlan_bridge on both nodes, VXLAN on eth1 only, and stops tcpdump', async () => {
    const out = path.join(work, 'rec');
    const r = await labRecord({ prefix, outDir: out, durationSec: 1 });
    expect(r.traffic.ok).toBe(true);
    expect(r.files.map((f) => path.basename(f.path))).toEqual([
      'kvm1-eth1.pcap',
      'kvm1-vxlan_bridge.pcap',
      'kvm2-eth1.pcap',
      'kvm2-vxlan_bridge.pcap',
    ]);
    for (const f of r.files) {
      const c = pcapCounts(f.path);
      expect(c.records).toBe(f.packets);
      if (f.iface === 'eth1') expect(c.vxlan).toBeGreaterThan(20);
      else expect(c.vxlan).toBe(0);
    }
    for (const n of ['kvm1', 'kvm2']) {
      const pids = sh(['ip', 'netns', 'pids', `${prefix}${n}`])
        .stdout.trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      expect(pids.sort()).toEqual(sshdPids.filter((_, i) => h.nodes[i]?.name === n));
    }
  });

  it('runs commands in a lab namespace from the CLI and prints the ip netns exec line', async () => {
    const r = await cli(['lab', 'exec', '--prefix', prefix, 'vm2', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`+ ip netns exec ${prefix}vm2 ip -o -4 addr show dev eth0\n`);
    expect(r.stdout).toContain('inet 10.220.220.6/24');
    expect((await cli(['lab', 'exec', '--prefix', prefix, 'kvm3', '--', 'true'])).code).toBe(2);
    const failed = await cli(['lab', 'exec', '--prefix', prefix, 'vm1', '--', 'false']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`\`ip netns exec ${prefix}vm1 false\` exited with 1`);
  });

  it('tears down everything, and a second teardown is harmless', async () => {
    await labDown({ prefix, dir });
    expect(namespacesWith(prefix)).toEqual([]);
    for (const pid of sshdPids) {
      const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
      expect(['gone', 'Z', 'X']).toContain(state);
    }
    expect(existsSync(dir)).toBe(false);
    await labDown({ prefix, dir });
    expect(namespacesWith(prefix)).toEqual([]);
  });
});

suite('lab: unprovisioned, from the CLI', () => {
  const prefix = uniquePrefix();
  let work = '';
  let dir = '';

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-lab-test-'));
    dir = path.join(work, 'lab');
  });

  afterAll(async () => {
    await labDown({ prefix, dir: dir || undefined });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('builds nodes with sshd but no overlay, then removes them', async () => {
    const up = await cli(['lab', 'up', '--prefix', prefix, '--dir', dir]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`inventory: ${path.join(dir, 'inventory.yaml')}`);
    expect(up.stdout).toContain(
      `ip netns exec ${prefix}frontend npx vxlan-inspect check kvm1 kvm2 --inventory ${path.join(dir, 'inventory.yaml')}`,
    );
    for (const n of ['kvm1', 'kvm2']) {
      expect(inNetns(`${prefix}${n}`, ['ip', '-o', 'link', 'show', 'type', 'vxlan']).stdout.trim()).toBe('');
      expect(inNetns(`${prefix}${n}`, ['ip', 'link', 'show', 'dev', 'vxlan_bridge']).code).not.toBe(0);
    }
    const h = { frontendNetns: `${prefix}frontend` } as LabHandle;
    const r = ssh(h, '10.3.1.174', path.join(dir, 'known_hosts'), path.join(dir, 'id_ed25519'), ['true']);
    expect(r.code, r.stderr).toBe(0);
    const status = await cli(['lab', 'status', '--prefix', prefix, '--dir', dir, '--json']);
    const s = JSON.parse(status.stdout) as { up: boolean; provisioned: boolean };
    expect([s.up, s.provisioned]).toEqual([true, false]);

    const again = await cli(['lab', 'up', '--prefix', prefix, '--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`a lab with prefix '${prefix}' already exists`);

    const down = await cli(['lab', 'down', '--prefix', prefix, '--dir', dir]);
    expect(down.code).toBe(0);
    expect(namespacesWith(prefix)).toEqual([]);
  });
});

suite('lab: failures', () => {
  const prefix = uniquePrefix();
  let work = '';

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-lab-test-'));
  });

  afterAll(async () => {
    await labDown({ prefix });
    if (namespacesWith(prefix).includes(`${prefix}kvm2`)) spawnSync('ip', ['netns', 'del', `${prefix}kvm2`]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('cleans up everything when up fails halfway, and leaves what is not its own', async () => {
    // a lab folder of ours (lab.json) in which a folder sits where sshd's config goes: the
    // network is built, then kvm1's sshd setup fails (a folder not ours is refused before anything)
    const dir = path.join(work, 'halfway');
    mkdirSync(path.join(dir, 'kvm1', 'sshd_config'), { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'lab.json'), JSON.stringify({ prefix, provisioned: true, createdAt: new Date().toISOString() }));
    writeFileSync(path.join(dir, 'kvm1', 'sshd_config', 'mine'), "not lab up's\n");
    const err = await labUp({ prefix, dir, provisioned: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as Error).message).toMatch(/kvm1\/sshd_config is a folder where vxlan-inspect writes a file: remove it and run again/);
    expect(namespacesWith(prefix)).toEqual([]);
    expect(readFileSync(path.join(dir, 'kvm1', 'sshd_config', 'mine'), 'utf8')).toBe("not lab up's\n");
    expect(existsSync(path.join(dir, 'id_ed25519'))).toBe(false);
  });

  it('refuses to build over an existing namespace and leaves it alone', async () => {
    expect(sh(['ip', 'netns', 'add', `${prefix}kvm2`]).code).toBe(0);
    const err = await labUp({ prefix, dir: path.join(work, 'clash') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('VXI_LAB');
    expect((err as Error).message).toContain(`${prefix}kvm2`);
    expect(namespacesWith(prefix)).toEqual([`${prefix}kvm2`]);
  });
});
