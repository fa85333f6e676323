/**
 * Traffic seen per VNI on a node: the kernel's counters of each VXLAN device, from
 * `ip -s -d -j link show type vxlan` (`-d` gives the VNI, `-s` the counters in `stats64`).
 * The dashboard shows them as "traffic seen per VNI": a VNI whose counters do not move sees
 * nothing, whatever the checks say.
 */
import { parseIpLink } from '../provision/state.js';
import type { RemoteSession } from '../remote/connection.js';
import type { VniTraffic } from './types.js';

export const VXLAN_COUNTERS_ARGV = ['ip', '-s', '-d', '-j', 'link', 'show', 'type', 'vxlan'] as const;

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** The VXLAN devices of one node with their counters; devices without a VNI or counters are left out. */
export function parseVxlanCounters(node: string, text: string): VniTraffic[] {
  let raw: unknown;
  let links: ReturnType<typeof parseIpLink>;
  try {
    raw = JSON.parse(text);
    links = parseIpLink(text);
  } catch {
    return [];
  }
  const out: VniTraffic[] = [];
  for (const item of Array.isArray(raw) ? raw : []) {
    const o = rec(item);
    const name = typeof o?.ifname === 'string' ? o.ifname : undefined;
    const link = links.find((l) => l.name === name);
    const stats = rec(o?.stats64) ?? rec(o?.stats);
    const rx = rec(stats?.rx);
    const tx = rec(stats?.tx);
    if (!name || !link?.vxlan || link.vxlan.id < 0 || !rx || !tx) continue;
    out.push({
      node,
      device: name,
      vni: link.vxlan.id,
      rxPackets: count(rx.packets),
      rxBytes: count(rx.bytes),
      txPackets: count(tx.packets),
      txBytes: count(tx.bytes),
    });
  }
  return out;
}

/** Reads the counters over an open session; an error is an empty list (the checks say why the node is not usable). */
export async function readVxlanCounters(session: Pick<RemoteSession, 'run'>, node: string): Promise<VniTraffic[]> {
  try {
    const r = await session.run([...VXLAN_COUNTERS_ARGV], { timeoutMs: 10_000 });
    return r.code === 0 ? parseVxlanCounters(node, r.stdout) : [];
  } catch {
    return [];
  }
}

/** Per VNI, the group's nodes summed: what the text matrix shows in one column. */
export function trafficByVni(
  t: readonly VniTraffic[],
): { vni: number; rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }[] {
  const by = new Map<number, { vni: number; rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }>();
  for (const x of t) {
    const s = by.get(x.vni) ?? { vni: x.vni, rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 };
    s.rxPackets += x.rxPackets;
    s.txPackets += x.txPackets;
    s.rxBytes += x.rxBytes;
    s.txBytes += x.txBytes;
    by.set(x.vni, s);
  }
  return [...by.values()].sort((a, b) => a.vni - b.vni);
}
