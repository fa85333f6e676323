/**
 * The non-root path against the namespace lab: the inventory says `user: <a non-root user>`,
 * `sudo: true`, so every privileged remote command goes out as `sudo -n -- …` and runs under
 * the node's real sudo and sudoers, over the lab's real OpenSSH sshd.
 *
 * The lab's sshd takes the lab client key for every user (`AuthorizedKeysFile DIR/authorized_keys`,
 * `StrictModes no`), so a throw-away system user made here logs in with the same key. sshd reads
 * that file as the user, so the test makes it (and its folders) readable; and sshd without PAM
 * refuses an account whose password field is locked (`!`), so the user gets `*` (no password, not
 * locked). User and sudoers drop-in are removed in afterAll, even on failure.
 *
 * Network safety: our CLI (the only thing that talks SSH to 10.3.1.x) runs inside the lab's
 * frontend namespace, after checking that the namespace exists. Root only; skipped with the reason
 * when namespaces cannot be made or sudo is not installed (CI: apt-get install -y sudo).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labPreflight, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { type Background, startBackground } from '../src/lab/run.js';
import { canRunNetns, namespaces, uniquePrefix } from './helpers/netns.js';
import { wholePcapCount } from './helpers/pcap.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');

function whyNot(): string | null {
  const can = canRunNetns();
  if (!can.ok) return can.reason;
  if (!existsSync('/usr/bin/sudo')) return '/usr/bin/sudo is missing (apt-get install -y sudo)';
  for (const tool of ['useradd', 'userdel', 'usermod', 'visudo']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing (apt-get install -y passwd sudo)`;
  }
  return null;
}
const reason = whyNot();
const suite = reason === null ? describe : describe.skip;
if (reason !== null) describe.skip(`the non-root sudo path against the lab (skipped: ${reason})`, () => it('skipped', () => {}));

function must(argv: string[]): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Our CLI inside the frontend namespace; refuses unless that namespace exists. */
function cli(h: LabHandle, args: string[]): Promise<CliRun> {
  if (!namespaces().includes(h.frontendNetns)) throw new Error(`namespace ${h.frontendNetns} does not exist: refusing to send anything`);
  const argv = netnsExec(h.frontendNetns, [process.execPath, BIN, ...args]);
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr }))));
}

/** Programs other than sshd running in a namespace (what a capture may have left behind). */
function leftIn(netns: string): string[] {
  const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
  return pids
    .map((pid) => {
      try {
        return `${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}[${pid}]`;
      } catch {
        return '';
      }
    })
    .filter((c) => c !== '' && !c.startsWith('sshd['));
}

