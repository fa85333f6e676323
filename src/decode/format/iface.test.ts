/**
 * Where a packet was captured, in the text line and the JSON: the interface of a pcapng with
 * several, and the interface index and direction of a Linux cooked capture (`tcpdump -i any`),
 * as tcpdump prints them. A classic Ethernet pcap's lines do not change.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decodePacket } from '../packet.js';
import { decodeCapture } from '../decode-capture.js';
import type { DecodedPacket, RawPacket } from '../types.js';
import * as f from '../../synth/frames.js';
import { packetToJson, packetToJsonLine } from './json.js';
import { packetToText, textLineWriter } from './text.js';
import { ByteWriter } from './bytes.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures');

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
const arp = f.ethernet('ff:ff:ff:ff:ff:ff', VM1, 0x0806, f.arpRequest(VM1, '10.220.220.5', '10.220.220.6'));
const vxlan = f.vxlanPacket(arp);
const SUMMARY = `10.3.1.156:53394 > 10.3.1.174:4789 VXLAN vni 10 | ${VM1} > ff:ff:ff:ff:ff:ff ARP who-has 10.220.220.6 tell 10.220.220.5`;

/** The VXLAN packet as SLL (v1, 16 bytes) with this packet type. */
function sll1(packetType: number): Uint8Array {
  return f.concat(Uint8Array.from([0, packetType, 0, 1, 0, 6, ...f.mac('52:54:00:00:01:56'), 0, 0, 0x08, 0x00]), vxlan.subarray(14));
}

async function readAll(file: string): Promise<DecodedPacket[]> {
  const out: DecodedPacket[] = [];
  await decodeCapture(file, (p) => void out.push(p));
  return out;
}

describe('text: a classic Ethernet pcap', () => {
  it('prints no interface and no direction (the line is as before)', () => {
    const p = decodePacket(raw(vxlan), 1);
    expect(packetToText(p)).toBe(`1 22:13:20.000051 ${SUMMARY} (92 bytes)`);
    expect(packetToText(p, { ifNames: new Map([[3, 'eth1']]) })).toBe(`1 22:13:20.000051 ${SUMMARY} (92 bytes)`);
  });
});

describe('text: Linux cooked captures (tcpdump -i any)', () => {
  it('SLL2: the interface index and the direction after the time', () => {
    const p = decodePacket(raw(f.sll2FromEthernet(vxlan, 3, 4), { linkType: 276 }), 1);
    expect(packetToText(p)).toBe(`1 22:13:20.000051 ifindex 3 Out ${SUMMARY} (98 bytes)`);
  });

  it('SLL2: the interface name when the caller knows it (session.json)', () => {
    const p = decodePacket(raw(f.sll2FromEthernet(vxlan, 3, 0), { linkType: 276 }), 1);
    expect(
      packetToText(p, {
        ifNames: new Map([
          [3, 'eth1'],
          [5, 'vxlan_bridge'],
        ]),
      }),
    ).toBe(`1 22:13:20.000051 eth1 In ${SUMMARY} (98 bytes)`);
    expect(packetToText(p, { ifNames: new Map([[5, 'vxlan_bridge']]) })).toBe(`1 22:13:20.000051 ifindex 3 In ${SUMMARY} (98 bytes)`);
    const w = new ByteWriter(256);
    textLineWriter({ ifNames: new Map([[3, 'eth1']]) })(w, p);
    expect(w.textFrom(0)).toBe(`1 22:13:20.000051 eth1 In ${SUMMARY} (98 bytes)`);
  });

  it('SLL: the direction, named as tcpdump names the packet types (no interface: SLL records none)', () => {
    const names = [0, 1, 2, 3, 4, 7].map((t) => packetToText(decodePacket(raw(sll1(t), { linkType: 113 }), 1)).split(' ')[2]);
    expect(names).toEqual(['In', 'B', 'M', 'P', 'Out', '?']);
  });

  it('agrees with tcpdump on the public SLL and SLL2 captures', async () => {
    // tcpdump 4.99.3 -n -e on the same files (fixtures/public/README.md): "lo    In  ifindex 1", "?     Out ifindex 26",
    // "  B", "Out" / " In" / "Out". tcpdump names ifindex 1 from the machine it runs on; we do not guess.
    const where = (p: DecodedPacket): string => packetToText(p).split(' ').slice(2, 5).join(' ');
    const sll2 = await readAll(join(FIXTURES, 'public', 'zeek', 'linux_dlt_sll2.pcap'));
    expect(sll2.map(where)).toEqual([...Array(4).fill('ifindex 1 In'), ...Array(2).fill('ifindex 26 Out')]);
    const named = sll2.map((p) =>
      packetToText(p, { ifNames: new Map([[1, 'lo']]) })
        .split(' ')
        .slice(2, 4)
        .join(' '),
    );
    expect(named.slice(0, 4)).toEqual(Array(4).fill('lo In'));
    const arps = await readAll(join(FIXTURES, 'public', 'zeek', 'linuxsll-arp.pcap'));
    expect(arps.map((p) => packetToText(p).split(' ')[2])).toEqual(Array(12).fill('B'));
    const handshake = await readAll(join(FIXTURES, 'public', 'tcpdump', 'tcp-handshake-nano.pcap'));
    expect(handshake.map((p) => packetToText(p).split(' ')[2])).toEqual(['Out', 'In', 'Out']);
  });

  it('an interface name cannot forge a line: control characters are escaped', () => {
    const p = decodePacket(raw(f.sll2FromEthernet(vxlan, 3, 4), { linkType: 276 }), 1);
    expect(packetToText(p, { ifNames: new Map([[3, 'eth1\n2 00:00:00.000000 forged']]) })).toBe(
      `1 22:13:20.000051 eth1\\x0a2 00:00:00.000000 forged Out ${SUMMARY} (98 bytes)`,
    );
  });
});

