/**
 * One analysis, one truth (issue 11): on every capture shape a user brings, the numbers the
 * page's API returns equal, field by field, those of `stats --json` and `correlate --json
 * --matches` — counts per VNI and VTEP pair, overhead, matched, underlay-only, bridge-only,
 * floods, encapsulated/decapsulated, reasons, and the direction of every single match.
 *
 * Shapes: the classic pair (the lab recording, where received frames often carry the same
 * timestamp on both sides), one pcapng holding both interfaces (as dumpcap/tshark write it),
 * odd file names, README's bare `eth1.pcap vxlan_bridge.pcap`, a nanosecond big-endian
 * underlay beside a microsecond bridge, and a live run fed in pieces.
 */
import { captureRecords } from './helpers/pcap.js';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PcapWriter, PcapngWriter } from '../src/decode/file/writer.js';
import { sll2FromEthernet } from '../src/synth/frames.js';
import type { RawPacket } from '../src/decode/types.js';
import { nodeSpecOption, sessionFromArgs, sessionFromDir } from '../src/web/session.js';
import { startServer, type RunningServer } from '../src/web/server.js';
import { runCli } from './helpers/cli.js';

const LAB = path.resolve('fixtures/lab');
const SYNTH = path.resolve('fixtures/synth');
const work = mkdtempSync(path.join(tmpdir(), 'vxi-consistency-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: the CLI's and the API's JSON, walked field by field in expects (a wrong path fails the expect)
type J = any;

async function cliJson(args: string[]): Promise<J> {
  const r = await runCli(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

async function api(server: RunningServer, p: string): Promise<J> {
  const r = await fetch(`${server.url}${p.replace(/^\//, '')}`);
  expect(r.status, p).toBe(200);
  return r.json();
}

/** One pcapng with eth1 (id 0) and vxlan_bridge (id 1), records merged by time, as dumpcap writes them. */
function bothInOnePcapng(underlay: string, overlay: string, out: string): void {
  const merged = [...captureRecords(underlay).map((p) => ({ p, id: 0 })), ...captureRecords(overlay).map((p) => ({ p, id: 1 }))].sort(
    (a, b) => a.p.tsSec - b.p.tsSec || a.p.tsNsec - b.p.tsNsec || a.id - b.id,
  );
  const w = new PcapngWriter({ interfaces: [{ name: 'eth1' }, { name: 'vxlan_bridge' }] });
  writeFileSync(out, w.file(merged.map(({ p, id }) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec, data: p.data, len: p.len, interfaceId: id }))));
}

/**
 * What `tcpdump -i any` on kvm1 writes for the same traffic (SLL2): eth1's packets on ifindex 3,
 * the bridged frames on the VXLAN device vxlan10 (ifindex 5: under -i any the bridge is not
 * promiscuous, so forwarded frames show on the ports and the VXLAN device, not on the bridge),
 * the guest's port (ifindex 7) with a few of them, and ssh on eth0 (ifindex 2).
 */
function anyCapture(underlay: string, overlay: string, out: string): void {
  const type = (frame: Uint8Array, out: boolean): number => (out ? 4 : frame[0] === 0xff ? 1 : ((frame[0] as number) & 1) === 1 ? 2 : 0);
  const rows: { p: RawPacket; data: Uint8Array }[] = [];
  for (const p of captureRecords(underlay)) rows.push({ p, data: sll2FromEthernet(p.data, 3, type(p.data, p.data[6] === 0x0a)) });
  for (const [k, p] of captureRecords(overlay).entries()) {
    rows.push({ p, data: sll2FromEthernet(p.data, 5, type(p.data, false)) });
    if (k % 10 === 0) rows.push({ p, data: sll2FromEthernet(p.data, 7, 0) });
  }
  const first = rows[0]!.p;
  rows.push({
    p: { ...first, tsNsec: first.tsNsec + 1 },
    data: sll2FromEthernet(
      Uint8Array.from({ length: 80 }, (_, i) => (i === 12 ? 8 : i === 14 ? 0x45 : 0)),
      2,
      4,
    ),
  });
  rows.sort((a, b) => a.p.tsSec - b.p.tsSec || a.p.tsNsec - b.p.tsNsec);
  const w = new PcapWriter({ linkType: 276 });
  writeFileSync(
    out,
    w.file(rows.map(({ p, data }) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec, data, len: data.length + (p.len - p.data.length) }))),
  );
}

