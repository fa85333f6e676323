/**
 * The overlay's topology reconstructed from underlay traffic: the VTEPs (outer IP addresses),
 * the VNIs each one sends, and the inner MAC and IP addresses behind each — the forwarding
 * table a VTEP learns (the inner source MAC of an encapsulated frame sits behind the outer
 * source IP). Bounded: at most MAX_ADDRESSES addresses per VTEP and VNI, MAX_FDB entries.
 */
import type { DecodedPacket, Ipv4Layer, Ipv6Layer } from '../decode/types.js';
import { formatIPv4, formatIPv6, formatMac } from '../decode/format/addr.js';
import { isGroupMac, outerVxlan } from './frame.js';

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

/** An address as a key: IPv4 as its number (int32), IPv6 as its text (rare: formatted per packet, or by the caller's cache). */
export type AddressKey = number | string;

/**
 * One VXLAN packet as the topology counts it, in numbers: what `add` reads from a decoded
 * packet, and what the one pass fills straight from the bytes (src/analysis/fast-samples.ts).
 * One reused object: nothing per packet.
 */
export class TopologySample {
  /** Outer source and destination (the VTEPs). */
  src: AddressKey = 0;
  dst: AddressKey = 0;
  /** Outer UDP destination port. */
  port = 0;
  vni = 0;
  /** Outer bytes on the wire. */
  bytes = 0;
  tsUs = 0;
  /** Inner source MAC (48-bit number); -1 when the inner frame has none, or a group address. */
  mac = -1;
  /** Inner source IP (IPv4, IPv6 or the ARP sender); undefined when none. */
  ip: AddressKey | undefined = undefined;
}

interface VniAcc {
  packets: number;
  bytes: number;
  macs: Set<number>;
  ips: Set<AddressKey>;
}

interface VtepAcc {
  seenBy: Set<string>;
  vnis: Map<number, VniAcc>;
  ports: Set<number>;
  peers: Set<AddressKey>;
  packets: number;
  bytes: number;
  // what the last packet of this VTEP added (most packets repeat it): the sets are not touched again
  lastNode: string | undefined;
  lastPort: number;
  lastPeer: AddressKey | undefined;
  lastVni: number;
  lastRow: VniAcc | undefined;
}

interface FdbAcc {
  mac: number;
  vtep: AddressKey;
  vni: number;
  ips: Set<AddressKey>;
  packets: number;
  firstTsUs: number;
  lastTsUs: number;
}

function addCapped<T>(set: Set<T>, v: T): void {
  if (set.size < MAX_ADDRESSES) set.add(v);
}

/** The text of an address key. */
export function addressText(k: AddressKey): string {
  return typeof k === 'number' ? formatIPv4(k) : k;
}

function addressKey(ip: Ipv4Layer | Ipv6Layer, which: 'src' | 'dst'): AddressKey {
  return ip.type === 'ipv4' ? ip[which] | 0 : formatIPv6(ip[which]);
}

