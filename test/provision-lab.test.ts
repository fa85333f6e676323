/**
 * provision / check / teardown against the namespace lab: real sshd in each node namespace,
 * the kernel's VXLAN, our CLI run INSIDE the lab's frontend namespace (`ip netns exec … node
 * dist/cli/bin.js`). This vitest process lives in the root namespace and never talks to a lab
 * address itself: every command that does runs through `ip netns exec` after checking that
 * the namespace exists. The lab has its own random prefix and goes away in afterAll.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labPreflight, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import type { CheckReport } from '../src/provision/check.js';
import { canRunNetns, uniquePrefix } from './helpers/netns.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'bin.js');
const can = canRunNetns();
const preflight = can.ok ? await labPreflight() : can.reason;
const suite = preflight === null ? describe : describe.skip;

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(argv: string[], timeout = 60_000): Out {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd ?? 'false', args, { encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function netnsExists(ns: string): boolean {
  return sh(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .some((l) => l.split(' ')[0] === ns);
}

/** Runs argv inside `ns`, refusing when the namespace is missing (lab addresses must never leave the machine). */
function inNetns(ns: string, argv: string[], timeout?: number): Out {
  if (!netnsExists(ns)) throw new Error(`namespace ${ns} does not exist: refusing to send anything`);
  return sh(netnsExec(ns, argv), timeout);
}

let lab: LabHandle | undefined;
let dir = '';
const prefix = uniquePrefix();