/** What is still running in the namespace once short-lived helpers (the preflight's `sh`/`ls`) had 3 s to end; zombies do not count. */
async function settledLeftIn(netns: string): Promise<string[]> {
  const alive = (): string[] =>
    leftIn(netns).filter((c) => {
      const pid = /\[(\d+)\]$/.exec(c)?.[1];
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 30; i++) {
    if (alive().length === 0) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  return alive();
}

/**
 * Both streams were stopped on request and tcpdump printed its counters on the way out (it got
 * SIGINT through `sudo -n -- kill -s INT PID`, not a closed channel), and every packet is in a
 * whole pcap file.
 */
function expectCleanStop(out: string): void {
  const s = JSON.parse(readFileSync(path.join(out, 'session.json'), 'utf8')) as {
    nodes: { interfaces: { iface: string; packets: number; captured: number | null; end: string }[] }[];
  };
  const ifaces = s.nodes[0]?.interfaces ?? [];
  expect(ifaces.map((i) => i.iface)).toEqual(['eth1', 'vxlan_bridge']);
  for (const i of ifaces) {
    expect(i.end).toBe('stopped');
    expect(i.captured, `${i.iface}: tcpdump's own count`).toBe(i.packets);
    expect(wholePcapCount(path.join(out, `kvm1-${i.iface}.pcap`))).toBe(i.packets);
  }
  expect(ifaces[0]?.packets, 'packets on eth1').toBeGreaterThan(0);
}

/** The lab's inventory with another user and sudo setting in `defaults`. */
function inventoryAs(h: LabHandle, user: string, sudo: boolean, file: string): string {
  const doc = parseDocument(readFileSync(h.inventoryPath, 'utf8'));
  doc.setIn(['defaults', 'user'], user);
  doc.setIn(['defaults', 'sudo'], sudo);
  writeFileSync(file, doc.toString());
  return file;
}

suite('the non-root sudo path against the lab', () => {
  const prefix = uniquePrefix();
  const user = `vxt${randomBytes(4).toString('hex')}`;
  /** The same, without a home directory: sshd then says "Could not chdir to home directory" first on every channel. */
  const homeless = `vxt${randomBytes(4).toString('hex')}`;
  const sudoers = `/etc/sudoers.d/${user}`;
  const made: string[] = [];
  let work = '';
  let h: LabHandle;
  let invSudo = '';
  let invNoSudo = '';
  let invHomeless = '';
  /** vm1 → vm2 across the overlay, so a 2 s capture on kvm1's eth1 always has VXLAN packets (not only stray ones). */
  let steady: Background | undefined;

  beforeAll(async () => {
    if (!existsSync(BIN))
      must(['sh', '-c', `cd ${JSON.stringify(ROOT)} && npx tsc -p tsconfig.build.json && node scripts/copy-assets.mjs`]);
    work = mkdtempSync(path.join(tmpdir(), 'vxi-sudo-test-'));
    chmodSync(work, 0o755);
    // a home that exists: without one, sshd writes "Could not chdir to home directory" first on
    // every channel's stderr (see the report on reportPid)
    const home = path.join(work, 'home');
    must(['useradd', '--system', '--no-create-home', '--home-dir', home, '--shell', '/bin/sh', user]);
    made.push(user);
    must(['install', '-d', '-m', '0700', '-o', user, home]);
    must(['useradd', '--system', '--no-create-home', '--home-dir', `/nonexistent-${homeless}`, '--shell', '/bin/sh', homeless]);
    made.push(homeless);
    for (const u of made) must(['usermod', '-p', '*', u]);
    expect(await labPreflight()).toBeNull();
    h = await labUp({ prefix, dir: path.join(work, 'lab'), provisioned: true });
    chmodSync(h.dir, 0o755);
    chmodSync(path.join(h.dir, 'authorized_keys'), 0o644);
    invSudo = inventoryAs(h, user, true, path.join(work, 'inventory-sudo.yaml'));
    invNoSudo = inventoryAs(h, user, false, path.join(work, 'inventory-nosudo.yaml'));
    invHomeless = inventoryAs(h, homeless, true, path.join(work, 'inventory-homeless.yaml'));
    if (!namespaces().includes(`${prefix}vm1`)) throw new Error(`namespace ${prefix}vm1 does not exist: refusing to start anything`);
    steady = startBackground(netnsExec(`${prefix}vm1`, ['ping', '-n', '-q', '-i', '0.2', '10.220.220.6']));
  });

  afterAll(async () => {
    rmSync(sudoers, { force: true });
    await steady?.stop('SIGINT', 2000);
    try {
      if (work) await labDown({ prefix, dir: path.join(work, 'lab') });
    } finally {
      // -f: even if a session of the user outlived the lab's sshd
      for (const u of made) spawnSync('userdel', ['-f', u], { encoding: 'utf8' });
      if (work) rmSync(work, { recursive: true, force: true });
    }
    for (const u of made) expect(spawnSync('id', [u]).status, `userdel ${u}`).not.toBe(0);
  });

  it('with a NOPASSWD drop-in for tcpdump, kill, ip, bridge, firewall-cmd: capture, check --probe, teardown and provision work', async () => {
    const tmp = path.join(work, 'sudoers.tmp');
    writeFileSync(
      tmp,
      `# vxlan-inspect sudo-lab test: removed by the test\n${user}, ${homeless} ALL=(root) NOPASSWD: ` +
        `/usr/bin/tcpdump, /usr/bin/kill, /usr/sbin/ip, /usr/sbin/bridge, /usr/bin/firewall-cmd\n`,
      { mode: 0o440 },
    );
    must(['visudo', '-cf', tmp]);
    must(['install', '-m', '0440', '-o', 'root', '-g', 'root', tmp, sudoers]);

    const out = path.join(work, 'cap-sudo');
    const r = await cli(h, ['capture', 'kvm1', '--inventory', invSudo, '--out', out, '--duration', '1s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^kvm1 \(10\.3\.1\.156\): tcpdump \d+\.\d+/m);
    expect(readdirSync(out).sort()).toEqual(['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap', 'session.json']);
    expectCleanStop(out);
    expect(await settledLeftIn(`${prefix}kvm1`)).toEqual([]);

    // a user without a home: sshd's "Could not chdir to home directory" comes before our PID line
    const out2 = path.join(work, 'cap-homeless');
    const r2 = await cli(h, ['capture', 'kvm1', '--inventory', invHomeless, '--out', out2, '--duration', '1s', '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    // the PID line was found behind sshd's complaint: tcpdump was stopped by its PID
    const sum = JSON.parse(r2.stdout) as { nodes: { streams: { iface: string; remotePid: number | null }[] }[] };
    for (const st of sum.nodes[0]?.streams ?? []) expect(st.remotePid, `${st.iface}: remote PID`).toEqual(expect.any(Number));
    expectCleanStop(out2);
    expect(await settledLeftIn(`${prefix}kvm1`)).toEqual([]);

    const c = await cli(h, ['check', 'kvm1', 'kvm2', '--inventory', invSudo, '--json', '--probe']);
    expect(c.code, `${c.stdout}\n${c.stderr}`).toBe(0);
    const report = JSON.parse(c.stdout) as { ok: boolean; checks: { node: string; name: string; status: string; detail: string }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.filter((k) => k.name === 'ssh').map((k) => k.detail)).toEqual([
      `connected as ${user}@10.3.1.156:22`,
      `connected as ${user}@10.3.1.174:22`,
    ]);
    expect(report.checks.filter((k) => k.status === 'fail')).toEqual([]);
    // --probe: a short tcpdump under sudo on eth1 saw VNI 10
    expect(report.checks.filter((k) => k.name === 'probe').map((k) => k.status)).toEqual(['pass', 'pass']);

    // teardown and provision as the user: `sudo -n -- ip …` / `sudo -n -- bridge fdb …` on both nodes
    const down = await cli(h, ['teardown', 'kvm1', 'kvm2', '--inventory', invSudo]);
    expect(down.code, down.stderr).toBe(0);
    const gone = await cli(h, ['check', 'kvm1', 'kvm2', '--inventory', invSudo, '--json']);
    expect(gone.code).toBe(1);
    expect(
      (JSON.parse(gone.stdout) as { checks: { node: string; name: string; status: string }[] }).checks
        .filter((k) => k.name === 'vxlan')
        .map((k) => `${k.node} ${k.status}`),
    ).toEqual(['kvm1 fail', 'kvm2 fail']);
    const up = await cli(h, ['provision', 'kvm1', 'kvm2', '--inventory', invSudo]);
    expect(up.code, up.stderr).toBe(0);
    const again = await cli(h, ['check', 'kvm1', 'kvm2', '--inventory', invSudo, '--json']);
    expect(again.code, again.stdout).toBe(0);
  });

  it('without the drop-in: capture says sudo wants a password, names node and user and the fix (exit 1), leaves nothing', async () => {
    rmSync(sudoers, { force: true });
    const out = path.join(work, 'cap-nopass');
    const r = await cli(h, ['capture', 'kvm1', '--inventory', invSudo, '--out', out, '--duration', '2s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'vxlan-inspect: kvm1 (10.3.1.156) eth1, vxlan_bridge: ' +
        `sudo wants a password for ${user} to run tcpdump; ` +
        'allow it without one (a NOPASSWD rule in /etc/sudoers.d/) or connect as root (user: ' +
        'root in the inventory)',
    );
    expect(existsSync(out)).toBe(false);
    expect(await settledLeftIn(`${prefix}kvm1`)).toEqual([]);
  });

  it("sudo: false as a non-root user: tcpdump's permission failure names node, interface, user and the fix", async () => {
    const out = path.join(work, 'cap-nosudo');
    const r = await cli(h, ['capture', 'kvm1', '--inventory', invNoSudo, '--out', out, '--duration', '2s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `vxlan-inspect: kvm1 \\(10\\.3\\.1\\.156\\) eth1: ` +
          `permission denied: ${user} may not capture on eth1 \\(tcpdump: eth1: ` +
          `You don't have permission .*\\); set sudo: true for the node in the inventory`,
      ),
    );
    expect(await settledLeftIn(`${prefix}kvm1`)).toEqual([]);
  });
});
