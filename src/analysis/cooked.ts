/**
 * Finding the two sides inside a `tcpdump -i any` capture (Linux cooked v2, SLL2) that says
 * nothing of its interfaces' names: from the traffic itself.
 *
 *  - The underlay is the interface that carries the VXLAN packets.
 *  - The bridge side is the interface whose frames those packets carry: the one whose frames'
 *    network-layer bytes equal most of the inner frames'. A frame bridged onto the overlay is
 *    seen on several interfaces of the node (the guest's port, the bridge, the VXLAN device);
 *    the interface with the most such frames wins, then one named as a bridge, then the
 *    smallest index (the bridge is made before the ports enslaved to it).
 *  - Never the VXLAN device itself (vxlan10), when another interface carries frames: every
 *    frame the tunnel carries crosses it, the device's own IPv6 too (MLD, RS, DAD, which never
 *    cross the bridge), and nothing else, so taken as the bridge side it would match every
 *    VXLAN packet and show nothing of what the bridge does. It is told by its traffic: an
 *    interface whose frames are all carried in VXLAN packets and which carries about the most
 *    (a promiscuous bridge may carry a flooded frame more, and has frames of its own).
 *
 * What the kernel shows under `-i any` (seen in the lab, Linux 6.x, libpcap 1.10): `any` is
 * not promiscuous, so the bridge device sees only the frames of the host itself (its address,
 * its ARP and IPv6), unless another capture on the bridge made it promiscuous, when it sees
 * every forwarded frame as `tcpdump -i vxlan_bridge` does. A frame forwarded by the bridge is
 * seen on the port it came in by and on the port it leaves by (the guest's veth, the VXLAN
 * device). So the bridge side is the guest's port or the promiscuous bridge, whichever carries
 * more (they come within a frame or two of each other): with one guest per node, the tunnelled
 * frames `tcpdump -i vxlan_bridge` records, so the same matches; with several guests, only
 * those of the guest with the most. What stays on the node (overlay only) may differ from the
 * bridge's own capture.
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

/**
 * The VXLAN device among the interfaces whose frames are carried (sorted, most first): one that
 * has no frame of its own that is not carried (a frame or two outside the probe's view at its
 * ends forgiven: 1 %) and carries about as many as the interface that carries the most (90 %).
 * Not only the first: a promiscuous bridge can carry one frame more than the device (a flooded
 * copy) and still have frames of its own.
 */
function vxlanDevice(carrying: readonly (CookedEvidence & { keys: number[] })[]): CookedEvidence | undefined {
  const most = carrying[0]?.carried ?? 0;
  return carrying.find((e) => e.carried * 10 >= most * 9 && e.keys.length - e.carried <= Math.floor(e.keys.length / 100));
}

/** Reads the start of a cooked capture and says which interface index is which side; undefined when it cannot tell. */
export async function findCookedSides(
  path: string,
  opts: { registry?: DecoderRegistry; vxlanPorts?: number[]; names?: ReadonlyMap<number, string> } = {},
): Promise<CookedSides | undefined> {
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
  const under = list.reduce<(typeof list)[number] | undefined>(
    (best, e) => (e.vxlan > 0 && (!best || e.vxlan > best.vxlan) ? e : best),
    undefined,
  );
  if (!under) return undefined;
  for (const e of list) if (e !== under) e.carried = e.keys.filter((k) => inner.has(k)).length;
  const overlayNamed = (e: CookedEvidence): number => {
    const n = opts.names?.get(e.ifindex);
    return n !== undefined && roleOfInterface(n) === 'overlay' ? 1 : 0;
  };
  const carrying = list
    .filter((e) => e !== under && e.carried > 0)
    .sort((a, b) => b.carried - a.carried || overlayNamed(b) - overlayNamed(a) || a.ifindex - b.ifindex);
  const device = vxlanDevice(carrying);
  const over = carrying.find((e) => e !== device) ?? device;
  if (!over) return undefined;
  const name = (i: number): string => opts.names?.get(i) ?? `ifindex ${i}`;
  const evidence = list
    .map(({ ifindex, records, vxlan, carried }) => ({ ifindex, records, vxlan, carried }))
    .sort((a, b) => a.ifindex - b.ifindex);
  return {
    underlay: { kind: 'ifindex', ifindexes: [under.ifindex], names: [name(under.ifindex)] },
    overlay: { kind: 'ifindex', ifindexes: [over.ifindex], names: [name(over.ifindex)] },
    evidence,
    note:
      `split by interface from the traffic: underlay ${name(under.ifindex)} ` +
      `(${under.vxlan} VXLAN packets in the first ${Math.min(n, PROBE_RECORDS)} records), ` +
      `bridge side ${name(over.ifindex)} (${over.carried} of its frames carried in ` +
      `them)${device && device !== over ? `; not the VXLAN device ${name(device.ifindex)}, which carries them all` : ''}`,
  };
}
