/**
 * StatsCollector.merge: counting a capture in batches (as the worker threads do) and merging
 * the batches' partial counts in order gives exactly the one-collector result, including
 * which flows and MACs the caps keep. The encapsulation overhead counts the outer link layer
 * as Ethernet whatever the capture's link type, on both paths.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decodePacket, firstTunnel } from '../decode/packet.js';
import { BatchBuilder } from '../decode/parallel/batch.js';
import { decodeCapture } from '../decode/decode-capture.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import * as f from '../synth/frames.js';
import { classScenario } from '../synth/scenario.js';
import { edgeFrames } from '../synth/fixtures.js';
import { encapsulationOverhead, MAX_MACS_PER_VTEP, MAX_TRACKED_FLOWS, StatsCollector } from './stats.js';
import { collectStats } from './parallel.js';
import { batchCounter } from './count-batch.js';

function raw(data: Uint8Array, i: number): RawPacket {
  return {
    tsSec: 1_764_140_000 + (i % 7),
    tsNsec: (i * 7919) % 1_000_000_000,
    tsDigits: 9,
    caplen: data.length,
    len: data.length,
    linkType: 1,
    fileOffset: 0,
    data,
  };
}

function sequential(packets: DecodedPacket[]): StatsCollector {
  const c = new StatsCollector();
  for (const p of packets) c.add(p);
  return c;
}

/** Counts batches of `size` packets separately, then merges their (cloned) partials in order. */
function batched(packets: DecodedPacket[], size: number): StatsCollector {
  const total = new StatsCollector();
  for (let i = 0; i < packets.length; i += size) {
    const c = new StatsCollector();
    for (const p of packets.slice(i, i + size)) c.add(p);
    total.merge(structuredClone(c.partial()));
  }
  return total;
}

describe('StatsCollector.merge', () => {
  const frames = [...classScenario({ pings: 3 }).underlay.map((x) => x.data), ...edgeFrames().map((e) => e.frame.data)];
  const packets = Array.from({ length: 600 }, (_, i) => decodePacket(raw(frames[(i * 7) % frames.length] as Uint8Array, i), i + 1));

  it.each([1, 5, 64, 600])('batches of %i give the one-collector result', (size) => {
    expect(batched(packets, size).result(50)).toEqual(sequential(packets).result(50));
  });

  it('counts each protocol once per packet that contains it, at any depth', () => {
    const c = new StatsCollector();
    const arp = f.ethernet(
      'ff:ff:ff:ff:ff:ff',
      '36:0f:4a:00:00:05',
      0x0806,
      f.arpRequest('36:0f:4a:00:00:05', '10.220.220.5', '10.220.220.6'),
    );
    c.add(decodePacket(raw(f.vxlanPacket(f.vxlanPacket(arp, { vni: 2 })), 0), 1));
    c.add(decodePacket(raw(arp, 1), 2));
    expect(c.result().protocols).toEqual({ eth: 2, arp: 2, ipv4: 1, udp: 1, vxlan: 1 });
  });

  it('keeps the same first MAX_TRACKED_FLOWS flows and counts the rest as dropped', () => {
    // More distinct inner flows than the cap, then packets of early and late flows again.
    const many: DecodedPacket[] = [];
    const flow = (k: number): Uint8Array =>
      f.vxlanPacket(
        f.ethernet(
          '36:0f:4a:00:00:06',
          '36:0f:4a:00:00:05',
          0x0800,
          f.ipv4(
            { src: '10.220.220.5', dst: '10.220.220.6', proto: 17 },
            f.udp(1024 + (k % 60000), 1 + Math.floor(k / 60000), new Uint8Array(k % 3)),
          ),
        ),
      );
    const total = MAX_TRACKED_FLOWS + 500;
    for (let k = 0; k < total; k++) many.push(decodePacket(raw(flow(k), k), many.length + 1));
    for (const k of [0, 1, total - 1, total - 2, 7]) many.push(decodePacket(raw(flow(k), k), many.length + 1));
    const one = sequential(many).result(3);
    expect(one.flowsDropped).toBe(502);
    expect(batched(many, 4096).result(3)).toEqual(one);
  });

  it('keeps the same first MAX_MACS_PER_VTEP inner MACs per VTEP', () => {
    const macs: DecodedPacket[] = [];
    const hex = (n: number): string => n.toString(16).padStart(4, '0');
    for (let k = 0; k < MAX_MACS_PER_VTEP + 50; k++) {
      const src = `02:00:00:00:${hex(k).slice(0, 2)}:${hex(k).slice(2)}`;
      macs.push(
        decodePacket(raw(f.vxlanPacket(f.ethernet('ff:ff:ff:ff:ff:ff', src, 0x0806, f.arpRequest(src, '10.0.0.1', '10.0.0.2'))), k), k + 1),
      );
    }
    const one = sequential(macs).result();
    expect(one.macsBehindVtep['10.3.1.156']).toHaveLength(MAX_MACS_PER_VTEP);
    expect(batched(macs, 100).result()).toEqual(one);
  });
});

