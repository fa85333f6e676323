/**
 * Two things a real capture has that a clean one does not:
 *  - edges: each tcpdump starts and stops on its own, so a frame at a capture's very start or end
 *    may have its next sighting outside the capture that would show it: not captured, not lost;
 *  - offloads: TSO/GSO on the sender and GRO on the receiver show TCP super-frames far over the
 *    MTU (14046 bytes in fixtures/lab), which are no evidence of an MTU problem.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { followPaths, pathInputsFromDir, type PathBranch, type PathReport } from '../path.js';
import { arpRequest, ethernet, icmpEcho, ipv4, tcp, udp } from '../../synth/frames.js';
import { coveredBy, tcpSegmentOf } from './gro.js';
import { captureWindows } from './inputs.js';
import { EDGE_US } from './join.js';
import { PathScenario, type SynthNode } from './synth.js';
import { LAB_VTEP, type labConfig, labConfigs } from './testing.js';

const T0 = 1_764_150_000_000_000;
const KVM1: SynthNode = { name: 'kvm1', vtep: LAB_VTEP.kvm1 };
const KVM2: SynthNode = { name: 'kvm2', vtep: LAB_VTEP.kvm2 };
const VM1 = '52:54:00:aa:00:01';
const VM2 = '52:54:00:aa:00:02';
const IP1 = '10.220.220.5';
const IP2 = '10.220.220.6';

const root = mkdtempSync(path.join(tmpdir(), 'vxi-pathedge-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function ping(seq: number, back = false): Uint8Array {
  const [dst, src, ipSrc, ipDst] = back ? [VM1, VM2, IP2, IP1] : [VM2, VM1, IP1, IP2];
  return ethernet(
    dst,
    src,
    0x0800,
    ipv4({ src: ipSrc, dst: ipDst, proto: 1, id: seq, flags: 2 }, icmpEcho(back ? 0 : 8, 0x55, seq, new Uint8Array(56).fill(seq & 0xff))),
  );
}

/** Pings both ways, every 1 ms from T0 + 1 ms to T0 + n ms: every MAC and VTEP known, both captures busy. */
function busy(n: number): PathScenario {
  const s = new PathScenario([KVM1, KVM2]);
  for (let i = 1; i <= n; i++) {
    s.send(ping(i), T0 + i * 1000, 'kvm1', 'kvm2');
    s.send(ping(i, true), T0 + i * 1000 + 500, 'kvm2', 'kvm1');
  }
  return s;
}

async function run(s: PathScenario, configs?: Record<string, ReturnType<typeof labConfig>>): Promise<PathReport> {
  const dir = s.write(path.join(root, `s${++dirs}`), {}, configs);
  return followPaths((await pathInputsFromDir(dir)).inputs);
}

const outcome = (b: PathBranch): string => `${b.src}>${b.dst} ${b.status} ${b.code}`;
const outcomeOf = (r: PathReport): string[] => r.incomplete.map(outcome);

