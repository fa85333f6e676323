/**
 * The byte view at each hop, on the lab recording's frame kvm1 bridge #12 (an IGMP report of vm1)
 * and its three other sightings (kvm1 eth1 #20, kvm2 eth1 #21, kvm2 bridge #11: README's
 * `path --frame kvm1:12`), decoded and laid out as the server sends them (frameView: the packet
 * detail's fields); then copies with one byte changed where a router or checksum offload would.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PathPointName, PathSightingBytes } from '../api-types.js';
import { summarizeLayers } from '../../decode/format/text.js';
import { decodePacket } from '../../decode/packet.js';
import type { RawPacket } from '../../decode/types.js';
import { frameView } from '../packets.js';
import { wholePcapRecords } from '../../../test/helpers/pcap.js';
import {
  byteDiffs,
  fieldAt,
  fieldDiffs,
  hexRows,
  hopBytes,
  hopFields,
  hopLine,
  innerRowCount,
  innerStart,
  wrappingLine,
  type HopBytes,
} from './path-bytes.js';

const LAB = path.join(import.meta.dirname, '../../../fixtures/lab');
type Sightings = [PathPointName, string, number][];
const IGMP: Sightings = [
  ['srcBridge', 'kvm1-vxlan_bridge.pcap', 12],
  ['srcUnderlay', 'kvm1-eth1.pcap', 20],
  ['dstUnderlay', 'kvm2-eth1.pcap', 21],
  ['dstBridge', 'kvm2-vxlan_bridge.pcap', 11],
];
/** vm1's first ping of vm2 (ICMP echo request id 21666 seq 1). */
const PING: Sightings = [
  ['srcBridge', 'kvm1-vxlan_bridge.pcap', 9],
  ['srcUnderlay', 'kvm1-eth1.pcap', 14],
  ['dstUnderlay', 'kvm2-eth1.pcap', 14],
  ['dstBridge', 'kvm2-vxlan_bridge.pcap', 8],
];

function served(raw: RawPacket, n: number): PathSightingBytes {
  const p = decodePacket(raw, n);
  return { summary: summarizeLayers(p.layers), frame: frameView(p), hex: Buffer.from(raw.data).toString('hex') };
}

function record(file: string, n: number): RawPacket {
  const r = wholePcapRecords(path.join(LAB, file))[n - 1];
  if (!r) throw new Error(`${file} has no record ${n}`);
  return r;
}

/** The four sightings; `edit` changes a copy of one's bytes first (as a router or the sender's NIC would). */
function hops(edit?: { point: PathPointName; at: number; value: number }, sightings = IGMP): HopBytes[] {
  return sightings.map(([point, file, n]) => {
    const raw = record(file, n);
    if (edit?.point !== point) return hopBytes(point, served(raw, n));
    const data = Uint8Array.from(raw.data);
    data[edit.at] = edit.value;
    return hopBytes(point, served({ ...raw, data }, n));
  });
}

