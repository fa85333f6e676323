/**
 * `lab break KIND` and `lab fix`: the teaching faults. Each is a real kernel change made with
 * iproute2 (or nft) inside one node's namespace (`ip -n NS …`, `ip netns exec NS …`), never in
 * the machine's own. What was there before is read from the kernel and written to DIR/break.json
 * (with the lab folder's safe writes) before anything changes, so `lab fix` puts back exactly that
 * and nothing else. One fault at a time.
 *
 *   mtu        the node's vxlan10 (made again without `dev eth1`: the kernel caps a bound one at
 *              eth1's MTU - 50), vxlan_bridge, guest veth and the guest's eth0 at MTU 1500 over an
 *              underlay of 1500: frames over 1450 bytes no longer fit one underlay packet
 *   vni        the node's vxlan10 recreated on another VNI (10 → 11)
 *   port       the node's vxlan10 recreated on UDP 8472 (the kernel's old default) instead of 4789
 *   fdb        the node's flood entry (00:00:00:00:00:00) toward its peer removed
 *   stale-fdb  a static entry on the node for the peer guest's MAC pointing at a host that is no VTEP
 *              (the lab's frontend, 10.3.1.250; a class group's own): a stale entry after a move
 *   drop       the node's input path drops UDP 4789 (an nftables rule, like a host firewall)
 *   multicast  the node's vxlan10 recreated on another multicast group (needs a lab provisioned with
 *              `provision --multicast GROUP`)
 *   offload    tx checksum offload back on (TSO still off) on the node's eth1 and its guest's eth0,
 *              which `lab up` turned off: the sender's own captures show "bad udp cksum" and
 *              "incorrect" TCP/UDP checksums (the checksum is filled in later, by the "hardware");
 *              nothing is lost — the other node's captures are correct. Not an overlay fault, so
 *              `check` does not name it; `path` marks those frames as checksum offload.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { parseFdb, parseIpLink, FLOOD_MAC } from '../provision/state.js';
import { existingLabNamespaces, readFeatures, setFeatures } from './build.js';
import { LabError } from './errors.js';
import { labFiles } from './files.js';
import { labTopologyAt } from './up.js';
import { mustRun, netnsExec, run } from './run.js';
import { createNew, ownedDir, removeEntry } from './safedir.js';
import {
  DEFAULT_PREFIX,
  GUEST_IF,
  GUESTS,
  NODES,
  OVERLAY,
  UNDERLAY_IF,
  checkPrefix,
  netnsName,
  nodeSpec,
  type GuestName,
  type NodeName,
  type LabTopology,
} from './topology.js';

/** The overlay faults: `check` names each. */
export const BREAK_KINDS = ['mtu', 'vni', 'port', 'fdb', 'stale-fdb', 'drop', 'multicast'] as const;
/** Every kind `lab break` makes: the overlay faults, and `offload` (an artefact of the sender's captures, not a fault of the overlay). */
export const LAB_BREAK_KINDS = [...BREAK_KINDS, 'offload'] as const;
export type BreakKind = (typeof LAB_BREAK_KINDS)[number];

export function isBreakKind(s: string): s is BreakKind {
  return (LAB_BREAK_KINDS as readonly string[]).includes(s);
}

/**
 * The node a kind changes when --node is not given: the sender's (kvm1, vm1 sends the class traffic)
 * for stale-fdb and offload, the receiver's otherwise.
 */
export function defaultBreakNode(kind: BreakKind): NodeName {
  return kind === 'stale-fdb' || kind === 'offload' ? 'kvm1' : 'kvm2';
}

/** The VXLAN device as it was, enough to make it again. */
export interface VxlanSnapshot {
  /** Its MAC address: kept when it is made again, so the bridge (which takes its lowest port's) keeps its own. */
  address?: string;
  id: number;
  port: number;
  local?: string;
  dev?: string;
  group?: string;
  mtu: number;
  master?: string;
  up: boolean;
  /** Destinations of the flood (all-zeros) entries; empty in multicast mode. */
  flood: string[];
  /** GRO on the device (lab up turns it off); absent in records written before it was kept: then left as the kernel makes it. */
  gro?: boolean;
}

