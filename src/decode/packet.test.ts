import { describe, expect, it } from 'vitest';
import { decodePacket } from './packet.js';
import { createRegistry } from './registry.js';
import { packetToJson, packetToJsonLine } from './format/json.js';
import { packetToText } from './format/text.js';
import type { RawPacket } from './types.js';
import * as f from '../synth/frames.js';

function raw(data: Uint8Array, extra: Partial<RawPacket> = {}): RawPacket {
  return {
    tsSec: 1700000000,
    tsNsec: 51000,
    tsDigits: 6,
    caplen: data.length,
    len: data.length,
    linkType: 1,
    fileOffset: 24,
    data,
    ...extra,
  };
}

const VM1 = '36:0f:4a:00:00:05';
const VM2 = '36:0f:4a:00:00:06';
const arpWhoHas = f.ethernet('ff:ff:ff:ff:ff:ff', VM1, 0x0806, f.arpRequest(VM1, '10.220.220.5', '10.220.220.6'));

describe('decodePacket: VXLAN as the class sees it', () => {
  const bytes = f.vxlanPacket(arpWhoHas);

  it('decodes outer Ethernet/IPv4/UDP/VXLAN and the inner ARP, with offsets and depths', () => {
    const p = decodePacket(raw(bytes), 1);
    expect(p.layers.map((l) => `${l.type}@${l.offset}+${l.length}/d${l.depth}`)).toEqual([
      'eth@0+14/d0',
      'ipv4@14+20/d0',
      'udp@34+8/d0',
      'vxlan@42+8/d0',
      'eth@50+14/d1',
      'arp@64+28/d1',
    ]);
    expect(p.truncated).toBeUndefined();
    expect(p.error).toBeUndefined();
    expect(p.warnings).toBeUndefined();
  });

  it('prints the issue example line', () => {
    const p = decodePacket(raw(bytes), 1);
    expect(packetToText(p)).toBe(
      `1 22:13:20.000051 10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | ${VM1} > ff:ff:ff:ff:ff:ff ARP ` +
        `who-has 10.220.220.6 tell 10.220.220.5 (${bytes.length} bytes)`,
    );
  });

  it('JSON has the documented fields', () => {
    const p = decodePacket(raw(bytes), 1);
    const j = JSON.parse(packetToJsonLine(p));
    expect(j).toMatchObject({
      n: 1,
      ts: 1700000000.000051,
      caplen: 92,
      len: 92,
      layers: [
        { type: 'eth', src: '52:54:00:00:01:56', dst: '52:54:00:00:01:74', ethertype: 2048 },
        { type: 'ipv4', src: '10.3.1.156', dst: '10.3.1.174', proto: 17, ttl: 64 },
        { type: 'udp', srcPort: 53394, dstPort: 4789 },
        { type: 'vxlan', flags: 8, vni: 10 },
        { type: 'eth', src: VM1, dst: 'ff:ff:ff:ff:ff:ff', ethertype: 0x0806 },
        { type: 'arp', op: 1, spa: '10.220.220.5', tpa: '10.220.220.6' },
      ],
    });
    expect(packetToJsonLine(p)).toContain('"ts":1700000000.000051,');
    expect(j).not.toHaveProperty('truncated');
    expect(j).not.toHaveProperty('error');
  });

  it('keeps all nine digits of a nanosecond timestamp', () => {
    const p = decodePacket(raw(bytes, { tsNsec: 123456789, tsDigits: 9 }), 7);
    expect(packetToJsonLine(p)).toContain('"ts":1700000000.123456789,');
  });

  it('recognises 8472 by default and other ports only when registered', () => {
    const on8472 = f.vxlanPacket(arpWhoHas, { dstPort: 8472 });
    expect(decodePacket(raw(on8472), 1).layers.some((l) => l.type === 'vxlan')).toBe(true);
    const on9999 = f.vxlanPacket(arpWhoHas, { dstPort: 9999, srcPort: 40000 });
    expect(decodePacket(raw(on9999), 1).layers.map((l) => l.type)).toEqual(['eth', 'ipv4', 'udp']);
    const registry = createRegistry({ vxlanPorts: [9999] });
    expect(decodePacket(raw(on9999), 1, { registry }).layers.map((l) => l.type)).toContain('vxlan');
  });

  it('I flag clear: a warning, and the inner frame still decodes', () => {
    const p = decodePacket(raw(f.vxlanPacket(arpWhoHas, { flags: 0x00 })), 1);
    expect(p.warnings?.[0]).toMatch(/I flag clear/);
    expect(p.layers.at(-1)?.type).toBe('arp');
  });

  it('GBP: group id from bytes 2-3 when the G bit is set', () => {
    const bytes2 = f.vxlanPacket(arpWhoHas);
    bytes2[42] = 0x88; // G + I
    bytes2[43] = 0x40; // D (don't learn)
    bytes2[44] = 0x12;
    bytes2[45] = 0x34;
    const v = decodePacket(raw(bytes2), 1).layers.find((l) => l.type === 'vxlan');
    expect(v).toMatchObject({ type: 'vxlan', vni: 10, gbp: { groupId: 0x1234, dontLearn: true, applied: false } });
  });

  it('nests VXLAN in VXLAN with increasing depth, and stops at the depth limit', () => {
    const inner = f.vxlanPacket(arpWhoHas, { vni: 3 });
    const middle = f.vxlanPacket(inner, { vni: 2 });
    const outer = f.vxlanPacket(middle, { vni: 1 });
    const p = decodePacket(raw(outer), 1);
    expect(p.layers.filter((l) => l.type === 'vxlan').map((l) => [l.depth, (l as { vni: number }).vni])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect(p.layers.at(-1)).toMatchObject({ type: 'arp', depth: 3 });
    const limited = decodePacket(raw(outer), 1, { maxTunnelDepth: 2 });
    expect(limited.error).toMatchObject({ layer: 'eth', message: 'tunnels nested deeper than 2' });
    expect(limited.layers.filter((l) => l.type === 'vxlan')).toHaveLength(3);
  });
});

describe('three outcomes kept apart', () => {
  const bytes = f.vxlanPacket(arpWhoHas);

  it('cut by the snaplen inside the inner Ethernet header: truncated, not an error', () => {
    const p = decodePacket(raw(bytes.subarray(0, 56), { len: bytes.length }), 1);
    expect(p.truncated).toBe(true);
    expect(p.error).toBeUndefined();
    expect(p.layers.map((l) => l.type)).toEqual(['eth', 'ipv4', 'udp', 'vxlan']);
    expect(JSON.parse(packetToJsonLine(p))).toMatchObject({ truncated: true, truncatedLayer: 'eth' });
    expect(packetToText(p)).toMatch(/ \[\|eth\]$/);
  });

  it('a frame that is itself too short is malformed, naming the layer and offset', () => {
    const cut = bytes.subarray(0, 30);
    const p = decodePacket(raw(cut), 1);
    expect(p.error).toEqual({
      layer: 'ipv4',
      offset: 14,
      message: 'IPv4 header runs past the end of the frame (20 bytes needed, 16 on the wire)',
    });
    expect(p.layers.map((l) => l.type)).toEqual(['eth']);
  });

  it('IPv4 header length below 20 is malformed', () => {
    const b = bytes.slice();
    b[14] = 0x44;
    expect(decodePacket(raw(b), 1).error).toMatchObject({ layer: 'ipv4', offset: 14, message: 'IPv4 header length 16 is below 20' });
  });

  it('UDP length below 8 is malformed at the length field', () => {
    const b = bytes.slice();
    b[38] = 0;
    b[39] = 4;
    expect(decodePacket(raw(b), 1).error).toMatchObject({ layer: 'udp', offset: 38 });
  });

  it('unknown link type keeps the bytes and says so', () => {
    const p = decodePacket(raw(bytes, { linkType: 147 }), 1);
    expect(p.layers).toEqual([]);
    expect(p.warnings).toEqual(['unknown link type 147: bytes kept undecoded']);
    expect(p.payloadLength).toBe(bytes.length);
  });
});

describe('lengths and padding', () => {
  it('trims Ethernet padding using the IPv4 total length', () => {
    const ping = f.ethernet(VM2, VM1, 0x0800, f.ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 1 }, f.icmpEcho(8, 1, 1)));
    const padded = f.concat(ping, new Uint8Array(60 - ping.length));
    const p = decodePacket(raw(padded), 1);
    expect(padded.length).toBe(60);
    expect(p.payloadOffset).toBe(42);
    expect(p.payloadLength).toBe(0);
    expect(p.layers.at(-1)).toMatchObject({ type: 'icmp', icmpType: 8, id: 1, seq: 1 });
  });

  it('IPv4 total length 0 (BIG TCP): a warning, the frame length is used', () => {
    const inner = f.ethernet(
      VM2,
      VM1,
      0x0800,
      f.ipv4(
        { src: '10.220.220.5', dst: '10.220.220.6', proto: 6 },
        f.tcp({ srcPort: 40000, dstPort: 5201, flags: 0x18 }, new Uint8Array(70000)),
      ),
    );
    const outer = f.ethernet(
      '52:54:00:00:01:74',
      '52:54:00:00:01:56',
      0x0800,
      f.ipv4({ src: '10.3.1.156', dst: '10.3.1.174', proto: 17, totalLength: 0 }, f.udp(1234, 4789, f.concat(f.vxlanHeader(10), inner), 0)),
    );
    const p = decodePacket(raw(outer), 1);
    expect(p.warnings?.[0]).toMatch(/total length 0: presumed TSO\/GSO or BIG TCP/);
    expect(p.layers.at(-1)).toMatchObject({ type: 'tcp', dstPort: 5201, depth: 1 });
    expect(p.error).toBeUndefined();
  });

  it('a first IPv4 fragment decodes as far as it goes (truncated, not malformed); a later fragment has no transport header', () => {
    const payload = f.udp(53394, 4789, f.concat(f.vxlanHeader(10), arpWhoHas));
    const first = f.ethernet(
      '52:54:00:00:01:74',
      '52:54:00:00:01:56',
      0x0800,
      f.ipv4({ src: '10.3.1.156', dst: '10.3.1.174', proto: 17, flags: 1 }, payload.subarray(0, 48)),
    );
    const pf = decodePacket(raw(first), 1);
    expect(pf.layers.map((l) => l.type)).toEqual(['eth', 'ipv4', 'udp', 'vxlan', 'eth']);
    expect(pf.truncated).toBe(true);
    expect(pf.error).toBeUndefined();
    expect(pf.warnings).toBeUndefined();
    const later = f.ethernet(
      '52:54:00:00:01:74',
      '52:54:00:00:01:56',
      0x0800,
      f.ipv4({ src: '10.3.1.156', dst: '10.3.1.174', proto: 17, flags: 0, fragOffset: 48 }, payload.subarray(48)),
    );
    const p = decodePacket(raw(later), 2);
    expect(p.layers.map((l) => l.type)).toEqual(['eth', 'ipv4']);
    expect(packetToText(p)).toContain('10.3.1.156 > 10.3.1.174 UDP (frag id 1 offset 48)');
  });
});