/** The inner source IP of a tunnelled packet (IPv4, IPv6 or the ARP sender). */
function innerSourceIp(p: DecodedPacket, depth: number): AddressKey | undefined {
  for (const l of p.layers) {
    if (l.depth !== depth) continue;
    if (l.type === 'ipv4') return l.src | 0;
    if (l.type === 'ipv6') return formatIPv6(l.src);
    if (l.type === 'arp' && l.ptype === 0x0800 && l.spa.length === 4) {
      const ip = ((l.spa[0] as number) << 24) | ((l.spa[1] as number) << 16) | ((l.spa[2] as number) << 8) | (l.spa[3] as number);
      return ip === 0 ? undefined : ip;
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

/** Texts of a set of addresses, in the set's order (the sorts below see what they always saw). */
function texts(set: Iterable<AddressKey>): string[] {
  const out: string[] = [];
  for (const k of set) out.push(addressText(k));
  return out;
}

/**
 * Keys are numbers (IPv4 addresses, MACs, VNIs) and text is made once per address in result():
 * formatting per packet was most of the topology's cost. Every collection keeps the order of
 * first appearance, which the sorts in result() start from (ipOrder mixes numeric and text order,
 * so the order they start from matters when IPv4 and IPv6 addresses mix).
 */
export class TopologyBuilder {
  private readonly vteps = new Map<AddressKey, VtepAcc>();
  /** FDB entries by VNI, then inner MAC; fdbList keeps them in order of first appearance. */
  private readonly fdb = new Map<number, Map<number, FdbAcc>>();
  private readonly fdbList: FdbAcc[] = [];
  private packets = 0;
  private vxlanPackets = 0;
  private readonly sample = new TopologySample();
  // the last VTEP and VNI row counted: most packets repeat them
  private lastKey: AddressKey | undefined = undefined;
  private lastVtep: VtepAcc | undefined = undefined;
  private fdbVni = -1;
  private fdbByMac: Map<number, FdbAcc> | undefined = undefined;

  /** A packet of an underlay capture; `node` names the capture's node (for seenBy). */
  add(p: DecodedPacket, node?: string): void {
    const outer = outerVxlan(p);
    if (!outer) {
      this.addSample(undefined, node);
      return;
    }
    const s = this.sample;
    s.src = addressKey(outer.ip, 'src');
    s.dst = addressKey(outer.ip, 'dst');
    s.port = outer.udp.dstPort;
    s.vni = outer.vxlan.vni;
    s.bytes = Math.max(p.raw.len, p.raw.data.length);
    s.tsUs = p.raw.tsSec * 1e6 + p.raw.tsNsec / 1e3;
    const depth = outer.vxlan.depth + 1;
    const eth = p.layers.find((l) => l.type === 'eth' && l.depth === depth);
    s.mac = eth?.type === 'eth' && !isGroupMac(eth.src) ? eth.src : -1;
    s.ip = innerSourceIp(p, depth);
    this.addSample(s, node);
  }

  /** A packet of an underlay capture as a sample: undefined when it is not VXLAN. */
  addSample(s: TopologySample | undefined, node?: string): void {
    this.packets += 1;
    if (s === undefined) return;
    this.vxlanPackets += 1;
    const { src, dst, vni, bytes, ip, mac } = s;
    let v = this.lastKey === src ? this.lastVtep : this.vteps.get(src);
    if (!v) {
      v = {
        seenBy: new Set(),
        vnis: new Map(),
        ports: new Set(),
        peers: new Set(),
        packets: 0,
        bytes: 0,
        lastNode: undefined,
        lastPort: -1,
        lastPeer: undefined,
        lastVni: -1,
        lastRow: undefined,
      };
      this.vteps.set(src, v);
    }
    this.lastKey = src;
    this.lastVtep = v;
    if (node !== undefined && node !== v.lastNode) {
      v.seenBy.add(node);
      v.lastNode = node;
    }
    if (s.port !== v.lastPort) {
      v.ports.add(s.port);
      v.lastPort = s.port;
    }
    if (dst !== v.lastPeer && v.peers.size < MAX_ADDRESSES) {
      v.peers.add(dst);
      if (v.peers.has(dst)) v.lastPeer = dst;
    }
    v.packets += 1;
    v.bytes += bytes;
    let row = v.lastVni === vni ? v.lastRow : v.vnis.get(vni);
    if (!row) v.vnis.set(vni, (row = { packets: 0, bytes: 0, macs: new Set(), ips: new Set() }));
    v.lastVni = vni;
    v.lastRow = row;
    row.packets += 1;
    row.bytes += bytes;
    if (ip !== undefined) addCapped(row.ips, ip);
    if (mac < 0) return;
    addCapped(row.macs, mac);
    const ts = s.tsUs;
    let byMac = this.fdbVni === vni ? this.fdbByMac : this.fdb.get(vni);
    if (!byMac) this.fdb.set(vni, (byMac = new Map()));
    this.fdbVni = vni;
    this.fdbByMac = byMac;
    let f = byMac.get(mac);
    if (!f) {
      if (this.fdbList.length >= MAX_FDB) return;
      byMac.set(mac, (f = { mac, vtep: src, vni, ips: new Set(), packets: 0, firstTsUs: ts, lastTsUs: ts }));
      this.fdbList.push(f);
    }
    f.vtep = src; // a MAC that moved: the latest VTEP wins, as in a learning bridge
    f.packets += 1;
    f.lastTsUs = Math.max(f.lastTsUs, ts);
    if (ip !== undefined) addCapped(f.ips, ip);
  }

  result(): Topology {
    return {
      vteps: [...this.vteps.entries()]
        .map(([k, v]) => [addressText(k), v] as const)
        .sort((a, b) => ipOrder(a[0], b[0]))
        .map(([ip, v]) => ({
          ip,
          seenBy: [...v.seenBy].sort(),
          vnis: [...v.vnis.entries()]
            .sort((a, b) => a[0] - b[0])
            .map(([vni, r]) => ({
              vni,
              packets: r.packets,
              bytes: r.bytes,
              macs: [...r.macs].map(formatMac).sort(),
              ips: texts(r.ips).sort(ipOrder),
            })),
          ports: [...v.ports].sort((a, b) => a - b),
          peers: texts(v.peers).sort(ipOrder),
          packets: v.packets,
          bytes: v.bytes,
        })),
      fdb: this.fdbList
        .map((f) => ({ f, vtep: addressText(f.vtep) }))
        .sort((a, b) => ipOrder(a.vtep, b.vtep) || a.f.vni - b.f.vni || a.f.mac - b.f.mac)
        .map(({ f, vtep }) => ({
          mac: formatMac(f.mac),
          vtep,
          vni: f.vni,
          ips: texts(f.ips).sort(ipOrder),
          packets: f.packets,
          firstTsUs: f.firstTsUs,
          lastTsUs: f.lastTsUs,
        })),
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