export interface MtuSnapshot {
  netns: string;
  ifname: string;
  mtu: number;
}

/** offload: a device's checksum and segmentation offloads before the break. */
export interface OffloadSnapshot {
  netns: string;
  ifname: string;
  /** tx checksum offload (ethtool's `tx`). */
  tx: boolean;
  /** TCP segmentation offload (ethtool's `tso`). */
  tso: boolean;
}

/** Contents of DIR/break.json. */
export interface BreakRecord {
  kind: BreakKind;
  node: NodeName;
  prefix: string;
  at: string;
  /** One line: what is wrong now. */
  summary: string;
  /** vni, port, multicast: vxlan10 before it was recreated. */
  vxlan?: VxlanSnapshot;
  /** mtu: the MTUs before, in the order they were raised. */
  mtus?: MtuSnapshot[];
  /** fdb: the flood entry's destination that was removed. */
  removedFlood?: string;
  /** stale-fdb: the static entry added (and the learnt destination it replaced, if any). */
  staleFdb?: { mac: string; dst: string; replacedDst?: string };
  /** drop: the nftables table added. */
  nftTable?: { family: 'inet'; name: string };
  /** offload: the devices whose tx checksum offload was turned on, as they were. */
  offload?: OffloadSnapshot[];
}

export interface BreakOptions {
  prefix?: string;
  dir: string;
  kind: string;
  node?: string;
}

const NFT_TABLE = 'vxlan_inspect_lab';
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

function breakFile(dir: string): string {
  return labFiles(dir).breakRecord;
}

/** The lab folder, when it is ours (owned, no one else can write); refused otherwise (exit 2). */
function ourLabDir(dir: string): string {
  const own = ownedDir(dir);
  if (own === null)
    throw new LabError(
      `lab folder ${path.resolve(dir)} does not exist: is the lab up? (\`vxlan-inspect lab up --provisioned\`, or give its --dir)`,
      { exitCode: 2 },
    );
  if ('problem' in own)
    throw new LabError(`${own.problem}: it is not a lab folder of ours, so nothing is recorded or read there`, { exitCode: 2 });
  return own.real;
}

