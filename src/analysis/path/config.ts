/**
 * Configuration against traffic (pure): each node's overlay configuration as `capture` or
 * `check --save` recorded it (session.json nodes[].config) set beside what the captures show.
 *
 *  - nodeConfigView: the record in the form the report shows (the VXLAN device on the bridge,
 *    its FDB, the packet filter in words);
 *  - ConfigEvidence: what one node's record says about one packet or frame (is VNI/port/group
 *    configured, does the filter drop the port, is there a flood or FDB entry, which MTUs), for
 *    the reasons of join.ts;
 *  - compareConfig: the findings, each with its evidence from the configuration and the traffic:
 *    vni-mismatch, port-mismatch, group-mismatch, vtep-missing-from-flood-list, fdb-to-silent-vtep,
 *    fdb-stale-after-move, mtu-too-small, firewall-drops-port, vxlan-device-missing,
 *    vxlan-device-down, firewall-unknown, config-not-read, config-not-recorded.
 */
import type { OverlayConfigRecord, RecordedFdbEntry, RecordedVxlanDevice } from '../../capture/session-file.js';
import { formatMac, parseMac } from '../../decode/format/addr.js';
import { evaluateNftables } from '../../provision/check.js';
import { VXLAN_OVERHEAD_IPV4 } from '../../provision/plan.js';
import { FLOOD_MAC } from '../../provision/state.js';
import { isMulticastIp, type Largest, type MacHomes, type VxlanFlow } from './profile.js';
import type { TooBigSeen } from './too-big.js';
import type { ConfigComparison, ConfigFinding, NodeConfigView, PathGroup } from './types.js';

/** FDB entries a view lists at most (the record holds up to 4,096). */
const MAX_VIEW_FDB = 256;
/** Findings of one code about one node at most (the rest are counted in the last one's message). */
const MAX_PER_CODE = 8;
/** VXLAN headers over an IPv6 underlay: 20 bytes more than over IPv4. */
const VXLAN_OVERHEAD_IPV6 = VXLAN_OVERHEAD_IPV4 + 20;

type Device = RecordedVxlanDevice;

/** The VXLAN device that matters: the one on the inventory's bridge, else `vxlan<VNI>`, else the first. */
export function effectiveDevice(rec: OverlayConfigRecord): Device | undefined {
  return (
    rec.vxlan.find((d) => d.master === rec.inventory.bridge) ??
    rec.vxlan.find((d) => d.name === `vxlan${rec.inventory.vni}`) ??
    rec.vxlan[0]
  );
}

/** `recorded by capture at 2026-12-01 10:00:01Z`. */
export function recordedWords(rec: OverlayConfigRecord): string {
  return `recorded by ${rec.recordedBy} at ${rec.recordedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`;
}

function deviceWords(d: Device): string {
  const to = d.group !== null ? `, group ${d.group}` : d.remote !== null ? `, remote ${d.remote}` : '';
  return (
    `${d.name} VNI ${d.vni} ` +
    `UDP ${d.port}${d.local !== null ? ` local ${d.local}` : ''}${to}${d.dev !== null ? ` dev ${d.dev}` : ''} ` +
    `mtu ${d.mtu}${d.up ? '' : ' (down)'}`
  );
}

function isFlood(e: RecordedFdbEntry): boolean {
  return e.mac === FLOOD_MAC;
}

