import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followPaths, pathInputsFromDir, type PathBranch, type PathReport } from '../path.js';
import { arpRequest, concat, ethernet, icmpEcho, ipv4, vxlanPacket } from '../../synth/frames.js';
import { parseMac } from '../../decode/format/addr.js';
import { compareConfig, nodeConfigView, type NodeTrafficFacts } from './config.js';
import { MacHomes } from './profile.js';
import { PathScenario, withOuterIpId, type SynthNode } from './synth.js';
import { FRONTEND, GROUP, LAB_VTEP, OTHER_GROUP, labConfig, labConfigs, type LabKind } from './testing.js';
import type { ConfigFinding } from './types.js';

const T0 = 1_764_140_000_000_000;
const KVM1: SynthNode = { name: 'kvm1', vtep: LAB_VTEP.kvm1 };
const KVM2: SynthNode = { name: 'kvm2', vtep: LAB_VTEP.kvm2 };
const VM1 = '52:54:00:aa:00:01';
const VM2 = '52:54:00:aa:00:02';

const root = mkdtempSync(path.join(tmpdir(), 'vxi-pathcfg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function facts(name: 'kvm1' | 'kvm2', over: Partial<NodeTrafficFacts> = {}): NodeTrafficFacts {
  return {
    name,
    vtep: LAB_VTEP[name],
    flows: [],
    largest: { bridge: null, encapsulated: null },
    tooBig: [],
    tooBigCount: 0,
    underlayFile: `${name}-eth1.pcap`,
    overlayFile: `${name}-vxlan_bridge.pcap`,
    ...over,
  };
}

function codes(fs: ConfigFinding[], severity?: ConfigFinding['severity']): string[] {
  return fs.filter((f) => severity === undefined || f.severity === severity).map((f) => f.code);
}

describe('configuration against traffic (config.ts)', () => {
  it('the healthy lab: views as recorded, no disagreement', () => {
    const c = labConfigs();
    const r = compareConfig({
      nodes: [
        { traffic: facts('kvm1'), config: c.kvm1 },
        { traffic: facts('kvm2'), config: c.kvm2 },
      ],
      homes: new MacHomes(),
      paths: [],
    });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    const [v1, v2] = r.nodes;
    expect(v1).toMatchObject({
      node: 'kvm1',
      recordedBy: 'capture',
      recordedAt: '2026-12-01T09:00:00.000Z',
      vxlan: { device: 'vxlan10', vni: 10, port: 4789, local: LAB_VTEP.kvm1, group: null, dev: 'eth1', mtu: 1450, up: true },
      bridge: { name: 'vxlan_bridge', up: true },
      underlay: { name: 'eth1', mtu: 1500, addresses: ['10.3.1.156/24'] },
    });
    expect(v1?.fdb).toEqual([{ mac: '00:00:00:00:00:00', dst: LAB_VTEP.kvm2, flood: true, permanent: true }]);
    expect(v2?.fdb).toEqual([{ mac: '00:00:00:00:00:00', dst: LAB_VTEP.kvm1, flood: true, permanent: true }]);
    expect(v1?.firewall).toEqual([
      'firewalld: firewalld is not installed',
      'nftables: no nftables rule on the receive path drops udp/4789',
    ]);
  });

  it('a node without a record, and one whose reading failed', () => {
    const bad = { ...labConfig('kvm2'), error: 'kvm2: `ip -j -d link show` failed (exit 1): permission denied', vxlan: [] };
    const r = compareConfig({
      nodes: [
        { traffic: facts('kvm1'), config: undefined },
        { traffic: facts('kvm2'), config: bad },
      ],
      homes: new MacHomes(),
      paths: [],
    });
    expect(r.findings.map((f) => [f.code, f.severity, f.nodes])).toEqual([
      ['config-not-read', 'warn', ['kvm2']],
      ['config-not-recorded', 'info', ['kvm1']],
    ]);
    expect(nodeConfigView('kvm1', undefined)).toMatchObject({ recordedAt: null, recordedBy: null, vxlan: null, fdb: [] });
    expect(r.nodes[1]?.error).toContain('permission denied');
  });

  const cases: [LabKind, string, string[], RegExp][] = [
    ['vni', 'vni-mismatch', ['kvm1', 'kvm2'], /VNI 10 on kvm1, 11 on kvm2/],
    ['port', 'port-mismatch', ['kvm1', 'kvm2'], /UDP 4789 on kvm1, 8472 on kvm2/],
    ['fdb', 'vtep-missing-from-flood-list', ['kvm2', 'kvm1'], /kvm2's vxlan10 has no flood entry for kvm1 \(10\.3\.1\.156\)/],
    ['drop', 'firewall-drops-port', ['kvm2'], /^kvm2's packet filter drops UDP 4789: VXLAN sent to it there is not decapsulated$/],
    ['multicast', 'group-mismatch', ['kvm1', 'kvm2'], /multicast group 239\.1\.1\.1 on kvm1, 239\.1\.1\.2 on kvm2/],
    ['mtu', 'mtu-too-small', ['kvm2'], /vxlan10 mtu 1500 \+ 50 > eth1 mtu 1500/],
  ];
  for (const [kind, code, nodes, message] of cases) {
    it(`lab break ${kind}, from the recorded configuration alone: ${code}`, () => {
      const c = labConfigs(kind);
      const r = compareConfig({
        nodes: [
          { traffic: facts('kvm1'), config: c.kvm1 },
          { traffic: facts('kvm2'), config: c.kvm2 },
        ],
        homes: new MacHomes(),
        paths: [],
      });
      expect(codes(r.findings).filter((x) => x !== 'config-not-recorded')).toEqual([code]);
      const f = r.findings[0] as ConfigFinding;
      expect(f.nodes).toEqual(nodes);
      expect(f.message).toMatch(message);
      expect(f.severity).toBe(kind === 'mtu' ? 'warn' : 'fail');
      expect(f.evidence.config.length).toBeGreaterThan(0);
      if (kind === 'drop')
        expect(f.evidence.config).toEqual([
          'nftables table inet vxlan_inspect_lab chain input (hook input) drops udp/4789, ' +
            "rule handle 2 'vxlan-inspect lab break drop', 3 packet(s) dropped so far: " +
            'nft delete rule inet vxlan_inspect_lab input handle 2 (recorded by capture at 2026-12-01 09:00:00Z)',
        ]);
    });
  }

  it('a port that differs, with the traffic as evidence: kvm1 sends to 4789, kvm2 listens on 8472', () => {
    const c = labConfigs('port');
    const flows = [
      { src: LAB_VTEP.kvm1, dst: LAB_VTEP.kvm2, vni: 10, port: 4789, packets: 12 },
      { src: LAB_VTEP.kvm2, dst: LAB_VTEP.kvm1, vni: 10, port: 8472, packets: 3 },
    ];
    const r = compareConfig({
      nodes: [
        { traffic: facts('kvm1', { flows }), config: c.kvm1 },
        { traffic: facts('kvm2', { flows }), config: c.kvm2 },
      ],
      homes: new MacHomes(),
      paths: [],
    });
    expect(codes(r.findings)).toEqual(['port-mismatch']);
    const f = r.findings[0] as ConfigFinding;
    expect(f.message).toMatch(/^kvm1 sends to UDP 4789, kvm2 listens on 8472 \(vxlan10 VNI 10 UDP 8472/);
    expect(f.evidence.traffic).toEqual([
      'kvm1 sent 12 VXLAN packets to 10.3.1.174 (kvm2) with VNI 10 on UDP 4789',
      'kvm2 sent 3 VXLAN packets to 10.3.1.156 (kvm1) with VNI 10 on UDP 8472',
    ]);
  });

  it('a stale static entry after a move: the MAC is seen behind another VTEP, the entry points at one that sends nothing', () => {
    const c = labConfigs('stale-fdb', { vm2Mac: VM2 });
    const homes = new MacHomes();
    homes.learnTunnel(parseMac(VM2) as number, LAB_VTEP.kvm2);
    const flows = [
      { src: LAB_VTEP.kvm1, dst: FRONTEND, vni: 10, port: 4789, packets: 5 },
      { src: LAB_VTEP.kvm2, dst: LAB_VTEP.kvm1, vni: 10, port: 4789, packets: 7 },
    ];
    const r = compareConfig({
      nodes: [
        { traffic: facts('kvm1', { flows }), config: c.kvm1 },
        { traffic: facts('kvm2', { flows }), config: c.kvm2 },
      ],
      homes,
      paths: [],
    });
    expect(codes(r.findings)).toEqual(['fdb-stale-after-move']);
    const f = r.findings[0] as ConfigFinding;
    expect(f).toMatchObject({ severity: 'fail', nodes: ['kvm1'] });
    expect(f.message).toContain(`kvm1's vxlan10 sends ${VM2} to ${FRONTEND}, but ${VM2} lives behind 10.3.1.174 (kvm2)`);
    expect(f.evidence).toEqual({
      config: [`kvm1 vxlan10: ${VM2} dst ${FRONTEND} (static)`],
      traffic: [
        `${VM2} is seen as the inner source of VXLAN packets from 10.3.1.174 (kvm2)`,
        `kvm1 sent 5 VXLAN packets to ${FRONTEND}`,
        `${FRONTEND} sent no VXLAN packet in any capture`,
      ],
    });
  });

  it('an entry toward a VTEP that sends nothing, the MAC unknown to the traffic', () => {
    const c = labConfigs();
    c.kvm1.fdb.push({ dev: 'vxlan10', mac: '02:00:00:00:00:99', dst: '10.3.1.99', state: null });
    const r = compareConfig({
      nodes: [
        { traffic: facts('kvm1'), config: c.kvm1 },
        { traffic: facts('kvm2'), config: c.kvm2 },
      ],
      homes: new MacHomes(),
      paths: [],
    });
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([['fdb-to-silent-vtep', 'warn']]);
  });

  it('MTU: frames the underlay cannot carry, and the ICMP "fragmentation needed" that says so', () => {
    const c = labConfigs('mtu');
    const t2 = facts('kvm2', {
      largest: { bridge: { len: 1514, ipLen: 1500, frame: 7 }, encapsulated: { len: 1514, ipLen: 1500, frame: 9 } },
      tooBig: [
        {
          side: 'overlay',
          frame: 8,
          tsUs: T0,
          mtu: 1450,
          from: '10.220.220.6',
          to: '10.220.220.6',
          quoted: { src: '10.220.220.6', dst: '10.220.220.5', length: 1500, df: true },
          depth: 0,
        },
      ],
      tooBigCount: 3,
    });
    const r = compareConfig({
      nodes: [
        { traffic: facts('kvm1'), config: c.kvm1 },
        { traffic: t2, config: c.kvm2 },
      ],
      homes: new MacHomes(),
      paths: [],
    });
    expect(codes(r.findings)).toEqual(['mtu-too-small']);
    const f = r.findings[0] as ConfigFinding;
    expect(f.severity).toBe('fail');
    expect(f.message).toContain("kvm2 encapsulated an IP packet of 1500 bytes: 1500 + 50 > eth1's MTU 1500");
    expect(f.evidence.traffic).toContain(
      '3 ICMP "fragmentation needed"/"packet too big" messages, ' +
        'the first from 10.220.220.6 to 10.220.220.6 (mtu 1450) about 10.220.220.6 → 10.220.220.5, ' +
        '1500 bytes, DF set (kvm2-vxlan_bridge.pcap #8)',
    );
  });
});

// ---- the path's reasons with each lab fault's recorded configuration ----

function ping(seq: number, from = VM1, to = VM2, type: 8 | 0 = 8, size = 56, flags = 2): Uint8Array {
  const [src, dst] = from === VM1 ? ['10.220.220.5', '10.220.220.6'] : ['10.220.220.6', '10.220.220.5'];
  return ethernet(
    to,
    from,
    0x0800,
    ipv4({ src, dst, proto: 1, id: seq, flags }, icmpEcho(type, 0x77, seq, new Uint8Array(size).fill(seq & 0xff))),
  );
}

function arp(from = VM1, fromIp = '10.220.220.5', target = '10.220.220.6'): Uint8Array {
  return ethernet('ff:ff:ff:ff:ff:ff', from, 0x0806, arpRequest(from, fromIp, target));
}

async function run(s: PathScenario, configs: Record<string, ReturnType<typeof labConfig>> | undefined): Promise<PathReport> {
  const dir = s.write(path.join(root, `s${++dirs}`), {}, configs);
  const { inputs } = await pathInputsFromDir(dir);
  return followPaths(inputs);
}

/** Pings both ways that complete (every MAC and VTEP known), 1 ms apart. */
function healthy(n = 3): PathScenario {
  const s = new PathScenario([KVM1, KVM2]);
  for (let i = 1; i <= n; i++) {
    s.send(ping(i), T0 + i * 1000, 'kvm1', 'kvm2');
    s.send(ping(i, VM2, VM1, 0), T0 + i * 1000 + 500, 'kvm2', 'kvm1');
  }
  return s;
}

function lost(r: PathReport): PathBranch[] {
  return r.incomplete.filter((b) => b.loss);
}

describe('where and why, with the recorded configuration: every lab break kind named', () => {
  it('vni: not decapsulated on kvm2, VNI 10 not configured there (it has 11); kvm2 sent nothing that tells', async () => {
    const s = new PathScenario([KVM1, KVM2]);
    // kvm1's VTEP is known from its own encapsulation; kvm2 (on VNI 11) sends nothing
    for (let i = 1; i <= 3; i++) s.send(ping(i), T0 + i * 1000, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    const r = await run(s, labConfigs('vni'));
    const b = lost(r);
    expect(b.map((x) => [x.status, x.code, x.lastSeen])).toEqual(Array(3).fill(['not-decapsulated', 'vni-mismatch', 'dstUnderlay']));
    expect(b[0]?.reason).toMatch(
      new RegExp(
        /^arrived on kvm2's underlay \(kvm2-eth1\.pcap #1\) but was not decapsulated: /.source +
          /VNI 10 is not configured on kvm2 \(it has VNI 11: /.source +
          /vxlan10 VNI 11 UDP 4789 local 10\.3\.1\.174 dev eth1 mtu 1450, /.source +
          /recorded by capture at 2026-12-01 09:00:00Z\)/.source,
      ),
    );
    expect(codes(r.config.findings, 'fail')).toEqual(['vni-mismatch']);
  });

  it('the same without configuration: the traffic alone, and what recording it would add', async () => {
    const s = healthy(5);
    // inside the span of kvm2's bridge capture (outside it, or in its last 2 ms, the decapsulation is just not captured)
    for (let i = 15; i <= 16; i++) s.send(ping(i), T0 + (i - 14) * 1000 + 200, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    const r = await run(s, undefined);
    expect(lost(r).map((b) => b.status)).toEqual(['not-decapsulated', 'not-decapsulated']);
    expect(lost(r)[0]?.reason).toMatch(/never reached its bridge: .*; recording each node's configuration would tell more/);
    expect(r.config.findings.map((f) => f.code)).toEqual(['config-not-recorded', 'config-not-recorded']);
  });

  it('port: kvm1 sends to UDP 4789, kvm2 listens on 8472 (and its own packets go to 8472)', async () => {
    const s = new PathScenario([KVM1, KVM2]);
    for (let i = 1; i <= 2; i++) s.send(ping(i), T0 + i * 1000, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    s.send(ping(1, VM2, VM1), T0 + 5000, 'kvm2', 'kvm1', { port: 8472, drop: 'decapsulation' });
    const r = await run(s, labConfigs('port'));
    const out = lost(r).filter((b) => b.src === 'kvm1');
    expect(out.map((b) => b.code)).toEqual(['port-mismatch', 'port-mismatch']);
    expect(out[0]?.reason).toMatch(/on UDP port 4789 but was not decapsulated: kvm1 sends to UDP 4789, kvm2 listens on 8472/);
    const back = lost(r).filter((b) => b.src === 'kvm2');
    expect(back.map((b) => b.code)).toEqual(['port-mismatch']);
    expect(back[0]?.reason).toMatch(/kvm2 sends to UDP 8472, kvm1 listens on 4789/);
    expect(codes(r.config.findings, 'fail')).toEqual(['port-mismatch']);
    expect(r.config.findings[0]?.evidence.traffic).toContain('kvm2 sent 1 VXLAN packet to 10.3.1.156 (kvm1) with VNI 10 on UDP 8472');
    expect(out[0]?.reason).toMatch(/; kvm2's own packets go out with VNI 10 to UDP 8472$/);
  });

  it('drop: arrived on kvm2 eth1, not decapsulated: its packet filter drops UDP 4789 (the recorded nftables rule)', async () => {
    const s = healthy(2);
    for (let i = 5; i <= 7; i++) s.send(ping(i), T0 + i * 1000, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    const r = await run(s, labConfigs('drop'));
    expect(lost(r).map((b) => [b.src, b.status, b.code])).toEqual(Array(3).fill(['kvm1', 'not-decapsulated', 'firewall-drops-port']));
    expect(lost(r)[0]?.reason).toMatch(
      new RegExp(
        /tcpdump sees a packet before the packet filter does\) but was not decapsulated: /.source +
          /kvm2's packet filter drops UDP 4789: nftables table inet vxlan_inspect_lab chain input \(hook /.source +
          /input\) drops udp\/4789, rule handle 2 'vxlan-inspect lab break drop'/.source,
      ),
    );
    const f = r.config.findings.find((x) => x.code === 'firewall-drops-port');
    expect(f?.evidence.traffic).toEqual(["3 VXLAN packets arrived on kvm2's underlay (kvm2-eth1.pcap) and never reached its bridge"]);
    expect(codes(r.config.findings, 'fail')).toEqual(['firewall-drops-port']);
  });

  it("fdb: kvm2's broadcast not encapsulated toward kvm1: no flood entry for it", async () => {
    // inside kvm2's underlay capture (after its last frame, the broadcast's flood would just not be captured)
    const s = healthy(6);
    s.send(arp(VM2, '10.220.220.6', '10.220.220.5'), T0 + 4000, 'kvm2', 'kvm1', { drop: 'encapsulation' });
    const r = await run(s, labConfigs('fdb'));
    expect(lost(r).map((b) => [b.src, b.dst, b.status, b.code, b.lastSeen])).toEqual([
      ['kvm2', 'kvm1', 'not-encapsulated', 'bum-not-flooded', 'srcBridge'],
    ]);
    expect(lost(r)[0]?.reason).toMatch(
      new RegExp(
        /was not flooded to VTEP 10\.3\.1\.156: kvm2's vxlan10 has no flood entry for it \(it floods /.source +
          /to: no one; recorded by capture at .*\): bridge fdb append 00:00:00:00:00:00 dev vxlan10 /.source +
          /dst 10\.3\.1\.156/.source,
      ),
    );
    expect(codes(r.config.findings, 'fail')).toEqual(['vtep-missing-from-flood-list']);
  });

  it("stale-fdb: vm2's frames misdirected to 10.3.1.250, no member; the static entry named", async () => {
    const s = healthy(2);
    for (let i = 5; i <= 6; i++) {
      const inner = ping(i);
      s.bridge('kvm1', inner, T0 + i * 1000);
      s.underlay(
        'kvm1',
        withOuterIpId(
          vxlanPacket(inner, { outerSrc: LAB_VTEP.kvm1, outerDst: FRONTEND, vni: 10, dstPort: 4789, srcPort: 41000 + i }),
          500 + i,
        ),
        T0 + i * 1000 + 20,
      );
    }
    const r = await run(s, labConfigs('stale-fdb', { vm2Mac: VM2 }));
    expect(lost(r).map((b) => [b.status, b.code, b.dst])).toEqual(Array(2).fill(['misdirected', 'stale-fdb', `VTEP ${FRONTEND}`]));
    expect(lost(r)[0]?.reason).toMatch(
      new RegExp(
        /^sent by kvm1 to VTEP 10\.3\.1\.250 \(no captured node, and not in kvm1's flood list: /.source +
          /no member\), but 52:54:00:aa:00:02 lives behind kvm2 \(VTEP 10\.3\.1\.174\): /.source +
          /kvm1's vxlan10 has a static entry 52:54:00:aa:00:02 → 10\.3\.1\.250/.source,
      ),
    );
    expect(codes(r.config.findings, 'fail')).toEqual(['fdb-stale-after-move']);
  });

  it('mtu: a 1500-byte IP packet with DF on kvm2\'s bridge, never encapsulated; the ICMP "fragmentation needed" it got', async () => {
    const s = healthy(2);
    const big = ping(9, VM2, VM1, 8, 1472);
    s.send(big, T0 + 5000, 'kvm2', 'kvm1', { drop: 'encapsulation' });
    // the kernel answers the guest: ICMP 3/4, next-hop MTU 1450, quoting the IP header and 8 bytes
    const quoted = big.subarray(14, 14 + 28);
    const icmp = concat(Uint8Array.from([3, 4, 0, 0, 0, 0, 0x05, 0xaa]), quoted);
    s.bridge(
      'kvm2',
      ethernet(VM2, '02:00:0a:dc:dc:ca', 0x0800, ipv4({ src: '10.220.220.202', dst: '10.220.220.6', proto: 1 }, icmp)),
      T0 + 5010,
    );
    const r = await run(s, labConfigs('mtu'));
    const b = lost(r);
    expect(b.map((x) => [x.src, x.status, x.code])).toEqual([['kvm2', 'not-encapsulated', 'too-big']]);
    expect(b[0]?.reason).toMatch(
      new RegExp(
        /not encapsulated, too big: the frame of 1514 bytes \(IP packet 1500\) /.source +
          /fits vxlan10's MTU 1500 but not the underlay: 1500 \+ 50 > eth1's MTU 1500 .*; DF set: /.source +
          /ICMP "fragmentation needed" \(mtu 1450\) from 10\.220\.220\.202 to 10\.220\.220\.6 seen on /.source +
          /kvm2's bridge \(kvm2-vxlan_bridge\.pcap #\d+, 10 µs later\)/.source,
      ),
    );
    const f = r.config.findings.find((x) => x.code === 'mtu-too-small');
    expect(f?.severity).toBe('fail');
    expect(f?.evidence.traffic.join('\n')).toMatch(
      new RegExp(
        /1 ICMP "fragmentation needed"\/"packet too big" message, /.source +
          /the first from 10\.220\.220\.202 to 10\.220\.220\.6 \(mtu 1450\) /.source +
          /about 10\.220\.220\.6 → 10\.220\.220\.5, 1500 bytes, DF set/.source,
      ),
    );
    expect(codes(r.config.findings, 'fail')).toEqual(['mtu-too-small']);
  });

  it("multicast: kvm1's flood to 239.1.1.1 arrives on kvm2, which joined 239.1.1.2", async () => {
    const s = healthy(2);
    const inner = arp();
    s.bridge('kvm1', inner, T0 + 6000);
    const pkt = withOuterIpId(
      vxlanPacket(inner, { outerSrc: LAB_VTEP.kvm1, outerDst: GROUP, vni: 10, dstPort: 4789, srcPort: 42000 }),
      900,
    );
    s.underlay('kvm1', pkt, T0 + 6020);
    s.underlay('kvm2', pkt, T0 + 6070);
    const r = await run(s, labConfigs('multicast'));
    expect(lost(r).map((b) => [b.src, b.dst, b.status, b.code])).toEqual([['kvm1', 'kvm2', 'not-decapsulated', 'group-mismatch']]);
    expect(lost(r)[0]?.reason).toContain(`kvm1 floods to multicast group ${GROUP}, which kvm2 did not join: vxlan10 group ${OTHER_GROUP}`);
    expect(codes(r.config.findings, 'fail')).toEqual(['group-mismatch']);
  });

  it('healthy, with the configuration recorded: every path delivered, no finding', async () => {
    const r = await run(healthy(3), labConfigs());
    expect(r.totals).toMatchObject({ sent: 6, delivered: 6, lost: 0 });
    expect(r.config.findings).toEqual([]);
    expect(r.config.nodes.map((n) => [n.node, n.vxlan?.vni, n.recordedBy])).toEqual([
      ['kvm1', 10, 'capture'],
      ['kvm2', 10, 'capture'],
    ]);
  });
});

describe('real lab captures with their recorded configuration (fixtures/, capture on the namespace lab)', () => {
  const lab = (kind: string): string => fileURLToPath(new URL(`./fixtures/lab-${kind}/`, import.meta.url));
  const outcome = (r: PathReport): string[] => [...new Set(r.incomplete.map((b) => `${b.src}>${b.dst} ${b.status} ${b.code}`))].sort();

  it('vni: both ways not decapsulated, VNI 10 not configured on kvm2 (it has 11), and 11 not on kvm1', async () => {
    const r = await followPaths((await pathInputsFromDir(lab('vni'))).inputs);
    expect(outcome(r)).toEqual(['kvm1>kvm2 not-decapsulated vni-mismatch', 'kvm2>kvm1 not-decapsulated vni-mismatch']);
    expect(r.totals).toMatchObject({ delivered: 0, lost: r.totals.sent });
    expect(r.incomplete.find((b) => b.src === 'kvm1')?.reason).toMatch(
      /VNI 10 is not configured on kvm2 \(it has VNI 11: vxlan10 VNI 11 UDP 4789/,
    );
    expect(r.incomplete.find((b) => b.src === 'kvm2')?.reason).toMatch(/VNI 11 is not configured on kvm1 \(it has VNI 10/);
    expect(r.config.findings.map((f) => [f.code, f.severity])).toEqual([['vni-mismatch', 'fail']]);
  });

  it("port: kvm1 sends to UDP 4789, kvm2 listens on 8472; kvm2's VTEP from its configuration", async () => {
    const r = await followPaths((await pathInputsFromDir(lab('port'))).inputs);
    expect(outcome(r)).toEqual(['kvm1>kvm2 not-decapsulated port-mismatch', 'kvm2>kvm1 not-decapsulated port-mismatch']);
    expect(r.incomplete.find((b) => b.src === 'kvm1')?.reason).toMatch(
      /kvm1 sends to UDP 4789, kvm2 listens on 8472 .*; kvm2's own packets go out with VNI 10 to UDP 8472$/,
    );
    expect(r.nodes.map((n) => [n.name, n.vtep])).toEqual([
      ['kvm1', LAB_VTEP.kvm1],
      ['kvm2', LAB_VTEP.kvm2],
    ]);
    expect(r.config.findings.map((f) => [f.code, f.severity])).toEqual([['port-mismatch', 'fail']]);
  });

  it(
    "stale-fdb: vm2's packets dropped on kvm1, whose static entry pins vm2's MAC to 10.3.1.250 " +
      '(so vm1 never learns vm2: no unicast to misdirect)',
    async () => {
      const r = await followPaths((await pathInputsFromDir(lab('stale-fdb'))).inputs);
      const lostOnes = [...new Set(r.incomplete.filter((b) => b.loss).map((b) => `${b.src}>${b.dst} ${b.status} ${b.code}`))];
      expect(lostOnes).toEqual(['kvm2>kvm1 not-decapsulated stale-fdb']);
      expect(r.incomplete.find((b) => b.loss)?.reason).toMatch(
        new RegExp(
          /kvm1's vxlan10 has a static entry for its inner source ([0-9a-f:]{17}) /.source +
            /→ 10\.3\.1\.250 .*this packet comes from 10\.3\.1\.174: /.source +
            /Linux drops VXLAN packets whose source MAC is pinned to another VTEP/.source,
        ),
      );
      expect(r.config.findings.map((f) => [f.code, f.severity, f.nodes])).toEqual([['fdb-stale-after-move', 'fail', ['kvm1']]]);
    },
  );

  it("fdb: kvm2's broadcasts not encapsulated toward kvm1, no flood entry for it", async () => {
    const r = await followPaths((await pathInputsFromDir(lab('fdb'))).inputs);
    const lostOnes = [...new Set(r.incomplete.filter((b) => b.loss).map((b) => `${b.src}>${b.dst} ${b.status} ${b.code}`))];
    expect(lostOnes).toEqual(['kvm2>kvm1 not-encapsulated bum-not-flooded']);
    expect(r.incomplete.find((b) => b.loss)?.reason).toMatch(
      /not flooded to VTEP 10\.3\.1\.156: kvm2's vxlan10 has no flood entry for it \(it floods to: no one;/,
    );
    expect(r.config.findings.map((f) => [f.code, f.severity, f.nodes])).toEqual([
      ['vtep-missing-from-flood-list', 'fail', ['kvm2', 'kvm1']],
    ]);
  });

  it('mtu: the class traffic fits (no loss), the configuration names the fault', async () => {
    const r = await followPaths((await pathInputsFromDir(lab('mtu'))).inputs);
    expect(r.totals.lost).toBe(0);
    expect(r.config.findings.map((f) => [f.code, f.severity, f.nodes])).toEqual([['mtu-too-small', 'warn', ['kvm2']]]);
    expect(r.config.findings[0]?.message).toContain('vxlan10 mtu 1500 + 50 > eth1 mtu 1500');
  });

  it('drop: arrived on kvm2 eth1, never decapsulated: the recorded nftables rule; the other way delivered', async () => {
    const r = await followPaths((await pathInputsFromDir(lab('drop'))).inputs);
    expect(outcome(r)).toEqual(['kvm1>kvm2 not-decapsulated firewall-drops-port']);
    expect(r.paths.find((g) => g.src === 'kvm2')).toMatchObject({ lost: 0 });
    expect(r.incomplete[0]?.reason).toMatch(
      /kvm2's packet filter drops UDP 4789: nftables table inet vxlan_inspect_lab chain input \(hook input\) drops udp\/4789, rule handle 2/,
    );
    expect(r.config.findings.map((f) => [f.code, f.severity])).toEqual([['firewall-drops-port', 'fail']]);
  });
});
