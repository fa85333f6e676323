/**
 * session.json nodes[].config: written by capture (sessionJson) and check --save
 * (saveOverlayConfigs), read back by the one reader (overlayConfigOf) and by path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overlayConfigRecord, recordOverlayConfig } from '../src/capture/node.js';
import {
  overlayConfigOf,
  saveOverlayConfigs,
  sessionJson,
  writeSessionJson,
  type OverlayConfigRecord,
} from '../src/capture/session-file.js';
import type { CaptureRunSummary } from '../src/capture/types.js';
import { labConfig } from '../src/analysis/path/testing.js';
import { runPath } from '../src/cli/path.js';
import { PathScenario } from '../src/analysis/path/synth.js';
import { arpRequest, ethernet, icmpEcho, ipv4 } from '../src/synth/frames.js';
import { labNodes } from '../src/provision/testing.js';
import type { RunOptions, RunResult } from '../src/remote/exec.js';

const root = mkdtempSync(path.join(tmpdir(), 'vxi-pathcfg-session-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function summary(config: OverlayConfigRecord | undefined): CaptureRunSummary {
  return {
    ok: true,
    outDir: root,
    sessionFile: path.join(root, 'session.json'),
    startedAt: '2026-12-01T09:00:00.000Z',
    stoppedAt: '2026-12-01T09:00:10.000Z',
    durationSec: 10,
    reason: 'duration',
    filter: null,
    errors: [],
    nodes: [
      {
        node: 'kvm2',
        host: '10.3.1.174',
        sshPort: 22,
        user: 'root',
        sudo: false,
        ssh: null,
        exclusionFilter: '',
        tcpdumpVersion: '4.99.3',
        libpcapVersion: null,
        clock: null,
        ...(config ? { config } : {}),
        streams: [],
      },
    ],
  };
}

function reread(dir: string): Record<string, unknown>[] {
  return (JSON.parse(readFileSync(path.join(dir, 'session.json'), 'utf8')) as { nodes: Record<string, unknown>[] }).nodes;
}

describe('session.json nodes[].config', () => {
  it('capture writes it, the reader gives back the same record', () => {
    const dir = mkdtempSync(path.join(root, 'rt-'));
    const rec = labConfig('kvm2', 'drop');
    writeSessionJson(dir, sessionJson(summary(rec), []));
    const [n] = reread(dir);
    expect(overlayConfigOf(n?.config, 'session.json: nodes[0]')).toEqual(rec);
    expect(rec.nftables).toMatchObject({
      installed: true,
      chains: [
        {
          family: 'inet',
          table: 'vxlan_inspect_lab',
          hook: 'input',
          rules: [{ verdict: 'drop', handle: 2, udpDport: { op: 'in', ranges: [[4789, 4789]] } }],
        },
      ],
    });
    // absent in older files
    writeSessionJson(dir, sessionJson(summary(undefined), []));
    expect(reread(dir)[0]?.config).toBeUndefined();
    expect(overlayConfigOf(undefined, 'x')).toBeUndefined();
  });

  it('a failed reading is recorded as such, the rest empty', () => {
    const rec = overlayConfigRecord(
      labNodes().kvm1,
      { error: 'kvm1: `ip -j -d link show` failed (exit 255): Cannot open netlink socket' },
      { at: new Date('2026-12-01T09:00:00Z'), by: 'check' },
    );
    expect(rec).toMatchObject({
      recordedBy: 'check',
      error: expect.stringContaining('netlink'),
      vxlan: [],
      fdb: [],
      bridge: null,
      firewalld: null,
      nftables: null,
    });
    expect(overlayConfigOf(JSON.parse(JSON.stringify(rec)), 'x')).toEqual(rec);
  });

  it('refuses what the recorder does not write, naming the key', () => {
    const good = JSON.parse(JSON.stringify(labConfig('kvm1'))) as Record<string, unknown>;
    const bad = (change: (o: Record<string, unknown>) => void): (() => void) => {
      const o = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      change(o);
      return () => overlayConfigOf(o, 'f: nodes[0]');
    };
    expect(bad((o) => (o.recordedBy = 'me'))).toThrow(/f: nodes\[0\]: config.recordedBy must be "capture" or "check"/);
    expect(bad((o) => ((o.vxlan as Record<string, unknown>[])[0]!.vni = 2 ** 24))).toThrow(
      /config.vxlan\[0\].vni must be a whole number from 0 to 16777215/,
    );
    expect(bad((o) => ((o.vxlan as Record<string, unknown>[])[0]!.local = '$(reboot)'))).toThrow(
      /config.vxlan\[0\].local must be an IPv4 or IPv6 address/,
    );
    expect(bad((o) => ((o.fdb as Record<string, unknown>[])[0]!.mac = 'zz'))).toThrow(/config.fdb\[0\].mac/);
    expect(bad((o) => (o.fdb = Array(5000).fill((o.fdb as unknown[])[0])))).toThrow(/config.fdb must hold at most 4096 entries/);
    expect(bad((o) => (o.bridge = { name: 'a/b', mtu: 1500, up: true, addresses: [] }))).toThrow(/config.bridge.name/);
    expect(() => overlayConfigOf([], 'f')).toThrow(/config. must be an object/);
  });

  it("check --save: updates capture's session.json, or writes one listing the captures named NODE-IFACE.pcap", () => {
    const dir = mkdtempSync(path.join(root, 'save-'));
    writeSessionJson(dir, sessionJson(summary(undefined), [8472]));
    const c1 = labConfig('kvm1', undefined, { by: 'check' });
    const c2 = labConfig('kvm2', 'vni', { by: 'check' });
    saveOverlayConfigs(dir, [
      { name: 'kvm2', host: '10.3.1.174', underlay: 'eth1', bridge: 'vxlan_bridge', config: c2 },
      { name: 'kvm1', host: '10.3.1.156', underlay: 'eth1', bridge: 'vxlan_bridge', config: c1 },
    ]);
    const j = JSON.parse(readFileSync(path.join(dir, 'session.json'), 'utf8')) as {
      vxlanPorts: number[];
      tool: string;
      nodes: Record<string, unknown>[];
    };
    expect(j.tool).toBe('vxlan-inspect capture');
    expect(j.vxlanPorts).toEqual([8472]);
    expect(j.nodes.map((n) => [n.name, n.tcpdumpVersion ?? null, (n.config as { recordedBy: string }).recordedBy])).toEqual([
      ['kvm2', '4.99.3', 'check'],
      ['kvm1', null, 'check'],
    ]);
    // a folder of captures paired by name: the new session.json keeps them paired
    const named = mkdtempSync(path.join(root, 'named-'));
    for (const f of ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap']) writeFileSync(path.join(named, f), '');
    saveOverlayConfigs(named, [{ name: 'kvm1', host: '10.3.1.156', underlay: 'eth1', bridge: 'vxlan_bridge', config: c1 }]);
    expect(reread(named)).toEqual([
      {
        name: 'kvm1',
        host: '10.3.1.156',
        clockOffsetUs: 0,
        underlay: 'kvm1-eth1.pcap',
        overlay: 'kvm1-vxlan_bridge.pcap',
        config: JSON.parse(JSON.stringify(c1)),
      },
    ]);
  });

  it("recordOverlayConfig over a runner: every VXLAN device's FDB, nftables cut to the receive path; a failure is recorded, not thrown", async () => {
    const rec = labConfig('kvm1');
    const link = readFileSync(new URL('../src/provision/fixtures/kvm1-provisioned.link.json', import.meta.url), 'utf8');
    const addr = readFileSync(new URL('../src/provision/fixtures/kvm1-provisioned.addr.json', import.meta.url), 'utf8');
    const fdb = readFileSync(new URL('../src/provision/fixtures/kvm1-provisioned.fdb.json', import.meta.url), 'utf8');
    const nft = readFileSync(new URL('../src/provision/fixtures/kvm2-drop.nft.json', import.meta.url), 'utf8');
    const ran: string[] = [];
    const ok = (stdout: string): RunResult => ({ code: 0, signal: null, stdout, stderr: '' }) as RunResult;
    const runner = {
      async run(argv: readonly string[], _o?: RunOptions): Promise<RunResult> {
        ran.push(argv.join(' '));
        const cmd = argv.join(' ');
        if (cmd === 'ip -j -d link show') return ok(link);
        if (cmd === 'ip -j addr show') return ok(addr);
        if (cmd.startsWith('bridge -j fdb show dev')) return ok(fdb);
        if (cmd === 'nft -j list ruleset') return ok(nft);
        if (cmd.startsWith('sh -c command -v firewall-cmd')) return { code: 1, signal: null, stdout: '', stderr: '' } as RunResult;
        if (cmd.startsWith('sh -c command -v nft')) return ok('/usr/sbin/nft\n');
        throw new Error(`unexpected ${cmd}`);
      },
    };
    const got = await recordOverlayConfig(runner, labNodes().kvm1, 'capture');
    expect(got.error).toBeUndefined();
    expect(got.vxlan).toEqual(rec.vxlan);
    expect(got.fdb).toEqual(rec.fdb);
    expect(got.firewalld).toEqual({ running: false, reason: 'firewalld is not installed' });
    expect(got.nftables).toMatchObject({ installed: true, chains: [{ hook: 'input', rules: [{ verdict: 'drop' }] }] });
    expect(ran.filter((c) => c.startsWith('bridge'))).toEqual(['bridge -j fdb show dev vxlan10']);
    const failing = {
      run: async (): Promise<RunResult> =>
        ({ code: 1, signal: null, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted' }) as RunResult,
    };
    const bad = await recordOverlayConfig(failing, labNodes().kvm1, 'capture');
    expect(bad.error).toMatch(/kvm1: `ip -j -d link show` failed \(exit 1\): RTNETLINK answers: Operation not permitted/);
  });

  it('path DIR: the configuration and its comparison in the text and --json', async () => {
    const dir = path.join(root, 'path');
    const s = new PathScenario([
      { name: 'kvm1', vtep: '10.3.1.156' },
      { name: 'kvm2', vtep: '10.3.1.174' },
    ]);
    const T0 = 1_764_140_000_000_000;
    const [m1, m2] = ['52:54:00:aa:00:01', '52:54:00:aa:00:02'];
    s.send(ethernet('ff:ff:ff:ff:ff:ff', m1, 0x0806, arpRequest(m1, '10.220.220.5', '10.220.220.6')), T0, 'kvm1', 'kvm2', {
      drop: 'decapsulation',
    });
    s.send(
      ethernet(m2, m1, 0x0800, ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 1 }, icmpEcho(8, 1, 1))),
      T0 + 1000,
      'kvm1',
      'kvm2',
      { drop: 'decapsulation' },
    );
    s.write(dir, {}, { kvm1: labConfig('kvm1'), kvm2: labConfig('kvm2', 'vni') });
    const out = {
      text: '',
      write(t: string) {
        this.text += t;
        return true;
      },
    };
    const err = {
      text: '',
      write(t: string) {
        this.text += t;
        return true;
      },
    };
    const io = { stdout: out, stderr: err } as unknown as Parameters<typeof runPath>[2];
    expect(await runPath(dir, {}, io)).toBe(0);
    expect(out.text).toMatch(
      new RegExp(
        /\nconfiguration \(session\.json nodes\[\]\.config\)\n {2}kvm1 {4}vxlan10 VNI 10 UDP 4789 local /.source +
          /10\.3\.1\.156 dev eth1 mtu 1450, vxlan_bridge mtu 1450, eth1 mtu 1500 10\.3\.1\.156\/24, /.source +
          /floods to 10\.3\.1\.174 {2}\(capture 2026-12-01 09:00:00Z\)\n/.source,
      ),
    );
    expect(out.text).toMatch(/ {2}kvm2 {4}vxlan10 VNI 11 UDP 4789 local 10\.3\.1\.174/);
    expect(out.text).toMatch(
      /\nconfiguration against traffic\n {2}FAIL {2}vni-mismatch\s+VNI 10 is not configured on kvm2 \(it has VNI 11/,
    );
    expect(out.text).toMatch(/ {8}traffic: kvm1 sent 2 VXLAN packets to 10\.3\.1\.174 \(kvm2\) with VNI 10 on UDP 4789/);
    out.text = '';
    await runPath(dir, { json: true }, io);
    const j = JSON.parse(out.text) as {
      nodes: { vtepFrom: string }[];
      notes: string[];
      config: { nodes: { node: string; vxlan: { vni: number } }[]; findings: { code: string }[] };
    };
    expect(j.config.nodes.map((n) => [n.node, n.vxlan.vni])).toEqual([
      ['kvm1', 10],
      ['kvm2', 11],
    ]);
    expect(j.config.findings.map((f) => f.code)).toEqual(['vni-mismatch']);
    // kvm2 sent nothing: its VTEP comes from its recorded configuration
    expect(j.nodes[1]?.vtepFrom).toBe('deduced');
    expect(j.notes).toContain(
      "kvm2's VTEP 10.3.1.174 is taken from its recorded configuration (recorded by capture at 2026-12-01 09:00:00Z): its traffic did not tell it",
    );
  });
});