/** The filter's verdict on UDP `port` in words, and whether it drops it ('fail'), may ('warn'), or not. */
function filterVerdicts(rec: OverlayConfigRecord, port: number): { status: 'pass' | 'warn' | 'fail'; text: string }[] {
  const out: { status: 'pass' | 'warn' | 'fail'; text: string }[] = [];
  const underlay = rec.underlay?.name ?? rec.inventory.underlay;
  const fw = rec.firewalld;
  if (fw?.running) {
    const zone = fw.runtime.underlayZone ?? fw.defaultZone;
    // firewalld is asked about the inventory's port only
    if (port === rec.inventory.port) {
      out.push(
        fw.runtime.portOpen
          ? {
              status: 'pass',
              text:
                `firewalld: udp/${port} open in zone ${zone} ` +
                `of ${underlay}${fw.permanent.portOpen ? '' : ' (runtime only, not permanent)'}${fw.runtime.masquerade ? ', masquerade on' : ''}`,
            }
          : {
              status: 'fail',
              text: `firewalld: udp/${port} is not open in zone ${zone} of ${underlay} (firewall-cmd --zone=${zone} --add-port=${port}/udp)`,
            },
      );
    }
  } else if (fw) out.push({ status: 'pass', text: `firewalld: ${fw.reason}` });
  if (rec.nftables) {
    const v = evaluateNftables(rec.nftables, port, underlay);
    out.push({ status: v.status, text: v.detail.startsWith('nft') ? v.detail : `nftables: ${v.detail}` });
  }
  return out;
}

/** The record in the form the report shows. */
export function nodeConfigView(node: string, rec: OverlayConfigRecord | undefined): NodeConfigView {
  if (!rec) return { node, recordedAt: null, recordedBy: null, vxlan: null, bridge: null, underlay: null, fdb: [], firewall: [] };
  const dev = effectiveDevice(rec);
  const view = (d: Device): NonNullable<NodeConfigView['vxlan']> => ({
    device: d.name,
    vni: d.vni,
    port: d.port,
    local: d.local,
    group: d.group,
    remote: d.remote,
    dev: d.dev,
    mtu: d.mtu,
    up: d.up,
  });
  const out: NodeConfigView = {
    node,
    recordedAt: rec.recordedAt,
    recordedBy: rec.recordedBy,
    vxlan: dev ? view(dev) : null,
    bridge: rec.bridge ? { name: rec.bridge.name, mtu: rec.bridge.mtu, up: rec.bridge.up } : null,
    underlay: rec.underlay ? { name: rec.underlay.name, mtu: rec.underlay.mtu, addresses: rec.underlay.addresses } : null,
    fdb: dev
      ? rec.fdb
          .filter((e) => e.dev === dev.name && e.dst !== null)
          .slice(0, MAX_VIEW_FDB)
          .map((e) => ({ mac: e.mac, dst: e.dst, flood: isFlood(e), permanent: e.state === 'permanent' || e.state === 'static' }))
      : [],
    firewall: filterVerdicts(rec, dev?.port ?? rec.inventory.port).map((v) => v.text),
  };
  if (rec.error !== undefined) out.error = rec.error;
  const others = rec.vxlan.filter((d) => d !== dev);
  if (others.length) out.otherVxlan = others.map(view);
  return out;
}

/** What one node's recorded configuration says about a packet or a frame (join.ts's reasons). */
export class ConfigEvidence {
  readonly device: Device | undefined;
  constructor(
    readonly node: string,
    readonly rec: OverlayConfigRecord,
  ) {
    this.device = effectiveDevice(rec);
  }

  /** `kvm2's configuration (recorded by capture at …)`. */
  get source(): string {
    return recordedWords(this.rec);
  }

  /** The node's VTEP by its configuration: the device's local address, else the underlay's first. */
  get vtep(): string | undefined {
    return this.device?.local ?? this.rec.underlay?.addresses[0]?.split('/')[0];
  }