function bad(file: string, what: string): LabError {
  return new LabError(
    `${file} is not a break record vxlan-inspect wrote (${what}): remove it, and undo the fault by hand or rebuild the lab (lab down, lab up)`,
    { exitCode: 2 },
  );
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a break record: every value that ends up in a command must be what it claims. */
export function parseBreakRecord(text: string, file = 'break.json'): BreakRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw bad(file, (err as Error).message);
  }
  if (!isObj(v)) throw bad(file, 'not an object');
  const { kind, node, prefix, at, summary } = v;
  if (typeof kind !== 'string' || !isBreakKind(kind)) throw bad(file, `kind ${JSON.stringify(kind)}`);
  if (node !== 'kvm1' && node !== 'kvm2') throw bad(file, `node ${JSON.stringify(node)}`);
  if (typeof prefix !== 'string') throw bad(file, 'no prefix');
  checkPrefix(prefix);
  const rec: BreakRecord = {
    kind,
    node,
    prefix,
    at: typeof at === 'string' ? at : '',
    summary: typeof summary === 'string' ? summary : kind,
  };
  const ip = (x: unknown, what: string): string => {
    if (typeof x !== 'string' || !IPV4_RE.test(x)) throw bad(file, `${what} ${JSON.stringify(x)}`);
    return x;
  };
  const int = (x: unknown, what: string, lo: number, hi: number): number => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) throw bad(file, `${what} ${JSON.stringify(x)}`);
    return x;
  };
  const ifname = (x: unknown, what: string): string => {
    if (typeof x !== 'string' || !IFNAME_RE.test(x)) throw bad(file, `${what} ${JSON.stringify(x)}`);
    return x;
  };
  if (v.vxlan !== undefined) {
    const x = v.vxlan;
    if (!isObj(x) || !Array.isArray(x.flood)) throw bad(file, 'vxlan');
    const s: VxlanSnapshot = {
      id: int(x.id, 'vni', 0, 0xffffff),
      port: int(x.port, 'port', 1, 65535),
      mtu: int(x.mtu, 'mtu', 68, 65535),
      up: x.up === true,
      flood: x.flood.map((d) => ip(d, 'flood')),
    };
    if (x.address !== undefined) {
      if (typeof x.address !== 'string' || !MAC_RE.test(x.address)) throw bad(file, `address ${JSON.stringify(x.address)}`);
      s.address = x.address;
    }
    if (x.local !== undefined) s.local = ip(x.local, 'local');
    if (x.group !== undefined) s.group = ip(x.group, 'group');
    if (x.dev !== undefined) s.dev = ifname(x.dev, 'dev');
    if (x.master !== undefined) s.master = ifname(x.master, 'master');
    if (x.gro !== undefined) {
      if (typeof x.gro !== 'boolean') throw bad(file, `gro ${JSON.stringify(x.gro)}`);
      s.gro = x.gro;
    }
    rec.vxlan = s;
  }
  const allowed = new Set([...NODES.map((n) => netnsName(prefix, n.name)), ...GUESTS.map((g) => netnsName(prefix, g.name))]);
  if (v.mtus !== undefined) {
    if (!Array.isArray(v.mtus)) throw bad(file, 'mtus');
    rec.mtus = v.mtus.map((m) => {
      if (!isObj(m) || typeof m.netns !== 'string' || !allowed.has(m.netns)) throw bad(file, 'mtus');
      return { netns: m.netns, ifname: ifname(m.ifname, 'ifname'), mtu: int(m.mtu, 'mtu', 68, 65535) };
    });
  }
  if (v.removedFlood !== undefined) rec.removedFlood = ip(v.removedFlood, 'removedFlood');
  if (v.staleFdb !== undefined) {
    const s = v.staleFdb;
    if (!isObj(s) || typeof s.mac !== 'string' || !MAC_RE.test(s.mac)) throw bad(file, 'staleFdb');
    rec.staleFdb = { mac: s.mac, dst: ip(s.dst, 'staleFdb.dst') };
    if (s.replacedDst !== undefined) rec.staleFdb.replacedDst = ip(s.replacedDst, 'staleFdb.replacedDst');
  }
  if (v.nftTable !== undefined) {
    const t = v.nftTable;
    if (!isObj(t) || t.family !== 'inet' || t.name !== NFT_TABLE) throw bad(file, 'nftTable');
    rec.nftTable = { family: 'inet', name: NFT_TABLE };
  }
  if (v.offload !== undefined) {
    // only this lab's node and guest namespaces
    if (!Array.isArray(v.offload)) throw bad(file, 'offload');
    rec.offload = v.offload.map((o) => {
      if (!isObj(o) || typeof o.netns !== 'string' || !allowed.has(o.netns) || typeof o.tx !== 'boolean' || typeof o.tso !== 'boolean')
        throw bad(file, 'offload');
      return { netns: o.netns, ifname: ifname(o.ifname, 'ifname'), tx: o.tx, tso: o.tso };
    });
  }
  const needs: Record<BreakKind, keyof BreakRecord> = {
    mtu: 'mtus',
    vni: 'vxlan',
    port: 'vxlan',
    multicast: 'vxlan',
    fdb: 'removedFlood',
    'stale-fdb': 'staleFdb',
    drop: 'nftTable',
    offload: 'offload',
  };
  if (rec[needs[kind]] === undefined || (kind === 'mtu' && rec.vxlan === undefined))
    throw bad(file, `a ${kind} record without ${needs[kind]}`);
  return rec;
}

/** The fault recorded in the lab folder, or null when there is none (or no folder). */
export function readBreak(dir: string): BreakRecord | null {
  const own = ownedDir(dir);
  if (own === null || 'problem' in own) return null;
  const file = breakFile(own.real);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return parseBreakRecord(text, file);
}

