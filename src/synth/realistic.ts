/**
 * Realistic underlay traffic for the benchmark (`npm run bench`) and the stats property test:
 * unlike the class scenario repeated, every flow table grows. Fixed seed, so the same call
 * writes the same bytes.
 *
 * The mix, as captured on an underlay interface of a 4-VTEP VXLAN overlay:
 *  - 80 % VXLAN (UDP 4789) between 4 VTEPs (192.168.100.11–14), VNIs 10, 20, 30 and 40; 64
 *    inner MACs (16 per VNI, 4 behind each VTEP), each with an IPv4 and an IPv6 address;
 *    tens of thousands of inner flows (distinct addresses, ports, protocols): TCP (data one
 *    way, ACKs back), UDP, ICMP echo, ARP, IPv6 (TCP, UDP, ICMPv6 echo), and the guests of
 *    VNI 40 tag their frames with 802.1Q (VLAN 40). Inner frames are 60 to 1434 bytes (short
 *    ones padded to 60, as a NIC does). Flow popularity is skewed: a few heavy flows, a long tail.
 *  - 20 % plain underlay traffic: SSH between an admin host and the VTEPs, DNS and NTP, pings,
 *    ARP between the VTEPs, and some IPv6 (UDP between link-local addresses).
 * Timestamps advance by a random 1–99 µs per packet (microsecond pcap, Ethernet).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { PcapWriter } from '../decode/file/writer.js';
import * as f from './frames.js';

export interface RealisticOptions {
  /** Packets to make. */
  packets: number;
  /** Default 13 (the benchmark's). */
  seed?: number;
  /** Distinct inner flows to draw from (default 40,000). */
  flows?: number;
}

export interface RealisticFrame {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
}

/** mulberry32: a small seeded PRNG (32-bit state), uniform in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VNIS = [10, 20, 30, 40] as const;
const VTEPS = [11, 12, 13, 14].map((n) => ({ ip: `192.168.100.${n}`, mac: `52:54:00:64:00:${n.toString(16).padStart(2, '0')}` }));
const ADMIN = { ip: '192.168.100.2', mac: '52:54:00:64:00:02' };
const GATEWAY = { ip: '192.168.100.1', mac: '52:54:00:64:00:01' };
const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const TAGGED_VNI = 40;

interface Guest {
  mac: string;
  ip: string;
  ip6: string;
  vtep: number;
  vni: number;
}

/** Inner MAC m (0..63): behind VTEP m % 4, in VNI VNIS[(m >> 2) & 3]. */
function guests(): Guest[] {
  return Array.from({ length: 64 }, (_, m) => {
    const vni = VNIS[(m >> 2) & 3] as number;
    return {
      mac: `02:42:ac:${vni.toString(16).padStart(2, '0')}:00:${m.toString(16).padStart(2, '0')}`,
      ip: `172.16.${vni}.${m + 10}`,
      ip6: `fd00:0:0:${vni.toString(16)}::${(m + 10).toString(16)}`,
      vtep: m % 4,
      vni,
    };
  });
}

enum Kind {
  Tcp,
  Udp,
  Icmp,
  Arp,
  Tcp6,
  Udp6,
  Icmp6,
}

interface Flow {
  kind: Kind;
  a: Guest;
  b: Guest;
  sport: number;
  dport: number;
}

const SERVER_PORTS = [80, 443, 5201, 22, 8080, 3306, 5432, 6379, 53, 123];

function makeFlows(rand: () => number, count: number, gs: Guest[]): Flow[] {
  const flows: Flow[] = [];
  for (let i = 0; i < count; i++) {
    const a = gs[Math.floor(rand() * gs.length)] as Guest;
    // A peer in the same VNI behind another VTEP (a tunnelled conversation).
    const peers = gs.filter((g) => g.vni === a.vni && g.vtep !== a.vtep);
    const b = peers[Math.floor(rand() * peers.length)] as Guest;
    const r = rand();
    const kind =
      r < 0.5
        ? Kind.Tcp
        : r < 0.68
          ? Kind.Udp
          : r < 0.76
            ? Kind.Icmp
            : r < 0.8
              ? Kind.Arp
              : r < 0.9
                ? Kind.Tcp6
                : r < 0.96
                  ? Kind.Udp6
                  : Kind.Icmp6;
    flows.push({
      kind,
      a,
      b,
      sport: 32768 + Math.floor(rand() * 28232),
      dport: SERVER_PORTS[Math.floor(rand() * SERVER_PORTS.length)] as number,
    });
  }
  return flows;
}

/** Pads a frame to the 60-byte Ethernet minimum (without FCS), as a NIC does. */
function pad60(frame: Uint8Array): Uint8Array {
  if (frame.length >= 60) return frame;
  const out = new Uint8Array(60);
  out.set(frame);
  return out;
}

