/**
 * From (a node's inventory entry + what the node looks like now) to the commands that make it
 * look like the inventory says. Pure: no I/O, so a plan can be printed (--dry-run), tested with
 * recorded state, and shown to be empty on a node that is already right (idempotence).
 */
import { vxlanInterfaceName, type NodeConfig } from '../remote/inventory.js';
import { ADDR_ASSIGN_SET, FLOOD_MAC, findLink, floodDestinations, type LinkState, type NodeState, type VxlanInfo } from './state.js';

/** Alias set on the interfaces provision creates; teardown deletes a bridge only when it carries it. */
export const CREATED_BY = 'vxlan-inspect';

/** VXLAN over IPv4 adds 50 bytes: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD_IPV4 = 50;

export interface PlannedCommand {
  argv: string[];
  /** One line saying why (what is missing or wrong). */
  why: string;
}

export interface Plan {
  node: string;
  commands: PlannedCommand[];
  /** Things worth saying that need no command (firewalld absent, a bridge left in place). */
  notes: string[];
  /** Conflicts provision will not resolve on its own; apply refuses a plan that has any. */
  blockers: string[];
}

export interface ProvisionInput {
  /** Must be an overlay member (have a bridgeAddress). */
  node: NodeConfig;
  state: NodeState;
  /** This node's underlay address (the VXLAN `local`). */
  localAddress: string;
  /** The other overlay members' underlay addresses (flood entries). */
  peers: { name: string; address: string }[];
  /** Multicast group mode instead of flood entries (`--multicast`, or `group` in the inventory). */
  group?: string;
}

/**
 * The MAC provision gives a bridge it creates: locally administered `02:76:78` ("vx") + the last
 * three bytes of the bridge's IPv4 address. Without a set address, a Linux bridge takes the
 * lowest MAC of its ports, which changes when the VXLAN interface is recreated.
 */
export function bridgeMac(bridgeAddress: string): string {
  const octets = (bridgeAddress.split('/')[0] ?? '').split('.').map(Number);
  const hex = octets.slice(1).map((n) => n.toString(16).padStart(2, '0'));
  return ['02', '76', '78', ...hex].join(':');
}

/**
 * Keeps a bridge provision did not create on the MAC it has now. Such a bridge usually has no
 * set address, so Linux gives it the lowest MAC of its ports: adding or removing the VXLAN port
 * would change it, and the peers' ARP caches would point at a MAC nobody answers to any more
 * (the overlay looks dead for up to a minute). Setting the address to its current value fixes it.
 */
function pinBridgeMac(bridge: LinkState | undefined, vx: string, doing: string): PlannedCommand | undefined {
  if (bridge?.kind !== 'bridge' || bridge.alias === CREATED_BY || !bridge.address) return undefined;
  // already set (by an earlier run that was stopped before it made the VXLAN device, or by hand)
  if (bridge.addrAssignType === ADDR_ASSIGN_SET) return undefined;
  return {
    argv: ['ip', 'link', 'set', 'dev', bridge.name, 'address', bridge.address],
    why:
      `keep ${bridge.name} on its MAC ${bridge.address} while ${doing} ${vx} ` +
      `(a bridge without a set address takes its lowest port's MAC, ` +
      `and the peers' ARP caches would go stale)`,
  };
}

function desiredVxlan(input: ProvisionInput): VxlanInfo {
  const o = input.node.overlay;
  const v: VxlanInfo = { id: o.vni, port: o.port, local: input.localAddress, dev: o.underlay };
  const group = input.group ?? o.group;
  if (group) v.group = group;
  return v;
}

function vxlanDiff(have: VxlanInfo, want: VxlanInfo): string[] {
  const d: string[] = [];
  if (have.id !== want.id) d.push(`VNI ${have.id} (want ${want.id})`);
  if (have.port !== want.port) d.push(`port ${have.port} (want ${want.port})`);
  if (have.local !== want.local) d.push(`local ${have.local ?? 'unset'} (want ${want.local ?? 'unset'})`);
  if (have.dev !== want.dev) d.push(`dev ${have.dev ?? 'unset'} (want ${want.dev ?? 'unset'})`);
  if ((have.group ?? '') !== (want.group ?? '')) d.push(`group ${have.group ?? 'none'} (want ${want.group ?? 'none'})`);
  return d;
}

export function vxlanAddArgv(name: string, v: VxlanInfo): string[] {
  const argv = ['ip', 'link', 'add', name, 'type', 'vxlan', 'id', String(v.id), 'dstport', String(v.port)];
  if (v.local) argv.push('local', v.local);
  if (v.group) argv.push('group', v.group);
  if (v.dev) argv.push('dev', v.dev);
  return argv;
}