describe('VLAN, IPv6, ICMPv6', () => {
  it('QinQ: S-tag then C-tag then ARP', () => {
    const b = f.ethernet(
      'ff:ff:ff:ff:ff:ff',
      VM1,
      0x88a8,
      f.vlanTag(100, 0x8100, f.vlanTag(200, 0x0806, f.arpRequest(VM1, '10.0.0.1', '10.0.0.2'), 3)),
    );
    const p = decodePacket(raw(b), 1);
    expect(p.layers.map((l) => l.type)).toEqual(['eth', 'vlan', 'vlan', 'arp']);
    expect(p.layers[1]).toMatchObject({ tpid: 0x88a8, vid: 100 });
    expect(p.layers[2]).toMatchObject({ tpid: 0x8100, vid: 200, pcp: 3 });
  });

  it('a stack of 100 VLAN tags stops at the layer limit', () => {
    let inner: Uint8Array = f.arpRequest(VM1, '10.0.0.1', '10.0.0.2');
    let type = 0x0806;
    for (let i = 0; i < 100; i++) {
      inner = f.vlanTag(i + 1, type, inner);
      type = 0x8100;
    }
    const p = decodePacket(raw(f.ethernet('ff:ff:ff:ff:ff:ff', VM1, 0x8100, inner)), 1);
    expect(p.error?.message).toBe('more than 64 layers in one frame');
    expect(p.layers).toHaveLength(64);
  });

  it('IPv6 neighbour solicitation with hop-by-hop and a source link-layer option', () => {
    const target = f.ipv6Addr('fe80::3c0f:4aff:fe00:6');
    const ns = f.concat(Uint8Array.from([135, 0, 0, 0, 0, 0, 0, 0]), target, Uint8Array.from([1, 1, ...f.mac(VM1)]));
    const hbh = Uint8Array.from([58, 0, 1, 4, 0, 0, 0, 0]); // next ICMPv6, 8 bytes, PadN
    const b = f.ethernet(
      '33:33:ff:00:00:06',
      VM1,
      0x86dd,
      f.ipv6({ src: 'fe80::3c0f:4aff:fe00:5', dst: 'ff02::1:ff00:6', nextHeader: 0 }, f.concat(hbh, ns)),
    );
    const p = decodePacket(raw(b), 1);
    const j = packetToJson(p) as { layers: Record<string, unknown>[] };
    expect(j.layers[1]).toMatchObject({
      type: 'ipv6',
      src: 'fe80::3c0f:4aff:fe00:5',
      dst: 'ff02::1:ff00:6',
      nextHeader: 0,
      proto: 58,
      extHeaders: [0],
      length: 48,
    });
    expect(j.layers[2]).toMatchObject({ type: 'icmpv6', icmpType: 135, target: 'fe80::3c0f:4aff:fe00:6', lladdr: VM1 });
  });

  it('an IPv6 extension-header chain longer than 16 is malformed, not a loop', () => {
    const chain: number[] = [];
    for (let i = 0; i < 20; i++) chain.push(60, 0, 1, 4, 0, 0, 0, 0); // destination options pointing at themselves
    const b = f.ethernet(VM2, VM1, 0x86dd, f.ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 60 }, Uint8Array.from(chain)));
    expect(decodePacket(raw(b), 1).error?.message).toBe('more than 16 IPv6 extension headers');
  });

  it('TCP flags and options length', () => {
    const opts = Uint8Array.from([2, 4, 5, 0xb4, 1, 1, 4, 2]); // MSS 1460, NOP, NOP, SACK permitted
    const b = f.ethernet(
      VM2,
      VM1,
      0x0800,
      f.ipv4(
        { src: '10.220.220.5', dst: '10.220.220.6', proto: 6 },
        f.tcp({ srcPort: 40000, dstPort: 5201, seq: 1000, flags: 0x12, ack: 7, options: opts }, new Uint8Array(0)),
      ),
    );
    const p = decodePacket(raw(b), 1);
    expect(p.layers.at(-1)).toMatchObject({ type: 'tcp', flags: 0x12, seq: 1000, ack: 7, dataOffset: 28, optionsLength: 8 });
    expect(packetToText(p)).toContain('10.220.220.5:40000 > 10.220.220.6:5201 TCP [S.] seq 1000 ack 7 win 64240 length 0');
  });
});

