/**
 * `stats` text output: columns as wide as their longest entry (IPv6 flows and VTEPs are
 * long), protocol names spelled ICMPv6, ARP, ICMP, TCP, UDP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PcapWriter } from '../decode/file/writer.js';
import * as f from '../synth/frames.js';
import { main } from './main.js';
import { flowText } from './stats.js';

const V6A = '2001:db8:1111:2222:3333:4444:5555:6666';
const V6B = '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff';
const MAC_A = '36:0f:4a:00:00:05';
const MAC_B = '36:0f:4a:00:00:06';

/** ICMPv6 echo request (type 128), id 1, seq 1: checksums are not checked by the decoder. */
const ICMPV6_ECHO = new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]);

/** VXLAN over an IPv6 underlay: the VTEP pair is long too. */
function vxlanOverIpv6(inner: Uint8Array, vni: number): Uint8Array {
  return f.vxlanPacket(inner, { outerSrc: 'fd00:1:2:3:4:5:6:156', outerDst: 'fd00:1:2:3:4:5:6:174', vni });
}

function frames(): Uint8Array[] {
  const v4 = (proto: number, payload: Uint8Array): Uint8Array =>
    f.ethernet(MAC_B, MAC_A, 0x0800, f.ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto }, payload));
  const v6 = (nextHeader: number, payload: Uint8Array): Uint8Array =>
    f.ethernet(MAC_B, MAC_A, 0x86dd, f.ipv6({ src: V6A, dst: V6B, nextHeader }, payload));
  return [
    f.vxlanPacket(v4(1, f.icmpEcho(8, 1, 1))),
    f.vxlanPacket(v4(6, f.tcp({ srcPort: 40000, dstPort: 5201 }, new Uint8Array(10)))),
    f.vxlanPacket(v4(17, f.udp(40001, 53, new Uint8Array(4)))),
    f.vxlanPacket(f.ethernet('ff:ff:ff:ff:ff:ff', MAC_A, 0x0806, f.arpRequest(MAC_A, '10.220.220.5', '10.220.220.6'))),
    f.vxlanPacket(v6(6, f.tcp({ srcPort: 40002, dstPort: 443 }, new Uint8Array(20)))),
    vxlanOverIpv6(v6(58, ICMPV6_ECHO), 16_000_000),
  ];
}

let dir = '';
let file = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vxi-stats-text-'));
  file = join(dir, 'mix.pcap');
  const w = new PcapWriter();
  writeFileSync(file, Buffer.concat([w.header(), ...frames().map((data, i) => w.record({ tsSec: 1_764_140_000 + i, tsNsec: 0, data }))]));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function statsText(): Promise<string> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await main(['stats', file], { stdout, stderr });
  expect(code).toBe(0);
  return out;
}

/** The rows of a section: the indented lines after its title. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  expect(start, title).toBeGreaterThanOrEqual(0);
  const rows: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('  ')) break;
    rows.push(l);
  }
  return rows;
}

/** Where each column starts in a row: after a run of 2+ spaces (columns never touch). */
function columnStarts(row: string): number[] {
  return [...row.matchAll(/ {2,}(?=\S)/g)].map((m) => m.index + m[0].length);
}

describe('stats text output', () => {
  it('prints protocol names as ICMPv6, ARP, ICMP, TCP, UDP', async () => {
    const flows = section(await statsText(), 'top flows');
    expect(flows).toHaveLength(6);
    const protocols = flows.map((row) => /\S+ > \S+ (\S+)/.exec(row)?.[1]).sort();
    expect(protocols).toEqual(['ARP', 'ICMP', 'ICMPv6', 'TCP', 'TCP', 'UDP']);
    expect(flows.join('\n')).toContain(`${V6A} > ${V6B} ICMPv6`);
    expect(flows.join('\n')).not.toContain('ICMPV6');
  });

  it('sizes the flow and VTEP columns from the longest entry: IPv6 rows stay aligned', async () => {
    const text = await statsText();
    const flows = section(text, 'top flows');
    const v6flow = flows.find((r) => r.includes(`${V6A}:40002 > ${V6B}:443 TCP`));
    expect(v6flow, text).toBeDefined();
    // Every row's packets and bytes columns start where every other row's do.
    const pkts = flows.map((r) => r.indexOf(' pkts') - r.slice(0, r.indexOf(' pkts')).split(' ').at(-1)!.length);
    expect(new Set(pkts).size).toBe(1);
    expect(pkts[0]).toBeGreaterThan((v6flow as string).indexOf(' TCP') + ' TCP'.length + 1);
    // The 8-digit VNI does not run into the flow either.
    for (const row of flows) expect(row.slice(2)).toMatch(/^(vni \d+ {2,}| {10,})\S/);
    const pairs = section(text, 'VTEP pairs');
    expect(pairs).toHaveLength(2);
    const starts = pairs.map(columnStarts);
    expect(starts[0]).toHaveLength(4); // the indent, then pair, vni, packets, bytes
    expect(starts[1]).toEqual(starts[0]);
    const macs = section(text, 'inner MACs');
    expect(new Set(macs.map((r) => columnStarts(r)[1])).size).toBe(1);
  });

  it('spells only the protocol word of a flow label anew', () => {
    expect(flowText('10.220.220.5 > 10.220.220.6 ICMP')).toBe('10.220.220.5 > 10.220.220.6 ICMP');
    expect(flowText('fe80::1 > ff02::1 ICMPV6')).toBe('fe80::1 > ff02::1 ICMPv6');
    expect(flowText('36:0f:4a:00:00:05 > ff:ff:ff:ff:ff:ff 0x88cc')).toBe('36:0f:4a:00:00:05 > ff:ff:ff:ff:ff:ff 0x88cc');
  });
});
