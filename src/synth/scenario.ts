/**
 * A synthetic copy of the class's traffic as seen on kvm1: what crosses vxlan_bridge and
 * what leaves/arrives on eth1 encapsulated in VXLAN. Every frame is built from explained
 * values (src/synth/frames.ts); timestamps are fixed so the files are reproducible.
 * Used by the fixture generator, the benchmark and tests that need a matching pair.
 */
import * as f from './frames.js';

export const CLASS = {
  kvm1: { underlay: '10.3.1.156', mac: '52:54:00:0a:01:56', bridge: '10.220.220.201', bridgeMac: '6a:1d:00:00:02:01' },
  kvm2: { underlay: '10.3.1.174', mac: '52:54:00:0a:01:74', bridge: '10.220.220.202', bridgeMac: '6a:1d:00:00:02:02' },
  vm1: { ip: '10.220.220.5', mac: '36:0f:4a:00:00:05' },
  vm2: { ip: '10.220.220.6', mac: '36:0f:4a:00:00:06' },
  vni: 10,
  port: 4789,
} as const;

export interface TimedFrame {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
}

export interface ScenarioCapture {
  /** Frames on kvm1's eth1 (VXLAN between the VTEPs). */
  underlay: TimedFrame[];
  /** Frames on kvm1's vxlan_bridge. */
  overlay: TimedFrame[];
}

const START = 1_764_140_000; // 2025-11-26T06:53:20Z

function at(us: number): { tsSec: number; tsNsec: number } {
  return { tsSec: START + Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 };
}

/** A UDP source port derived from the inner flow, as Linux does for ECMP entropy. */
function entropyPort(inner: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < Math.min(inner.length, 34); i++) h = Math.imul(h ^ (inner[i] as number), 16777619);
  return 32768 + ((h >>> 0) % 28232);
}

function encap(inner: Uint8Array, from: 'kvm1' | 'kvm2'): Uint8Array {
  const a = CLASS[from];
  const b = CLASS[from === 'kvm1' ? 'kvm2' : 'kvm1'];
  return f.vxlanPacket(inner, {
    outerSrcMac: a.mac,
    outerDstMac: b.mac,
    outerSrc: a.underlay,
    outerDst: b.underlay,
    srcPort: entropyPort(inner),
    dstPort: CLASS.port,
    vni: CLASS.vni,
  });
}

function ping(
  src: { ip: string; mac: string },
  dst: { ip: string; mac: string },
  type: 8 | 0,
  seq: number,
  size: number,
  id = 0x1c2b,
): Uint8Array {
  const data = new Uint8Array(Math.max(0, size - 8));
  for (let i = 0; i < data.length; i++) data[i] = (0x10 + i) & 0xff;
  return f.ethernet(
    dst.mac,
    src.mac,
    0x0800,
    f.ipv4({ src: src.ip, dst: dst.ip, proto: 1, id: 0x4000 + seq + (type === 0 ? 0x800 : 0) }, f.icmpEcho(type, id, seq, data)),
  );
}

/**
 * `pings` echo request/reply pairs vm1 → vm2 across the overlay (after one ARP exchange),
 * and `localPings` vm1 → kvm1's bridge address that never leave the node.
 */
export function classScenario(opts: { pings?: number; localPings?: number; payload?: number; intervalUs?: number } = {}): ScenarioCapture {
  const pings = opts.pings ?? 4;
  const localPings = opts.localPings ?? 2;
  const size = opts.payload ?? 64;
  const interval = opts.intervalUs ?? 1_000_000;
  const underlay: TimedFrame[] = [];
  const overlay: TimedFrame[] = [];
  const { vm1, vm2, kvm1 } = CLASS;

  // ARP: vm1 asks for vm2; the bridge floods it to the VXLAN port (head-end replication to kvm2).
  const who = f.ethernet('ff:ff:ff:ff:ff:ff', vm1.mac, 0x0806, f.arpRequest(vm1.mac, vm1.ip, vm2.ip));
  overlay.push({ ...at(1000), data: who });
  underlay.push({ ...at(1021), data: encap(who, 'kvm1') });
  const reply = f.ethernet(vm1.mac, vm2.mac, 0x0806, f.arpRequest(vm2.mac, vm2.ip, vm1.ip, 2, vm1.mac));
  underlay.push({ ...at(1405), data: encap(reply, 'kvm2') });
  overlay.push({ ...at(1419), data: reply });

  for (let i = 0; i < pings; i++) {
    const t = 2000 + i * interval;
    const req = ping(vm1, vm2, 8, i + 1, size);
    overlay.push({ ...at(t), data: req });
    underlay.push({ ...at(t + 18), data: encap(req, 'kvm1') });
    const rep = ping(vm2, vm1, 0, i + 1, size);
    underlay.push({ ...at(t + 402), data: encap(rep, 'kvm2') });
    overlay.push({ ...at(t + 415), data: rep });
  }
  const bridgeHost = { ip: kvm1.bridge, mac: kvm1.bridgeMac };
  for (let i = 0; i < localPings; i++) {
    const t = 500_000 + i * interval;
    overlay.push({ ...at(t), data: ping(vm1, bridgeHost, 8, i + 1, size, 0x2d3c) });
    overlay.push({ ...at(t + 40), data: ping(bridgeHost, vm1, 0, i + 1, size, 0x2d3c) });
  }
  const byTime = (a: TimedFrame, b: TimedFrame) => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec;
  underlay.sort(byTime);
  overlay.sort(byTime);
  return { underlay, overlay };
}
