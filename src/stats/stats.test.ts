/**
 * StatsCollector.merge: counting a capture in batches (as the worker threads do) and merging
 * the batches' partial counts in order gives exactly the one-collector result, including
 * which flows and MACs the caps keep.
 */
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../decode/packet.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import * as f from '../synth/frames.js';
import { classScenario } from '../synth/scenario.js';
import { edgeFrames } from '../synth/fixtures.js';
import { MAX_MACS_PER_VTEP, MAX_TRACKED_FLOWS, StatsCollector } from './stats.js';

function raw(data: Uint8Array, i: number): RawPacket {
  return { tsSec: 1_764_140_000 + (i % 7), tsNsec: (i * 7919) % 1_000_000_000, tsDigits: 9, caplen: data.length, len: data.length, linkType: 1, fileOffset: 0, data };
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
    const arp = f.ethernet('ff:ff:ff:ff:ff:ff', '36:0f:4a:00:00:05', 0x0806, f.arpRequest('36:0f:4a:00:00:05', '10.220.220.5', '10.220.220.6'));
    c.add(decodePacket(raw(f.vxlanPacket(f.vxlanPacket(arp, { vni: 2 })), 0), 1));
    c.add(decodePacket(raw(arp, 1), 2));
    expect(c.result().protocols).toEqual({ eth: 2, arp: 2, ipv4: 1, udp: 1, vxlan: 1 });
  });

  it('keeps the same first MAX_TRACKED_FLOWS flows and counts the rest as dropped', () => {
    // More distinct inner flows than the cap, then packets of early and late flows again.
    const many: DecodedPacket[] = [];
    const flow = (k: number): Uint8Array =>
      f.vxlanPacket(f.ethernet('36:0f:4a:00:00:06', '36:0f:4a:00:00:05', 0x0800, f.ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 17 }, f.udp(1024 + (k % 60000), 1 + Math.floor(k / 60000), new Uint8Array(k % 3)))));
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
      macs.push(decodePacket(raw(f.vxlanPacket(f.ethernet('ff:ff:ff:ff:ff:ff', src, 0x0806, f.arpRequest(src, '10.0.0.1', '10.0.0.2'))), k), k + 1));
    }
    const one = sequential(macs).result();
    expect(one.macsBehindVtep['10.3.1.156']).toHaveLength(MAX_MACS_PER_VTEP);
    expect(batched(macs, 100).result()).toEqual(one);
  });
});