describe('encapsulation overhead: the outer link layer counts as Ethernet, whatever the link type', () => {
  const SYNTH = join(import.meta.dirname, '..', '..', 'fixtures', 'synth');
  const inner = f.ethernet(
    'ff:ff:ff:ff:ff:ff',
    '36:0f:4a:00:00:05',
    0x0806,
    f.arpRequest('36:0f:4a:00:00:05', '10.220.220.5', '10.220.220.6'),
  );
  const eth = f.vxlanPacket(inner); // 14 + 20 + 8 + 8 = 50 bytes before the inner frame
  const withLink = (data: Uint8Array, linkType: number): DecodedPacket => decodePacket({ ...raw(data, 0), linkType }, 1);
  const shapes: [string, DecodedPacket][] = [
    ['Ethernet', withLink(eth, 1)],
    ['Linux cooked v2 (tcpdump -i any)', withLink(f.sll2FromEthernet(eth, 3, f.PACKET_OUTGOING), 276)],
    [
      'Linux cooked v1',
      withLink(f.concat(Uint8Array.from([0, 4, 0, 1, 0, 6, ...f.mac('52:54:00:00:01:56'), 0, 0, 0x08, 0x00]), eth.subarray(14)), 113),
    ],
    ['raw IPv4', withLink(eth.subarray(14), 101)],
    ['BSD loopback', withLink(f.concat(Uint8Array.from([2, 0, 0, 0]), eth.subarray(14)), 0)],
  ];

  it.each(shapes)('%s: 50 bytes per VXLAN packet over IPv4, of a 142-byte frame', (_name, p) => {
    expect(encapsulationOverhead(p, firstTunnel(p) as NonNullable<ReturnType<typeof firstTunnel>>)).toBe(50);
    const c = new StatsCollector();
    c.add(p);
    c.add(p);
    expect(c.result().overhead).toEqual({
      packets: 2,
      bytes: 100,
      tunnelledBytes: 2 * eth.length,
      percent: Math.round((50 / eth.length) * 10000) / 100,
    });
  });

  it('an Ethernet capture counts its 802.1Q tag: it is on that wire', () => {
    const tagged = f.ethernet('52:54:00:00:01:74', '52:54:00:00:01:56', 0x8100, f.vlanTag(100, 0x0800, eth.subarray(14)));
    const c = new StatsCollector();
    c.add(withLink(tagged, 1));
    expect(c.result().overhead.bytes).toBe(54);
  });

  it('class-kvm1-any.pcap (SLL2): overhead = 50 x packets, as class-kvm1-eth1.pcap of the same traffic, on one thread and in batches', async () => {
    const any = await collectStats(join(SYNTH, 'class-kvm1-any.pcap'), { workers: 0 });
    const eth1 = await collectStats(join(SYNTH, 'class-kvm1-eth1.pcap'), { workers: 0 });
    const s = any.collector.result();
    expect(s.linkTypes).toEqual({ '276': 10 });
    expect(s.vxlan.packets).toBe(10);
    expect(s.overhead.bytes).toBe(50 * 10);
    expect(s.overhead).toEqual(eth1.collector.result().overhead);
    // The worker threads' path: batches carried as the reading thread sends them, counted, merged in order.
    const count = batchCounter({ vxlanPorts: [] });
    const builder = new BatchBuilder(3);
    const merged = new StatsCollector();
    await decodeCapture(join(SYNTH, 'class-kvm1-any.pcap'), (p) => {
      if (!builder.add(p.raw, p.n)) {
        merged.merge(structuredClone(count(builder.take() as NonNullable<ReturnType<BatchBuilder['take']>>)));
        builder.add(p.raw, p.n);
      }
    });
    const last = builder.take();
    if (last) merged.merge(structuredClone(count(last)));
    expect(merged.result()).toEqual(s);
  });
});
