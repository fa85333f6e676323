/**
 * The counting path's decoder: reads the headers `stats` needs straight from the captured bytes
 * into a reused PacketFacts, without a layer object (nor any other allocation) per packet.
 *
 * It knows the shapes that make up nearly all traffic — Ethernet or Linux cooked (SLL, SLL2),
 * 802.1Q/802.1ad tags, IPv4, IPv6 without extension headers, ARP, TCP, UDP, ICMP, ICMPv6, and one
 * VXLAN tunnel around the same — and follows the full decoder's rules for them exactly (the
 * same bounds, lengths and dispatch tables). Anything else returns false and the caller decodes
 * that packet with the full decoder (decodePacket): IP fragments and options the full decoder
 * warns about, IPv6 extension headers, GENEVE and VXLAN-GPE, nested tunnels, IP in IP, a
 * VXLAN header with flags other than I, a header cut short by the snaplen or malformed, other
 * link types. So a fast answer is always the full decoder's answer, and an unusual packet costs
 * what it costs today.
 */
import { createRegistry, defaultRegistry, type DecoderRegistry } from '../decode/registry.js';
import type { RawPacket } from '../decode/types.js';
import {
  BIT_ARP,
  BIT_ETH,
  BIT_ICMP,
  BIT_ICMPV6,
  BIT_IPV4,
  BIT_IPV6,
  BIT_SLL,
  BIT_TCP,
  BIT_UDP,
  BIT_VLAN,
  BIT_VXLAN,
  TRANSPORT_TCP,
  TRANSPORT_UDP,
  TUNNEL_VXLAN,
  UNDERLAY_LINK_BYTES,
  type PacketFacts,
} from './facts.js';

/** UDP port → what the registry decodes there: 0 nothing, 1 VXLAN, 2 something this path leaves to the full decoder. */
type PortTable = Uint8Array;
const portTables = new Map<string, { ports: PortTable; registry: DecoderRegistry }>();

/**
 * The registry's UDP table as one byte per port, and the registry (both cached per set of extra
 * VXLAN ports: making a registry fills its 64K-entry dispatch arrays, and `stats` on worker
 * threads asks once per batch).
 */
export function udpPortTable(vxlanPorts: readonly number[]): { ports: PortTable; registry: DecoderRegistry } {
  const key = [...vxlanPorts].sort((a, b) => a - b).join(',');
  let cached = portTables.get(key);
  if (cached === undefined) {
    const registry = vxlanPorts.length === 0 ? defaultRegistry() : createRegistry({ vxlanPorts });
    const ports = new Uint8Array(65536);
    for (let p = 0; p < 65536; p++) {
      const d = registry.lookup('udp', p);
      if (d !== undefined) ports[p] = d.name === 'vxlan' ? 1 : 2;
    }
    cached = { ports, registry };
    portTables.set(key, cached);
  }
  return cached;
}

/** VLAN tags followed at most before handing the packet to the full decoder. */
const MAX_TAGS = 8;

/**
 * Reads `raw` into `f` when its shape is one this path knows; false (f then unspecified) when
 * the full decoder must do it. `bytes` is a view over raw.data's whole buffer (see bufferView).
 */
export function readFacts(raw: RawPacket, bytes: Uint8Array, ports: PortTable, f: PacketFacts): boolean {
  const data = raw.data;
  const dv = dataViewOf(bytes);
  const known = readFactsAt(
    bytes,
    dv,
    data.byteOffset - bytes.byteOffset,
    data.length,
    raw.len,
    raw.tsSec,
    raw.tsNsec,
    raw.linkType,
    ports,
    f,
  );
  f.caplen = raw.caplen; // the record's, as counted (`data` is never shorter in a packet a reader made)
  return known;
}

/**
 * The DataView of the last `bytes` readFacts was given: callers hand one view per buffer (see
 * BufferView), so one is made per chunk. It keeps that buffer alive until the next call with
 * another, as each caller's BufferView does.
 */
let lastBytes: Uint8Array | undefined;
let lastView: DataView = new DataView(new ArrayBuffer(0));

function dataViewOf(bytes: Uint8Array): DataView {
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView;
}

/**
 * Reads the frame of `caplen` bytes at `base` in `bytes` into `f`, as readFacts (which calls it)
 * does for a RawPacket: for a record read without one (RecordView: a chunk and an offset, no
 * view per packet). `dv` is a DataView over the same bytes as `bytes` (one per chunk): 16- and
 * 32-bit fields are read with it, one load each instead of two or four byte loads. Every read is
 * within the `caplen` bytes at `base` (checked before it, as the full decoder checks).
 */