describe('GENEVE and VXLAN-GPE', () => {
  it('GENEVE with an option and inner IPv4 without Ethernet', () => {
    const inner = f.ipv4({ src: '192.168.1.1', dst: '192.168.1.2', proto: 1 }, f.icmpEcho(8, 9, 9));
    const gen = f.concat(
      Uint8Array.from([0x02, 0x00, 0x08, 0x00, 0x00, 0x13, 0x89, 0x00, 0x01, 0x32, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef]),
      inner,
    );
    const b = f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, f.udp(5000, 6081, gen)),
    );
    const p = decodePacket(raw(b), 1);
    expect(p.layers.map((l) => `${l.type}/${l.depth}`)).toEqual(['eth/0', 'ipv4/0', 'udp/0', 'geneve/0', 'ipv4/1', 'icmp/1']);
    expect(p.layers[3]).toMatchObject({
      vni: 5001,
      optionsLength: 8,
      protocolType: 0x0800,
      options: [{ optClass: 0x0132, optType: 1, length: 8 }],
    });
  });

  it('VXLAN-GPE with next protocol NSH stops after the GPE header', () => {
    const gpe = Uint8Array.from([0x0c, 0, 0, 4, 0xff, 0xff, 0xff, 0]);
    const b = f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, f.udp(5000, 4790, f.concat(gpe, new Uint8Array(20)))),
    );
    const p = decodePacket(raw(b), 1);
    expect(p.layers.at(-1)).toMatchObject({ type: 'vxlan-gpe', vni: 0xffffff, nextProtocol: 4, flags: 0x0c });
  });
});

