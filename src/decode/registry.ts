/**
 * Dispatch tables as data: link type, EtherType, IP protocol and UDP port → decoder.
 * Like Wireshark's `dissector_add_uint("udp.port", 4789, …)` and "Decode As", a table
 * entry can be added or overridden (`register`) — `--vxlan-port` is exactly that.
 */
import type { DispatchTable, LayerDecoder } from './layer.js';
import { ethernet } from './layers/ethernet.js';
import { VLAN_TPIDS, vlanDecoder } from './layers/vlan.js';
import { sll, sll2 } from './layers/sll.js';
import { loopbackLoop, loopbackNull, rawFixed, rawIp } from './layers/loopback.js';
import { arp } from './layers/arp.js';
import { ipv4 } from './layers/ipv4.js';
import { ipv6 } from './layers/ipv6.js';
import { udp } from './layers/udp.js';
import { tcp } from './layers/tcp.js';
import { icmp } from './layers/icmp.js';
import { icmpv6 } from './layers/icmpv6.js';
import { VXLAN_PORTS, vxlan } from './layers/vxlan.js';
import { GENEVE_PORT, geneve } from './layers/geneve.js';
import { VXLAN_GPE_PORT, vxlanGpe } from './layers/vxlan-gpe.js';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Keys below this are also kept in a plain array per table: the lookup of every layer of every packet is an index. */
const DIRECT_KEYS = 0x10000;

export class DecoderRegistry {
  private readonly tables: Record<DispatchTable, Map<number, LayerDecoder>>;
  // The same entries (keys below DIRECT_KEYS) as arrays, grown to the largest key registered.
  private readonly link: (LayerDecoder | undefined)[] = [];
  private readonly ethertype: (LayerDecoder | undefined)[] = [];
  private readonly ipproto: (LayerDecoder | undefined)[] = [];
  private readonly udp: (LayerDecoder | undefined)[] = [];

  constructor(tables?: Record<DispatchTable, Map<number, LayerDecoder>>) {
    this.tables = tables ?? { link: new Map(), ethertype: new Map(), ipproto: new Map(), udp: new Map() };
    for (const table of ['link', 'ethertype', 'ipproto', 'udp'] as const)
      for (const [key, d] of this.tables[table]) this.setDirect(table, key, d);
  }

  /** Adds or replaces the decoder for `key` in `table`. */
  register(table: DispatchTable, key: number, decoder: LayerDecoder): this {
    this.tables[table].set(key, decoder);
    this.setDirect(table, key, decoder);
    return this;
  }

  unregister(table: DispatchTable, key: number): this {
    this.tables[table].delete(key);
    this.setDirect(table, key, undefined);
    return this;
  }

  lookup(table: DispatchTable, key: number): LayerDecoder | undefined {
    if (key >= 0 && key < DIRECT_KEYS && Number.isInteger(key)) {
      const direct = table === 'udp' ? this.udp : table === 'ethertype' ? this.ethertype : table === 'ipproto' ? this.ipproto : this.link;
      return key < direct.length ? direct[key] : undefined;
    }
    return this.tables[table].get(key);
  }

  private setDirect(table: DispatchTable, key: number, decoder: LayerDecoder | undefined): void {
    if (!(key >= 0 && key < DIRECT_KEYS && Number.isInteger(key))) return;
    const direct = this[table];
    while (direct.length <= key) direct.push(undefined);
    direct[key] = decoder;
  }

  /** Ports (or other keys) currently mapped to a decoder of this name, e.g. `keysOf('udp', 'vxlan')`. */
  keysOf(table: DispatchTable, name: string): number[] {
    const keys: number[] = [];
    for (const [key, d] of this.tables[table]) if (d.name === name) keys.push(key);
    return keys.sort((a, b) => a - b);
  }

  clone(): DecoderRegistry {
    return new DecoderRegistry({
      link: new Map(this.tables.link),
      ethertype: new Map(this.tables.ethertype),
      ipproto: new Map(this.tables.ipproto),
      udp: new Map(this.tables.udp),
    });
  }
}

export interface RegistryOptions {
  /** Extra UDP ports to decode as VXLAN (besides 4789 and 8472), like `--vxlan-port`. */
  vxlanPorts?: readonly number[];
}

function buildDefault(): DecoderRegistry {
  const r = new DecoderRegistry();
  r.register('link', LINKTYPE.ETHERNET, ethernet)
    .register('link', LINKTYPE.LINUX_SLL, sll)
    .register('link', LINKTYPE.LINUX_SLL2, sll2)
    .register('link', LINKTYPE.NULL, loopbackNull)
    .register('link', LINKTYPE.LOOP, loopbackLoop)
    .register('link', LINKTYPE.RAW, rawIp)
    .register('link', 12, rawIp) // LINKTYPE 12 is raw IP on some BSDs
    .register('link', LINKTYPE.IPV4, rawFixed(0x0800))
    .register('link', LINKTYPE.IPV6, rawFixed(0x86dd));
  for (const tpid of VLAN_TPIDS) r.register('ethertype', tpid, vlanDecoder(tpid));
  r.register('ethertype', 0x0800, ipv4).register('ethertype', 0x86dd, ipv6).register('ethertype', 0x0806, arp);
  r.register('ethertype', 0x6558, ethernet); // transparent Ethernet bridging (e.g. inside GENEVE/GRE)
  r.register('ipproto', 1, icmp)
    .register('ipproto', 6, tcp)
    .register('ipproto', 17, udp)
    .register('ipproto', 58, icmpv6)
    .register('ipproto', 4, ipv4) // IP in IP
    .register('ipproto', 41, ipv6); // IPv6 in IP
  for (const port of VXLAN_PORTS) r.register('udp', port, vxlan);
  r.register('udp', GENEVE_PORT, geneve).register('udp', VXLAN_GPE_PORT, vxlanGpe);
  return r;
}

const DEFAULT = buildDefault();

/** The default tables, plus any extra VXLAN ports. Each call returns a fresh registry. */
export function createRegistry(options: RegistryOptions = {}): DecoderRegistry {
  const r = DEFAULT.clone();
  for (const port of options.vxlanPorts ?? []) r.register('udp', port, vxlan);
  return r;
}

/** A shared read-only default (do not register on it: use createRegistry). */
export function defaultRegistry(): DecoderRegistry {
  return DEFAULT;
}
