/**
 * The topology, rebuilt from the underlay captures' indexes: each VTEP (outer source address),
 * the VNIs it carries, and the inner MAC/IPv4 addresses seen behind it — the forwarding table
 * that traffic teaches the VTEPs. A packet seen by both ends is counted once (the largest count
 * of any one capture).
 */
import { formatIPv4, formatMac } from '../decode/format/addr.js';
import { FLAG, isGroupMac, type CaptureIndex } from './capture-index.js';

export interface TopologyVtep {
  ip: string;
  /** Nodes whose underlay capture saw this VTEP send. */
  seenBy: string[];
  vnis: { vni: number; packets: number; bytes: number; macs: string[]; ips: string[]; hosts: { mac: string; ips: string[] }[] }[];
  /** Outer UDP destination ports it used (4789 is the IANA port). */
  ports: number[];
  peers: string[];
}

export interface Topology {
  vteps: TopologyVtep[];
}

const MAX_ADDRESSES = 64;

export function topologyFromIndexes(captures: { node: string; index: CaptureIndex }[]): Topology {
  const vteps = new Map<number, { seenBy: Set<string>; vnis: Map<number, { packets: number; bytes: number; macs: Set<string>; ips: Set<string>; hosts: Map<string, Set<string>>; seen: Map<string, { packets: number; bytes: number }> }>; ports: Set<number>; peers: Set<number> }>();
  for (const { node, index } of captures) {
    for (let i = 0; i < index.count; i++) {
      if (((index.flags[i] as number) & FLAG.tunnel) === 0) continue;
      const src = index.outerSrc[i] as number;
      if (src === 0) continue;
      let v = vteps.get(src);
      if (!v) vteps.set(src, (v = { seenBy: new Set(), vnis: new Map(), ports: new Set(), peers: new Set() }));
      v.seenBy.add(node);
      v.ports.add(index.tunnelPort[i] as number);
      v.peers.add(index.outerDst[i] as number);
      const vni = index.vni[i] as number;
      let row = v.vnis.get(vni);
      if (!row) v.vnis.set(vni, (row = { packets: 0, bytes: 0, macs: new Set(), ips: new Set(), hosts: new Map(), seen: new Map() }));
      // the same packet is in the sender's and the receiver's capture: count per capture, keep the largest
      let seen = row.seen.get(node);
      if (!seen) row.seen.set(node, (seen = { packets: 0, bytes: 0 }));
      seen.packets++;
      seen.bytes += index.wireLen[i] as number;
      if (seen.packets > row.packets) {
        row.packets = seen.packets;
        row.bytes = seen.bytes;
      }
      const mac = index.macSrc[i] as number;
      const ip = index.innerSrc[i] as number;
      if (ip !== 0 && row.ips.size < MAX_ADDRESSES) row.ips.add(formatIPv4(ip));
      if (mac >= 0 && !isGroupMac(mac) && row.macs.size < MAX_ADDRESSES) {
        const text = formatMac(mac);
        row.macs.add(text);
        let h = row.hosts.get(text);
        if (!h) row.hosts.set(text, (h = new Set()));
        if (ip !== 0 && h.size < 8) h.add(formatIPv4(ip));
      }
    }
  }
  return {
    vteps: [...vteps.entries()].sort((a, b) => a[0] - b[0]).map(([ip, v]) => ({
      ip: formatIPv4(ip),
      seenBy: [...v.seenBy].sort(),
      vnis: [...v.vnis.entries()].sort((a, b) => a[0] - b[0]).map(([vni, r]) => ({
        vni, packets: r.packets, bytes: r.bytes, macs: [...r.macs].sort(), ips: [...r.ips].sort(ipOrder),
        hosts: [...r.hosts.entries()].map(([mac, ips]) => ({ mac, ips: [...ips].sort(ipOrder) })).sort((a, b) => (a.ips[0] && b.ips[0] ? ipOrder(a.ips[0], b.ips[0]) : a.ips[0] ? -1 : b.ips[0] ? 1 : a.mac.localeCompare(b.mac))),
      })),
      ports: [...v.ports].sort((a, b) => a - b),
      peers: [...v.peers].map(formatIPv4).sort(ipOrder),
    })),
  };
}

function ipOrder(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}
