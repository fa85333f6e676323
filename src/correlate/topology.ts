/**
 * The overlay's topology reconstructed from underlay traffic: the VTEPs (outer IP addresses),
 * the VNIs each one sends, and the inner MAC and IP addresses behind each — the forwarding
 * table a VTEP learns (the inner source MAC of an encapsulated frame sits behind the outer
 * source IP). Bounded: at most MAX_ADDRESSES addresses per VTEP and VNI, MAX_FDB entries.
 */
import type { DecodedPacket } from '../decode/types.js';
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';
import { isGroupMac, outerVxlan, ipText } from './frame.js';

export const MAX_ADDRESSES = 256;
export const MAX_FDB = 10_000;

export interface TopologyVni {
  vni: number;
  packets: number;
  /** Outer bytes on the wire. */
  bytes: number;
  /** Inner source MACs behind this VTEP in this VNI. */
  macs: string[];
  /** Inner source IPs (IPv4, IPv6, ARP sender) behind this VTEP in this VNI. */
  ips: string[];
}

export interface TopologyVtep {
  ip: string;
  /** Nodes (as given to add) whose capture saw this VTEP send. */
  seenBy: string[];
  vnis: TopologyVni[];
  /** Outer UDP destination ports it sent to (4789 is IANA's). */
  ports: number[];
  /** VTEPs it sent to. */
  peers: string[];
  packets: number;
  bytes: number;
}

export interface FdbEntry {
  mac: string;
  vtep: string;
  vni: number;
  ips: string[];
  packets: number;
  firstTsUs: number;
  lastTsUs: number;
}

export interface Topology {
  vteps: TopologyVtep[];
  /** The forwarding table learnt from traffic: which inner MAC sits behind which VTEP. */
  fdb: FdbEntry[];
  /** Packets looked at, and of those VXLAN. */
  packets: number;
  vxlanPackets: number;
}

interface VniAcc {
  packets: number;
  bytes: number;
  macs: Set<string>;
  ips: Set<string>;
}

interface VtepAcc {
  seenBy: Set<string>;
  vnis: Map<number, VniAcc>;
  ports: Set<number>;
  peers: Set<string>;
  packets: number;
  bytes: number;
}

interface FdbAcc {
  mac: number;
  vtep: string;
  vni: number;
  ips: Set<string>;
  packets: number;
  firstTsUs: number;
  lastTsUs: number;
}

function addCapped(set: Set<string>, v: string): void {
  if (set.size < MAX_ADDRESSES) set.add(v);
}

/** The inner source IP of a tunnelled packet (IPv4, IPv6 or the ARP sender), as text. */
function innerSourceIp(p: DecodedPacket, depth: number): string | undefined {
  for (const l of p.layers) {
    if (l.depth !== depth) continue;
    if (l.type === 'ipv4') return formatIPv4(l.src);
    if (l.type === 'ipv6') return formatIPv6(l.src);
    if (l.type === 'arp' && l.ptype === 0x0800 && l.spa.length === 4) {
      const ip = `${l.spa[0]}.${l.spa[1]}.${l.spa[2]}.${l.spa[3]}`;
      return ip === '0.0.0.0' ? undefined : ip;
    }
  }
  return undefined;
}

function ipOrder(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  if (x.length === 4 && y.length === 4) {
    for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export class TopologyBuilder {
  private readonly vteps = new Map<string, VtepAcc>();
  private readonly fdb = new Map<string, FdbAcc>();
  private packets = 0;
  private vxlanPackets = 0;

  /** A packet of an underlay capture; `node` names the capture's node (for seenBy). */
  add(p: DecodedPacket, node?: string): void {
    this.packets += 1;
    const outer = outerVxlan(p);
    if (!outer) return;
    this.vxlanPackets += 1;
    const src = ipText(outer.ip, 'src');
    const dst = ipText(outer.ip, 'dst');
    const vni = outer.vxlan.vni;
    const bytes = Math.max(p.raw.len, p.raw.data.length);
    let v = this.vteps.get(src);
    if (!v) this.vteps.set(src, (v = { seenBy: new Set(), vnis: new Map(), ports: new Set(), peers: new Set(), packets: 0, bytes: 0 }));
    if (node !== undefined) v.seenBy.add(node);
    v.ports.add(outer.udp.dstPort);
    if (v.peers.size < MAX_ADDRESSES) v.peers.add(dst);
    v.packets += 1;
    v.bytes += bytes;
    let row = v.vnis.get(vni);
    if (!row) v.vnis.set(vni, (row = { packets: 0, bytes: 0, macs: new Set(), ips: new Set() }));
    row.packets += 1;
    row.bytes += bytes;
    const depth = outer.vxlan.depth + 1;
    const eth = p.layers.find((l) => l.type === 'eth' && l.depth === depth);
    const ip = innerSourceIp(p, depth);
    if (ip !== undefined) addCapped(row.ips, ip);
    if (eth?.type !== 'eth' || isGroupMac(eth.src)) return;
    const mac = formatMac(eth.src);
    addCapped(row.macs, mac);
    const key = `${mac}|${vni}`;
    const ts = p.raw.tsSec * 1e6 + p.raw.tsNsec / 1e3;
    let f = this.fdb.get(key);
    if (!f) {
      if (this.fdb.size >= MAX_FDB) return;
      this.fdb.set(key, (f = { mac: eth.src, vtep: src, vni, ips: new Set(), packets: 0, firstTsUs: ts, lastTsUs: ts }));
    }
    f.vtep = src; // a MAC that moved: the latest VTEP wins, as in a learning bridge
    f.packets += 1;
    f.lastTsUs = Math.max(f.lastTsUs, ts);
    if (ip !== undefined) addCapped(f.ips, ip);
  }

  result(): Topology {
    return {
      vteps: [...this.vteps.entries()]
        .sort((a, b) => ipOrder(a[0], b[0]))
        .map(([ip, v]) => ({
          ip,
          seenBy: [...v.seenBy].sort(),
          vnis: [...v.vnis.entries()]
            .sort((a, b) => a[0] - b[0])
            .map(([vni, r]) => ({ vni, packets: r.packets, bytes: r.bytes, macs: [...r.macs].sort(), ips: [...r.ips].sort(ipOrder) })),
          ports: [...v.ports].sort((a, b) => a - b),
          peers: [...v.peers].sort(ipOrder),
          packets: v.packets,
          bytes: v.bytes,
        })),
      fdb: [...this.fdb.values()]
        .sort((a, b) => ipOrder(a.vtep, b.vtep) || a.vni - b.vni || a.mac - b.mac)
        .map((f) => ({ mac: formatMac(f.mac), vtep: f.vtep, vni: f.vni, ips: [...f.ips].sort(ipOrder), packets: f.packets, firstTsUs: f.firstTsUs, lastTsUs: f.lastTsUs })),
      packets: this.packets,
      vxlanPackets: this.vxlanPackets,
    };
  }
}

/** The topology of one or more underlay captures' packets. */
export function buildTopology(packets: Iterable<DecodedPacket>, node?: string): Topology {
  const b = new TopologyBuilder();
  for (const p of packets) b.add(p, node);
  return b.result();
}