const ipn = (ns: string, ...args: string[]): string[] => ['ip', '-n', ns, ...args];
const bridgeN = (ns: string, ...args: string[]): string[] => ['bridge', '-n', ns, ...args];

async function readVxlan(ns: string, node: NodeName): Promise<VxlanSnapshot> {
  const { vxlanIf } = OVERLAY;
  const r = await run(ipn(ns, '-j', '-d', 'link', 'show', 'dev', vxlanIf), { timeoutMs: 5000 });
  const link = r.code === 0 ? parseIpLink(r.stdout)[0] : undefined;
  if (!link?.vxlan) {
    throw new LabError(
      `${node} has no ${vxlanIf} ` +
        `(\`${ipn(ns, 'link', 'show', 'dev', vxlanIf).join(' ')}\`: ${r.stderr.trim() || 'not a VXLAN device'}): ` +
        'provision the lab first (lab up --provisioned)',
      { exitCode: 2 },
    );
  }
  const fdb = parseFdb(
    await mustRun(`reading ${node}'s ${vxlanIf} fdb`, bridgeN(ns, '-j', 'fdb', 'show', 'dev', vxlanIf), { timeoutMs: 5000 }),
  );
  const v = link.vxlan;
  const snap: VxlanSnapshot = {
    id: v.id,
    port: v.port,
    mtu: link.mtu,
    up: link.up,
    flood: fdb.filter((e) => e.mac === FLOOD_MAC && e.dst !== undefined && e.dst !== v.group).map((e) => e.dst as string),
  };
  if (link.address && MAC_RE.test(link.address)) snap.address = link.address;
  if (v.local) snap.local = v.local;
  if (v.dev) snap.dev = v.dev;
  if (v.group) snap.group = v.group;
  if (link.master) snap.master = link.master;
  const gro = (await readFeatures(ns, vxlanIf)).get('generic-receive-offload');
  if (gro !== undefined) snap.gro = gro;
  return snap;
}

/** Makes vxlan10 in `ns` as the snapshot says (after deleting what is there). */
async function recreateVxlan(ns: string, node: NodeName, s: VxlanSnapshot): Promise<void> {
  const { vxlanIf } = OVERLAY;
  await run(ipn(ns, 'link', 'del', 'dev', vxlanIf), { timeoutMs: 5000 });
  const add = ipn(
    ns,
    'link',
    'add',
    vxlanIf,
    ...(s.address ? ['address', s.address] : []),
    'type',
    'vxlan',
    'id',
    String(s.id),
    'dstport',
    String(s.port),
  );
  if (s.local) add.push('local', s.local);
  if (s.group) add.push('group', s.group);
  if (s.dev) add.push('dev', s.dev);
  await mustRun(`${node}: creating ${vxlanIf} (VNI ${s.id}, UDP ${s.port}${s.group ? `, group ${s.group}` : ''})`, add);
  await mustRun(`${node}: setting ${vxlanIf}'s mtu`, ipn(ns, 'link', 'set', 'dev', vxlanIf, 'mtu', String(s.mtu)));
  if (s.master) await mustRun(`${node}: putting ${vxlanIf} in ${s.master}`, ipn(ns, 'link', 'set', 'dev', vxlanIf, 'master', s.master));
  // a new device has GRO on: keep it as the lab had it (off: the bridge capture shows the frames as they crossed)
  if (s.gro === false) await setFeatures(ns, vxlanIf, { gro: false }, `${node}: turning GRO off on ${vxlanIf}`);
  if (s.up) await mustRun(`${node}: bringing up ${vxlanIf}`, ipn(ns, 'link', 'set', 'dev', vxlanIf, 'up'));
  for (const d of s.flood) await mustRun(`${node}: flood entry to ${d}`, bridgeN(ns, 'fdb', 'append', FLOOD_MAC, 'dev', vxlanIf, 'dst', d));
}