describe("a capture's edges: the next sighting outside the capture that would show it is not captured, not lost", () => {
  it("bridge frames before the underlay capture's first frame and after its last: not captured; one in between: lost", async () => {
    const s = busy(20);
    // kvm1's underlay capture holds T0 + 1.02 ms … T0 + 20.57 ms (its last: vm2's reply arriving)
    s.bridge('kvm1', ping(100), T0 + 900); // before it started
    s.bridge('kvm1', ping(101), T0 + 10_250); // while it ran: never encapsulated, a loss
    s.bridge('kvm1', ping(102), T0 + 20_570 - EDGE_US / 2); // in its last EDGE_US: the copy would come after the capture
    s.bridge('kvm1', ping(103), T0 + 25_000); // after it stopped
    const r = await run(s);
    const odd = r.incomplete.filter((b) => b.src === 'kvm1');
    expect(odd.map((b) => [b.sightings.srcBridge?.frame, outcome(b)])).toEqual([
      [1, 'kvm1>kvm2 not-captured before-underlay'],
      [21, 'kvm1>kvm2 not-encapsulated remote-dst'],
      [40, 'kvm1>kvm2 not-captured after-underlay'],
      [44, 'kvm1>kvm2 not-captured after-underlay'],
    ]);
    expect(odd[0]?.reason).toMatch(
      /^never left kvm1's bridge \(kvm1-vxlan_bridge\.pcap #1\), for 52:54:00:aa:00:02 behind kvm2: seen before the underlay capture started$/,
    );
    expect(odd[3]?.reason).toMatch(/seen after the underlay capture ended$/);
    expect(r.totals).toMatchObject({ lost: 1, notCaptured: 3 });
  });

  it("a broadcast after the underlay capture's last frame: not captured (inside it, with nothing flooded: lost)", async () => {
    const s = busy(10);
    const arp = (from: string, ip: string): Uint8Array => ethernet('ff:ff:ff:ff:ff:ff', from, 0x0806, arpRequest(from, ip, IP1));
    s.bridge('kvm2', arp(VM2, IP2), T0 + 5200);
    s.bridge('kvm2', arp(VM2, IP2), T0 + 30_000);
    const r = await run(s);
    expect(r.incomplete.map(outcome)).toEqual(['kvm2>kvm1 not-encapsulated bum-not-flooded', 'kvm2>kvm1 not-captured after-underlay']);
  });

  it('the bridge capture goes on seconds after the underlay capture ended: the frames before are still matched, nothing lost', async () => {
    // a lab run: kvm2's bridge showed two local ARP frames 2.4 s after its underlay's last packet;
    // the correlator's merge waits for the underlay there, so the pings' matches came after path had
    // already given up on them (released four windows after the newest time read) and called them lost
    const s = busy(20);
    const arp = ethernet('ff:ff:ff:ff:ff:ff', VM2, 0x0806, arpRequest(VM2, IP2, '10.220.220.202'));
    s.bridge('kvm2', arp, T0 + 4_500_000);
    s.bridge('kvm2', arp, T0 + 4_500_010);
    const r = await run(s);
    expect(r.incomplete.filter((b) => b.loss).map(outcome)).toEqual([]);
    expect(r.totals).toMatchObject({ sent: 40, delivered: 40, lost: 0 });
  });

  it("the lab's fdb case: the lost broadcast is the capture's last traffic, but session.json says kvm2's underlay capture ran on: lost", async () => {
    const s = busy(10);
    const arp = ethernet('ff:ff:ff:ff:ff:ff', VM2, 0x0806, arpRequest(VM2, IP2, IP1));
    s.bridge('kvm2', arp, T0 + 30_000); // after kvm2's underlay's last frame (T0 + 10.52 ms): nothing crossed since
    const dir = s.write(path.join(root, `s${++dirs}`));
    const { inputs } = await pathInputsFromDir(dir);
    expect(outcomeOf(await followPaths(inputs))).toEqual(['kvm2>kvm1 not-captured after-underlay']);
    // every tcpdump listened from T0 and was stopped at T0 + 40 ms (session.json's listeningAt / stopRequestedAt)
    for (const i of inputs) i.captureWindowUs = { underlay: [T0, T0 + 40_000], overlay: [T0, T0 + 40_000] };
    expect(outcomeOf(await followPaths(inputs))).toEqual(['kvm2>kvm1 not-encapsulated bum-not-flooded']);
  });

  it('captureWindows reads when each capture surely ran from session.json, on the node clock', () => {
    const node = {
      name: 'kvm1',
      interfaces: [
        {
          role: 'underlay',
          file: 'kvm1-eth1.pcap',
          startedAt: '2026-12-01T10:00:00.000Z',
          listeningAt: '2026-12-01T10:00:00.250Z',
          stopRequestedAt: '2026-12-01T10:00:10.000Z',
          stoppedAt: '2026-12-01T10:00:10.400Z',
        },
        {
          role: 'bridge',
          file: 'kvm1-vxlan_bridge.pcap',
          startedAt: '2026-12-01T10:00:00.000Z',
          listeningAt: null,
          stopRequestedAt: null,
          stoppedAt: '2026-12-01T10:00:10.500Z',
        },
        { role: 'other', file: 'kvm1-any.pcap', startedAt: '2026-12-01T09:00:00.000Z', stoppedAt: '2026-12-01T11:00:00.000Z' },
      ],
    };
    const t = (iso: string): number => Date.parse(iso) * 1000;
    expect(captureWindows(node, 1500)).toEqual({
      underlay: [t('2026-12-01T10:00:00.250Z') + 1500, t('2026-12-01T10:00:10.000Z') + 1500],
      overlay: [t('2026-12-01T10:00:00.000Z') + 1500, t('2026-12-01T10:00:10.500Z') + 1500],
    });
    expect(
      captureWindows({ interfaces: [{ role: 'underlay', file: 'x.pcap', startedAt: 'yesterday', stoppedAt: 'today' }] }, 0),
    ).toBeUndefined();
    expect(captureWindows({}, 0)).toBeUndefined();
  });

  it("a packet that left kvm1 after kvm2's underlay capture stopped: not captured; one before: lost on the underlay", async () => {
    const s = busy(10);
    s.send(ping(200), T0 + 5300, 'kvm1', 'kvm2', { drop: 'underlay' });
    s.send(ping(201), T0 + 10_400, 'kvm1', 'kvm2', { drop: 'underlay' }); // kvm2's underlay ends at T0 + 10.52 ms
    s.send(ping(202), T0 + 10_900, 'kvm1', 'kvm2', { drop: 'underlay' }); // kvm1's own capture runs on: its last frame
    const r = await run(s);
    expect(r.incomplete.map(outcome)).toEqual([
      'kvm1>kvm2 lost-underlay lost-underlay',
      'kvm1>kvm2 not-captured outside-underlay-capture',
      'kvm1>kvm2 not-captured outside-underlay-capture',
    ]);
    expect(r.incomplete[1]?.reason).toMatch(
      /when kvm2's underlay capture was not running \(or within 2\.0 ms of its last frame, at \d+\.\d{6} s\): its arrival is not in this session$/,
    );
  });
});