/** An inner Ethernet frame of a guest, 802.1Q-tagged in the tagged VNI. */
function innerEth(dst: string, src: Guest, ethertype: number, payload: Uint8Array): Uint8Array {
  if (src.vni === TAGGED_VNI) return pad60(f.ethernet(dst, src.mac, 0x8100, f.vlanTag(TAGGED_VNI, ethertype, payload)));
  return pad60(f.ethernet(dst, src.mac, ethertype, payload));
}

/** Payload bytes for a frame of `frameLength` bytes after `headers` bytes of headers. */
function payload(frameLength: number, headers: number): Uint8Array {
  return new Uint8Array(Math.max(0, frameLength - headers));
}

/** One inner frame of a flow; `reverse` for the answer direction. */
function innerFrame(rand: () => number, fl: Flow, reverse: boolean): Uint8Array {
  const s = reverse ? fl.b : fl.a;
  const d = reverse ? fl.a : fl.b;
  const tag = s.vni === TAGGED_VNI ? 4 : 0;
  const sport = reverse ? fl.dport : fl.sport;
  const dport = reverse ? fl.sport : fl.dport;
  switch (fl.kind) {
    case Kind.Tcp: {
      // Data one way (mostly full-sized), bare ACKs back.
      const size = reverse ? 0 : rand() < 0.7 ? 1434 : 60 + Math.floor(rand() * 1375);
      const seg = f.tcp(
        { srcPort: sport, dstPort: dport, flags: reverse ? 0x10 : 0x18, seq: Math.floor(rand() * 2 ** 32) },
        payload(size, 14 + tag + 40),
      );
      return innerEth(d.mac, s, 0x0800, f.ipv4({ src: s.ip, dst: d.ip, proto: 6 }, seg));
    }
    case Kind.Udp: {
      const size = 60 + Math.floor(rand() * 1375);
      return innerEth(d.mac, s, 0x0800, f.ipv4({ src: s.ip, dst: d.ip, proto: 17 }, f.udp(sport, dport, payload(size, 14 + tag + 28))));
    }
    case Kind.Icmp:
      return innerEth(
        d.mac,
        s,
        0x0800,
        f.ipv4({ src: s.ip, dst: d.ip, proto: 1 }, f.icmpEcho(reverse ? 0 : 8, fl.sport, Math.floor(rand() * 65536), new Uint8Array(56))),
      );
    case Kind.Arp:
      return reverse
        ? innerEth(d.mac, s, 0x0806, f.arpRequest(s.mac, s.ip, d.ip, 2, d.mac))
        : innerEth(BROADCAST, s, 0x0806, f.arpRequest(s.mac, s.ip, d.ip));
    case Kind.Tcp6: {
      const size = reverse ? 0 : rand() < 0.6 ? 1434 : 74 + Math.floor(rand() * 1361);
      const seg = f.tcp({ srcPort: sport, dstPort: dport, flags: reverse ? 0x10 : 0x18 }, payload(size, 14 + tag + 60));
      return innerEth(d.mac, s, 0x86dd, f.ipv6({ src: s.ip6, dst: d.ip6, nextHeader: 6 }, seg));
    }
    case Kind.Udp6: {
      const size = 62 + Math.floor(rand() * 1373);
      return innerEth(
        d.mac,
        s,
        0x86dd,
        f.ipv6({ src: s.ip6, dst: d.ip6, nextHeader: 17 }, f.udp(sport, dport, payload(size, 14 + tag + 48))),
      );
    }
    case Kind.Icmp6: {
      const echo = f.concat(Uint8Array.from([reverse ? 129 : 128, 0, 0, 0, fl.sport >> 8, fl.sport & 0xff, 0, 1]), new Uint8Array(56));
      return innerEth(d.mac, s, 0x86dd, f.ipv6({ src: s.ip6, dst: d.ip6, nextHeader: 58 }, echo));
    }
  }
}

/** A UDP source port from the inner frame's headers (Linux spreads VXLAN over 32768–60999 this way). */
function entropyPort(inner: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < Math.min(inner.length, 42); i++) h = Math.imul(h ^ (inner[i] as number), 16777619);
  return 32768 + ((h >>> 0) % 28232);
}

