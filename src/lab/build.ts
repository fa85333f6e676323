/**
 * The kernel side of the lab: namespaces, the underlay switch, veths, addresses, and (when
 * provisioned) each node's vxlan_bridge with its VXLAN interface — the class's commands,
 * each run inside the namespace it concerns (`ip -n NS …`, `ip netns exec NS ethtool …`), never
 * in the machine's own.
 *
 * Offloads: a veth has tx checksum offload on, and the partial checksum crosses the pair, so
 * every capture of a fresh lab shows "bad udp cksum" / "incorrect" TCP checksums (on both nodes);
 * and the VXLAN device's GRO merges the receiver's TCP segments into one frame on its bridge, so
 * no capture point sees the same frames as the one before it. Both are turned off: a healthy lab's
 * captures are what crossed the wire, with correct checksums. `lab break offload` turns tx
 * checksum offload back on for one node (faults.ts).
 */
import {
  GUEST_IF,
  GUESTS,
  LAB_ROLES,
  LAN_BRIDGE,
  OVERLAY,
  UNDERLAY_IF,
  UNDERLAY_PREFIX_LEN,
  addressOnly,
  netnsName,
  nodeSpec,
  DEFAULT_TOPOLOGY,
  type LabRole,
  type LabTopology,
  type NodeSpec,
} from './topology.js';
import { mustRun, netnsExec, run } from './run.js';

const ip = (netns: string, ...args: string[]): string[] => ['ip', '-n', netns, ...args];

/** Namespaces of this lab that exist now. */
export async function existingLabNamespaces(prefix: string): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  const names = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean),
  );
  return LAB_ROLES.map((role) => netnsName(prefix, role)).filter((n) => names.has(n));
}

/** `ethtool -K DEV FEATURE on|off …` inside `netns`. */
export async function setFeatures(netns: string, ifname: string, features: Readonly<Record<string, boolean>>, what: string): Promise<void> {
  const args = Object.entries(features).flatMap(([k, on]) => [k, on ? 'on' : 'off']);
  await mustRun(what, netnsExec(netns, ['ethtool', '-K', ifname, ...args]), { timeoutMs: 5000 });
}

/** `ethtool -k DEV` output → feature name → on (the `[fixed]`/`[requested …]` notes dropped). */
export function parseFeatures(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9-]+):\s+(on|off)\b/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], m[2] === 'on');
  }
  return out;
}

export async function readFeatures(netns: string, ifname: string): Promise<Map<string, boolean>> {
  return parseFeatures(
    await mustRun(`reading ${ifname}'s offload features in ${netns}`, netnsExec(netns, ['ethtool', '-k', ifname]), { timeoutMs: 5000 }),
  );
}

/** Every veth end in the lab's namespaces, read from the kernel. */
async function labVeths(prefix: string): Promise<{ netns: string; ifname: string }[]> {
  const out: { netns: string; ifname: string }[] = [];
  for (const ns of await existingLabNamespaces(prefix)) {
    const text = await mustRun(`listing the veths in ${ns}`, ip(ns, '-j', 'link', 'show', 'type', 'veth'), { timeoutMs: 5000 });
    const links = JSON.parse(text || '[]') as { ifname?: unknown }[];
    for (const l of links) if (typeof l.ifname === 'string') out.push({ netns: ns, ifname: l.ifname });
  }
  return out;
}

/** tx checksum offload off on every veth of the lab (TSO goes with it): captures show correct checksums. */
export async function disableChecksumOffload(prefix: string): Promise<void> {
  for (const v of await labVeths(prefix))
    await setFeatures(v.netns, v.ifname, { tx: false }, `turning tx checksum offload off on ${v.ifname} in ${v.netns}`);
}

/** GRO off on a node's VXLAN device: the receiver's bridge then sees each frame as it crossed the underlay. */
export async function disableVxlanGro(netns: string): Promise<void> {
  await setFeatures(netns, OVERLAY.vxlanIf, { gro: false }, `turning GRO off on ${OVERLAY.vxlanIf} in ${netns}`);
}

async function sysctl(netns: string, ...settings: string[]): Promise<void> {
  await mustRun(`setting sysctls in ${netns}`, netnsExec(netns, ['sysctl', '-q', '-w', ...settings]));
}

/** Creates the six namespaces with loopback up. */
export async function createNamespaces(prefix: string): Promise<void> {
  for (const role of LAB_ROLES) {
    const ns = netnsName(prefix, role);
    await mustRun(`creating namespace ${ns}`, ['ip', 'netns', 'add', ns]);
    await mustRun(`bringing up loopback in ${ns}`, ip(ns, 'link', 'set', 'lo', 'up'));
  }
}

function underlayHosts(topo: LabTopology): { role: LabRole; address: string }[] {
  return [{ role: 'frontend', address: topo.frontendAddress }, ...topo.nodes.map((n) => ({ role: n.name as LabRole, address: n.host }))];
}

/**
 * The underlay: bridge `lan` in the lan namespace, one veth per host (`eth1` on the host side).
 * The switch floods multicast (no IGMP snooping): with snooping, whether a group's packets reach
 * a node that has not joined that group depends on whether the switch has heard the joins yet —
 * a race `lab break multicast` showed (its packets lost on the underlay in 1 run of 6, seen and
 * not decapsulated in the others). Flooding, the group mismatch always shows where the lesson
 * puts it: at the receiving node's decapsulation.
 */