  /**
   * Why a VXLAN packet to this node on (VNI, UDP port, outer destination) is not taken by any of
   * its VXLAN devices, or null when one takes it. `sender` names who sent it.
   */
  notTaken(
    vni: number,
    port: number,
    dst: string,
    sender: string,
  ): { code: 'vni-mismatch' | 'port-mismatch' | 'group-mismatch' | 'vxlan-device-missing' | 'vxlan-device-down'; text: string } | null {
    const devs = this.rec.vxlan;
    const n = this.node;
    if (devs.length === 0)
      return { code: 'vxlan-device-missing', text: `${n} has no VXLAN device at all (${this.source}): nothing there decapsulates` };
    const onPort = devs.filter((d) => d.port === port);
    if (onPort.length === 0) {
      const ports = [...new Set(devs.map((d) => d.port))].join(', ');
      return {
        code: 'port-mismatch',
        text:
          `${sender} sends to UDP ${port}, ${n} listens on ${ports} ` +
          `(${devs.map(deviceWords).join('; ')}, ${this.source}): ` +
          'the ports differ between the nodes (ip -d link show type vxlan: "dstport"; ' +
          `Linux's default without dstport is 8472, IANA's 4789)`,
      };
    }
    const withVni = onPort.filter((d) => d.vni === vni);
    if (withVni.length === 0) {
      const has = [...new Set(devs.map((d) => d.vni))].join(', ');
      return {
        code: 'vni-mismatch',
        text:
          `VNI ${vni} is not configured on ${n} (it has ` +
          `VNI ${has}: ${devs.map(deviceWords).join('; ')}, ${this.source}): ` +
          'the VNIs differ between the nodes (ip -d link show type vxlan: "id")',
      };
    }
    if (isMulticastIp(dst) && !withVni.some((d) => d.group === dst)) {
      const groups = withVni
        .map((d) => (d.group === null ? `${d.name} no group (unicast flood entries)` : `${d.name} group ${d.group}`))
        .join(', ');
      return {
        code: 'group-mismatch',
        text: `${sender} floods to multicast group ${dst}, which ${n} did not join: ${groups} (${this.source}): the groups differ between the nodes`,
      };
    }
    const down = withVni.filter((d) => !d.up);
    if (down.length === withVni.length)
      return {
        code: 'vxlan-device-down',
        text: `${n}'s ${down.map((d) => d.name).join(', ')} (VNI ${vni}) is down (${this.source}): ip link set dev ${down[0]?.name ?? 'vxlanN'} up`,
      };
    return null;
  }

  /** How the node's packet filter drops UDP `port`, in words, or null when the record shows nothing that does. */
  dropsPort(port: number): string | null {
    const bad = filterVerdicts(this.rec, port).filter((v) => v.status === 'fail');
    return bad.length ? `${bad.map((v) => v.text).join('; ')} (${this.source})` : null;
  }

  /** The device's flood list; null in multicast mode or without a device. */
  floodList(): string[] | null {
    const d = this.device;
    if (!d || d.group !== null) return null;
    return this.rec.fdb.filter((e) => e.dev === d.name && isFlood(e) && e.dst !== null).map((e) => e.dst as string);
  }

  /** The device's FDB entry for a MAC (a 48-bit number), if any. */
  fdbEntry(mac: number): RecordedFdbEntry | undefined {
    const d = this.device;
    if (!d || !Number.isFinite(mac)) return undefined;
    const text = formatMac(mac);
    return this.rec.fdb.find((e) => e.dev === d.name && e.mac === text && e.dst !== null);
  }

  /** The MTUs a frame must fit: the VXLAN device's and the underlay's (with the headers' overhead). */
  mtus(): { device: string; mtu: number; underlay: string; underlayMtu: number | null; overhead: number } | null {
    const d = this.device;
    if (!d) return null;
    const v6 = (d.local ?? this.vtep ?? '').includes(':');
    return {
      device: d.name,
      mtu: d.mtu,
      underlay: this.rec.underlay?.name ?? this.rec.inventory.underlay,
      underlayMtu: this.rec.underlay?.mtu ?? null,
      overhead: v6 ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD_IPV4,
    };
  }
}

/** What the captures show of one node, for the comparison. */
export interface NodeTrafficFacts {
  name: string;
  vtep: string | null;
  /** Every VXLAN flow its underlay capture carried. */
  flows: VxlanFlow[];
  largest: { bridge: Largest | null; encapsulated: Largest | null };
  tooBig: (TooBigSeen & { side: 'underlay' | 'overlay' })[];
  tooBigCount: number;
  /** Capture file names (for evidence). */
  underlayFile: string;
  overlayFile: string;
}

