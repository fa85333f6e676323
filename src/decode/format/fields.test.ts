import { describe, expect, it } from 'vitest';
import { neighbourSolicitation } from '../../../test/helpers/vxlan-device.js';
import * as f from '../../synth/frames.js';
import { decodePacket } from '../packet.js';
import { createRegistry } from '../registry.js';
import type { RawPacket } from '../types.js';
import { packetFields, type LayerFields } from './fields.js';
import { packetToText } from './text.js';

function decode(data: Uint8Array, caplen = data.length) {
  const raw: RawPacket = {
    tsSec: 1_700_000_000,
    tsNsec: 0,
    tsDigits: 6,
    caplen,
    len: data.length,
    linkType: 1,
    fileOffset: 24,
    data: data.subarray(0, caplen),
  };
  return decodePacket(raw, 1, { registry: createRegistry() });
}

/** name → [offset, length, value] of a layer's fields. */
function spans(l: LayerFields | undefined): Record<string, [number, number, string]> {
  return Object.fromEntries((l?.fields ?? []).map((x) => [x.name, [x.offset, x.length, x.value]]));
}

const VM1 = '36:0f:4a:00:00:05';
const arp = f.ethernet('ff:ff:ff:ff:ff:ff', VM1, 0x0806, f.arpRequest(VM1, '10.220.220.5', '10.220.220.6'));
const tunnelled = f.vxlanPacket(arp, {
  outerSrc: '10.3.1.156',
  outerDst: '10.3.1.174',
  outerSrcMac: '52:54:00:00:01:56',
  outerDstMac: '52:54:00:00:01:74',
  srcPort: 40000,
  vni: 10,
});

describe('packetFields: each field with the bytes it spans, built once on the server', () => {
  it('a VXLAN packet: outer and inner layers, offsets in the whole frame', () => {
    const layers = packetFields(decode(tunnelled));
    expect(layers.map((l) => [l.name, l.offset, l.length, l.depth])).toEqual([
      ['Ethernet', 0, 14, 0],
      ['IPv4', 14, 20, 0],
      ['UDP', 34, 8, 0],
      ['VXLAN', 42, 8, 0],
      ['Ethernet', 50, 14, 1],
      ['ARP', 64, 28, 1],
    ]);
    const [eth, ip, udp, vxlan, inner, a] = layers;
    // the bytes say so: 08 00 00 00 | 00 00 0a | 00
    expect(Array.from(tunnelled.subarray(42, 50))).toEqual([0x08, 0, 0, 0, 0, 0, 0x0a, 0]);
    expect(spans(vxlan)).toEqual({ Flags: [42, 1, '0x08 = 00001000'], Reserved: [49, 1, '0x00'], VNI: [46, 3, '0x00000a = 10'] });
    expect(vxlan?.fields.map((x) => x.name)).toEqual(['Flags', 'Reserved', 'VNI', 'Reserved']);
    expect(vxlan?.fields[1]).toMatchObject({ offset: 43, length: 3, value: '0x000000' });
    expect(vxlan?.fields[0]?.explain).toMatch(/I flag/);
    expect(vxlan?.describe).toBe(' · VNI 10');
    expect(spans(eth)).toMatchObject({
      'Destination MAC': [0, 6, '52:54:00:00:01:74'],
      'Source MAC': [6, 6, '52:54:00:00:01:56'],
      EtherType: [12, 2, '0x0800'],
    });
    expect(eth?.note).toMatch(/^Outer Ethernet/);
    expect(spans(ip)).toMatchObject({
      Source: [26, 4, '10.3.1.156'],
      Destination: [30, 4, '10.3.1.174'],
      'Total length': [16, 2, String(tunnelled.length - 14)],
    });
    expect(ip?.fields.find((x) => x.name === 'Destination')?.explain).toMatch(/receiving VTEP/);
    expect(spans(udp)).toMatchObject({ 'Source port': [34, 2, '40000'], 'Destination port': [36, 2, '4789'] });
    expect(udp?.fields.find((x) => x.name === 'Destination port')?.explain).toMatch(/IANA port for VXLAN/);
    expect(spans(inner)).toMatchObject({ 'Destination MAC': [50, 6, 'ff:ff:ff:ff:ff:ff'], 'Source MAC': [56, 6, VM1] });
    expect(inner?.fields[0]?.explain).toMatch(/^the guest frame, unchanged.*broadcast/);
    expect(spans(a)).toMatchObject({
      Operation: [70, 2, '1'],
      'Sender IP': [78, 4, '10.220.220.5'],
      'Target IP': [88, 4, '10.220.220.6'],
      'Target MAC': [82, 6, '00:00:00:00:00:00'],
    });
  });

  it("every field lies inside its layer's header", () => {
    for (const frame of [
      tunnelled,
      arp,
      f.ethernet('52:54:00:aa:00:12', VM1, 0x0800, f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 7, 1))),
    ]) {
      for (const l of packetFields(decode(frame))) {
        for (const x of l.fields) {
          expect(x.offset, `${l.name} ${x.name}`).toBeGreaterThanOrEqual(l.offset);
          expect(x.offset + x.length, `${l.name} ${x.name}`).toBeLessThanOrEqual(l.offset + l.length);
        }
      }
    }
  });

  it('fields past the captured bytes are left out', () => {
    const cut = packetFields(decode(tunnelled, 47));
    const vxlan = cut.find((l) => l.type === 'vxlan');
    for (const l of cut) for (const x of l.fields) expect(x.offset).toBeLessThan(47);
    if (vxlan) expect(vxlan.fields.map((x) => x.name)).not.toContain('Reserved');
  });

  it('a plain frame (no tunnel) says neither outer nor inner', () => {
    const layers = packetFields(decode(arp));
    expect(layers.map((l) => l.name)).toEqual(['Ethernet', 'ARP']);
    expect(layers[0]?.note).toBe('');
    expect(layers[0]?.fields[0]?.explain).toMatch(/^broadcast/);
  });

  it('one spelling: the fields and the summary both say "neighbor"', () => {
    const p = decode(neighbourSolicitation('fe80::1'));
    const icmp = packetFields(p).find((l) => l.type === 'icmpv6');
    const type = icmp?.fields.find((x) => x.name === 'Type');
    expect(type).toMatchObject({ value: '135', explain: 'neighbor solicitation' });
    expect(packetToText(p)).toMatch(/neighbor solicitation/);
    const all = JSON.stringify(packetFields(p));
    expect(all).not.toMatch(/neighbour/);
  });
});