/** The commands that bring one node to the inventory's overlay. */
export function planProvision(input: ProvisionInput): Plan {
  const { node, state } = input;
  const o = node.overlay;
  const br = o.bridge;
  const vx = vxlanInterfaceName(o);
  const plan: Plan = { node: node.name, commands: [], notes: [], blockers: [] };
  const add = (argv: string[], why: string): void => {
    plan.commands.push({ argv, why });
  };

  if (!node.bridgeAddress) {
    plan.blockers.push(`${node.name} has no bridgeAddress in the inventory, so it is not an overlay member`);
    return plan;
  }
  const underlay = findLink(state, o.underlay);
  if (!underlay) {
    plan.blockers.push(
      `underlay interface ${o.underlay} does not exist (interfaces: ${state.links.map((l) => l.name).join(', ')}); set underlay: in the inventory`,
    );
  } else if (o.mtu + VXLAN_OVERHEAD_IPV4 > underlay.mtu) {
    plan.blockers.push(
      `overlay mtu ${o.mtu} + ${VXLAN_OVERHEAD_IPV4} bytes of VXLAN headers exceeds ${o.underlay}'s ` +
        `mtu ${underlay.mtu}; set mtu: ${underlay.mtu - VXLAN_OVERHEAD_IPV4} (or less) in the inventory`,
    );
  }
  const want = desiredVxlan(input);
  for (const l of state.links) {
    if (l.name !== vx && l.vxlan && l.vxlan.id === want.id && l.vxlan.port === want.port) {
      plan.blockers.push(
        `${l.name} already carries VNI ${want.id} on UDP ${want.port} (made by hand?); remove it (ip link del dev ${l.name}) so that ${vx} can be created`,
      );
    }
  }

  // the bridge
  const bridge = findLink(state, br);
  let bridgeAddrs = state.addrs[br] ?? [];
  if (bridge && bridge.kind !== 'bridge') {
    plan.blockers.push(
      `${br} exists but is a ${bridge.kind ?? 'plain'} interface, not a bridge; rename bridge: in the inventory or remove it`,
    );
  }
  if (!bridge) {
    const mac = bridgeMac(node.bridgeAddress);
    add(
      ['ip', 'link', 'add', 'name', br, 'address', mac, 'type', 'bridge'],
      `bridge ${br} does not exist (fixed MAC ${mac}: it stays when ports come and go, so peers' ARP caches stay right)`,
    );
    add(
      ['ip', 'link', 'set', 'dev', br, 'alias', CREATED_BY],
      `mark ${br} as created by vxlan-inspect (teardown removes only marked bridges)`,
    );
    bridgeAddrs = [];
  }
  if (!bridgeAddrs.includes(node.bridgeAddress)) {
    add(['ip', 'addr', 'add', node.bridgeAddress, 'dev', br], `${br} lacks ${node.bridgeAddress}`);
  }
  if (!bridge?.up) add(['ip', 'link', 'set', 'dev', br, 'up'], `${br} is down`);

  // the VXLAN interface
  let link = findLink(state, vx);
  let fdbNow = floodDestinations(state.fdb);
  if (link && !link.vxlan) {
    plan.blockers.push(`${vx} exists but is a ${link.kind ?? 'plain'} interface, not VXLAN; remove it (ip link del dev ${vx})`);
  } else if (link?.vxlan) {
    const diff = vxlanDiff(link.vxlan, want);
    if (diff.length > 0) {
      add(['ip', 'link', 'del', 'dev', vx], `${vx} has ${diff.join(', ')}: recreate it`);
      link = undefined;
      fdbNow = [];
    }
  }
  if (!link) {
    add(vxlanAddArgv(vx, want), `VXLAN interface ${vx} (VNI ${want.id}, UDP ${want.port}) does not exist`);
    add(['ip', 'link', 'set', 'dev', vx, 'alias', CREATED_BY], `mark ${vx} as created by vxlan-inspect`);
  }
  // the kernel sets a new VXLAN's mtu to the underlay's minus 50
  const mtuNow = link ? link.mtu : underlay ? underlay.mtu - VXLAN_OVERHEAD_IPV4 : 0;
  if (mtuNow !== o.mtu) add(['ip', 'link', 'set', 'dev', vx, 'mtu', String(o.mtu)], `${vx} mtu is ${mtuNow}, inventory says ${o.mtu}`);
  if (!link || link.master !== br) {
    const pin = pinBridgeMac(bridge, vx, 'adding');
    if (pin) add(pin.argv, pin.why);
    add(['ip', 'link', 'set', 'dev', vx, 'master', br], `${vx} is not a port of ${br}`);
  }
  if (!link?.up) add(['ip', 'link', 'set', 'dev', vx, 'up'], `${vx} is down`);

  // flood entries (head-end replication), or multicast
  const peers = [...new Set(input.peers.map((p) => p.address))].filter((a) => a !== input.localAddress);
  const keep = want.group ? [want.group] : peers;
  if (!want.group) {
    for (const p of input.peers) {
      if (p.address === input.localAddress || fdbNow.includes(p.address)) continue;
      if (!peers.includes(p.address)) continue;
      add(['bridge', 'fdb', 'append', FLOOD_MAC, 'dev', vx, 'dst', p.address], `no flood entry for ${p.name} (${p.address})`);
      fdbNow.push(p.address);
    }
  }
  for (const dst of [...new Set(fdbNow)]) {
    if (!keep.includes(dst))
      add(['bridge', 'fdb', 'del', FLOOD_MAC, 'dev', vx, 'dst', dst], `flood entry to ${dst}, which is not an overlay member`);
  }

  // firewalld
  const fw = state.firewall;
  if (!fw.running) {
    plan.notes.push(`${fw.reason}: no firewall changes`);
  } else {
    const zone = o.firewallZone ?? fw.defaultZone;
    for (const [mode, view, flag] of [
      ['runtime', fw.runtime, []],
      ['permanent', fw.permanent, ['--permanent']],
    ] as const) {
      const fwc = (...args: string[]): string[] => ['firewall-cmd', ...flag, ...args];
      if (view.bridgeZone !== zone) {
        if (view.bridgeZone)
          add(fwc(`--zone=${zone}`, `--change-interface=${br}`), `${br} is in zone ${view.bridgeZone} (${mode}), want ${zone}`);
        else add(fwc(`--zone=${zone}`, `--add-interface=${br}`), `${br} is in no firewalld zone (${mode})`);
      }
      if (!view.masquerade) add(fwc(`--zone=${zone}`, '--add-masquerade'), `masquerade is off in zone ${zone} (${mode})`);
      const uzone = view.underlayZone ?? fw.defaultZone;
      if (!view.portOpen)
        add(fwc(`--zone=${uzone}`, `--add-port=${o.port}/udp`), `udp/${o.port} is closed in zone ${uzone} of ${o.underlay} (${mode})`);
    }
  }
  return plan;
}

