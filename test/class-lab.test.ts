/**
 * The whole class on one machine: `lab up --groups G --provisioned` (G copies of the class lab,
 * one sshd per node, one class frontend reaching every group), one group broken with `lab break
 * vni --group g03`, then `check --class` run INSIDE the class frontend namespace names that group
 * and that check only (plus the overlay pings and the cross-node comparison the fault stops), with
 * `--parallel` bounding the SSH sessions in flight as counted by the runner's own gauge; then
 * `capture --class` of every node of every group (4G streams) while each group's guests ping,
 * every file a whole pcap with VXLAN in it, nothing lost by the tool.
 *
 * G = 15, the issue's class, because it fits: measured 2026-12-01 on the 2-core machine at load
 * 7-12 (other sessions' tests), up (provisioned) + down about 10 s, a check of the class about
 * 4.5 s, the capture 3 s + connecting + the pings; the four tests 45 s, under 60 s for the file.
 * Set VXI_CLASS_GROUPS to run with fewer on a slower machine.
 *
 * This vitest process never talks to a lab address itself: every command that does runs through
 * `ip netns exec` after checking that the namespace exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassCaptureSummary } from '../src/class/capture.js';
import type { ClassCheckMatrix } from '../src/class/types.js';
import { decodePacket } from '../src/decode/packet.js';
import { labPreflight, netnsExec } from '../src/lab/index.js';
import { type Background, startBackground } from '../src/lab/run.js';
import { type ChildOut, canRunNetns, inNetnsAsync, netnsExists, runAsync, uniquePrefix } from './helpers/netns.js';
import { wholePcapRecords } from './helpers/pcap.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'bin.js');
const GROUPS = Number(process.env.VXI_CLASS_GROUPS ?? 15);
const BROKEN = 'g03';
const PREFIX = uniquePrefix();
const can = canRunNetns();
const preflight = can.ok ? await labPreflight() : can.reason;
const suite = preflight === null ? describe : describe.skip;

const sh = (argv: string[], timeoutMs = 120_000): Promise<ChildOut> => runAsync(argv, timeoutMs);
const inNetns = (ns: string, argv: string[], timeoutMs?: number): Promise<ChildOut> => inNetnsAsync(ns, argv, timeoutMs);

let dir = '';
const labDir = (): string => path.join(dir, 'lab');
const classFile = (): string => path.join(labDir(), 'class.yaml');
const frontend = `${PREFIX}frontend`;
const labCli = (args: string[]): Promise<ChildOut> => sh(['node', BIN, 'lab', ...args, '--prefix', PREFIX, '--dir', labDir()]);
const classCli = (args: string[], timeoutMs?: number): Promise<ChildOut> => inNetns(frontend, ['node', BIN, ...args], timeoutMs);

suite(`the class: ${GROUPS} groups in namespaces`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vxi-class-'));
    const up = await labCli(['up', '--groups', String(GROUPS), '--provisioned']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`class lab '${PREFIX}' is up: ${GROUPS} group(s)`);
  }, 240_000);

  afterAll(async () => {
    const down = await labCli(['down']);
    expect(down.code, down.stderr).toBe(0);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.startsWith(PREFIX));
    expect(left).toEqual([]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('builds every group with its own prefix and addresses, and the class inventory lists them', async () => {
    expect(existsSync(classFile())).toBe(true);
    for (const g of [1, GROUPS]) {
      const name = `g${String(g).padStart(2, '0')}`;
      expect(netnsExists(`${PREFIX}${name}-kvm2`)).toBe(true);
      const addr = spawnSync('ip', ['-n', `${PREFIX}${name}-kvm2`, '-o', '-4', 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' }).stdout;
      expect(addr).toContain(`10.3.${g}.174/24`);
    }
    const st = await labCli(['status']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout.match(/from the class frontend 2\/2 nodes answer, vm1 → vm2 ok/g)?.length).toBe(GROUPS);
  });

  it('check --class passes every group of a healthy class', async () => {
    const r = await classCli(['check', '--class', classFile(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as ClassCheckMatrix;
    expect(m.groups.map((g) => [g.group, g.status])).toEqual(
      Array.from({ length: GROUPS }, (_, i) => [`g${String(i + 1).padStart(2, '0')}`, 'pass']),
    );
    expect(m.columns).toEqual(expect.arrayContaining(['ssh', 'vni', 'port', 'flood', 'peer-overlay', 'same-vni-port']));
    // the dashboard's "traffic seen per VNI": lab up's vm1 → vm2 ping crossed every group's vxlan10
    for (const g of m.groups)
      expect(
        g.traffic
          .filter((t) => t.vni === 10 && t.txPackets > 0)
          .map((t) => t.node)
          .sort(),
        g.group,
      ).toEqual(['kvm1', 'kvm2']);
  }, 120_000);

  it('with one group broken, names that group and that check only; --parallel bounds the sessions in flight', async () => {
    const b = await labCli(['break', 'vni', '--group', BROKEN]);
    expect(b.code, b.stderr).toBe(0);
    try {
      const r = await classCli(['check', '--class', classFile(), '--json', '--parallel', '4']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`check --class failed: ${BROKEN} (`);
      const m = JSON.parse(r.stdout) as ClassCheckMatrix;
      const failing = m.groups.flatMap((g) =>
        Object.entries(g.cells)
          .filter(([, c]) => c.status !== 'pass')
          .map(([name, c]) => `${g.group} ${name} ${c.status}`),
      );
      // the fault, the cross-node comparison that sees it, and the overlay pings it stops: nothing else, nowhere else
      expect(failing.sort()).toEqual([`${BROKEN} peer-overlay fail`, `${BROKEN} same-vni-port fail`, `${BROKEN} vni fail`]);
      expect(m.groups.find((g) => g.group === BROKEN)?.cells.vni?.detail).toBe('kvm2: vxlan10 has VNI 11, the inventory says 10');
      // the runner's own gauge: never more than --parallel sessions open at once, and at least one group's two
      expect(m.parallel).toBe(4);
      expect(m.peakSessions).toBeLessThanOrEqual(4);
      expect(m.peakSessions).toBeGreaterThanOrEqual(2);

      const text = await classCli(['check', '--class', classFile(), '--group', BROKEN, '--group', 'g01']);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(new RegExp(`^${BROKEN}\\s+ok\\s+ok`, 'm'));
      expect(text.stdout).toContain(`${BROKEN}  FAIL  vni: kvm2: vxlan10 has VNI 11, the inventory says 10`);
      expect(text.stdout).toMatch(/check --class: 1 of 2 groups pass, 1 fails: g03; 4 nodes in /);
    } finally {
      const f = await labCli(['fix', '--group', BROKEN]);
      expect(f.code, f.stderr).toBe(0);
    }
  }, 180_000);

  it('capture --class records every node of every group while the guests ping: whole pcaps, nothing lost by the tool', async () => {
    const out = path.join(dir, 'capture');
    // pings until the capture has ended (connecting every group and the 3 s capture), so every group's capture
    // sees some; -w 60 only bounds a ping this test failed to stop
    const pings: Background[] = [];
    let r: ChildOut;
    try {
      for (let g = 1; g <= GROUPS; g++) {
        const ns = `${PREFIX}g${String(g).padStart(2, '0')}-vm1`;
        if (!netnsExists(ns)) throw new Error(`namespace ${ns} does not exist: refusing to start anything`);
        pings.push(startBackground(netnsExec(ns, ['ping', '-n', '-q', '-w', '60', '-i', '0.2', '10.220.220.6'])));
      }
      r = await classCli(['capture', '--class', classFile(), '--duration', '3s', '--out', out, '--json', '--parallel', '6'], 120_000);
    } finally {
      await Promise.all(pings.map((p) => p.stop('SIGINT', 2000)));
    }
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ClassCaptureSummary;
    expect(s.ok).toBe(true);
    expect(s.groups).toHaveLength(GROUPS);
    expect(s.streams).toBe(GROUPS * 4);
    expect(s.lostByTool).toBe(0);
    expect(s.peakConnecting).toBeLessThanOrEqual(6);
    for (const g of s.groups) {
      expect(g.streamsWithoutCounters, g.group).toBe(0);
      const files = readdirSync(g.outDir).sort();
      expect(files, g.group).toEqual([
        'kvm1-eth1.pcap',
        'kvm1-vxlan_bridge.pcap',
        'kvm2-eth1.pcap',
        'kvm2-vxlan_bridge.pcap',
        'session.json',
      ]);
      // each group's folder is an ordinary capture session; the underlay carries its VXLAN
      const under = wholePcapRecords(path.join(g.outDir, 'kvm1-eth1.pcap')).map((p, i) => decodePacket(p, i + 1));
      expect(
        under.some((p) => p.layers.some((l) => l.type === 'vxlan')),
        g.group,
      ).toBe(true);
      for (const f of files.filter((x) => x.endsWith('.pcap'))) wholePcapRecords(path.join(g.outDir, f));
    }
  }, 180_000);
});