/** One plain underlay frame (no tunnel). */
function underlayFrame(rand: () => number): Uint8Array {
  const r = rand();
  const v = VTEPS[Math.floor(rand() * VTEPS.length)] as (typeof VTEPS)[number];
  if (r < 0.55) {
    // SSH sessions between the admin host and each VTEP, both ways.
    const toVtep = rand() < 0.5;
    const size = toVtep ? 66 + Math.floor(rand() * 100) : 66 + Math.floor(rand() * 1400);
    const sport = 40000 + Math.floor(rand() * 8);
    const seg = f.tcp({ srcPort: toVtep ? sport : 22, dstPort: toVtep ? 22 : sport, flags: 0x18 }, payload(size, 54));
    return toVtep
      ? f.ethernet(v.mac, ADMIN.mac, 0x0800, f.ipv4({ src: ADMIN.ip, dst: v.ip, proto: 6 }, seg))
      : f.ethernet(ADMIN.mac, v.mac, 0x0800, f.ipv4({ src: v.ip, dst: ADMIN.ip, proto: 6 }, seg));
  }
  if (r < 0.7) {
    const ntp = rand() < 0.3;
    const port = ntp ? 123 : 53;
    const sport = 30000 + Math.floor(rand() * 30000);
    return pad60(
      f.ethernet(
        GATEWAY.mac,
        v.mac,
        0x0800,
        f.ipv4({ src: v.ip, dst: GATEWAY.ip, proto: 17 }, f.udp(sport, port, payload(ntp ? 48 : 40 + Math.floor(rand() * 60), 0))),
      ),
    );
  }
  if (r < 0.82) {
    const w = VTEPS[Math.floor(rand() * VTEPS.length)] as (typeof VTEPS)[number];
    return f.ethernet(
      w.mac,
      v.mac,
      0x0800,
      f.ipv4({ src: v.ip, dst: w.ip, proto: 1 }, f.icmpEcho(8, 7, Math.floor(rand() * 65536), new Uint8Array(56))),
    );
  }
  if (r < 0.92) {
    const w = VTEPS[Math.floor(rand() * VTEPS.length)] as (typeof VTEPS)[number];
    return pad60(f.ethernet(BROADCAST, v.mac, 0x0806, f.arpRequest(v.mac, v.ip, w.ip)));
  }
  const n = Math.floor(rand() * 4) + 11;
  return f.ethernet(
    '33:33:00:00:00:fb',
    v.mac,
    0x86dd,
    f.ipv6(
      { src: `fe80::5054:ff:fe64:${n.toString(16)}`, dst: 'ff02::fb', nextHeader: 17, hopLimit: 255 },
      f.udp(5353, 5353, payload(40 + Math.floor(rand() * 200), 0)),
    ),
  );
}

/** The frames, one at a time (nothing is kept between them but the flow list). */
export function* realisticFrames(opts: RealisticOptions): Generator<RealisticFrame> {
  const rand = prng(opts.seed ?? 13);
  const gs = guests();
  const flows = makeFlows(rand, opts.flows ?? 40_000, gs);
  let us = 0;
  const start = 1_764_200_000;
  for (let i = 0; i < opts.packets; i++) {
    us += 1 + Math.floor(rand() * 99);
    const tsSec = start + Math.floor(us / 1e6);
    const tsNsec = (us % 1e6) * 1000;
    if (rand() < 0.2) {
      yield { tsSec, tsNsec, data: underlayFrame(rand) };
      continue;
    }
    // Skewed popularity: flow index u^2 * count (flow 0 the heaviest).
    const u = rand();
    const fl = flows[Math.floor(u * u * flows.length)] as Flow;
    const reverse = rand() < (fl.kind === Kind.Tcp || fl.kind === Kind.Tcp6 ? 0.3 : 0.5);
    const inner = innerFrame(rand, fl, reverse);
    const from = VTEPS[(reverse ? fl.b : fl.a).vtep] as (typeof VTEPS)[number];
    const to = VTEPS[(reverse ? fl.a : fl.b).vtep] as (typeof VTEPS)[number];
    const vni = (reverse ? fl.b : fl.a).vni;
    yield {
      tsSec,
      tsNsec,
      data: f.vxlanPacket(inner, {
        outerSrcMac: from.mac,
        outerDstMac: to.mac,
        outerSrc: from.ip,
        outerDst: to.ip,
        srcPort: entropyPort(inner),
        vni,
      }),
    };
  }
}

/** Writes `opts.packets` realistic packets to a classic pcap file at `path`, streaming (bounded memory). */
export async function writeRealisticPcap(path: string, opts: RealisticOptions): Promise<{ packets: number; bytes: number }> {
  const w = new PcapWriter({ snaplen: 262144 });
  const out = createWriteStream(path);
  const failed = new Promise<never>((_, reject) => out.once('error', (e) => reject(new Error(`cannot write ${path}: ${e.message}`))));
  failed.catch(() => undefined);
  let bytes = 0;
  let batch: Uint8Array[] = [];
  const flush = async (): Promise<void> => {
    const chunk = Buffer.concat(batch);
    batch = [];
    bytes += chunk.length;
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  };
  batch.push(w.header());
  let packets = 0;
  for (const fr of realisticFrames(opts)) {
    batch.push(w.record(fr));
    packets++;
    if (batch.length === 4096) await flush();
  }
  await flush();
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return { packets, bytes };
}