describe('the byte view at each hop', () => {
  it('finds the guest frame in each sighting: after 50 bytes of wrapping on the underlay, at 0 on the bridge', () => {
    const h = hops();
    expect(h.map((x) => x.inner)).toEqual([0, 50, 50, 0]);
    expect(h.map((x) => x.frame.tunnelled)).toEqual([false, true, true, false]);
    expect(wrappingLine(h[1] as HopBytes)).toBe('outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 = 50 bytes');
    expect(wrappingLine(h[0] as HopBytes)).toBeNull();
    expect(hopLine(h[1] as HopBytes)).toBe('wrapped: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 = 50 bytes around the 54-byte frame');
    expect(hopLine(h[3] as HopBytes)).toBe('the frame itself, 54 bytes: unwrapped');
    // a cooked bridge capture keeps no Ethernet header: nothing to line up
    expect(innerStart({ ...(h[0] as HopBytes).frame, layers: (h[0] as HopBytes).frame.layers.filter((l) => l.type !== 'eth') })).toBeNull();
  });

  it('lines the guest frame up row for row: byte k of the frame is in the same row and column at every hop', () => {
    const h = hops();
    const d = byteDiffs(h);
    expect(d.inner.size).toBe(0);
    expect(d.outer.size).toBe(0);
    const grids = h.map((x) =>
      hexRows(x, d)
        .filter((r) => r.part === 'inner')
        .map((r) => r.cells.map((c) => `${c.k}:${c.hex}`)),
    );
    for (const g of grids) expect(g).toEqual(grids[0]);
    expect(grids[0]?.length).toBe(Math.ceil(54 / 16));
    // the wrapping comes first on the underlay (50 bytes: 4 rows), never on the bridge
    const under = hexRows(h[1] as HopBytes, d);
    expect(under.filter((r) => r.part === 'outer').map((r) => [r.label, r.cells.length])).toEqual([
      ['0000', 16],
      ['0010', 16],
      ['0020', 16],
      ['0030', 2],
    ]);
    expect(
      under
        .filter((r) => r.part === 'outer')
        .flatMap((r) => r.cells)
        .every((c) => c.k === null),
    ).toBe(true);
    expect(hexRows(h[0] as HopBytes, d).some((r) => r.part === 'outer')).toBe(false);
    // the frame's layers are striped (inner) at every hop, the wrapping is not
    expect(under[4]?.cells[0]?.cls).toBe('c-eth inner');
    expect(hexRows(h[0] as HopBytes, d)[0]?.cells[0]?.cls).toBe('c-eth inner');
    expect(under[0]?.cells[0]?.cls).toBe('c-eth');
    // capped: the first rows of the frame, and how many there are
    expect(hexRows(h[1] as HopBytes, d, 2).filter((r) => r.part === 'inner')).toHaveLength(2);
    expect(innerRowCount(h[1] as HopBytes)).toBe(4);
  });

  it('the same fields at every hop: the outer IP id and TTL shown, equal on both underlays', () => {
    const h = hops();
    const diffs = fieldDiffs(h, byteDiffs(h), false);
    expect(diffs.map((x) => [x.label, x.differs])).toEqual([
      ['outer IPv4 Identification', false],
      ['outer IPv4 TTL', false],
    ]);
    expect(diffs[0]?.values).toEqual({ srcUnderlay: '13500', dstUnderlay: '13500' });
    expect(diffs[0]?.why).toMatch(/pairs the two sightings/);
    expect(diffs[1]?.why).toMatch(/no router/);
  });

  it('a router between the VTEPs: the outer TTL differs on the destination underlay, and says why', () => {
    const h = hops({ point: 'dstUnderlay', at: 14 + 8, value: 63 });
    const d = byteDiffs(h);
    expect([...d.outer]).toEqual([22]);
    expect(d.inner.size).toBe(0);
    const ttl = fieldDiffs(h, d, false).find((x) => x.label === 'outer IPv4 TTL');
    expect(ttl).toMatchObject({ differs: true, values: { srcUnderlay: '64', dstUnderlay: '63' } });
    expect(ttl?.why).toMatch(/router/);
    expect(hexRows(h[2] as HopBytes, d)[1]?.cells[6]).toMatchObject({ i: 22, differs: true, hex: '3f' });
  });

  it('checksum offload on the sender: the inner checksum differs on the source bridge only, marked as not a loss', () => {
    // the ICMP checksum: bytes 2..3 of its header, after Ethernet (14) and IPv4 (20)
    const k = 14 + 20 + 2;
    const h = hops({ point: 'srcBridge', at: k, value: 0 }, PING);
    expect(h.map((x) => x.inner)).toEqual([0, 50, 50, 0]);
    const d = byteDiffs(h);
    expect([...d.inner]).toEqual([k]);
    // the same byte of the frame is marked at every hop, wherever it sits in the packet
    for (const x of h) {
      const cell = hexRows(x, d)
        .flatMap((r) => r.cells)
        .find((c) => c.k === k);
      expect(cell).toMatchObject({ i: (x.inner as number) + k, differs: true });
    }
    const rows = fieldDiffs(h, d, true).filter((x) => x.differs);
    expect(rows.map((x) => x.label)).toEqual(['inner ICMP Checksum']);
    const was = rows[0]?.values.srcUnderlay;
    expect(was).toMatch(/^0x[0-9a-f]{4}$/);
    expect(rows[0]?.values).toEqual({ srcBridge: `0x00${was?.slice(4)}`, srcUnderlay: was, dstUnderlay: was, dstBridge: was });
    expect(rows[0]?.why).toMatch(/checksum offload.*not a loss/);
    // without the analysis saying offload, it is only said to differ
    expect(fieldDiffs(h, d, false).find((x) => x.differs)?.why).not.toMatch(/not a loss/);
  });

  it('a difference in bytes no decoder names (an IGMP payload) is listed as a run of bytes', () => {
    // the IGMP checksum: inner frame offset 14 (Ethernet) + 24 (IPv4 with Router Alert) + 2
    const k = 14 + 24 + 2;
    const h = hops({ point: 'dstBridge', at: k, value: 0 });
    const d = byteDiffs(h);
    expect([...d.inner]).toEqual([k]);
    const rows = fieldDiffs(h, d, false).filter((x) => x.differs);
    expect(rows.map((x) => [x.label, x.values.dstBridge])).toEqual([[`inner frame bytes ${k}`, '0x00']]);
    expect(rows[0]?.values.srcBridge).toBe('0xf9');
    expect(rows[0]?.why).toMatch(/changed on the way/);
  });

  it('a field at a byte, and the same field at another hop by its key', () => {
    const h = hops();
    const under = hopFields(h[1] as HopBytes);
    const bridge = hopFields(h[0] as HopBytes);
    const ttl = fieldAt(under, 22);
    expect(ttl).toMatchObject({ label: 'outer IPv4 TTL', value: '64', from: 22, to: 22 });
    const innerSrc = fieldAt(under, 50 + 6);
    expect(innerSrc?.label).toBe('inner Ethernet Source MAC');
    const same = bridge.find((f) => f.key === innerSrc?.key);
    expect(same).toMatchObject({ from: 6, to: 11, value: innerSrc?.value });
    // the bridge frame has no outer fields
    expect(bridge.some((f) => f.part === 'outer')).toBe(false);
  });
});