describe('link types', () => {
  const ipPacket = f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1));
  it('raw IP (101), IPv4 (228), BSD loopback (0, both byte orders) and OpenBSD loopback (108)', () => {
    expect(decodePacket(raw(ipPacket, { linkType: 101 }), 1).layers.map((l) => l.type)).toEqual(['ipv4', 'icmp']);
    expect(decodePacket(raw(ipPacket, { linkType: 228 }), 1).layers.map((l) => l.type)).toEqual(['ipv4', 'icmp']);
    const le = f.concat(Uint8Array.from([2, 0, 0, 0]), ipPacket);
    const be = f.concat(Uint8Array.from([0, 0, 0, 2]), ipPacket);
    expect(decodePacket(raw(le, { linkType: 0 }), 1).layers.map((l) => l.type)).toEqual(['loopback', 'ipv4', 'icmp']);
    expect(decodePacket(raw(be, { linkType: 0 }), 1).layers.map((l) => l.type)).toEqual(['loopback', 'ipv4', 'icmp']);
    expect(decodePacket(raw(be, { linkType: 108 }), 1).layers.map((l) => l.type)).toEqual(['loopback', 'ipv4', 'icmp']);
  });

  it('Linux SLL2 carrying VXLAN (tcpdump -i any on a node)', () => {
    const v = f.vxlanPacket(arpWhoHas).subarray(14); // IPv4 onwards
    const sll2 = f.concat(Uint8Array.from([0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, ...f.mac('52:54:00:00:01:56'), 0, 0]), v);
    const p = decodePacket(raw(sll2, { linkType: 276 }), 1);
    expect(p.layers.map((l) => l.type)).toEqual(['sll', 'ipv4', 'udp', 'vxlan', 'eth', 'arp']);
    expect(p.layers[0]).toMatchObject({ version: 2, ifindex: 3, packetType: 4, protocol: 0x0800 });
  });
});

describe('JSON text fast path', () => {
  it('writes exactly what JSON.stringify of packetToJson writes, for every fixture packet', async () => {
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { decodeCapture } = await import('./decode-capture.js');
    const dirs = [
      join(import.meta.dirname, '..', '..', 'fixtures', 'synth'),
      join(import.meta.dirname, '..', '..', 'fixtures', 'public', 'tcpdump'),
    ];
    let checked = 0;
    for (const dir of dirs) {
      for (const name of readdirSync(dir).filter((n) => /\.pcap(ng)?$/.test(n))) {
        await decodeCapture(join(dir, name), (p) => {
          const viaObject = packetToJson(p);
          const viaText = JSON.parse(packetToJsonLine(p));
          expect(viaText).toEqual(viaObject);
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThan(2500);
  });
});
