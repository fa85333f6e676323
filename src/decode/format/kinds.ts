/**
 * A packet's layer types as small integers, read once per layer for the writers.
 *
 * Why: each layer type is its own object shape, so a property read that sees every layer
 * (`l.type`, `l.depth`, `l.offset` in a loop or a shared helper) is megamorphic — a hash
 * lookup per read. The profile of `decode` showed the line writers spending a third of their
 * time on such reads. Here `type` is read once per layer; the writers then switch on the
 * number and read each layer's fields inside the case, where only one shape is ever seen.
 */
import type { Layer } from '../types.js';

export const KIND_ETH = 0;
export const KIND_VLAN = 1;
export const KIND_SLL = 2;
export const KIND_LOOPBACK = 3;
export const KIND_ARP = 4;
export const KIND_IPV4 = 5;
export const KIND_IPV6 = 6;
export const KIND_UDP = 7;
export const KIND_TCP = 8;
export const KIND_ICMP = 9;
export const KIND_ICMPV6 = 10;
export const KIND_VXLAN = 11;
export const KIND_GENEVE = 12;
export const KIND_GPE = 13;

/** The kind of one layer (KIND_*). */
export function kindOf(l: Layer): number {
  switch (l.type) {
    case 'eth':
      return KIND_ETH;
    case 'vlan':
      return KIND_VLAN;
    case 'sll':
      return KIND_SLL;
    case 'loopback':
      return KIND_LOOPBACK;
    case 'arp':
      return KIND_ARP;
    case 'ipv4':
      return KIND_IPV4;
    case 'ipv6':
      return KIND_IPV6;
    case 'udp':
      return KIND_UDP;
    case 'tcp':
      return KIND_TCP;
    case 'icmp':
      return KIND_ICMP;
    case 'icmpv6':
      return KIND_ICMPV6;
    case 'vxlan':
      return KIND_VXLAN;
    case 'geneve':
      return KIND_GENEVE;
    case 'vxlan-gpe':
      return KIND_GPE;
  }
}

/**
 * The kinds and tunnel depths of one packet's layers, in reused arrays (one instance per
 * writer module: the writers are synchronous and finish with a packet before the next).
 */
export class LayerKinds {
  kinds = new Uint8Array(64);
  depths = new Int32Array(64);
  count = 0;

  read(layers: readonly Layer[]): this {
    const n = layers.length;
    if (n > this.kinds.length) {
      this.kinds = new Uint8Array(n * 2);
      this.depths = new Int32Array(n * 2);
    }
    const kinds = this.kinds;
    const depths = this.depths;
    for (let i = 0; i < n; i++) {
      const l = layers[i] as Layer;
      const k = kindOf(l);
      kinds[i] = k;
      // depth read where the shape is known (one site per kind): see the module comment
      switch (k) {
        case KIND_ETH:
          depths[i] = (l as Extract<Layer, { type: 'eth' }>).depth;
          break;
        case KIND_VLAN:
          depths[i] = (l as Extract<Layer, { type: 'vlan' }>).depth;
          break;
        case KIND_IPV4:
          depths[i] = (l as Extract<Layer, { type: 'ipv4' }>).depth;
          break;
        case KIND_IPV6:
          depths[i] = (l as Extract<Layer, { type: 'ipv6' }>).depth;
          break;
        case KIND_UDP:
          depths[i] = (l as Extract<Layer, { type: 'udp' }>).depth;
          break;
        case KIND_TCP:
          depths[i] = (l as Extract<Layer, { type: 'tcp' }>).depth;
          break;
        case KIND_VXLAN:
          depths[i] = (l as Extract<Layer, { type: 'vxlan' }>).depth;
          break;
        default:
          depths[i] = l.depth;
      }
    }
    this.count = n;
    return this;
  }
}
