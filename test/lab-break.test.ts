/**
 * `lab break KIND` / `lab fix` against the namespace lab: for each kind, with the fault in place
 * and the class traffic running (`lab traffic`), `check kvm1 kvm2` (run INSIDE the lab's frontend
 * namespace) names that fault and nothing else fails but the overlay pings that the fault stops;
 * after `lab fix` every check passes and vm1 ↔ vm2 pings pass. One lab for all kinds, broken and
 * fixed in turn. This vitest process never talks to a lab address itself: every command that does
 * runs through `ip netns exec` after checking that the namespace exists.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labPreflight, labTraffic, labUp, netnsExec, type LabHandle, type TrafficSummary } from '../src/lab/index.js';
import type { CheckReport, CheckResult } from '../src/provision/check.js';
import { canRunNetns } from './helpers/netns.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'bin.js');
const PREFIX = 'vxb-';
const can = canRunNetns();
const preflight = can.ok ? await labPreflight() : can.reason;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const suite = preflight === null ? describe : describe.skip;

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv without blocking the event loop (lab traffic runs in this process meanwhile). */
function sh(argv: string[], timeoutMs = 90_000): Promise<Out> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(cmd ?? 'false', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function netnsExists(ns: string): boolean {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').some((l) => l.split(' ')[0] === ns);
}

/** Runs argv inside `ns`, refusing when the namespace is missing (lab addresses must never leave the machine). */
function inNetns(ns: string, argv: string[]): Promise<Out> {
  if (!netnsExists(ns)) throw new Error(`namespace ${ns} does not exist: refusing to send anything`);
  return sh(netnsExec(ns, argv));
}

let lab: LabHandle | undefined;
let dir = '';
const labDir = (): string => path.join(dir, 'lab');

function h(): LabHandle {
  if (!lab) throw new Error('lab is not up');
  return lab;
}
/** `vxlan-inspect lab …` in the machine's namespace (it only runs `ip -n`, `bridge -n`, `ip netns exec`). */
function labCli(args: string[]): Promise<Out> {
  return sh(['node', BIN, 'lab', ...args, '--prefix', PREFIX, '--dir', labDir()]);
}
/** Our CLI in the frontend namespace, with the lab's inventory. */
function cli(args: string[]): Promise<Out> {
  return inNetns(h().frontendNetns, ['node', BIN, ...args, '--inventory', h().inventoryPath]);
}
async function check(args: string[] = []): Promise<CheckReport> {
  const r = await cli(['check', 'kvm1', 'kvm2', '--json', ...args]);
  expect(r.stdout, r.stderr).toMatch(/^\{/);
  return JSON.parse(r.stdout) as CheckReport;
}
const line = (c: CheckResult): string => `${c.node} ${c.status} ${c.name}: ${c.detail}`;
const notPassing = (r: CheckReport): CheckResult[] => r.checks.filter((c) => c.status !== 'pass');

async function guestPings(): Promise<void> {
  const a = await inNetns(`${PREFIX}vm1`, ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', '10.220.220.6']);
  expect(a.code, `vm1 → vm2: ${a.stdout}`).toBe(0);
  const b = await inNetns(`${PREFIX}vm2`, ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', '10.220.220.5']);
  expect(b.code, `vm2 → vm1: ${b.stdout}`).toBe(0);
}

interface Named {
  node: string;
  name: string;
  status: 'warn' | 'fail';
  detail: RegExp;
}

/**
 * Breaks `kind`, runs the class traffic and `check` during it, and returns the checks; asserts that
 * the `named` checks are there and that every other check passes, except the peer-overlay pings
 * the fault stops (a consequence, not another fault).
 */
async function breakAndCheck(kind: string, named: Named[], checkArgs: string[] = []): Promise<{ report: CheckReport; traffic: TrafficSummary }> {
  const b = await labCli(['break', kind]);
  expect(b.code, b.stderr).toBe(0);
  expect(b.stdout).toMatch(new RegExp(`^lab break ${kind}: `));
  const status = await labCli(['status']);
  expect(status.stdout).toMatch(new RegExp(`active fault: ${kind} on kvm[12] since `));
  expect(existsSync(path.join(labDir(), 'break.json'))).toBe(true);

  const traffic = labTraffic({ prefix: PREFIX, durationSec: 4 });
  let report: CheckReport;
  try {
    report = await check(checkArgs);
  } finally {
    await traffic.catch(() => undefined);
  }
  const t = await traffic;
  const bad = notPassing(report);
  for (const n of named) {
    const hit = bad.find((c) => c.node === n.node && c.name === n.name);
    expect(hit, `${kind}: no ${n.status} ${n.node} ${n.name} among:\n${bad.map(line).join('\n')}`).toBeDefined();
    expect(hit?.status).toBe(n.status);
    expect(hit?.detail).toMatch(n.detail);
  }
  const others = bad.filter((c) => !named.some((n) => n.node === c.node && n.name === c.name) && c.name !== 'peer-overlay');
  expect(others.map(line), `${kind}: checks other than the fault's`).toEqual([]);
  return { report, traffic: t };
}

async function fixAndVerify(kind: string, checkArgs: string[] = []): Promise<void> {
  const f = await labCli(['fix']);
  expect(f.code, f.stderr).toBe(0);
  expect(f.stdout).toMatch(new RegExp(`^lab fix: ${kind} on kvm[12] undone`));
  expect(existsSync(path.join(labDir(), 'break.json'))).toBe(false);
  expect((await labCli(['status'])).stdout).toContain('active fault: none');
  await guestPings();
  const report = await check(checkArgs);
  expect(notPassing(report).map(line), `after lab fix (${kind})`).toEqual([]);
  expect(report.ok).toBe(true);
}

suite(`lab break / lab fix: check names each fault${preflight ? ` (skipped: ${preflight})` : ''}`, { timeout: 180_000 }, () => {
  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`no ${BIN}: the global setup builds dist/`);
    // a lab of this prefix left by a run that was killed: ours, so removed
    await labDown({ prefix: PREFIX });
    dir = mkdtempSync(path.join(tmpdir(), 'vxi-labbreak-'));
    lab = await labUp({ prefix: PREFIX, dir: labDir(), provisioned: true });
  });

  afterAll(async () => {
    await labDown({ prefix: PREFIX, dir: labDir() });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the healthy lab passes every check; lab fix with nothing broken, unknown kinds and offload are refused (exit 2)', async () => {
    expect(notPassing(await check()).map(line)).toEqual([]);
    const none = await labCli(['fix']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no fault is recorded in .*break\.json: nothing to fix/);
    const unknown = await labCli(['break', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown fault kind 'nope': use one of mtu, vni, port, fdb, stale-fdb, drop, multicast");
    const offload = await labCli(['break', 'offload']);
    expect(offload.code).toBe(2);
    expect(offload.stderr).toMatch(/not a fault this lab can make: .*bad udp cksum/);
    const badNode = await labCli(['break', 'vni', '--node', 'kvm3']);
    expect(badNode.code).toBe(2);
    const multicast = await labCli(['break', 'multicast']);
    expect(multicast.code).toBe(2);
    expect(multicast.stderr).toMatch(/floods with unicast flood entries, not a multicast group.*--multicast/);
    expect(existsSync(path.join(labDir(), 'break.json'))).toBe(false);
  });

  it('vni: kvm2 on VNI 11; a second break is refused while it is in place', async () => {
    const { traffic } = await breakAndCheck('vni', [
      { node: 'kvm2', name: 'vni', status: 'fail', detail: /^vxlan10 has VNI 11, the inventory says 10$/ },
      { node: 'overlay', name: 'same-vni-port', status: 'fail', detail: /kvm1 VNI 10\/UDP 4789, kvm2 VNI 11\/UDP 4789/ },
    ]);
    expect(traffic.steps.find((s) => s.name === 'arp + ping')?.ok).toBe(false);
    const again = await labCli(['break', 'port']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/a fault is already in place: vni on kvm2 .*lab fix/);
    await fixAndVerify('vni');
  });

  it('port: kvm2 on UDP 8472', async () => {
    await breakAndCheck('port', [
      { node: 'kvm2', name: 'port', status: 'fail', detail: /^vxlan10 uses UDP 8472 \(the kernel's old default.*\), the inventory says 4789$/ },
      { node: 'overlay', name: 'same-vni-port', status: 'fail', detail: /kvm2 VNI 10\/UDP 8472/ },
    ]);
    await fixAndVerify('port');
  });

  it('mtu: 1500 in 1500 on kvm2', async () => {
    const { traffic } = await breakAndCheck('mtu', [
      { node: 'kvm2', name: 'mtu', status: 'warn', detail: /^1500 in 1500: vxlan10 mtu 1500 \+ 50 > eth1 mtu 1500/ },
      { node: 'kvm2', name: 'underlay-dev', status: 'warn', detail: /not bound to a device/ },
    ]);
    // small frames still cross: the fault shows only on the large ones
    expect(traffic.steps.find((s) => s.name === 'arp + ping')?.ok).toBe(true);
    const big = await inNetns(`${PREFIX}vm2`, ['ping', '-n', '-c', '1', '-W', '2', '-s', '1472', '-M', 'do', '10.220.220.5']);
    expect(big.code).not.toBe(0);
    expect(big.stdout + big.stderr).toMatch(/mtu = 1450/);
    await fixAndVerify('mtu');
  });

  it('fdb: kvm2 without its flood entry toward kvm1', async () => {
    await breakAndCheck('fdb', [{ node: 'kvm2', name: 'flood', status: 'fail', detail: /^no flood entry for kvm1 \(10\.3\.1\.156\)/ }]);
    await fixAndVerify('fdb');
  });

  it("stale-fdb: kvm1 sends vm2's MAC to a host that is no VTEP", async () => {
    const { traffic } = await breakAndCheck('stale-fdb', [
      { node: 'kvm1', name: 'fdb', status: 'fail', detail: /^vxlan10 has 1 static entry toward a VTEP that is no overlay member \([0-9a-f:]{17} → 10\.3\.1\.250\)/ },
    ]);
    expect(traffic.steps.find((s) => s.name === 'arp + ping')?.ok).toBe(false);
    await fixAndVerify('stale-fdb');
  });

  it.skipIf(!hasNft)('drop: kvm2 drops UDP 4789 (nftables), counted', async () => {
    const { report } = await breakAndCheck('drop', [
      { node: 'kvm2', name: 'packet-filter', status: 'fail', detail: /^nftables table inet vxlan_inspect_lab chain input \(hook input\) drops udp\/4789, .*, \d+ packet\(s\) dropped so far/ },
    ]);
    const pf = report.checks.find((c) => c.node === 'kvm2' && c.name === 'packet-filter');
    expect(Number(/(\d+) packet\(s\) dropped/.exec(pf?.detail ?? '')?.[1])).toBeGreaterThan(0);
    await fixAndVerify('drop');
  });

  it('multicast: kvm2 on another group, after provisioning with --multicast', async () => {
    const m = await cli(['provision', 'kvm1', 'kvm2', '--multicast', '239.1.1.1']);
    expect(m.code, m.stderr).toBe(0);
    try {
      await breakAndCheck(
        'multicast',
        [
          { node: 'kvm2', name: 'flood', status: 'fail', detail: /^vxlan10 group is 239\.1\.1\.2, want 239\.1\.1\.1$/ },
          { node: 'overlay', name: 'same-group', status: 'fail', detail: /kvm1 239\.1\.1\.1, kvm2 239\.1\.1\.2/ },
        ],
        ['--multicast', '239.1.1.1'],
      );
      await fixAndVerify('multicast', ['--multicast', '239.1.1.1']);
    } finally {
      const back = await cli(['provision', 'kvm1', 'kvm2']);
      expect(back.code, back.stderr).toBe(0);
    }
    expect(notPassing(await check()).map(line)).toEqual([]);
  });
});