describe('TSO/GSO/GRO: TCP super-frames are no MTU evidence', () => {
  /** A TCP segment whose IP packet is `ipLen` bytes: what tcpdump shows of a GSO/GRO super-frame. */
  function tcpFrame(ipLen: number, seq: number): Uint8Array {
    return ethernet(
      VM2,
      VM1,
      0x0800,
      ipv4(
        { src: IP1, dst: IP2, proto: 6, id: seq, flags: 2 },
        tcp({ srcPort: 40001, dstPort: 5001, seq, flags: 0x18 }, new Uint8Array(ipLen - 40).fill(7)),
      ),
    );
  }
  function udpFrame(ipLen: number): Uint8Array {
    return ethernet(
      VM2,
      VM1,
      0x0800,
      ipv4({ src: IP1, dst: IP2, proto: 17, id: 77, flags: 2 }, udp(40002, 5002, new Uint8Array(ipLen - 28).fill(9))),
    );
  }

  it('a 14046-byte TCP super-frame crossing the overlay (vxlan10 mtu 1450): delivered, no mtu-too-small', async () => {
    const s = busy(5);
    s.send(tcpFrame(14032, 1000), T0 + 2200, 'kvm1', 'kvm2');
    const r = await run(s, labConfigs());
    expect(r.totals).toMatchObject({ lost: 0, delivered: r.totals.sent });
    expect(r.config.findings.map((f) => f.code)).toEqual([]);
  });

  it('a UDP datagram over the MTU, never encapsulated: mtu-too-small still fails (evidence that is not TCP)', async () => {
    const s = busy(5);
    s.send(udpFrame(1600), T0 + 2200, 'kvm1', 'kvm2', { drop: 'encapsulation' });
    const r = await run(s, labConfigs());
    const f = r.config.findings.find((x) => x.code === 'mtu-too-small');
    expect(f?.severity).toBe('fail');
    expect(f?.message).toContain("a frame of 1614 bytes (IP packet 1600) on kvm1's bridge is larger than vxlan10's MTU 1450");
  });

  it(
    'fixtures/lab (recorded with offloads on: GSO frames of 7056 and 14046 bytes) ' +
      'with its healthy configuration: every path delivered, no finding',
    async () => {
      const dir = fileURLToPath(new URL('../../../fixtures/lab/', import.meta.url));
      const { inputs } = await pathInputsFromDir(dir);
      const configs = labConfigs();
      const r = await followPaths(inputs.map((i) => ({ ...i, config: i.name === 'kvm1' ? configs.kvm1 : configs.kvm2 })));
      expect(r.totals.lost).toBe(0);
      expect(r.totals.delivered).toBe(r.totals.sent);
      expect(r.config.findings.map((f) => `${f.code}: ${f.message}`)).toEqual([]);
    },
  );
});