async function linkMtu(ns: string, ifname: string): Promise<number> {
  const l = parseIpLink(
    await mustRun(`reading ${ifname}'s mtu in ${ns}`, ipn(ns, '-j', 'link', 'show', 'dev', ifname), { timeoutMs: 5000 }),
  )[0];
  if (!l) throw new LabError(`${ns} has no ${ifname}`);
  return l.mtu;
}

async function guestMac(prefix: string, guest: GuestName): Promise<string> {
  const ns = netnsName(prefix, guest);
  const l = parseIpLink(
    await mustRun(`reading ${guest}'s MAC address`, ipn(ns, '-j', 'link', 'show', 'dev', GUEST_IF), { timeoutMs: 5000 }),
  )[0];
  if (!l?.address || !MAC_RE.test(l.address)) throw new LabError(`${ns} ${GUEST_IF} has no MAC address`);
  return l.address;
}

async function hasNft(): Promise<boolean> {
  return (await run(['nft', '--version'], { timeoutMs: 5000 })).code === 0;
}

function nextGroup(g: string): string {
  const parts = g.split('.').map(Number);
  const last = parts[3] ?? 1;
  parts[3] = last >= 254 ? last - 1 : last + 1;
  return parts.join('.');
}

/** Applies the fault to the kernel; returns the record of what was there (written before this runs). */
async function prepare(
  prefix: string,
  kind: BreakKind,
  node: NodeName,
  topo: LabTopology,
): Promise<{ rec: BreakRecord; apply: () => Promise<void> }> {
  const ns = netnsName(prefix, node);
  // a group of a class lab has its own addresses (10.3.n.x)
  const spec = nodeSpec(node, topo);
  const peer = nodeSpec(spec.peer, topo);
  const { vxlanIf, bridge } = OVERLAY;
  const base = { kind, node, prefix, at: new Date().toISOString() };
  switch (kind) {
    case 'vni':
    case 'port':
    case 'multicast': {
      const before = await readVxlan(ns, node);
      const after: VxlanSnapshot = { ...before, flood: [...before.flood] };
      let summary: string;
      if (kind === 'vni') {
        after.id = before.id + 1;
        summary = `${node}'s ${vxlanIf} is on VNI ${after.id} (the other node and the inventory: ${before.id})`;
      } else if (kind === 'port') {
        after.port = before.port === 8472 ? 4789 : 8472;
        summary = `${node}'s ${vxlanIf} uses UDP ${after.port} (the other node and the inventory: ${before.port})`;
      } else {
        if (!before.group) {
          throw new LabError(
            `lab break multicast: ${node}'s ${vxlanIf} floods with unicast flood entries, not a multicast group, so there is no group to mismatch. ` +
              `Provision the lab in multicast mode first: ip netns exec ${netnsName(prefix, 'frontend')} ` +
              'vxlan-inspect provision kvm1 kvm2 --multicast 239.1.1.1 --inventory DIR/inventory.yaml',
            { exitCode: 2 },
          );
        }
        after.group = nextGroup(before.group);
        summary = `${node}'s ${vxlanIf} joins multicast group ${after.group} (the other node: ${before.group})`;
      }
      return { rec: { ...base, summary, vxlan: before }, apply: () => recreateVxlan(ns, node, after) };
    }
    case 'mtu': {
      const guest = GUESTS.find((g) => g.node === node);
      if (!guest) throw new LabError(`${node} has no guest`);
      const gns = netnsName(prefix, guest.name);
      const before = await readVxlan(ns, node);
      // raised after vxlan10, from the guest inwards: the bridge takes the lowest MTU of its ports
      const targets: { netns: string; ifname: string }[] = [
        { netns: gns, ifname: GUEST_IF },
        { netns: ns, ifname: guest.hostIf },
        { netns: ns, ifname: bridge },
      ];
      const mtus: MtuSnapshot[] = [];
      for (const t of targets) mtus.push({ ...t, mtu: await linkMtu(t.netns, t.ifname) });
      const ul = await linkMtu(ns, UNDERLAY_IF);
      // the kernel caps a VXLAN device bound to eth1 at eth1's MTU - 50: 1500 needs one that is not bound
      // to a device, as a VXLAN device made without `dev` is
      const after: VxlanSnapshot = { ...before, mtu: 1500, flood: [...before.flood] };
      delete after.dev;
      const summary =
        `${node}'s ${vxlanIf} (made again without dev ${UNDERLAY_IF}), ${bridge}, ${guest.hostIf} and ${guest.name}'s ${GUEST_IF} at MTU 1500 ` +
        `over ${UNDERLAY_IF} at ${ul}: a frame over ${ul - 50} bytes no longer fits one underlay packet`;
      return {
        rec: { ...base, summary, vxlan: before, mtus },
        apply: async () => {
          await recreateVxlan(ns, node, after);
          for (const t of targets)
            await mustRun(`${node}: mtu 1500 on ${t.ifname} in ${t.netns}`, ipn(t.netns, 'link', 'set', 'dev', t.ifname, 'mtu', '1500'));
        },
      };
    }
    case 'fdb': {
      const before = await readVxlan(ns, node);
      if (!before.flood.includes(peer.host)) {
        throw new LabError(
          `lab break fdb: ${node}'s ${vxlanIf} has no flood entry to ${peer.name} (${peer.host}) to remove ` +
            `(flood entries: ${before.flood.join(', ') || 'none'})`,
          { exitCode: 2 },
        );
      }
      return {
        rec: {
          ...base,
          summary: `${node}'s ${vxlanIf} has no flood entry to ${peer.name} (${peer.host}): broadcasts (ARP) from ${spec.guest} no longer reach ${peer.name}`,
          removedFlood: peer.host,
        },
        apply: async () => {
          await mustRun(
            `${node}: removing the flood entry to ${peer.host}`,
            bridgeN(ns, 'fdb', 'del', FLOOD_MAC, 'dev', vxlanIf, 'dst', peer.host),
          );
        },
      };
    }
    case 'stale-fdb': {
      await readVxlan(ns, node);
      const mac = await guestMac(prefix, peer.guest);
      const fdb = parseFdb(
        await mustRun(`reading ${node}'s ${vxlanIf} fdb`, bridgeN(ns, '-j', 'fdb', 'show', 'dev', vxlanIf), { timeoutMs: 5000 }),
      );
      const prev = fdb.find((e) => e.mac === mac && e.dst !== undefined);
      // the lab's frontend: a host on the underlay that is no VTEP (a group's own, in a class lab)
      const frontend = topo.frontendAddress;
      const staleFdb: NonNullable<BreakRecord['staleFdb']> = { mac, dst: frontend };
      if (prev?.dst) staleFdb.replacedDst = prev.dst;
      return {
        rec: {
          ...base,
          summary:
            `${node}'s ${vxlanIf} sends ${peer.guest}'s MAC ${mac} to ${frontend} (the frontend, ` +
            `no VTEP) by a static entry, not to ${peer.name} (${peer.host})`,
          staleFdb,
        },
        apply: async () => {
          await mustRun(
            `${node}: static fdb entry ${mac} → ${frontend}`,
            bridgeN(ns, 'fdb', 'replace', mac, 'dev', vxlanIf, 'dst', frontend, 'static'),
          );
        },
      };
    }
    case 'offload': {
      const guest = GUESTS.find((g) => g.node === node);
      if (!guest) throw new LabError(`${node} has no guest`);
      const targets = [
        { netns: ns, ifname: UNDERLAY_IF },
        { netns: netnsName(prefix, guest.name), ifname: GUEST_IF },
      ];
      const offload: OffloadSnapshot[] = [];
      for (const t of targets) {
        const f = await readFeatures(t.netns, t.ifname);
        // tx-tcp-segmentation, not the tcp-segmentation-offload heading: the heading says on while any
        // sub-feature is (tx-tcp-accecn-segmentation stays on with tx checksum offload off)
        offload.push({ ...t, tx: f.get('tx-checksumming') === true, tso: f.get('tx-tcp-segmentation') === true });
      }
      const already = offload.filter((o) => o.tx);
      if (already.length > 0) {
        throw new LabError(
          'lab break offload: tx checksum offload is already on ' +
            `(${already.map((o) => `${o.ifname} in ${o.netns}`).join(', ')}): ` +
            'a lab made before lab up turned it off; rebuild it (lab down, lab up) ' +
            'to have a clean state to break from',
          { exitCode: 2 },
        );
      }
      return {
        rec: {
          ...base,
          summary:
            `${node}'s ${UNDERLAY_IF} and ${guest.name}'s ${GUEST_IF} hand checksums to the "hardware" (tx checksum offload on): ` +
            `${node}'s own captures show bad UDP/TCP checksums on what it sends; nothing is lost`,
          offload,
        },
        apply: async () => {
          // TSO stays off: frames keep their size, only the checksum is left to the device
          for (const t of targets)
            await setFeatures(t.netns, t.ifname, { tx: true, tso: false }, `${node}: tx checksum offload on ${t.ifname} in ${t.netns}`);
        },
      };
    }
    case 'drop': {
      if (!(await hasNft()))
        throw new LabError('lab break drop needs nft (nftables) on this machine: apt-get install nftables', { exitCode: 2 });
      const before = await readVxlan(ns, node);
      const existing = await run(netnsExec(ns, ['nft', 'list', 'table', 'inet', NFT_TABLE]), { timeoutMs: 5000 });
      if (existing.code === 0)
        throw new LabError(
          `${ns} already has nftables table inet ${NFT_TABLE}: remove it (lab exec ${node} -- nft delete table inet ${NFT_TABLE}) first`,
          { exitCode: 2 },
        );
      const rules = [
        `table inet ${NFT_TABLE} {`,
        '  chain input {',
        '    type filter hook input priority -10; policy accept;',
        `    udp dport ${before.port} counter drop comment "vxlan-inspect lab break drop"`,
        '  }',
        '}',
        '',
      ].join('\n');
      return {
        rec: {
          ...base,
          summary:
            `${node} drops incoming UDP ${before.port} (nftables table inet ${NFT_TABLE}, chain input): ` +
            `VXLAN packets reach ${UNDERLAY_IF} and are never decapsulated`,
          nftTable: { family: 'inet', name: NFT_TABLE },
        },
        apply: async () => {
          await mustRun(`${node}: nftables rule dropping UDP ${before.port}`, netnsExec(ns, ['nft', '-f', '-']), {
            input: rules,
            timeoutMs: 5000,
          });
        },
      };
    }
  }
}