export function readFactsAt(
  bytes: Uint8Array,
  dv: DataView,
  base: number,
  caplen: number,
  len: number,
  tsSec: number,
  tsNsec: number,
  linkType: number,
  ports: PortTable,
  f: PacketFacts,
): boolean {
  const b = bytes;
  // Offsets below are from the frame's start; `base +` indexes the buffer.
  let capEnd = caplen;
  let wireEnd = len > caplen ? len : caplen;
  f.reset();
  f.len = len;
  f.caplen = caplen;
  f.ts = tsSec + tsNsec / 1e9;
  f.linkType = linkType;
  let seen = 0;
  let off: number;
  let et: number;
  let linkAdjust: number;
  if (linkType === 1) {
    if (14 > capEnd) return false;
    const at = base;
    f.hasEth = true;
    f.ethDst = dv.getUint16(at) * 0x100000000 + dv.getUint32(at + 2);
    f.ethSrc = dv.getUint16(at + 6) * 0x100000000 + dv.getUint32(at + 8);
    et = dv.getUint16(at + 12);
    f.ethType = et;
    if (et < 0x0600) return false; // 802.3 length: left to the full decoder
    seen = BIT_ETH;
    off = 14;
    linkAdjust = 0;
  } else if (linkType === 276) {
    if (20 > capEnd) return false;
    et = dv.getUint16(base);
    seen = BIT_SLL;
    off = 20;
    linkAdjust = UNDERLAY_LINK_BYTES - 20;
  } else if (linkType === 113) {
    if (16 > capEnd) return false;
    et = dv.getUint16(base + 14);
    seen = BIT_SLL;
    off = 16;
    linkAdjust = UNDERLAY_LINK_BYTES - 16;
  } else {
    return false;
  }
  let depth = 0;
  let outer6At = -1;
  for (;;) {
    // EtherType dispatch (with any VLAN tags first).
    let tags = 0;
    while (et === 0x8100 || et === 0x88a8 || et === 0x9100 || et === 0x9200) {
      if (++tags > MAX_TAGS || off + 4 > capEnd) return false;
      seen |= BIT_VLAN;
      et = dv.getUint16(base + off + 2);
      off += 4;
    }
    let proto: number;
    if (et === 0x0800) {
      if (off + 20 > capEnd) return false;
      const at = base + off;
      const b0 = b[at] as number;
      if (b0 >>> 4 !== 4) return false;
      const ihl = (b0 & 0x0f) * 4;
      if (ihl < 20 || off + ihl > capEnd) return false;
      const total = dv.getUint16(at + 2);
      if (total < ihl || off + total > wireEnd) return false; // total 0 (GSO) included: a warning, left to the full decoder
      if ((((b[at + 6] as number) << 8) & 0x3f00) !== 0 || (b[at + 7] as number) !== 0) return false; // a fragment
      proto = b[at + 9] as number;
      seen |= BIT_IPV4;
      if (f.ipVersion === 0) {
        f.ipVersion = 4;
        f.ipSrc = dv.getUint32(at + 12);
        f.ipDst = dv.getUint32(at + 16);
        f.ipProto = proto;
      }
      wireEnd = off + total;
      if (wireEnd < capEnd) capEnd = wireEnd;
      off += ihl;
    } else if (et === 0x86dd) {
      if (off + 40 > capEnd) return false;
      const at = base + off;
      if ((b[at] as number) >>> 4 !== 6) return false;
      const payload = dv.getUint16(at + 4);
      proto = b[at + 6] as number;
      if (proto === 0 || proto === 43 || proto === 44 || proto === 60 || proto === 51) return false; // extension headers
      if (payload === 0 || off + 40 + payload > wireEnd) return false;
      seen |= BIT_IPV6;
      if (f.ipVersion === 0) {
        f.ipVersion = 6;
        const w = f.ip6;
        for (let i = 0; i < 4; i++) {
          w[i] = dv.getInt32(at + 8 + i * 4);
          w[i + 4] = dv.getInt32(at + 24 + i * 4);
        }
        f.ipProto = proto;
      }
      if (depth === 0) outer6At = off;
      wireEnd = off + 40 + payload;
      if (wireEnd < capEnd) capEnd = wireEnd;
      off += 40;
      if (proto === 59) break; // no next header
    } else if (et === 0x0806) {
      if (off + 8 > capEnd) return false;
      const at = base + off;
      if (off + 8 + 2 * ((b[at + 4] as number) + (b[at + 5] as number)) > capEnd) return false;
      seen |= BIT_ARP;
      if (f.other === 0) f.other = BIT_ARP;
      break;
    } else if (et === 0x6558) {
      return false; // Ethernet in Ethernet
    } else {
      break; // no decoder for this EtherType: the walk ends here, as in the full decoder
    }
    // IP protocol dispatch.
    if (proto === 6) {
      if (off + 20 > capEnd) return false;
      const at = base + off;
      const dataOffset = ((b[at + 12] as number) >>> 4) * 4;
      if (dataOffset < 20 || off + dataOffset > capEnd) return false;
      seen |= BIT_TCP;
      if (f.transport === 0) {
        f.transport = TRANSPORT_TCP;
        f.srcPort = dv.getUint16(at);
        f.dstPort = dv.getUint16(at + 2);
      }
      break;
    }
    if (proto === 17) {
      if (off + 8 > capEnd) return false;
      const at = base + off;
      const src = dv.getUint16(at);
      const dst = dv.getUint16(at + 2);
      const length = dv.getUint16(at + 4);
      if (length !== 0) {
        if (length < 8 || length > wireEnd - off) return false;
        wireEnd = off + length;
        if (wireEnd < capEnd) capEnd = wireEnd;
      }
      seen |= BIT_UDP;
      if (f.transport === 0) {
        f.transport = TRANSPORT_UDP;
        f.srcPort = src;
        f.dstPort = dst;
      }
      off += 8;
      const kind = ports[dst] !== 0 ? (ports[dst] as number) : (ports[src] as number);
      if (kind === 0) break;
      if (kind !== 1 || depth !== 0) return false; // GENEVE, VXLAN-GPE, a tunnel in the tunnel
      // VXLAN: the facts of the outer level, then the inner Ethernet frame one level down.
      if (off + 8 > capEnd) return false;
      const v = base + off;
      if ((b[v] as number) !== 0x08) return false; // flags other than I: warnings or GBP
      seen |= BIT_VXLAN;
      f.udpSrc = src;
      f.udpDst = dst;
      f.tunnel = TUNNEL_VXLAN;
      f.vni = dv.getUint32(v + 4) >>> 8;
      f.overhead = off + 8 + linkAdjust;
      f.linkAdjust = linkAdjust;
      if (f.ipVersion === 4) {
        f.outerVersion = 4;
        f.outerSrc = f.ipSrc;
        f.outerDst = f.ipDst;
      } else if (f.ipVersion === 6) {
        f.outerVersion = 6;
        f.outerSrc6 = b.subarray(base + outer6At + 8, base + outer6At + 24);
        f.outerDst6 = b.subarray(base + outer6At + 24, base + outer6At + 40);
      }
      off += 8;
      f.resetFlow();
      depth = 1;
      if (off + 14 > capEnd) return false;
      const e = base + off;
      f.hasEth = true;
      f.ethDst = dv.getUint16(e) * 0x100000000 + dv.getUint32(e + 2);
      f.ethSrc = dv.getUint16(e + 6) * 0x100000000 + dv.getUint32(e + 8);
      f.innerEthSrc = f.ethSrc;
      et = dv.getUint16(e + 12);
      f.ethType = et;
      if (et < 0x0600) return false;
      seen |= BIT_ETH;
      off += 14;
      continue;
    }
    if (proto === 1 || proto === 58) {
      if (off + 4 > capEnd) return false;
      const bit = proto === 1 ? BIT_ICMP : BIT_ICMPV6;
      seen |= bit;
      if (f.other === 0) {
        f.other = bit;
        f.icmpType = b[base + off] as number;
        f.icmpCode = b[base + off + 1] as number;
      }
      break;
    }
    if (proto === 4 || proto === 41) return false; // IP in IP
    break; // no decoder for this protocol
  }
  f.seen = seen;
  return true;
}

/** A Uint8Array over the whole buffer a packet's data is a view into, made once per buffer. */
export class BufferView {
  private buffer: ArrayBufferLike | undefined;
  private view: Uint8Array = new Uint8Array(0);

  of(data: Uint8Array): Uint8Array {
    if (data.buffer !== this.buffer) {
      this.buffer = data.buffer;
      this.view = new Uint8Array(data.buffer);
    }
    return this.view;
  }
}