function h(): LabHandle {
  if (!lab) throw new Error('lab is not up');
  return lab;
}
function nodeNs(name: 'kvm1' | 'kvm2'): string {
  const n = h().nodes.find((x) => x.name === name);
  if (!n) throw new Error(name);
  return n.netns;
}
/** Our CLI, in the frontend namespace, with the lab's inventory. */
function cli(args: string[], inventory = h().inventoryPath): Out {
  return inNetns(h().frontendNetns, ['node', BIN, ...args, '--inventory', inventory], 90_000);
}
function onNode(name: 'kvm1' | 'kvm2', argv: string[]): Out {
  const r = inNetns(nodeNs(name), argv);
  if (r.code !== 0) throw new Error(`${name}: ${argv.join(' ')}: ${r.stderr}`);
  return r;
}
function vxlanDevices(name: 'kvm1' | 'kvm2'): string[] {
  const links = JSON.parse(onNode(name, ['ip', '-j', '-d', 'link', 'show']).stdout) as {
    ifname: string;
    linkinfo?: { info_kind?: string };
  }[];
  return links.filter((l) => l.linkinfo?.info_kind === 'vxlan').map((l) => l.ifname);
}
function check(args: string[] = []): { code: number | null; report: CheckReport; stderr: string } {
  const r = cli(['check', 'kvm1', 'kvm2', '--json', ...args]);
  return { code: r.code, report: JSON.parse(r.stdout) as CheckReport, stderr: r.stderr };
}
function failures(report: CheckReport): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => `${c.node} ${c.name}: ${c.detail}`);
}
function provisionBoth(): Out {
  const r = cli(['provision', 'kvm1', 'kvm2']);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

// each test runs the CLI several times (each check pings from both nodes): give them room on a busy machine
suite(`provision, check and teardown against the lab${preflight ? ` (skipped: ${preflight})` : ''}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    // the CLI under test is the built one: vitest's global setup (test/global-setup.ts) has just built it
    if (!existsSync(BIN)) throw new Error(`no ${BIN}: the global setup's \`npm run build\` did not make it`);
    dir = mkdtempSync(path.join(tmpdir(), 'vxi-provlab-'));
    lab = await labUp({ prefix, dir: path.join(dir, 'lab'), provisioned: false });
  });

  afterAll(async () => {
    await labDown({ prefix, dir: path.join(dir, 'lab') });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run prints the exact commands per node and changes nothing', () => {
    const r = cli(['provision', 'kvm1', 'kvm2', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kvm1 (10.3.1.156): would run 9 commands');
    expect(r.stdout).toContain('  ip link add vxlan10 type vxlan id 10 dstport 4789 local 10.3.1.156 dev eth1    #');
    expect(r.stdout).toContain('  bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10.3.1.156    #'); // kvm2 → kvm1
    expect(r.stdout).toMatch(/provision --dry-run \(nothing changed\): kvm1 9 to apply, kvm2 9 to apply\n$/);
    expect(vxlanDevices('kvm1')).toEqual([]);
  });

  it('provisions both nodes; bridge .201 pings .202 over VXLAN; a second run changes nothing', () => {
    const r = provisionBoth();
    expect(r.stdout).toContain('  + ip link add vxlan10 type vxlan id 10 dstport 4789 local 10.3.1.174 dev eth1');
    expect(r.stdout).toContain('note: firewalld is not installed: no firewall changes (kvm1, kvm2)');
    expect(r.stdout).toMatch(/provision: kvm1 9 applied, kvm2 9 applied\n$/);
    const ping = inNetns(nodeNs('kvm1'), ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', 'vxlan_bridge', '10.220.220.202']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const again = provisionBoth();
    expect(again.stdout).toBe(
      'kvm1 (10.3.1.156): nothing to change\nkvm2 (10.3.1.174): nothing to change\nnote: ' +
        'firewalld is not installed: no firewall changes (kvm1, kvm2)\nprovision: ' +
        'kvm1 nothing to change, kvm2 nothing to change\n',
    );
  });

  it('check passes (--json, exit 0), and --probe sees VNI 10 on eth1', () => {
    const c = check(['--probe']);
    expect(failures(c.report)).toEqual([]);
    expect(c.code).toBe(0);
    expect(c.report.ok).toBe(true);
    const names = c.report.checks.filter((x) => x.node === 'kvm1').map((x) => x.name);
    expect(names).toEqual([
      'ssh',
      'underlay',
      'bridge',
      'bridge-address',
      'vxlan',
      'vni',
      'port',
      'local-address',
      'underlay-dev',
      'flood',
      'fdb',
      'mtu',
      'firewall',
      'packet-filter',
      'peer-underlay',
      'peer-overlay',
      'probe',
    ]);
    expect(c.report.checks.find((x) => x.node === 'kvm2' && x.name === 'probe')?.detail).toMatch(
      /VXLAN packets on eth1 UDP 4789, all VNI 10/,
    );
    // the probe's tcpdump is gone from both node namespaces
    for (const n of ['kvm1', 'kvm2'] as const) {
      const pids = sh(['ip', 'netns', 'pids', nodeNs(n)])
        .stdout.split('\n')
        .filter(Boolean);
      const comms = pids.map((p) => sh(['cat', `/proc/${p}/comm`]).stdout.trim());
      expect(comms, n).not.toContain('tcpdump');
    }
    const text = cli(['check', 'kvm1', 'kvm2']);
    expect(text.stdout).toMatch(/^kvm1 +pass +ssh +connected as root@10\.3\.1\.156:22$/m);
    expect(text.stdout).toMatch(/check: ok \(\d+ passed, 0 warnings, 0 failed\)\n$/);
  });

  it('names a wrong VNI on one node, and provision repairs it', () => {
    onNode('kvm2', ['ip', 'link', 'del', 'dev', 'vxlan10']);
    onNode('kvm2', ['ip', 'link', 'add', 'vxlan10', 'type', 'vxlan', 'id', '11', 'dstport', '4789', 'local', '10.3.1.174', 'dev', 'eth1']);
    onNode('kvm2', ['ip', 'link', 'set', 'dev', 'vxlan10', 'master', 'vxlan_bridge', 'up']);
    onNode('kvm2', ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxlan10', 'dst', '10.3.1.156']);
    const c = check();
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/check failed: .*kvm2 vni/);
    const f = failures(c.report);
    expect(f).toContain('kvm2 vni: vxlan10 has VNI 11, the inventory says 10');
    expect(f).toContain('overlay same-vni-port: VNI/port differ between nodes: kvm1 VNI 10/UDP 4789, kvm2 VNI 11/UDP 4789');
    expect(f.some((x) => x.startsWith('kvm1 peer-overlay'))).toBe(true);
    const fix = provisionBoth();
    expect(fix.stdout).toContain('  + ip link del dev vxlan10    # vxlan10 has VNI 11 (want 10): recreate it');
    expect(failures(check().report)).toEqual([]);
  });

  it('names a missing flood entry', () => {
    onNode('kvm1', ['bridge', 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vxlan10', 'dst', '10.3.1.174']);
    const c = check();
    expect(c.code).toBe(1);
    expect(failures(c.report)).toContain(
      'kvm1 flood: no flood entry for kvm2 (10.3.1.174): bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10.3.1.174',
    );
    const fix = provisionBoth();
    expect(fix.stdout).toMatch(/kvm1 \(10\.3\.1\.156\):\n {2}\+ bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10\.3\.1\.174 /);
    expect(fix.stdout).toMatch(/provision: kvm1 1 applied, kvm2 nothing to change\n$/);
  });

  // both faults at once, one per node (check reads each node on its own): one check names both, one provision repairs both
  it('names a VXLAN interface that is down on one node and one that is deleted on the other', () => {
    onNode('kvm1', ['ip', 'link', 'set', 'dev', 'vxlan10', 'down']);
    onNode('kvm2', ['ip', 'link', 'del', 'dev', 'vxlan10']);
    const c = check();
    expect(c.code).toBe(1);
    const f = failures(c.report);
    expect(f).toContain('kvm1 vxlan: vxlan10 is down (ip link set dev vxlan10 up)');
    expect(f).toContain('kvm2 vxlan: vxlan10 does not exist and no other VXLAN interface is there (run provision kvm2)');
    provisionBoth();
    expect(failures(check().report)).toEqual([]);
  });

  it('names an MTU too large for the underlay, and provision refuses instead of guessing', () => {
    onNode('kvm1', ['ip', 'link', 'set', 'dev', 'eth1', 'mtu', '1400']);
    try {
      const c = check();
      expect(c.code).toBe(1);
      expect(failures(c.report)).toContain(
        "kvm1 mtu: vxlan10 mtu 1450 + 50 > eth1 mtu 1400: full-size frames will not cross; lower the overlay mtu to 1350 or raise eth1's",
      );
      const p = cli(['provision', 'kvm1', 'kvm2']);
      expect(p.code).toBe(1);
      expect(p.stderr).toMatch(
        /provision changed nothing, because:\n {2}kvm1: overlay mtu 1450 \+ 50 bytes of VXLAN headers exceeds eth1's mtu 1400; set mtu: 1350/,
      );
    } finally {
      onNode('kvm1', ['ip', 'link', 'set', 'dev', 'eth1', 'mtu', '1500']);
    }
    expect(failures(check().report)).toEqual([]);
  });

  it('switches to a multicast group with --multicast, and back to unicast flood entries', () => {
    const m = cli(['provision', 'kvm1', 'kvm2', '--multicast', '239.1.1.1']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain('  + ip link add vxlan10 type vxlan id 10 dstport 4789 local 10.3.1.156 group 239.1.1.1 dev eth1');
    expect(m.stdout).not.toContain('fdb append');
    const ping = inNetns(nodeNs('kvm1'), ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.220.220.202']);
    expect(ping.code, ping.stdout).toBe(0);
    const c = check(['--multicast', '239.1.1.1']);
    expect(failures(c.report)).toEqual([]);
    expect(c.report.checks.find((x) => x.node === 'kvm1' && x.name === 'flood')?.detail).toBe(
      'vxlan10 floods to multicast group 239.1.1.1',
    );
    const back = provisionBoth();
    expect(back.stdout).toContain('  + bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10.3.1.174');
    expect(failures(check().report)).toEqual([]);
  });

  it("falls back to a member's SSH host when its underlay address cannot be read, and says so", () => {
    const inv = readFileSync(h().inventoryPath, 'utf8');
    const alt = path.join(dir, 'inventory-kvm3.yaml');
    // 10.3.1.99 is on the lab's underlay subnet but no namespace has it: the connection times out inside the lab
    writeFileSync(alt, `${inv.trimEnd()}\n  kvm3: { host: 10.3.1.99, bridgeAddress: 10.220.220.203/24 }\n`);
    const r = cli(['provision', 'kvm1', '--dry-run', '--connect-timeout', '2'], alt);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10.3.1.99    # no flood entry for kvm3 (10.3.1.99)');
    expect(r.stdout).toMatch(
      /note: could not read kvm3's eth1 address \(kvm3 \(10\.3\.1\.99\): no SSH session within 2 s .*\); using its SSH host 10\.3\.1\.99/,
    );
  });

  it('refuses an unknown host key with its fingerprint; --accept-new records it', () => {
    const inv = readFileSync(h().inventoryPath, 'utf8');
    const kh = path.join(dir, 'fresh_known_hosts');
    const alt = path.join(dir, 'inventory-fresh.yaml');
    writeFileSync(alt, inv.replace(/knownHosts: [^,}]+/, `knownHosts: ${kh}`));
    const r = cli(['check', 'kvm1', '--json'], alt);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(report.checks[0]).toMatchObject({ node: 'kvm1', name: 'ssh', status: 'fail' });
    expect(report.checks[0]?.detail).toMatch(
      new RegExp(`kvm1 \\(10\\.3\\.1\\.156\\): host key not in ${kh} — ssh-ed25519 fingerprint SHA256:\\S+; .*--accept-new`),
    );
    const ok = cli(['provision', 'kvm1', '--accept-new'], alt);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(kh, 'utf8')).toMatch(/^10\.3\.1\.156 ssh-ed25519 /);
  });

  it('reaches a node through a jump host (jump: kvm1) when the direct route is closed', () => {
    const inv = readFileSync(h().inventoryPath, 'utf8');
    const alt = path.join(dir, 'inventory-jump.yaml');
    writeFileSync(alt, inv.replace(/(kvm2: \{ host: 10\.3\.1\.174, bridgeAddress: [^ ]+) \}/, '$1, jump: kvm1 }'));
    expect(readFileSync(alt, 'utf8')).toContain('jump: kvm1');
    const fe = h().frontendNetns;
    expect(inNetns(fe, ['ip', 'route', 'add', 'prohibit', '10.3.1.174/32']).code).toBe(0);
    try {
      const direct = cli(['check', 'kvm2', '--json']);
      expect(direct.code).toBe(1);
      expect((JSON.parse(direct.stdout) as CheckReport).checks[0]).toMatchObject({ node: 'kvm2', name: 'ssh', status: 'fail' });
      const via = cli(['check', 'kvm2', '--json'], alt);
      const report = JSON.parse(via.stdout) as CheckReport;
      expect(failures(report)).toEqual([]);
      expect(report.checks[0]).toEqual({ node: 'kvm2', name: 'ssh', status: 'pass', detail: 'connected as root@10.3.1.174:22 via kvm1' });
    } finally {
      inNetns(fe, ['ip', 'route', 'del', 'prohibit', '10.3.1.174/32']);
    }
  });

  it('teardown removes what provision made and leaves no VXLAN interface', () => {
    const r = cli(['teardown', 'kvm1', 'kvm2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  - ip link del dev vxlan10    # remove vxlan10 (VNI 10) and its flood entries');
    expect(r.stdout).toMatch(/teardown: kvm1 2 applied, kvm2 2 applied\n$/);
    expect(vxlanDevices('kvm1')).toEqual([]);
    expect(vxlanDevices('kvm2')).toEqual([]);
    expect(onNode('kvm1', ['ip', '-br', 'link']).stdout).not.toContain('vxlan_bridge');
    // the guest's veth and the underlay are untouched
    expect(onNode('kvm1', ['ip', '-br', 'link']).stdout).toMatch(/^vm1@/m);
    const again = cli(['teardown', 'kvm1', 'kvm2']);
    expect(again.stdout).toMatch(/teardown: kvm1 nothing to change, kvm2 nothing to change\n$/);
  });
});