describe('GRO on the receiver: underlay segments merged into one bridge frame are delivered', () => {
  const MSS = 1448;
  /** A TCP segment of vm1's flow to vm2:5001 carrying `len` bytes from `seq`. */
  function segment(seq: number, len: number): Uint8Array {
    return ethernet(
      VM2,
      VM1,
      0x0800,
      ipv4(
        { src: IP1, dst: IP2, proto: 6, id: seq & 0xffff, flags: 2 },
        tcp({ srcPort: 40003, dstPort: 5001, seq, flags: 0x10 }, new Uint8Array(len).fill(seq & 0xff)),
      ),
    );
  }

  it("reads a segment's flow and sequence range from its bytes; ranges wrap at 2^32", () => {
    const s = tcpSegmentOf(segment(0xfffffff0, 100));
    expect(s).toMatchObject({ seq: 0xfffffff0, len: 100 });
    expect(tcpSegmentOf(segment(7, 5))?.flow).toBe(s?.flow); // one flow
    const back = ethernet(
      VM1,
      VM2,
      0x0800,
      ipv4({ src: IP2, dst: IP1, proto: 6, id: 1, flags: 2 }, tcp({ srcPort: 5001, dstPort: 40003, seq: 7 }, new Uint8Array(5))),
    );
    expect(tcpSegmentOf(back)?.flow).not.toBe(s?.flow); // the other direction is another
    expect(coveredBy(0x00000010, 50, s as NonNullable<typeof s>)).toBe(true); // 0x20 bytes past the wrap
    expect(coveredBy(0x00000050, 50, s as NonNullable<typeof s>)).toBe(false);
    expect(tcpSegmentOf(segment(1, 10).subarray(0, 40))).toBeUndefined(); // cut inside the TCP header
    expect(tcpSegmentOf(ping(1))).toBeUndefined();
  });

  async function groRun(withMerged: boolean): Promise<PathReport> {
    const s = busy(10);
    const t = T0 + 4200;
    // three segments leave kvm1 one by one and cross; kvm2's GRO hands its bridge one frame of all three
    for (let i = 0; i < 3; i++) s.send(segment(1000 + i * MSS, MSS), t + i * 30, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    // a fourth whose bytes no bridge frame holds: still not decapsulated
    s.send(segment(1000 + 3 * MSS, MSS), t + 90, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    if (withMerged) s.bridge('kvm2', segment(1000, 3 * MSS), t + 2 * 30 + 20 + 50 + 15);
    return run(s);
  }

  it('three segments inside the merged frame: delivered, with a note; the fourth is not', async () => {
    const r = await groRun(true);
    // the merged frame itself (4398 bytes, over any MTU) is an arrival, not a frame that failed to leave kvm2
    expect(r.incomplete.map(outcome)).toEqual(['kvm1>kvm2 not-decapsulated not-delivered']);
    expect(r.nodes.find((n) => n.name === 'kvm2')?.arrivedUnseen).toBe(1);
    const g = r.paths.find((p) => p.src === 'kvm1' && p.dst === 'kvm2');
    expect(g).toMatchObject({ sent: 10 + 4, delivered: 10 + 3, lost: 1 });
    expect(r.totals.lost).toBe(1);
  });

  it('without the merged frame the three are lost too (what the GRO lookup changes)', async () => {
    const r = await groRun(false);
    expect(r.incomplete.filter((b) => b.src === 'kvm1').map(outcome)).toEqual(Array(4).fill('kvm1>kvm2 not-decapsulated not-delivered'));
  });

  it('--frame on a merged segment shows its journey ending in the merged bridge frame, with the note', async () => {
    const s = busy(10);
    const t = T0 + 4200;
    for (let i = 0; i < 2; i++) s.send(segment(5000 + i * MSS, MSS), t + i * 30, 'kvm1', 'kvm2', { drop: 'decapsulation' });
    s.bridge('kvm2', segment(5000, 2 * MSS), t + 30 + 85);
    const dir = s.write(path.join(root, `s${++dirs}`), {});
    const r = await followPaths((await pathInputsFromDir(dir)).inputs, { follow: { node: 'kvm1', side: 'overlay', frame: 9 } });
    const b = r.followed?.branches[0];
    expect(b?.status).toBe('delivered');
    expect(b?.sightings.dstBridge?.node).toBe('kvm2');
    expect(b?.reason).toMatch(
      new RegExp(
        /^delivered: decapsulated onto kvm2's bridge, merged by GRO: /.source +
          /its 1448-byte TCP segment lies inside the 2896-byte segment of frame #\d+ \(2950 bytes\) /.source +
          /on kvm2's bridge/.source,
      ),
    );
  });
});
