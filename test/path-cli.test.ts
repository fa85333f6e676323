import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import type { PathReport } from '../src/analysis/path.js';

const LAB = path.join(import.meta.dirname, '../fixtures/lab');
const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-path-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('vxlan-inspect path', () => {
  it('prints a summary per direction and VNI for the lab recording', async () => {
    const r = await runCli(['path', LAB]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kvm1\s+VTEP 10\.3\.1\.156\s+\(inferred\)/);
    expect(r.stdout).toMatch(/kvm1 → kvm2\s+10\s+41\s+41\s+0\s+0\s+\d+ µs \/ \d+ µs/);
    expect(r.stdout).toMatch(/kvm2 → kvm1\s+10\s+42\s+42\s+0\s+0/);
    expect(r.stdout).toContain('sent by the VXLAN device itself');
    expect(r.stdout).not.toContain('incomplete paths');
  });

  it('--json: the report, every path delivered', async () => {
    const r = await runCli(['path', LAB, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as PathReport;
    expect(j.totals).toMatchObject({ sent: 83, delivered: 83, lost: 0 });
    expect(j.paths.map((g) => [g.src, g.dst, g.vni, g.sent])).toEqual([
      ['kvm1', 'kvm2', 10, 41],
      ['kvm2', 'kvm1', 10, 42],
    ]);
    expect(j.paths[0]?.latencyUs.underlay.count).toBe(41);
  });

  it("--frame: one frame's four sightings and hop times", async () => {
    const r = await runCli(['path', LAB, '--frame', 'kvm2:underlay:1']);
    expect(r.code).toBe(0);
    const journey = r.stdout.slice(r.stdout.indexOf('frame 1 of kvm2-eth1.pcap'));
    expect(journey).toMatch(/branch 1 of 1: kvm2 → kvm1, VNI 10, VTEP 10\.3\.1\.174 → 10\.3\.1\.156 UDP 4789: delivered/);
    for (const line of [
      /source bridge\s+kvm2\s+kvm2-vxlan_bridge\.pcap #1/,
      /source underlay\s+kvm2\s+kvm2-eth1\.pcap #1/,
      /destination underlay\s+kvm1\s+kvm1-eth1\.pcap #\d+/,
      /destination bridge\s+kvm1\s+kvm1-vxlan_bridge\.pcap #\d+/,
    ])
      expect(journey).toMatch(line);
    expect(journey).toMatch(/↓ \+\d+(\.\d+)? µs encapsulation/);
    expect(journey).toMatch(/↓ [+-]\d+(\.\d+)? µs underlay crossing/);
    const j = JSON.parse((await runCli(['path', LAB, '--frame', 'kvm2:underlay:1', '--json'])).stdout) as PathReport;
    expect(j.followed?.branches).toHaveLength(1);
    expect(Object.keys(j.followed?.branches[0]?.sightings ?? {})).toEqual(['srcBridge', 'srcUnderlay', 'dstUnderlay', 'dstBridge']);
  });

  it('--frame on a frame that stays on its node says so', async () => {
    const j = JSON.parse((await runCli(['path', LAB, '--json', '--frame', 'kvm1:99999'])).stdout) as PathReport;
    expect(j.followed?.branches).toEqual([]);
    expect(j.followed?.note).toContain('has no frame 99999');
  });

  it("--node names each node's files", async () => {
    const f = (n: string): string => path.join(LAB, n);
    const r = await runCli([
      'path',
      '--json',
      '--node',
      `a=${f('kvm1-eth1.pcap')},${f('kvm1-vxlan_bridge.pcap')}`,
      '--node',
      `b=${f('kvm2-eth1.pcap')},${f('kvm2-vxlan_bridge.pcap')}`,
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as PathReport;
    expect(j.paths.map((g) => `${g.src}>${g.dst}`)).toEqual(['a>b', 'b>a']);
    expect(j.totals.delivered).toBe(83);
  });

  it('errors a user can act on', async () => {
    const none = await runCli(['path']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--node kvm1=UNDERLAY,BRIDGE');
    const missing = await runCli(['path', path.join(tmp, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such capture folder');
    // one node only: what was found, and what is needed
    const one = path.join(tmp, 'one');
    mkdirSync(one);
    copyFileSync(path.join(LAB, 'kvm1-eth1.pcap'), path.join(one, 'kvm1-eth1.pcap'));
    copyFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap'), path.join(one, 'kvm1-vxlan_bridge.pcap'));
    copyFileSync(path.join(LAB, 'kvm2-eth1.pcap'), path.join(one, 'kvm2-eth1.pcap'));
    const r = await runCli(['path', one]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'found nodes kvm1 (underlay kvm1-eth1.pcap, bridge kvm1-vxlan_bridge.pcap); kvm2 (underlay kvm2-eth1.pcap, no bridge capture)',
    );
    expect(r.stderr).toContain('NODE-eth1.pcap and NODE-vxlan_bridge.pcap, or --node kvm1=UNDERLAY,BRIDGE --node kvm2=UNDERLAY,BRIDGE');
    const frame = await runCli(['path', LAB, '--frame', 'kvm9:3']);
    expect(frame.code).toBe(2);
    expect(frame.stderr).toContain('no node "kvm9" in this session (nodes: kvm1, kvm2)');
    const bad = await runCli(['path', LAB, '--node', 'kvm1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--node must be NAME=UNDERLAY,BRIDGE');
  });
});