export async function buildUnderlay(prefix: string, topo: LabTopology = DEFAULT_TOPOLOGY): Promise<void> {
  const lan = netnsName(prefix, 'lan');
  await mustRun(`creating the underlay switch in ${lan}`, ip(lan, 'link', 'add', LAN_BRIDGE, 'type', 'bridge', 'mcast_snooping', '0'));
  await mustRun(`bringing up the underlay switch in ${lan}`, ip(lan, 'link', 'set', LAN_BRIDGE, 'up'));
  for (const h of underlayHosts(topo)) {
    const ns = netnsName(prefix, h.role);
    await mustRun(
      `wiring ${ns} to the underlay switch`,
      ip(lan, 'link', 'add', h.role, 'type', 'veth', 'peer', 'name', UNDERLAY_IF, 'netns', ns),
    );
    await mustRun(`plugging ${h.role} into the underlay switch`, ip(lan, 'link', 'set', h.role, 'master', LAN_BRIDGE, 'up'));
    await mustRun(`addressing ${UNDERLAY_IF} in ${ns}`, ip(ns, 'addr', 'add', `${h.address}/${UNDERLAY_PREFIX_LEN}`, 'dev', UNDERLAY_IF));
    await mustRun(`bringing up ${UNDERLAY_IF} in ${ns}`, ip(ns, 'link', 'set', UNDERLAY_IF, 'up'));
  }
}

/** The guests: a veth (MTU 1450) from each node to its guest, `eth0` in the guest. */
export async function buildGuests(prefix: string, topo: LabTopology = DEFAULT_TOPOLOGY): Promise<void> {
  for (const g of GUESTS) {
    const node = netnsName(prefix, g.node);
    const vm = netnsName(prefix, g.name);
    // no duplicate address detection in the guests: link-local IPv6 usable at once
    await sysctl(vm, 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0');
    const mtu = String(OVERLAY.mtu);
    await mustRun(
      `creating the veth between ${node} and ${vm}`,
      ip(node, 'link', 'add', g.hostIf, 'mtu', mtu, 'type', 'veth', 'peer', 'name', GUEST_IF, 'mtu', mtu, 'netns', vm),
    );
    await mustRun(`bringing up ${g.hostIf} in ${node}`, ip(node, 'link', 'set', g.hostIf, 'up'));
    await mustRun(`addressing ${GUEST_IF} in ${vm}`, ip(vm, 'addr', 'add', g.address, 'dev', GUEST_IF));
    await mustRun(`bringing up ${GUEST_IF} in ${vm}`, ip(vm, 'link', 'set', GUEST_IF, 'up'));
    const gw = addressOnly(nodeSpec(g.node, topo).bridgeAddress);
    await mustRun(`default route in ${vm}`, ip(vm, 'route', 'add', 'default', 'via', gw, 'dev', GUEST_IF));
  }
}

/** What the class does on each node, plus plugging the guest into the bridge. */
export function overlayCommands(prefix: string, node: NodeSpec, topo: LabTopology = DEFAULT_TOPOLOGY): { what: string; argv: string[] }[] {
  const ns = netnsName(prefix, node.name);
  const peer = nodeSpec(node.peer, topo);
  const guest = GUESTS.find((g) => g.node === node.name);
  const { bridge, vxlanIf } = OVERLAY;
  const cmds = [
    { what: `creating ${bridge}`, argv: ip(ns, 'link', 'add', bridge, 'type', 'bridge') },
    { what: `addressing ${bridge}`, argv: ip(ns, 'addr', 'add', node.bridgeAddress, 'dev', bridge) },
    {
      what: `creating ${vxlanIf} (VNI ${OVERLAY.vni}, UDP ${OVERLAY.port})`,
      argv: ip(
        ns,
        'link',
        'add',
        vxlanIf,
        'type',
        'vxlan',
        'id',
        String(OVERLAY.vni),
        'dstport',
        String(OVERLAY.port),
        'local',
        node.host,
        'dev',
        OVERLAY.underlay,
      ),
    },
    { what: `putting ${vxlanIf} in ${bridge}`, argv: ip(ns, 'link', 'set', vxlanIf, 'mtu', String(OVERLAY.mtu), 'master', bridge, 'up') },
    {
      what: `adding ${peer.name} as flood peer`,
      argv: ['bridge', '-n', ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', vxlanIf, 'dst', peer.host],
    },
  ];
  if (guest) cmds.push({ what: `putting ${guest.hostIf} in ${bridge}`, argv: ip(ns, 'link', 'set', guest.hostIf, 'master', bridge, 'up') });
  cmds.push({ what: `bringing up ${bridge}`, argv: ip(ns, 'link', 'set', bridge, 'up') });
  return cmds;
}

export async function provisionOverlay(prefix: string, topo: LabTopology = DEFAULT_TOPOLOGY): Promise<void> {
  for (const node of topo.nodes) {
    for (const c of overlayCommands(prefix, node, topo)) await mustRun(`${node.name}: ${c.what}`, c.argv);
    await disableVxlanGro(netnsName(prefix, node.name));
  }
}

/** True when `ping` from `fromNetns` to `address` gets an answer within the tries. */
export async function pingOk(fromNetns: string, address: string, tries = 3, extra: string[] = []): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await run(netnsExec(fromNetns, ['ping', '-n', '-q', '-c', '1', '-W', '1', ...extra, address]), { timeoutMs: 5000 });
    if (r.code === 0) return true;
  }
  return false;
}
