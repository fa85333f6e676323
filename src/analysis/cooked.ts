/**
 * Finding the two sides inside a `tcpdump -i any` capture (Linux cooked v2, SLL2) that says
 * nothing of its interfaces' names: from the traffic itself.
 *
 *  - The underlay is the interface that carries the VXLAN packets.
 *  - The bridge side is the interface whose frames those packets carry: the one whose frames'
 *    network-layer bytes equal most of the inner frames'. A frame bridged onto the overlay is
 *    seen on several interfaces of the node (the guest's port, the bridge, the VXLAN device);
 *    the interface with the most such frames wins, the smallest index on a tie (the bridge is
 *    made before the VXLAN device that is enslaved to it).
 *
 * A cooked header replaces the Ethernet header, so the comparison starts after it: the
 * protocol field of SLL2 is the frame's EtherType, and what follows is what follows the
 * EtherType of the inner Ethernet frame.
 */
import { readCapture } from '../decode/file/read.js';
import { decodePacket } from '../decode/packet.js';
import { createRegistry, type DecoderRegistry } from '../decode/registry.js';
import type { RawPacket } from '../decode/types.js';
import { outerVxlan } from '../correlate/frame.js';
import { fnv1a } from '../correlate/bytes.js';
import { LINKTYPE_SLL2, roleOfInterface, type PacketSelector } from './sides.js';
import { sll2Ifindex } from './pass.js';

/** Records read to decide (a few seconds of class traffic; the rest of the file is not read). */
export const PROBE_RECORDS = 20_000;
/** Network-layer bytes compared by the probe. */
const L3_PREFIX = 40;

export interface CookedEvidence {
  ifindex: number;
  records: number;
  vxlan: number;
  /** Frames whose network-layer bytes equal an inner frame's carried on the underlay. */
  carried: number;
}

export interface CookedSides {
  underlay: PacketSelector & { kind: 'ifindex' };
  overlay: PacketSelector & { kind: 'ifindex' };
  evidence: CookedEvidence[];
  /** What was found, in words (shown to the user). */
  note: string;
}

function l3Key(data: Uint8Array, at: number, wireRest: number): number {
  return Math.min(wireRest, 0xffff) * 0x100000000 + fnv1a(data.subarray(at), L3_PREFIX);
}

/** Reads the start of a cooked capture and says which interface index is which side; undefined when it cannot tell. */
export async function findCookedSides(path: string, opts: { registry?: DecoderRegistry; vxlanPorts?: number[]; names?: ReadonlyMap<number, string> } = {}): Promise<CookedSides | undefined> {
  const registry = opts.registry ?? createRegistry({ vxlanPorts: opts.vxlanPorts ?? [] });
  const by = new Map<number, CookedEvidence & { keys: number[] }>();
  const inner = new Set<number>();
  let n = 0;
  await readCapture(path, (raw: RawPacket) => {
    n += 1;
    const ifindex = sll2Ifindex(raw);
    if (raw.linkType !== LINKTYPE_SLL2 || ifindex < 0) return n < PROBE_RECORDS;
    let e = by.get(ifindex);
    if (!e) by.set(ifindex, (e = { ifindex, records: 0, vxlan: 0, carried: 0, keys: [] }));
    e.records += 1;
    const p = decodePacket(raw, n, { registry });
    const outer = outerVxlan(p);
    if (outer) {
      e.vxlan += 1;
      const start = outer.vxlan.offset + outer.vxlan.length + 14;
      const wire = outer.udp.udpLength >= 8 ? outer.udp.offset + outer.udp.udpLength : Math.max(raw.len, raw.data.length);
      if (start < raw.data.length) inner.add(l3Key(raw.data, start, wire - start));
    } else if (e.keys.length < PROBE_RECORDS) {
      e.keys.push(l3Key(raw.data, 20, Math.max(raw.len, raw.data.length) - 20));
    }
    return n < PROBE_RECORDS;
  });
  const list = [...by.values()];
  const under = list.reduce<(typeof list)[number] | undefined>((best, e) => (e.vxlan > 0 && (!best || e.vxlan > best.vxlan) ? e : best), undefined);
  if (!under) return undefined;
  for (const e of list) if (e !== under) e.carried = e.keys.filter((k) => inner.has(k)).length;
  const overlayNamed = (e: CookedEvidence): number => {
    const n = opts.names?.get(e.ifindex);
    return n !== undefined && roleOfInterface(n) === 'overlay' ? 1 : 0;
  };
  const over = list
    .filter((e) => e !== under && e.carried > 0)
    .sort((a, b) => b.carried - a.carried || overlayNamed(b) - overlayNamed(a) || a.ifindex - b.ifindex)[0];
  if (!over) return undefined;
  const name = (i: number): string => opts.names?.get(i) ?? `ifindex ${i}`;
  const evidence = list.map(({ ifindex, records, vxlan, carried }) => ({ ifindex, records, vxlan, carried })).sort((a, b) => a.ifindex - b.ifindex);
  return {
    underlay: { kind: 'ifindex', ifindexes: [under.ifindex], names: [name(under.ifindex)] },
    overlay: { kind: 'ifindex', ifindexes: [over.ifindex], names: [name(over.ifindex)] },
    evidence,
    note: `split by interface from the traffic: underlay ${name(under.ifindex)} (${under.vxlan} VXLAN packets in the first ${Math.min(n, PROBE_RECORDS)} records), bridge side ${name(over.ifindex)} (${over.carried} of its frames carried in them)`,
  };
}