/** Undoes what the record says, in the kernel. */
async function undo(rec: BreakRecord): Promise<void> {
  const ns = netnsName(rec.prefix, rec.node);
  const { vxlanIf } = OVERLAY;
  if (rec.vxlan) await recreateVxlan(ns, rec.node, rec.vxlan);
  if (rec.mtus) {
    // lowered from the bridge outwards, the reverse of the break
    for (const m of [...rec.mtus].reverse())
      await mustRun(
        `${rec.node}: mtu ${m.mtu} on ${m.ifname} in ${m.netns}`,
        ipn(m.netns, 'link', 'set', 'dev', m.ifname, 'mtu', String(m.mtu)),
      );
  }
  if (rec.removedFlood) {
    const fdb = parseFdb(
      await mustRun(`reading ${rec.node}'s ${vxlanIf} fdb`, bridgeN(ns, '-j', 'fdb', 'show', 'dev', vxlanIf), { timeoutMs: 5000 }),
    );
    if (!fdb.some((e) => e.mac === FLOOD_MAC && e.dst === rec.removedFlood)) {
      await mustRun(
        `${rec.node}: flood entry to ${rec.removedFlood}`,
        bridgeN(ns, 'fdb', 'append', FLOOD_MAC, 'dev', vxlanIf, 'dst', rec.removedFlood),
      );
    }
  }
  if (rec.staleFdb) {
    // the learnt entry it replaced is learnt again from the next packet: not put back as a static one
    const r = await run(bridgeN(ns, 'fdb', 'del', rec.staleFdb.mac, 'dev', vxlanIf, 'dst', rec.staleFdb.dst), { timeoutMs: 5000 });
    if (r.code !== 0 && !/No such file|not found/i.test(r.stderr))
      throw new LabError(`${rec.node}: removing the static entry ${rec.staleFdb.mac}: ${r.stderr.trim()}`);
  }
  if (rec.offload) {
    for (const o of rec.offload)
      await setFeatures(
        o.netns,
        o.ifname,
        { tx: o.tx, tso: o.tso },
        `${rec.node}: tx checksum offload back ${o.tx ? 'on' : 'off'} on ${o.ifname} in ${o.netns}`,
      );
  }
  if (rec.nftTable) {
    const r = await run(netnsExec(ns, ['nft', 'delete', 'table', rec.nftTable.family, rec.nftTable.name]), { timeoutMs: 5000 });
    if (r.code !== 0 && !/No such file/i.test(r.stderr))
      throw new LabError(`${rec.node}: removing nftables table ${rec.nftTable.name}: ${r.stderr.trim()}`);
  }
}

