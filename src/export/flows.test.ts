import { describe, expect, it } from 'vitest';
import { encap, KVM1, KVM2, ping, decoded } from '../correlate/synth.js';
import { PacketFields, TUNNEL_VXLAN } from './fields.js';
import { FlowTable, LinkTable, type FlowEntry, type LinkEntry } from './flows.js';

describe('PacketFields', () => {
  it("an underlay VXLAN packet: the VTEPs and their UDP ports outside, the guest's ping inside", () => {
    const f = new PacketFields().read(decoded(encap(ping(1)), 1, 0), 'underlay');
    expect(f.tunnel).toBe(TUNNEL_VXLAN);
    expect(f.vni).toBe(10);
    expect(f.hasOuter && f.hasInner).toBe(true);
    expect([f.outer.proto, f.outer.dport]).toEqual([17, 4789]);
    expect([f.inner.proto, f.inner.sport, f.inner.dport, f.protocol]).toEqual([1, 8, 0, 'ICMP']);
  });

  it('a bridge frame is inner only; a packet that is not tunnelled is outer only', () => {
    const f = new PacketFields();
    f.read(decoded(ping(1), 1, 0), 'overlay');
    expect([f.hasOuter, f.hasInner, f.tunnel, f.inner.proto]).toEqual([false, true, 0, 1]);
    f.read(decoded(ping(1), 1, 0), 'underlay');
    expect([f.hasOuter, f.hasInner, f.outer.proto, f.vni]).toEqual([true, false, 1, -1]);
  });
});

describe('FlowTable and LinkTable', () => {
  it('numbers each flow once, with its text and Community ID, and stays bounded', () => {
    const seen: FlowEntry[] = [];
    const t = new FlowTable((e) => seen.push(e), 0, 2);
    const f = new PacketFields();
    const level = (n: number) => f.read(decoded(encap(ping(n, { srcIp: `10.220.220.${n}` })), 1, 0), 'underlay').inner;
    const a = t.idOf(level(1));
    expect(t.idOf(level(1))).toBe(a);
    t.idOf(level(2));
    t.idOf(level(3)); // past the cap of 2: the table starts afresh
    expect(seen.map((e) => e.src)).toEqual(['10.220.220.1', '10.220.220.2', '10.220.220.3']);
    expect(seen[0]?.communityId).toMatch(/^1:/);
    // a flow seen again after the table started afresh may get a new number, with the same text
    const again = t.idOf(level(2));
    expect(seen.find((e) => e.id === again)?.src).toBe('10.220.220.2');
  });

  it('numbers link headers the same way', () => {
    const seen: LinkEntry[] = [];
    const t = new LinkTable((e) => seen.push(e));
    const f = new PacketFields().read(decoded(encap(ping(1), { outerSrc: KVM1, outerDst: KVM2 }), 1, 0), 'underlay');
    expect(t.idOf(f.inner)).toBe(t.idOf(f.inner));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ ethertype: 0x0800 });
    expect(seen[0]?.src).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });
});