export interface CompareInput {
  nodes: { traffic: NodeTrafficFacts; config: OverlayConfigRecord | undefined }[];
  homes: MacHomes;
  /** The path groups (for the losses a finding explains). */
  paths: readonly PathGroup[];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Compares each node's recorded configuration with the others' and with the traffic. */
export function compareConfig(input: CompareInput): ConfigComparison {
  const findings: ConfigFinding[] = [];
  const seenKeys = new Set<string>();
  const perCode = new Map<string, number>();
  const add = (f: ConfigFinding, key: string): void => {
    if (seenKeys.has(key)) return;
    seenKeys.add(key);
    const k = `${f.code}|${f.nodes[0] ?? ''}`;
    const n = (perCode.get(k) ?? 0) + 1;
    perCode.set(k, n);
    if (n <= MAX_PER_CODE) findings.push(f);
    else if (n === MAX_PER_CODE + 1)
      findings.push({
        ...f,
        severity: 'info',
        message: `more ${f.code} findings about ${f.nodes[0] ?? '?'} left out (the first ${MAX_PER_CODE} are listed)`,
        evidence: { config: [], traffic: [] },
      });
  };
  const nodes = input.nodes.map(({ traffic, config }) => ({
    t: traffic,
    rec: config,
    ev: config && config.error === undefined ? new ConfigEvidence(traffic.name, config) : undefined,
  }));
  const vtepOf = (n: (typeof nodes)[number]): string | undefined => n.t.vtep ?? n.ev?.vtep;
  const byVtep = new Map<string, string>();
  for (const n of nodes) {
    const v = vtepOf(n);
    if (v !== undefined) byVtep.set(v, n.t.name);
  }
  // every flow, once (a packet between two captured nodes shows on both underlays)
  const flows = new Map<string, VxlanFlow>();
  for (const n of nodes) {
    for (const f of n.t.flows) {
      const k = `${f.src}|${f.dst}|${f.vni}|${f.port}`;
      const had = flows.get(k);
      if (!had || had.packets < f.packets) flows.set(k, f);
    }
  }
  const allFlows = [...flows.values()];
  const sendingVteps = new Set(allFlows.map((f) => f.src));

  // each node alone
  for (const n of nodes) {
    const name = n.t.name;
    if (!n.rec) {
      add(
        {
          code: 'config-not-recorded',
          severity: 'info',
          nodes: [name],
          message:
            `${name}: no configuration recorded: what follows rests on the traffic alone (capture records it; ` +
            `for older captures: check ${name} --save DIR)`,
          evidence: { config: [], traffic: [] },
        },
        `nr|${name}`,
      );
      continue;
    }
    if (!n.ev) {
      add(
        {
          code: 'config-not-read',
          severity: 'warn',
          nodes: [name],
          message: `${name}: its configuration could not be read (${recordedWords(n.rec)}): ${n.rec.error ?? '?'}`,
          evidence: { config: [n.rec.error ?? ''], traffic: [] },
        },
        `ne|${name}`,
      );
      continue;
    }
    const ev = n.ev;
    const dev = ev.device;
    if (!dev) {
      add(
        {
          code: 'vxlan-device-missing',
          severity: 'fail',
          nodes: [name],
          message: `${name} has no VXLAN device (${ev.source}): nothing there encapsulates or decapsulates`,
          evidence: { config: [`no link of kind vxlan (ip -d link show type vxlan)`], traffic: [] },
        },
        `dm|${name}`,
      );
      continue;
    }
    if (!dev.up)
      add(
        {
          code: 'vxlan-device-down',
          severity: 'fail',
          nodes: [name],
          message: `${name}'s ${dev.name} is down (ip link set dev ${dev.name} up)`,
          evidence: { config: [deviceWords(dev)], traffic: [] },
        },
        `dd|${name}`,
      );
    mtuFinding(n.t, ev, dev, input.paths, add);
    // the packet filter, for every port VXLAN reaches this node on
    const ports = new Set([dev.port, ...allFlows.filter((f) => f.dst === vtepOf(n)).map((f) => f.port)]);
    for (const port of ports) {
      const verdicts = filterVerdicts(n.rec, port);
      const lost = input.paths
        .filter((g) => g.dst === name)
        .reduce((a, g) => a + Object.values(g.lostAt.decapsulation).reduce((x, y) => x + y, 0), 0);
      const traffic =
        lost > 0
          ? [`${plural(lost, 'VXLAN packet')} arrived on ${name}'s underlay (${n.t.underlayFile}) and never reached its bridge`]
          : [];
      for (const v of verdicts) {
        if (v.status === 'pass') continue;
        const unknown = v.text.startsWith('nftables: could not read');
        const message = unknown
          ? `${name}: its nftables rules could not be read: whether they drop UDP ${port} is not known`
          : `${name}'s packet filter ${v.status === 'fail' ? 'drops' : 'may drop'} UDP ${port}: VXLAN sent to it there is not decapsulated`;
        add(
          {
            code: unknown ? 'firewall-unknown' : 'firewall-drops-port',
            severity: unknown ? 'info' : v.status,
            nodes: [name],
            message,
            evidence: { config: [`${v.text} (${ev.source})`], traffic },
          },
          `fw|${name}|${port}|${v.text}`,
        );
      }
    }
  }

  // what each node sent another, against what the receiver's devices take: a receiver that
  // differs from its inventory goes first, so the finding reads from the node that is right
  const deviant = (n: (typeof nodes)[number]): boolean => {
    const d = n.ev?.device;
    return (
      d !== undefined &&
      n.rec !== undefined &&
      (d.vni !== n.rec.inventory.vni || d.port !== n.rec.inventory.port || d.group !== n.rec.inventory.group)
    );
  };
  const receivers = [...nodes].sort((a, b) => Number(deviant(b)) - Number(deviant(a)));
  for (const y of receivers) {
    if (!y.ev?.device) continue;
    const yv = vtepOf(y);
    for (const x of nodes) {
      if (x === y) continue;
      const xv = vtepOf(x);
      for (const f of allFlows.filter((g) => g.src === xv && (g.dst === yv || isMulticastIp(g.dst)))) {
        const why = y.ev.notTaken(f.vni, f.port, f.dst, x.t.name);
        if (!why || why.code === 'vxlan-device-missing' || why.code === 'vxlan-device-down') continue;
        // both directions between the two: what each sends with
        const traffic = allFlows
          .filter(
            (g) => (g.src === xv && (g.dst === yv || isMulticastIp(g.dst))) || (g.src === yv && (g.dst === xv || isMulticastIp(g.dst))),
          )
          .sort((a, b) => Number(b.src === xv) - Number(a.src === xv))
          .slice(0, 6)
          .map(
            (g) =>
              `${byVtep.get(g.src) ?? g.src} sent ${plural(g.packets, 'VXLAN packet')} to ${vtepName(g.dst, byVtep)} with VNI ${g.vni} on UDP ${g.port}`,
          );
        add(
          {
            code: why.code,
            severity: 'fail',
            nodes: [x.t.name, y.t.name],
            message: why.text,
            evidence: { config: y.ev.rec.vxlan.map((d) => `${y.t.name}: ${deviceWords(d)}`), traffic },
          },
          `${why.code}|${[x.t.name, y.t.name].sort().join('|')}`,
        );
      }
    }
  }

  // configuration against configuration (what the traffic did not show)
  for (const [i, a] of nodes.entries()) {
    const ad = a.ev?.device;
    if (!ad) continue;
    for (const b of nodes.slice(i + 1)) {
      const bd = b.ev?.device;
      if (!bd) continue;
      const [an, bn] = [a.t.name, b.t.name];
      const pair = [an, bn].sort().join('|');
      const config = [`${an}: ${deviceWords(ad)}`, `${bn}: ${deviceWords(bd)}`];
      if (ad.vni !== bd.vni)
        add(
          {
            code: 'vni-mismatch',
            severity: 'fail',
            nodes: [an, bn],
            message: `VNI ${ad.vni} on ${an}, ${bd.vni} on ${bn}: the VNIs differ between the nodes, frames of one are not taken by the other`,
            evidence: { config, traffic: [] },
          },
          `vni-mismatch|${pair}`,
        );
      if (ad.port !== bd.port)
        add(
          {
            code: 'port-mismatch',
            severity: 'fail',
            nodes: [an, bn],
            message: `UDP ${ad.port} on ${an}, ${bd.port} on ${bn}: the ports differ between the nodes (Linux's default without dstport is 8472, IANA's 4789)`,
            evidence: { config, traffic: [] },
          },
          `port-mismatch|${pair}`,
        );
      if ((ad.group !== null || bd.group !== null) && ad.group !== bd.group) {
        const av = vtepOf(a);
        const bv = vtepOf(b);
        const traffic = allFlows
          .filter((f) => isMulticastIp(f.dst) && (f.src === av || f.src === bv))
          .map((f) => `${byVtep.get(f.src) ?? f.src} floods to ${f.dst} (${plural(f.packets, 'packet')})`);
        add(
          {
            code: 'group-mismatch',
            severity: 'fail',
            nodes: [an, bn],
            message:
              `multicast group ${ad.group ?? 'none'} on ${an}, ${bd.group ?? 'none'} on ${bn}: ` +
              'floods (ARP, unknown unicast) from one never reach the other',
            evidence: { config, traffic },
          },
          `group-mismatch|${pair}`,
        );
      }
    }
  }

  // flood lists (unicast mode) and FDB entries against the VTEPs and MACs the traffic shows
  for (const y of nodes) {
    if (!y.ev?.device) continue;
    const yv = vtepOf(y);
    const yName = y.t.name;
    const flood = y.ev.floodList();
    if (flood) {
      for (const x of nodes) {
        const xv = vtepOf(x);
        if (x === y || xv === undefined || flood.includes(xv)) continue;
        const xName = x.t.name;
        const sent = allFlows.filter((f) => f.src === xv && f.dst === yv).reduce((a, f) => a + f.packets, 0);
        add(
          {
            code: 'vtep-missing-from-flood-list',
            severity: 'fail',
            nodes: [yName, xName],
            message:
              `${yName}'s ${y.ev.device.name} has no flood entry for ${xName} (${xv}): ` +
              `its broadcasts (ARP) and unknown unicast never reach ${xName} ` +
              `(bridge fdb append 00:00:00:00:00:00 dev ${y.ev.device.name} dst ${xv})`,
            evidence: {
              config: [`${yName} ${y.ev.device.name} floods to: ${flood.length ? flood.join(', ') : 'no one'} (${y.ev.source})`],
              traffic:
                sent > 0
                  ? [`${xName} (${xv}) sent ${plural(sent, 'VXLAN packet')} to ${yName}`]
                  : [`${xName} is a captured node with VTEP ${xv}`],
            },
          },
          `flood|${yName}|${xv}`,
        );
      }
      // VTEPs no captured node owns that send y VXLAN: a member its flood list leaves out?
      for (const f of allFlows.filter((g) => g.dst === yv && !byVtep.has(g.src) && !flood.includes(g.src))) {
        add(
          {
            code: 'vtep-missing-from-flood-list',
            severity: 'warn',
            nodes: [yName],
            message:
              `${yName} receives VXLAN from ${f.src}, which is not in its flood list: ` +
              'if it is a member, its broadcasts never reach it (bridge fdb append 00:00:00:00:00:00 ' +
              `dev ${y.ev.device.name} dst ${f.src})`,
            evidence: {
              config: [`${yName} ${y.ev.device.name} floods to: ${flood.length ? flood.join(', ') : 'no one'}`],
              traffic: [`${f.src} sent ${plural(f.packets, 'VXLAN packet')} to ${yName} (VNI ${f.vni}, UDP ${f.port})`],
            },
          },
          `flood|${yName}|${f.src}`,
        );
      }
    }
    fdbFindings(
      y,
      yv,
      byVtep,
      nodes.map((n) => vtepOf(n)),
      sendingVteps,
      allFlows,
      input.homes,
      add,
    );
  }
  const order = { fail: 0, warn: 1, info: 2 } as const;
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  return { nodes: input.nodes.map((n) => nodeConfigView(n.traffic.name, n.config)), findings };
}

type Add = (f: ConfigFinding, key: string) => void;

/** Unicast and flood entries against where the traffic shows MACs and VTEPs: stale after a move, toward a VTEP that sends nothing. */
function fdbFindings(
  y: { t: NodeTrafficFacts; ev: ConfigEvidence | undefined },
  yv: string | undefined,
  byVtep: Map<string, string>,
  vteps: (string | undefined)[],
  sending: Set<string>,
  flows: VxlanFlow[],
  homes: MacHomes,
  add: Add,
): void {
  const ev = y.ev;
  const dev = ev?.device;
  if (!ev || !dev) return;
  const name = y.t.name;
  for (const e of ev.rec.fdb) {
    if (e.dev !== dev.name || e.dst === null || e.dst === dev.group) continue;
    const v = e.dst;
    const silent = !sending.has(v);
    const sentThere = flows.filter((f) => f.src === yv && f.dst === v).reduce((a, f) => a + f.packets, 0);
    const entry = `${name} ${dev.name}: ${e.mac} dst ${v}${e.state ? ` (${e.state})` : ' (learnt)'}`;
    const silentWords = silent ? `${v} sent no VXLAN packet in any capture` : '';
    if (!isFlood(e)) {
      const mac = parseMac(e.mac);
      const home = mac === undefined ? undefined : homes.home(mac);
      const homeVtep = home === undefined ? undefined : 'vtep' in home ? home.vtep : vteps[home.node];
      if (homeVtep !== undefined && homeVtep !== v) {
        const fixed = e.state === 'static' || e.state === 'permanent';
        const seen =
          home && 'vtep' in home
            ? `as the inner source of VXLAN packets from ${vtepName(homeVtep, byVtep)}`
            : `on ${byVtep.get(homeVtep) ?? homeVtep}'s bridge only`;
        const traffic = [`${e.mac} is seen ${seen}`];
        if (sentThere) traffic.push(`${name} sent ${plural(sentThere, 'VXLAN packet')} to ${v}`);
        if (silentWords) traffic.push(silentWords);
        add(
          {
            code: 'fdb-stale-after-move',
            severity: fixed ? 'fail' : 'warn',
            nodes: [name],
            message:
              `${name}'s ${dev.name} sends ${e.mac} to ${v}, but ${e.mac} lives ` +
              `behind ${vtepName(homeVtep, byVtep)}: a stale entry after a move ` +
              `(bridge fdb del ${e.mac} dev ${dev.name} dst ${v})`,
            evidence: { config: [entry], traffic },
          },
          `stale|${name}|${e.mac}|${v}`,
        );
        continue;
      }
    }
    if (!silent || byVtep.has(v)) continue;
    const flood = isFlood(e);
    add(
      {
        code: 'fdb-to-silent-vtep',
        severity: sentThere > 0 && !flood ? 'fail' : 'warn',
        nodes: [name],
        message: flood
          ? `${name}'s ${dev.name} floods to ${v}, which sent nothing in the captures: ` +
            `a VTEP that is gone, or no member? (bridge fdb del 00:00:00:00:00:00 dev ${dev.name} dst ${v})`
          : `${name}'s ${dev.name} sends ${e.mac} to ${v}, which sent nothing in the captures: ` +
            `a VTEP that is gone, or no member (bridge fdb del ${e.mac} dev ${dev.name} dst ${v})`,
        evidence: {
          config: [entry],
          traffic: [silentWords, ...(sentThere ? [`${name} sent ${plural(sentThere, 'VXLAN packet')} to ${v}`] : [])],
        },
      },
      `silent|${name}|${e.mac}|${v}`,
    );
  }
}

function vtepName(v: string, byVtep: Map<string, string>): string {
  return byVtep.has(v) ? `${v} (${byVtep.get(v) as string})` : v;
}

/** Frames larger than the VXLAN device's MTU, or than the underlay carries once wrapped; the ICMP messages that say so. */
function mtuFinding(t: NodeTrafficFacts, ev: ConfigEvidence, dev: Device, paths: readonly PathGroup[], add: Add): void {
  const m = ev.mtus();
  if (!m) return;
  const name = t.name;
  const config = [`${name}: ${dev.name} mtu ${dev.mtu}, ${m.underlay} mtu ${m.underlayMtu ?? '?'} (${ev.source})`];
  const traffic: string[] = [];
  const problems: string[] = [];
  let harm = false;
  const br = t.largest.bridge;
  if (br && br.ipLen > dev.mtu) {
    harm = true;
    problems.push(
      `a frame of ${br.len} bytes (IP packet ${br.ipLen}) on ${name}'s bridge is larger than ${dev.name}'s MTU ${dev.mtu}: such frames are not encapsulated`,
    );
    traffic.push(`largest frame on ${name}'s bridge: ${br.len} bytes, IP packet ${br.ipLen} (${t.overlayFile} #${br.frame})`);
  }
  const enc = t.largest.encapsulated;
  if (m.underlayMtu !== null && enc && enc.ipLen + m.overhead > m.underlayMtu) {
    harm = true;
    problems.push(
      `${name} encapsulated an IP packet of ${enc.ipLen} bytes: ${enc.ipLen} + ${m.overhead} ` +
        `> ${m.underlay}'s MTU ${m.underlayMtu}, so it crosses the underlay in fragments ` +
        '(or not at all with DF)',
    );
    traffic.push(`largest frame ${name} sent into the tunnel: ${enc.len} bytes, IP packet ${enc.ipLen} (${t.underlayFile} #${enc.frame})`);
  }
  if (t.tooBigCount > 0) {
    harm = true;
    const first = t.tooBig[0];
    if (first) {
      const file = first.side === 'overlay' ? t.overlayFile : t.underlayFile;
      const about = first.quoted
        ? ` about ${first.quoted.src} → ${first.quoted.dst}, ${first.quoted.length} bytes${first.quoted.df ? ', DF set' : ''}`
        : '';
      traffic.push(
        `${plural(t.tooBigCount, 'ICMP "fragmentation needed"/"packet too big" message')}, ` +
          `the first from ${first.from} ` +
          `to ${first.to}${first.mtu !== null ? ` (mtu ${first.mtu})` : ''}${about} (${file} #${first.frame})`,
      );
    }
  }
  const tooBig = paths.filter((g) => g.src === name).reduce((a, g) => a + (g.lostAt.encapsulation['too-big'] ?? 0), 0);
  if (tooBig > 0) {
    harm = true;
    traffic.push(`${plural(tooBig, 'frame')} from ${name}'s bridge never encapsulated: too big`);
  }
  if (m.underlayMtu !== null && dev.mtu + m.overhead > m.underlayMtu) {
    problems.push(
      `${dev.name} mtu ${dev.mtu} + ${m.overhead} > ${m.underlay} mtu ${m.underlayMtu}: ` +
        `frames over ${m.underlayMtu - m.overhead} bytes (IP) cannot cross in one underlay packet ` +
        `(set ${dev.name}'s mtu to ${m.underlayMtu - m.overhead}, or raise ${m.underlay}'s)`,
    );
  }
  if (problems.length === 0 && !harm) return;
  if (problems.length === 0) problems.push(`frames did not fit: ${traffic[0] ?? ''}`);
  add(
    {
      code: 'mtu-too-small',
      severity: harm ? 'fail' : 'warn',
      nodes: [name],
      message: `${name}: ${problems.join('; ')}`,
      evidence: { config, traffic },
    },
    `mtu|${name}`,
  );
}
