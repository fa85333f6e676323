/**
 * What the configuration comparison of the Path view shows, worked out from the server's answer
 * (pure: tested in Node): each node's recorded overlay configuration (session.json
 * `nodes[].config`, as the path analysis gives it) as the lines of a card, and the findings that
 * compare it with the traffic, worst first. The comparison itself is the analysis's
 * (src/analysis/path/config.ts); nothing here decides what is wrong.
 */
import type { PathConfigComparison, PathConfigFinding, PathConfigNodeView } from '../api-types.js';

/** A line of a node's card: what it is (`key`, for the findings that point at it), its label and value. */
export interface ConfigLine {
  key: 'vni' | 'port' | 'local' | 'group' | 'remote' | 'dev' | 'mtu' | 'bridge' | 'underlay' | 'flood' | 'fdb' | 'firewall' | 'other';
  label: string;
  value: string;
}

/** The card's lines; none without a recorded VXLAN device, bridge or underlay (the card says so). */
export function configLines(c: PathConfigNodeView): ConfigLine[] {
  const out: ConfigLine[] = [];
  const v = c.vxlan;
  if (v) {
    out.push({ key: 'vni', label: 'VNI', value: `${v.vni} (${v.device}${v.up ? '' : ', DOWN'})` });
    out.push({ key: 'port', label: 'UDP port', value: String(v.port) });
    out.push({ key: 'local', label: 'local', value: v.local ?? '–' });
    if (v.group !== null) out.push({ key: 'group', label: 'group', value: v.group });
    if (v.remote !== null) out.push({ key: 'remote', label: 'remote', value: v.remote });
    if (v.group === null && v.remote === null) out.push({ key: 'group', label: 'group/remote', value: 'none (unicast, from the FDB)' });
    out.push({ key: 'dev', label: 'dev', value: v.dev ?? '–' });
    out.push({
      key: 'mtu',
      label: 'MTU',
      value:
        `${v.mtu}` +
        (c.underlay
          ? ` (underlay ${c.underlay.name} ${c.underlay.mtu}: room for ${c.underlay.mtu - 50} with the 50 bytes of VXLAN over IPv4)`
          : ''),
    });
  }
  if (c.bridge) out.push({ key: 'bridge', label: 'bridge', value: `${c.bridge.name}, MTU ${c.bridge.mtu}${c.bridge.up ? '' : ', DOWN'}` });
  if (c.underlay)
    out.push({
      key: 'underlay',
      label: 'underlay',
      value: `${c.underlay.name}, MTU ${c.underlay.mtu}${c.underlay.addresses.length ? `, ${c.underlay.addresses.join(', ')}` : ''}`,
    });
  if (v || c.fdb.length) {
    const flood = c.fdb.filter((e) => e.flood).map((e) => e.dst ?? '?');
    out.push({
      key: 'flood',
      label: 'flood list',
      value: flood.length ? flood.join(', ') : v?.group ? 'none (floods to the group)' : 'none: broadcasts reach no VTEP',
    });
    const uni = c.fdb.filter((e) => !e.flood);
    if (uni.length) {
      const shown = uni.slice(0, 6).map((e) => `${e.mac} → ${e.dst ?? 'local'}${e.permanent ? ' (static)' : ''}`);
      out.push({ key: 'fdb', label: 'FDB', value: `${shown.join(', ')}${uni.length > shown.length ? `, … ${uni.length} in all` : ''}` });
    }
  }
  for (const o of c.otherVxlan ?? [])
    out.push({
      key: 'other',
      label: 'other VXLAN',
      value: `${o.device}: VNI ${o.vni}, UDP ${o.port}${o.dev ? `, dev ${o.dev}` : ''}, MTU ${o.mtu}${o.up ? '' : ', DOWN'}`,
    });
  if (c.recordedAt !== null && c.error === undefined)
    out.push({
      key: 'firewall',
      label: 'firewall',
      value: c.firewall.length ? c.firewall.join('; ') : 'nothing recorded about the VXLAN port',
    });
  return out;
}

/** When and how it was recorded, or that it was not. */
export function recordedLine(c: PathConfigNodeView): string {
  if (c.recordedAt === null) return 'no configuration recorded';
  const when = `${c.recordedBy ? `by ${c.recordedBy} ` : ''}at ${c.recordedAt}`;
  return c.error !== undefined ? `could not be read ${when}: ${c.error}` : `recorded ${when}`;
}

const RANK: Record<PathConfigFinding['severity'], number> = { fail: 0, warn: 1, info: 2 };

/** Worst first; within a severity, in the analysis's order. */
export function findingsInOrder(findings: readonly PathConfigFinding[]): PathConfigFinding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map((x) => x.f);
}

/** The severity's words and symbol: never the colour alone. */
export function severityText(s: PathConfigFinding['severity']): { symbol: string; word: string } {
  return s === 'fail' ? { symbol: '✕', word: 'fail' } : s === 'warn' ? { symbol: '!', word: 'warning' } : { symbol: 'i', word: 'info' };
}

/** The card lines a finding's code points at (its nodes' cards mark them). */
const POINTS_AT: Record<string, ConfigLine['key'][]> = {
  'vni-mismatch': ['vni'],
  'port-mismatch': ['port'],
  'group-mismatch': ['group'],
  'mtu-too-small': ['mtu', 'underlay', 'bridge'],
  'vtep-missing-from-flood-list': ['flood'],
  'fdb-to-silent-vtep': ['fdb', 'flood'],
  'fdb-stale-after-move': ['fdb'],
  'firewall-drops-port': ['firewall'],
};

/** The worst severity of the findings about each line of a node's card. */
export function flaggedLines(node: string, findings: readonly PathConfigFinding[]): Map<ConfigLine['key'], PathConfigFinding['severity']> {
  const out = new Map<ConfigLine['key'], PathConfigFinding['severity']>();
  for (const f of findings) {
    if (!f.nodes.includes(node)) continue;
    for (const key of POINTS_AT[f.code] ?? []) {
      const had = out.get(key);
      if (had === undefined || RANK[f.severity] < RANK[had]) out.set(key, f.severity);
    }
  }
  return out;
}

/** No node's configuration was recorded (the session has none, or the analysis lists each node as not recorded). */
export function nothingRecorded(cmp: PathConfigComparison): boolean {
  return cmp.nodes.every((n) => n.recordedAt === null);
}

/** The cards to draw: every node of the comparison, and any node of the path report it does not name (with nothing recorded). */
export function configCards(cmp: PathConfigComparison, pathNodes: readonly string[]): PathConfigNodeView[] {
  const named = new Set(cmp.nodes.map((n) => n.node));
  const none = (node: string): PathConfigNodeView => ({
    node,
    recordedAt: null,
    recordedBy: null,
    vxlan: null,
    bridge: null,
    underlay: null,
    fdb: [],
    firewall: [],
  });
  return [...cmp.nodes, ...pathNodes.filter((n) => !named.has(n)).map(none)];
}