const WINDOW_MS = 100; // the web view's correlation window

/**
 * Compares one node of the page with the CLI run on the same packets: `stats --json` of the
 * underlay (given as its own file, which holds the same packets as the page's underlay side) and
 * `correlate --json --matches` on `correlateArgs`.
 */
async function expectSameTruth(server: RunningServer, nodeName: string, statsFile: string, correlateArgs: string[]): Promise<void> {
  const session = await api(server, '/api/session');
  const node = session.nodes.find((n: J) => n.name === nodeName);
  expect(node, `node ${nodeName} in ${session.nodes.map((n: J) => n.name).join(', ')}`).toBeDefined();
  const a = node.analysis;
  const stats = await cliJson(['stats', '--json', statsFile]);
  const corr = await cliJson(['correlate', '--json', '--matches', '--window', String(WINDOW_MS), ...correlateArgs]);

  // statistics: per VNI, per VTEP pair, overhead
  for (const [vni, c] of Object.entries(stats.vxlan.byVni as Record<string, { packets: number; bytes: number }>)) {
    expect(a.byVni[vni], `VNI ${vni}`).toMatchObject({
      packets: c.packets,
      bytes: c.bytes,
      matched: corr.byVni[vni]?.matched ?? 0,
      underlayOnly: corr.byVni[vni]?.underlayOnly ?? 0,
    });
  }
  expect(Object.keys(a.byVni).sort()).toEqual(Object.keys(stats.vxlan.byVni).sort());
  const pairs = (rows: J[]): string[] => rows.map((p: J) => `${p.src}>${p.dst}/${p.vni}:${p.packets}/${p.bytes}`).sort();
  expect(pairs(a.byVtepPair)).toEqual(pairs(stats.vtepPairs));
  expect(a.overhead).toMatchObject({ bytes: stats.overhead.bytes, percent: stats.overhead.percent });
  expect(a.vxlanPackets).toBe(stats.vxlan.packets);

  // correlation: counts, floods, directions, reasons
  expect([a.matched, a.underlayOnly, a.overlayOnly, a.floodedFrames, a.encapsulated, a.decapsulated, a.localVtep]).toEqual([
    corr.matched,
    corr.underlayOnly,
    corr.overlayOnly,
    corr.floodedFrames,
    corr.encap,
    corr.decap,
    corr.localVtep ?? null,
  ]);
  expect(a.unmatchedUnderlay.map((x: J) => `${x.n}:${x.code}`)).toEqual(corr.unmatchedUnderlay.map((x: J) => `${x.n}:${x.code}`));
  expect(a.unmatchedOverlay.map((x: J) => `${x.n}:${x.code}`)).toEqual(corr.unmatchedOverlay.map((x: J) => `${x.n}:${x.code}`));

  // every match: the page's packet detail names the partner and the correlator's direction
  const u = node.underlay.id;
  for (const m of corr.matches as J[]) {
    const d = await api(server, `/api/captures/${u}/packets/${m.underlay.n}`);
    expect(d.match?.n, `underlay #${m.underlay.n}`).toBe(m.overlay.n);
    expect(d.match.direction, `direction of underlay #${m.underlay.n}`).toBe(m.direction);
  }
}