describe('text: pcapng with several interfaces', () => {
  it('names the interface of each packet (if_name, or if<N> without one)', () => {
    const on = (extra: Partial<RawPacket>) => packetToText(decodePacket(raw(vxlan, extra), 1));
    expect(on({ interfaceId: 0, interfaceName: 'eth1', interfaceCount: 2 })).toBe(`1 22:13:20.000051 eth1 ${SUMMARY} (92 bytes)`);
    expect(on({ interfaceId: 1, interfaceCount: 2 })).toBe(`1 22:13:20.000051 if1 ${SUMMARY} (92 bytes)`);
    expect(on({ interfaceId: 1, interfaceName: '', interfaceCount: 2 })).toBe(`1 22:13:20.000051 if1 ${SUMMARY} (92 bytes)`);
    expect(on({ interfaceId: 0, interfaceName: 'eth1', interfaceCount: 1 })).toBe(`1 22:13:20.000051 ${SUMMARY} (92 bytes)`);
    expect(on({ interfaceId: 0, interfaceName: 'eth1' })).toBe(`1 22:13:20.000051 ${SUMMARY} (92 bytes)`);
  });

  it('SLL in a pcapng with several interfaces: the IDB name, then the direction', () => {
    const p = decodePacket(raw(sll1(4), { linkType: 113, interfaceId: 1, interfaceName: 'any', interfaceCount: 2 }), 1);
    expect(packetToText(p)).toBe(`1 22:13:20.000051 any Out ${SUMMARY} (94 bytes)`);
  });

  it('class-kvm1.pcapng (eth1 and vxlan_bridge in one file): every line says which', async () => {
    // The reader tells how many interfaces the section has declared (RawPacket.interfaceCount); here set by hand.
    const packets = await readAll(join(FIXTURES, 'synth', 'class-kvm1.pcapng'));
    const lines = packets.map((p) => packetToText({ ...p, raw: { ...p.raw, interfaceCount: 2 } }));
    expect(lines[0]).toBe(
      `1 06:53:20.001000 vxlan_bridge ${VM1} > ff:ff:ff:ff:ff:ff ARP who-has 10.220.220.6 tell 10.220.220.5 (42 bytes)`,
    );
    expect(lines[1]).toMatch(/^2 06:53:20\.001021000 eth1 10\.3\.1\.156:\d+ > 10\.3\.1\.174:4789 VXLAN vni 10 \| /);
    expect(lines.filter((l) => / eth1 /.test(l))).toHaveLength(10);
    expect(lines.filter((l) => / vxlan_bridge /.test(l))).toHaveLength(14);
  });
});

describe('JSON: direction and ifindex of a Linux cooked capture', () => {
  it('SLL2: "direction" and "ifindex", the same in both JSON writers', () => {
    const p = decodePacket(raw(f.sll2FromEthernet(vxlan, 3, 4), { linkType: 276 }), 1);
    const j = JSON.parse(packetToJsonLine(p));
    expect(j).toMatchObject({ direction: 'Out', ifindex: 3, linkType: 276 });
    expect(j).toEqual(packetToJson(p));
  });

  it('SLL: "direction" only; none for a packet type tcpdump does not name', () => {
    const out = JSON.parse(packetToJsonLine(decodePacket(raw(sll1(1), { linkType: 113 }), 1)));
    expect(out.direction).toBe('B');
    expect(out).not.toHaveProperty('ifindex');
    const odd = decodePacket(raw(sll1(7), { linkType: 113 }), 1);
    expect(JSON.parse(packetToJsonLine(odd))).not.toHaveProperty('direction');
    expect(JSON.parse(packetToJsonLine(odd))).toEqual(packetToJson(odd));
  });

  it('Ethernet: neither field', () => {
    const j = JSON.parse(packetToJsonLine(decodePacket(raw(vxlan), 1)));
    expect(j).not.toHaveProperty('direction');
    expect(j).not.toHaveProperty('ifindex');
  });
});