async function assertLab(prefix: string): Promise<void> {
  const present = await existingLabNamespaces(prefix);
  const missing = ['kvm1', 'kvm2', 'vm1', 'vm2', 'frontend'].map((r) => `${prefix}${r}`).filter((n) => !present.includes(n));
  if (missing.length > 0)
    throw new LabError(
      `lab '${prefix}' is not up (missing ${missing.join(', ')}): run \`vxlan-inspect lab up --provisioned --prefix ${prefix}\``,
      { exitCode: 2 },
    );
}

/** The kinds, for messages. */
export function kindsText(): string {
  return LAB_BREAK_KINDS.join(', ');
}

export async function labBreak(opts: BreakOptions): Promise<BreakRecord> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  if (!isBreakKind(opts.kind)) throw new UsageError(`unknown fault kind '${opts.kind}': use one of ${kindsText()}`);
  const kind = opts.kind;
  if (opts.node !== undefined && opts.node !== 'kvm1' && opts.node !== 'kvm2')
    throw new UsageError(`--node must be kvm1 or kvm2, not '${opts.node}'`);
  const node: NodeName = (opts.node as NodeName | undefined) ?? defaultBreakNode(kind);
  const dir = ourLabDir(opts.dir);
  await assertLab(prefix);
  const file = breakFile(dir);
  const active = readBreak(dir);
  if (active) {
    throw new LabError(
      `a fault is already in place: ${active.kind} on ${active.node} (${active.summary}); run \`vxlan-inspect lab fix\` first`,
      { exitCode: 2 },
    );
  }
  const { rec, apply } = await prepare(prefix, kind, node, labTopologyAt(dir));
  // recorded before anything changes: a crash half-way still leaves what to put back
  removeEntry(file);
  createNew(file, `${JSON.stringify(rec, null, 2)}\n`, 0o644);
  try {
    await apply();
  } catch (err) {
    try {
      await undo(rec);
      removeEntry(file);
    } catch (undoErr) {
      throw new LabError(
        `${(err as Error).message} (and undoing it failed too: ${(undoErr as Error).message}; ${file} keeps what was there, \`lab fix\` tries again)`,
        { cause: err },
      );
    }
    throw err;
  }
  return rec;
}

export async function labFix(opts: { prefix?: string; dir: string }): Promise<BreakRecord> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const dir = ourLabDir(opts.dir);
  const rec = readBreak(dir);
  if (!rec)
    throw new LabError(`no fault is recorded in ${breakFile(dir)}: nothing to fix (\`lab break KIND\` makes one: ${kindsText()})`, {
      exitCode: 2,
    });
  if (rec.prefix !== prefix)
    throw new LabError(`${breakFile(dir)} is a fault of lab '${rec.prefix}', not '${prefix}': give --prefix ${rec.prefix}`, {
      exitCode: 2,
    });
  await assertLab(prefix);
  await undo(rec);
  removeEntry(breakFile(dir));
  return rec;
}