export interface TeardownInput {
  node: NodeConfig;
  state: NodeState;
}

/** Removes what provision made: the VXLAN interface (its fdb goes with it), and the bridge if provision created it and nothing else uses it. */
export function planTeardown(input: TeardownInput): Plan {
  const { node, state } = input;
  const o = node.overlay;
  const vx = vxlanInterfaceName(o);
  const plan: Plan = { node: node.name, commands: [], notes: [], blockers: [] };
  const link = findLink(state, vx);
  const bridge = findLink(state, o.bridge);
  if (link?.vxlan) {
    const pin = link.master === o.bridge ? pinBridgeMac(bridge, vx, 'removing') : undefined;
    if (pin) plan.commands.push(pin);
    plan.commands.push({ argv: ['ip', 'link', 'del', 'dev', vx], why: `remove ${vx} (VNI ${link.vxlan.id}) and its flood entries` });
  } else if (link) plan.notes.push(`${vx} is a ${link.kind ?? 'plain'} interface, not VXLAN: left in place`);
  let bridgeRemoved = false;
  if (bridge) {
    const others = state.links.filter((l) => l.master === o.bridge && l.name !== vx).map((l) => l.name);
    if (bridge.alias !== CREATED_BY) {
      plan.notes.push(`${o.bridge} was not created by vxlan-inspect: left in place`);
    } else if (others.length > 0) {
      plan.notes.push(`${o.bridge} still has ports (${others.join(', ')}): left in place`);
    } else {
      plan.commands.push({
        argv: ['ip', 'link', 'del', 'dev', o.bridge],
        why: `remove the bridge ${o.bridge} provision created (no other ports)`,
      });
      bridgeRemoved = true;
    }
  }
  const fw = state.firewall;
  if (fw.running) {
    if (bridgeRemoved && fw.permanent.bridgeZone) {
      plan.commands.push({
        argv: ['firewall-cmd', '--permanent', `--zone=${fw.permanent.bridgeZone}`, `--remove-interface=${o.bridge}`],
        why: `forget the removed ${o.bridge} in firewalld's permanent configuration`,
      });
    }
    plan.notes.push(`firewalld: masquerade and udp/${o.port} left as they are (they may predate vxlan-inspect)`);
  }
  if (plan.commands.length === 0) plan.notes.push('nothing of the overlay to remove');
  return plan;
}
