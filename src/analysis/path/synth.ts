/**
 * Capture folders of several nodes built from explained bytes, for the path tests: each frame is
 * written where the kernel would show it — the source bridge, the source underlay (in VXLAN),
 * the destination underlay, the destination bridge — at times the test chooses, any sighting
 * left out on purpose, and each node's clock shifted by a known amount if asked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OverlayConfigRecord } from '../../capture/session-file.js';
import { PcapWriter } from '../../decode/file/index.js';
import { internetChecksum, vxlanPacket } from '../../synth/frames.js';

export interface SynthNode {
  name: string;
  vtep: string;
  /** The node's clock is this far ahead of the reference (its timestamps are shifted by it). */
  clockShiftUs?: number;
}

export interface SendOptions {
  /** VXLAN VNI and UDP destination port of the tunnelled copies (default 10, 4789). */
  vni?: number;
  port?: number;
  /** Hop times, µs (default 20, 50, 5). */
  encapUs?: number;
  crossUs?: number;
  decapUs?: number;
  /** The hop after which the frame disappears: not encapsulated, lost on the underlay, not decapsulated. */
  drop?: 'encapsulation' | 'underlay' | 'decapsulation';
  /** The frame starts on the underlay (the VXLAN device's own traffic): no source bridge sighting. */
  fromDevice?: boolean;
  /** The inner frame as the sender's captures show it, when it differs (checksum offload). */
  senderInner?: Uint8Array;
}

interface Rec {
  tsUs: number;
  data: Uint8Array;
}

/** Sets the outer IPv4 id of a VXLAN packet from vxlanPacket and recomputes the header checksum. */
export function withOuterIpId(pkt: Uint8Array, id: number): Uint8Array {
  const out = pkt.slice();
  out[18] = (id >> 8) & 0xff;
  out[19] = id & 0xff;
  out[24] = 0;
  out[25] = 0;
  const ck = internetChecksum(out.subarray(14, 34));
  out[24] = ck >> 8;
  out[25] = ck & 0xff;
  return out;
}

export class PathScenario {
  private readonly recs = new Map<string, Rec[]>();
  private readonly ipIds = new Map<string, number>();

  constructor(readonly nodes: SynthNode[]) {
    for (const n of nodes) {
      this.recs.set(`${n.name}/eth1`, []);
      this.recs.set(`${n.name}/vxlan_bridge`, []);
    }
  }

  private node(name: string): SynthNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  private put(node: string, side: 'eth1' | 'vxlan_bridge', tsUs: number, data: Uint8Array): void {
    (this.recs.get(`${node}/${side}`) as Rec[]).push({ tsUs: tsUs + (this.node(node).clockShiftUs ?? 0), data });
  }

  /** A frame seen on one node's bridge only (traffic that stays on the node, or is never encapsulated). */
  bridge(node: string, inner: Uint8Array, atUs: number): void {
    this.put(node, 'vxlan_bridge', atUs, inner);
  }

  /** A raw packet on a node's underlay. */
  underlay(node: string, pkt: Uint8Array, atUs: number): void {
    this.put(node, 'eth1', atUs, pkt);
  }

  /**
   * A frame leaving `from`'s bridge at `atUs` (reference clock) for each node of `to` (several: a
   * flood, one VXLAN copy per VTEP): returns the outer IP ids used, in `to`'s order.
   */
  send(inner: Uint8Array, atUs: number, from: string, to: string | string[], o: SendOptions = {}): number[] {
    const src = this.node(from);
    const encapUs = o.encapUs ?? 20;
    const crossUs = o.crossUs ?? 50;
    const decapUs = o.decapUs ?? 5;
    const senderInner = o.senderInner ?? inner;
    if (!o.fromDevice) this.put(from, 'vxlan_bridge', atUs, senderInner);
    const ids: number[] = [];
    if (o.drop === 'encapsulation') return ids;
    for (const name of Array.isArray(to) ? to : [to]) {
      const dst = this.node(name);
      const id = (this.ipIds.get(from) ?? 0) + 1;
      this.ipIds.set(from, id);
      ids.push(id);
      const tunnel = { outerSrc: src.vtep, outerDst: dst.vtep, vni: o.vni ?? 10, dstPort: o.port ?? 4789, srcPort: 40000 + (id % 1000) };
      this.put(from, 'eth1', atUs + encapUs, withOuterIpId(vxlanPacket(senderInner, tunnel), id));
      if (o.drop === 'underlay') continue;
      this.put(name, 'eth1', atUs + encapUs + crossUs, withOuterIpId(vxlanPacket(inner, tunnel), id));
      if (o.drop === 'decapsulation') continue;
      this.put(name, 'vxlan_bridge', atUs + encapUs + crossUs + decapUs, inner);
    }
    return ids;
  }

  /**
   * Writes `<node>-eth1.pcap` and `<node>-vxlan_bridge.pcap` per node into `dir`, and a
   * session.json giving each node's clock offset (`offsets`: by node name) and its recorded
   * configuration (`configs`: by node name); none written when both are undefined.
   */
  write(dir: string, offsets?: Record<string, number>, configs?: Record<string, OverlayConfigRecord>): string {
    mkdirSync(dir, { recursive: true });
    const w = new PcapWriter();
    for (const [key, recs] of this.recs) {
      const [node, side] = key.split('/') as [string, string];
      const sorted = [...recs].sort((a, b) => a.tsUs - b.tsUs);
      writeFileSync(
        path.join(dir, `${node}-${side}.pcap`),
        w.file(sorted.map((r) => ({ tsSec: Math.floor(r.tsUs / 1e6), tsNsec: Math.round(r.tsUs % 1e6) * 1000, data: r.data }))),
      );
    }
    if (offsets !== undefined || configs !== undefined) {
      const nodes = this.nodes.map((n) => ({
        name: n.name,
        underlay: `${n.name}-eth1.pcap`,
        overlay: `${n.name}-vxlan_bridge.pcap`,
        clockOffsetUs: offsets?.[n.name] ?? 0,
        ...(configs?.[n.name] ? { config: configs[n.name] } : {}),
      }));
      writeFileSync(path.join(dir, 'session.json'), JSON.stringify({ nodes, vxlanPorts: [] }, null, 2));
    }
    return dir;
  }
}
