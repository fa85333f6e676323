/**
 * The topology of a whole session: each node's TopologyBuilder (src/correlate/topology.ts)
 * learnt from its own underlay capture; here they are put together. A packet between kvm1
 * and kvm2 is seen on both nodes' eth1: counts are the largest any one node saw (not the
 * sum), addresses and observers the union.
 */
import { MAX_ADDRESSES, type FdbEntry, type Topology, type TopologyVni, type TopologyVtep } from '../correlate/topology.js';

function union(a: readonly string[], b: readonly string[], cap = MAX_ADDRESSES): string[] {
  const s = new Set(a);
  for (const x of b) if (s.size < cap) s.add(x);
  return [...s];
}

function unionNumbers(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

function mergeVni(a: TopologyVni, b: TopologyVni): TopologyVni {
  return {
    vni: a.vni,
    packets: Math.max(a.packets, b.packets),
    bytes: Math.max(a.bytes, b.bytes),
    macs: union(a.macs, b.macs),
    ips: union(a.ips, b.ips),
  };
}

function mergeVtep(a: TopologyVtep, b: TopologyVtep): TopologyVtep {
  const vnis = new Map<number, TopologyVni>();
  for (const v of [...a.vnis, ...b.vnis]) {
    const have = vnis.get(v.vni);
    vnis.set(v.vni, have ? mergeVni(have, v) : v);
  }
  return {
    ip: a.ip,
    seenBy: union(a.seenBy, b.seenBy),
    vnis: [...vnis.values()].sort((x, y) => x.vni - y.vni),
    ports: unionNumbers(a.ports, b.ports),
    peers: union(a.peers, b.peers),
    packets: Math.max(a.packets, b.packets),
    bytes: Math.max(a.bytes, b.bytes),
  };
}

function mergeFdb(a: FdbEntry, b: FdbEntry): FdbEntry {
  return {
    ...a,
    ips: union(a.ips, b.ips),
    packets: Math.max(a.packets, b.packets),
    firstTsUs: Math.min(a.firstTsUs, b.firstTsUs),
    lastTsUs: Math.max(a.lastTsUs, b.lastTsUs),
  };
}

/** One topology from several nodes' (each from that node's underlay capture). */
export function mergeTopologies(list: readonly Topology[]): Topology {
  const vteps = new Map<string, TopologyVtep>();
  const fdb = new Map<string, FdbEntry>();
  let packets = 0;
  let vxlanPackets = 0;
  for (const t of list) {
    for (const v of t.vteps) {
      const have = vteps.get(v.ip);
      vteps.set(v.ip, have ? mergeVtep(have, v) : v);
    }
    for (const e of t.fdb) {
      const key = `${e.mac}|${e.vtep}|${e.vni}`;
      const have = fdb.get(key);
      fdb.set(key, have ? mergeFdb(have, e) : e);
    }
    packets = Math.max(packets, t.packets);
    vxlanPackets = Math.max(vxlanPackets, t.vxlanPackets);
  }
  return { vteps: [...vteps.values()], fdb: [...fdb.values()], packets, vxlanPackets };
}