describe('the page and the CLI tell the same truth', () => {
  test('the classic pair: the lab recording (equal timestamps on both sides)', async () => {
    const server = await startServer(sessionFromDir(LAB), { port: 0 });
    try {
      for (const n of ['kvm1', 'kvm2'])
        await expectSameTruth(server, n, path.join(LAB, `${n}-eth1.pcap`), [
          path.join(LAB, `${n}-eth1.pcap`),
          path.join(LAB, `${n}-vxlan_bridge.pcap`),
        ]);
    } finally {
      await server.close();
    }
  });

  test('one pcapng holding both interfaces is split by if_name, and `correlate FILE` reads it the same', async () => {
    const dir = path.join(work, 'pcapng');
    mkdirSync(dir);
    const file = path.join(dir, 'kvm1.pcapng');
    bothInOnePcapng(path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap'), file);
    const server = await startServer(sessionFromArgs([file]), { port: 0 });
    try {
      const s = await api(server, '/api/session');
      expect(s.nodes.map((n: J) => [n.name, n.underlay?.iface, n.overlay?.iface])).toEqual([['kvm1', 'eth1', 'vxlan_bridge']]);
      await expectSameTruth(server, 'kvm1', path.join(LAB, 'kvm1-eth1.pcap'), [file]);
      // and the one-file correlation is the pair's
      const pair = await cliJson([
        'correlate',
        '--json',
        '--matches',
        '--window',
        String(WINDOW_MS),
        path.join(LAB, 'kvm1-eth1.pcap'),
        path.join(LAB, 'kvm1-vxlan_bridge.pcap'),
      ]);
      const one = await cliJson(['correlate', '--json', '--matches', '--window', String(WINDOW_MS), file]);
      expect(one.matches.map((m: J) => [m.underlay.n, m.overlay.n, m.direction])).toEqual(
        pair.matches.map((m: J) => [m.underlay.n, m.overlay.n, m.direction]),
      );
      // the guest's own frames on the bridge are not charted as underlay
      expect(s.nodes[0].underlay.packets).toBe(107);
      expect(s.nodes[0].overlay.packets).toBe(84);
    } finally {
      await server.close();
    }
  });

  test('a tcpdump -i any capture (SLL2) is split by interface from its traffic, and matches as the pair does', async () => {
    const dir = path.join(work, 'any');
    mkdirSync(dir);
    const file = path.join(dir, 'kvm1-any.pcap');
    anyCapture(path.join(LAB, 'kvm1-eth1.pcap'), path.join(LAB, 'kvm1-vxlan_bridge.pcap'), file);
    const pair = await cliJson([
      'correlate',
      '--json',
      '--matches',
      '--window',
      String(WINDOW_MS),
      path.join(LAB, 'kvm1-eth1.pcap'),
      path.join(LAB, 'kvm1-vxlan_bridge.pcap'),
    ]);
    const one = await cliJson(['correlate', '--json', '--matches', '--window', String(WINDOW_MS), file]);
    expect(one.sides).toMatch(/underlay ifindex 3 .* bridge side ifindex 5/);
    expect([one.matched, one.underlayOnly, one.overlayOnly, one.encap, one.decap, one.floodedFrames]).toEqual([
      pair.matched,
      pair.underlayOnly,
      pair.overlayOnly,
      pair.encap,
      pair.decap,
      pair.floodedFrames,
    ]);
    expect(one.matches.map((m: J) => [m.underlay.n, m.overlay.n, m.direction])).toEqual(
      pair.matches.map((m: J) => [m.underlay.n, m.overlay.n, m.direction]),
    );
    // the page splits it the same way
    const server = await startServer(sessionFromArgs([file]), { port: 0 });
    try {
      const s = await api(server, '/api/session');
      expect(s.nodes).toHaveLength(1);
      expect([s.nodes[0].underlay.packets, s.nodes[0].overlay.packets]).toEqual([107, 84]);
      expect([s.nodes[0].analysis.matched, s.nodes[0].analysis.encapsulated, s.nodes[0].analysis.decapsulated]).toEqual([
        pair.matched,
        pair.encap,
        pair.decap,
      ]);
      // stats of the cooked capture count the overhead as on an Ethernet underlay: 50 bytes a VXLAN packet
      expect(s.nodes[0].analysis.overhead.perPacket).toBe(50);
    } finally {
      await server.close();
    }
  });

  test('odd file names: a leading "..", spaces, unicode; and README\'s bare eth1.pcap + vxlan_bridge.pcap', async () => {
    const odd = path.join(work, 'odd');
    mkdirSync(odd);
    copyFileSync(path.join(LAB, 'kvm1-eth1.pcap'), path.join(odd, '..kvm1-eth1.pcap'));
    copyFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap'), path.join(odd, '..kvm1-vxlan_bridge.pcap'));
    copyFileSync(path.join(LAB, 'kvm2-eth1.pcap'), path.join(odd, 'hôte 2-eth1.pcap'));
    copyFileSync(path.join(LAB, 'kvm2-vxlan_bridge.pcap'), path.join(odd, 'hôte 2-vxlan_bridge.pcap'));
    const bare = path.join(work, 'kvm1');
    mkdirSync(bare);
    copyFileSync(path.join(LAB, 'kvm1-eth1.pcap'), path.join(bare, 'eth1.pcap'));
    copyFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap'), path.join(bare, 'vxlan_bridge.pcap'));
    const server = await startServer(sessionFromDir(odd), { port: 0 });
    const readme = await startServer(sessionFromArgs([path.join(bare, 'eth1.pcap'), path.join(bare, 'vxlan_bridge.pcap')]), { port: 0 });
    try {
      await expectSameTruth(server, '..kvm1', path.join(odd, '..kvm1-eth1.pcap'), [
        path.join(odd, '..kvm1-eth1.pcap'),
        path.join(odd, '..kvm1-vxlan_bridge.pcap'),
      ]);
      await expectSameTruth(server, 'hôte 2', path.join(odd, 'hôte 2-eth1.pcap'), [
        path.join(odd, 'hôte 2-eth1.pcap'),
        path.join(odd, 'hôte 2-vxlan_bridge.pcap'),
      ]);
      const s = await api(readme, '/api/session');
      expect(s.nodes.map((n: J) => n.name)).toEqual(['kvm1']);
      await expectSameTruth(readme, 'kvm1', path.join(bare, 'eth1.pcap'), [
        path.join(bare, 'eth1.pcap'),
        path.join(bare, 'vxlan_bridge.pcap'),
      ]);
    } finally {
      await server.close();
      await readme.close();
    }
  });

  test('serve --node names a pair outright, whatever the files are called', async () => {
    const dir = path.join(work, 'explicit');
    mkdirSync(dir);
    copyFileSync(path.join(LAB, 'kvm2-eth1.pcap'), path.join(dir, 'a.pcap'));
    copyFileSync(path.join(LAB, 'kvm2-vxlan_bridge.pcap'), path.join(dir, 'b.pcap'));
    expect(() => nodeSpecOption('kvm2=a.pcap')).toThrow(/--node must be NODE=UNDERLAY.pcap,BRIDGE.pcap/);
    expect(() => nodeSpecOption(`kvm2=${path.join(dir, 'nope.pcap')},`)).toThrow(/--node kvm2: no such capture file/);
    const files = nodeSpecOption(`kvm2=${path.join(dir, 'a.pcap')},${path.join(dir, 'b.pcap')}`);
    const server = await startServer({ files, nodes: [], vxlanPorts: [] }, { port: 0 });
    try {
      const s = await api(server, '/api/session');
      expect(s.nodes.map((n: J) => [n.name, n.underlay.name, n.overlay.name, n.analysis.pairedBy])).toEqual([
        ['kvm2', 'a.pcap', 'b.pcap', 'explicit'],
      ]);
      await expectSameTruth(server, 'kvm2', path.join(dir, 'a.pcap'), [path.join(dir, 'a.pcap'), path.join(dir, 'b.pcap')]);
    } finally {
      await server.close();
    }
  });

  test('an `any` capture beside the pair is never taken as the bridge (issue 11 #2)', async () => {
    const dir = path.join(work, 'with-any');
    mkdirSync(dir);
    for (const f of ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap']) copyFileSync(path.join(LAB, f), path.join(dir, f));
    copyFileSync(path.join(SYNTH, 'class-kvm1-any.pcap'), path.join(dir, 'kvm1-any.pcap'));
    const server = await startServer(sessionFromDir(dir), { port: 0 });
    try {
      const s = await api(server, '/api/session');
      const kvm1 = s.nodes.find((n: J) => n.name === 'kvm1');
      expect([kvm1.underlay.name, kvm1.overlay.name]).toEqual(['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap']);
      expect(s.nodes.map((n: J) => n.name)).not.toContain('kvm1-2');
      await expectSameTruth(server, 'kvm1', path.join(dir, 'kvm1-eth1.pcap'), [
        path.join(dir, 'kvm1-eth1.pcap'),
        path.join(dir, 'kvm1-vxlan_bridge.pcap'),
      ]);
    } finally {
      await server.close();
    }
  });

  test('a nanosecond big-endian underlay beside a microsecond bridge', async () => {
    const dir = path.join(work, 'ns');
    mkdirSync(dir);
    copyFileSync(path.join(SYNTH, 'class-kvm1-eth1-ns-be.pcap'), path.join(dir, 'kvm1-eth1.pcap'));
    copyFileSync(path.join(SYNTH, 'class-kvm1-vxlan_bridge.pcap'), path.join(dir, 'kvm1-vxlan_bridge.pcap'));
    const server = await startServer(sessionFromDir(dir), { port: 0 });
    try {
      await expectSameTruth(server, 'kvm1', path.join(dir, 'kvm1-eth1.pcap'), [
        path.join(dir, 'kvm1-eth1.pcap'),
        path.join(dir, 'kvm1-vxlan_bridge.pcap'),
      ]);
      const s = await api(server, '/api/session');
      expect(s.nodes[0].analysis.matched).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  test('a live run, fed in pieces, ends with the same truth as the finished files', async () => {
    const dir = path.join(work, 'live');
    mkdirSync(dir);
    const server = await startServer(undefined, { port: 0 });
    try {
      const files = { underlay: path.join(dir, 'kvm1-eth1.pcap'), overlay: path.join(dir, 'kvm1-vxlan_bridge.pcap') };
      const src = {
        underlay: readFileSync(path.join(LAB, 'kvm1-eth1.pcap')),
        overlay: readFileSync(path.join(LAB, 'kvm1-vxlan_bridge.pcap')),
      };
      for (const side of ['underlay', 'overlay'] as const) writeFileSync(files[side], src[side].subarray(0, 24));
      const u = await server.store.follow(
        { path: files.underlay, name: 'kvm1-eth1.pcap', node: 'kvm1', role: 'underlay', iface: 'eth1' },
        20,
      );
      const o = await server.store.follow(
        { path: files.overlay, name: 'kvm1-vxlan_bridge.pcap', node: 'kvm1', role: 'overlay', iface: 'vxlan_bridge' },
        20,
      );
      // pieces of 700 bytes, both files growing side by side (records cut across pieces)
      for (let at = 24; at < Math.max(src.underlay.length, src.overlay.length); at += 700) {
        for (const side of ['underlay', 'overlay'] as const)
          if (at < src[side].length) appendFileSync(files[side], src[side].subarray(at, at + 700));
        await new Promise((r) => setTimeout(r, 5));
      }
      await server.store.settle(u.id);
      await server.store.settle(o.id);
      await expectSameTruth(server, 'kvm1', files.underlay, [files.underlay, files.overlay]);
    } finally {
      await server.close();
    }
  });
});
