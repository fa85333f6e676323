/**
 * Traffic seen per VNI, as the dashboard shows it: the kernel's counters of each VXLAN device
 * (read by the class check, src/class/traffic.ts) summed per VNI, and packets per second since
 * the previous check. A rate is taken per device (node + device + VNI) and then summed, so a node
 * that could not be read this time, or a device re-created meanwhile (its counters start again
 * at 0), does not make a rate up: that device is left out, and a VNI with no usable device has
 * no rate (null) rather than a wrong one.
 */
import { trafficByVni } from '../../class/traffic.js';
import type { VniTraffic } from '../../class/types.js';
import type { VniRateView } from '../class-types.js';

/** The counters of one check, and when they were read (ms since the epoch). */
export interface TrafficReading {
  atMs: number;
  traffic: readonly VniTraffic[];
}

function key(t: VniTraffic): string {
  return `${t.node}\u0000${t.device}\u0000${t.vni}`;
}

export function vniRates(now: TrafficReading, prev: TrafficReading | null): VniRateView[] {
  const dtSec = prev ? (now.atMs - prev.atMs) / 1000 : 0;
  const before = new Map((prev?.traffic ?? []).map((t) => [key(t), t]));
  const per = new Map<number, { rx: number; tx: number; usable: boolean }>();
  for (const t of now.traffic) {
    const p = before.get(key(t));
    const s = per.get(t.vni) ?? { rx: 0, tx: 0, usable: false };
    const drx = p ? t.rxPackets - p.rxPackets : -1;
    const dtx = p ? t.txPackets - p.txPackets : -1;
    if (dtSec > 0 && drx >= 0 && dtx >= 0) {
      s.rx += drx;
      s.tx += dtx;
      s.usable = true;
    }
    per.set(t.vni, s);
  }
  return trafficByVni(now.traffic).map((v) => {
    const s = per.get(v.vni);
    const usable = s?.usable === true;
    return {
      vni: v.vni,
      rxPackets: v.rxPackets,
      txPackets: v.txPackets,
      rxPerSec: usable ? (s?.rx ?? 0) / dtSec : null,
      txPerSec: usable ? (s?.tx ?? 0) / dtSec : null,
    };
  });
}
