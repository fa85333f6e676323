/**
 * The kernel side of the lab: namespaces, the underlay switch, veths, addresses, and (when
 * provisioned) each node's vxlan_bridge with its VXLAN interface — the class's commands,
 * each run inside the namespace it concerns (`ip -n NS …`), never in the machine's own.
 */
import {
  FRONTEND_ADDRESS,
  GUEST_IF,
  GUESTS,
  LAB_ROLES,
  LAN_BRIDGE,
  NODES,
  OVERLAY,
  UNDERLAY_IF,
  UNDERLAY_PREFIX_LEN,
  addressOnly,
  netnsName,
  nodeSpec,
  type LabRole,
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

const UNDERLAY_HOSTS: readonly { role: LabRole; address: string }[] = [
  { role: 'frontend', address: FRONTEND_ADDRESS },
  ...NODES.map((n) => ({ role: n.name as LabRole, address: n.host })),
];

/** The underlay: bridge `lan` in the lan namespace, one veth per host (`eth1` on the host side). */
export async function buildUnderlay(prefix: string): Promise<void> {
  const lan = netnsName(prefix, 'lan');
  await mustRun(`creating the underlay switch in ${lan}`, ip(lan, 'link', 'add', LAN_BRIDGE, 'type', 'bridge'));
  await mustRun(`bringing up the underlay switch in ${lan}`, ip(lan, 'link', 'set', LAN_BRIDGE, 'up'));
  for (const h of UNDERLAY_HOSTS) {
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
export async function buildGuests(prefix: string): Promise<void> {
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
    const gw = addressOnly(nodeSpec(g.node).bridgeAddress);
    await mustRun(`default route in ${vm}`, ip(vm, 'route', 'add', 'default', 'via', gw, 'dev', GUEST_IF));
  }
}

/** What the class does on each node, plus plugging the guest into the bridge. */
export function overlayCommands(prefix: string, node: NodeSpec): { what: string; argv: string[] }[] {
  const ns = netnsName(prefix, node.name);
  const peer = nodeSpec(node.peer);
  const guest = GUESTS.find((g) => g.node === node.name);
  const { bridge, vxlanIf } = OVERLAY;
  const cmds = [
    { what: `creating ${bridge}`, argv: ip(ns, 'link', 'add', bridge, 'type', 'bridge') },
    { what: `addressing ${bridge}`, argv: ip(ns, 'addr', 'add', node.bridgeAddress, 'dev', bridge) },
    {
      what: `creating ${vxlanIf} (VNI ${OVERLAY.vni}, UDP ${OVERLAY.port})`,
      argv: ip(ns, 'link', 'add', vxlanIf, 'type', 'vxlan', 'id', String(OVERLAY.vni), 'dstport', String(OVERLAY.port), 'local', node.host, 'dev', OVERLAY.underlay),
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

export async function provisionOverlay(prefix: string): Promise<void> {
  for (const node of NODES) {
    for (const c of overlayCommands(prefix, node)) await mustRun(`${node.name}: ${c.what}`, c.argv);
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
