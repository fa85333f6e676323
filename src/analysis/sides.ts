/**
 * Which packets of which capture files are a node's underlay (eth1) and its bridge
 * (vxlan_bridge): the pairing rules, in the order they apply.
 *
 *  1. `session.json` (written by `capture`): it names each node's files (read elsewhere;
 *     its pairs arrive here as explicit pairs).
 *  2. Explicit pairs: `serve --node kvm1=UNDERLAY.pcap,BRIDGE.pcap`, `correlate U B`.
 *  3. One file that holds both sides: a pcapng with one interface block per interface
 *     (`dumpcap -i eth1 -i vxlan_bridge`, tshark) is split by `if_name`; a Linux cooked
 *     capture (`tcpdump -i any`, SLL/SLL2) is split by interface. Such a file is never
 *     taken as one side whole.
 *  4. File names by role: `<node>-<interface>.pcap` (what `capture` and `lab record` write),
 *     or `<interface>.pcap` alone (`serve eth1.pcap vxlan_bridge.pcap`: one node, named
 *     after the folder the files are in). The interface's role: the inventory's underlay and
 *     bridge names first, then `eth*`/`en*`/`em*`/`bond*`/`wl*` underlay, `*br*`/`*bridge*`/
 *     `vxlan*`/`tap*`/`vnet*` bridge side, `any` both.
 *
 * Pure: the caller reads the files' interface lists (probeCapture) and gives them here.
 */
import path from 'node:path';
import type { CaptureInterface } from '../decode/file/types.js';

export type Side = 'underlay' | 'overlay';
export type InterfaceRole = Side | 'any' | 'unknown';

/** LINKTYPE_LINUX_SLL and LINKTYPE_LINUX_SLL2: `tcpdump -i any`. */
export const LINKTYPE_SLL = 113;
export const LINKTYPE_SLL2 = 276;

export interface RoleNames {
  /** The inventory's underlay interface names (e.g. eth1). */
  underlay: readonly string[];
  /** The inventory's bridge names (e.g. vxlan_bridge). */
  bridge: readonly string[];
}

export const CLASS_ROLE_NAMES: RoleNames = { underlay: ['eth1'], bridge: ['vxlan_bridge'] };

export const CAPTURE_EXT = /\.(pcap|pcapng|cap|dmp)$/i;

/** The role an interface name plays: the inventory's names first, then the usual Linux names. */
export function roleOfInterface(iface: string, names: RoleNames = CLASS_ROLE_NAMES): InterfaceRole {
  if (names.underlay.includes(iface)) return 'underlay';
  if (names.bridge.includes(iface)) return 'overlay';
  const s = iface.toLowerCase();
  if (s === 'any') return 'any';
  if (/br|bridge|^vxlan|^tap|^vnet/.test(s)) return 'overlay';
  if (/^(eth|en|em|bond|wl|underlay)/.test(s)) return 'underlay';
  return 'unknown';
}

/**
 * Which packets of a file belong to a side: all of them, those of some pcapng interfaces
 * (ids of its first section), or those of some Linux cooked ifindexes (SLL2).
 */
export type PacketSelector =
  | { kind: 'all' }
  | { kind: 'interfaces'; ids: number[]; names: string[] }
  | { kind: 'ifindex'; ifindexes: number[]; names: string[] };

export interface SideSource {
  path: string;
  /** File name as shown (an upload's original name). */
  name: string;
  /** The interface it was captured on, when known (file name, if_name, session.json). */
  iface?: string;
  select: PacketSelector;
}

export type PairRule = 'session.json' | 'explicit' | 'pcapng interfaces' | 'cooked interfaces' | 'file names';

export interface NodePairing {
  node: string;
  underlay?: SideSource;
  overlay?: SideSource;
  /** The rule that paired this node. */
  rule: PairRule;
}

/** What the pairing needs to know of a file: its name and its interfaces (from its header blocks). */
export interface FileShape {
  path: string;
  name: string;
  /** Every interface of the file (one for classic pcap). Empty when unreadable. */
  interfaces: readonly CaptureInterface[];
  /** SLL2 ifindex → interface name, when `capture` recorded it (session.json). */
  ifindexNames?: ReadonlyMap<number, string>;
  /** Share of its first packets that are tunnelled: decides the side of a file whose names say nothing. */
  tunnelledShare?: number;
}

function roleByContent(f: FileShape): InterfaceRole {
  return f.tunnelledShare === undefined ? 'unknown' : f.tunnelledShare >= 0.5 ? 'underlay' : 'overlay';
}

export interface Pairing {
  nodes: NodePairing[];
  /** What the user should know about how files were paired (an `any` capture split, a file left alone…). */
  notes: string[];
}

/** `kvm1-vxlan_bridge.pcap` → node kvm1, interface vxlan_bridge; `eth1.pcap` → interface eth1, no node. */
export function splitCaptureName(file: string, names: RoleNames = CLASS_ROLE_NAMES): { node?: string; iface?: string; base: string } {
  const base = path.basename(file).replace(CAPTURE_EXT, '');
  // the interface is the longest known-role suffix after a dash (node names may hold dashes)
  for (let i = base.indexOf('-'); i > 0; i = base.indexOf('-', i + 1)) {
    const iface = base.slice(i + 1);
    if (iface !== '' && roleOfInterface(iface, names) !== 'unknown') return { node: base.slice(0, i), iface, base };
  }
  if (!base.includes('-') && roleOfInterface(base, names) !== 'unknown') return { iface: base, base };
  const dash = base.indexOf('-');
  if (dash > 0 && dash < base.length - 1) return { node: base.slice(0, dash), iface: base.slice(dash + 1), base };
  return { base };
}

function isCooked(shape: FileShape): boolean {
  return shape.interfaces.length > 0 && shape.interfaces.every((i) => i.linkType === LINKTYPE_SLL || i.linkType === LINKTYPE_SLL2);
}

/** A multi-interface pcapng split by `if_name`: the interfaces of each side, when both are there. */
function splitByIfName(shape: FileShape, names: RoleNames): { underlay: CaptureInterface[]; overlay: CaptureInterface[] } | undefined {
  const first = shape.interfaces.filter((i) => i.section === 0);
  if (first.length < 2) return undefined;
  const underlay = first.filter((i) => i.name !== undefined && roleOfInterface(i.name, names) === 'underlay');
  const overlay = pickBridge(
    first.filter((i) => i.name !== undefined && roleOfInterface(i.name, names) === 'overlay'),
    names,
  );
  return underlay.length > 0 && overlay.length > 0 ? { underlay, overlay } : undefined;
}

/**
 * The bridge side is one interface: a frame bridged onto the overlay is seen on the bridge and
 * again on the VXLAN device and the guest's port; taking them all would count it several times.
 * The inventory's bridge first, then a `*br*`/`*bridge*` name, then the first.
 */
function pickBridge<T extends { name?: string }>(candidates: T[], names: RoleNames): T[] {
  const named =
    candidates.find((c) => c.name !== undefined && names.bridge.includes(c.name)) ??
    candidates.find((c) => c.name !== undefined && /br|bridge/i.test(c.name)) ??
    candidates[0];
  return named ? [named] : [];
}

function defaultNodeName(files: readonly FileShape[]): string {
  const dirs = new Set(files.map((f) => path.basename(path.dirname(f.path))));
  const only = dirs.size === 1 ? [...dirs][0] : undefined;
  return only && only !== '.' && only !== '/' && only !== '' ? only : 'node';
}

/**
 * Pairs capture files into nodes (rules 3 and 4 above; explicit pairs are the caller's).
 * Files that fit no rule keep a node of their own with the side their name or content gives.
 */
export function pairFiles(files: readonly FileShape[], names: RoleNames = CLASS_ROLE_NAMES): Pairing {
  const nodes: NodePairing[] = [];
  /** Nodes of one file with both sides; named after the file-name nodes, which keep their names. */
  const oneFile: NodePairing[] = [];
  const notes: string[] = [];
  const byNode = new Map<string, { underlay: FileShape[]; overlay: FileShape[]; unknown: FileShape[] }>();
  const unprefixed: FileShape[] = [];
  const taken = new Set<string>();
  const uniqueName = (want: string): string => {
    let name = want;
    for (let k = 2; taken.has(name); k++) name = `${want}-${k}`;
    taken.add(name);
    return name;
  };

  for (const f of files) {
    const { node, iface, base } = splitCaptureName(f.name, names);
    // rule 3: one file, both sides
    const split = splitByIfName(f, names);
    if (split) {
      const un = split.underlay.map((i) => i.name ?? `if${i.id}`);
      const on = split.overlay.map((i) => i.name ?? `if${i.id}`);
      oneFile.push({
        // kvm1-eth1_br.pcapng → kvm1; a name without an interface part (class-kvm1.pcapng) is the node's whole
        node: node !== undefined && iface !== undefined && roleOfInterface(iface, names) !== 'unknown' ? node : base,
        underlay: {
          path: f.path,
          name: f.name,
          iface: un.join(','),
          select: { kind: 'interfaces', ids: split.underlay.map((i) => i.id), names: un },
        },
        overlay: {
          path: f.path,
          name: f.name,
          iface: on.join(','),
          select: { kind: 'interfaces', ids: split.overlay.map((i) => i.id), names: on },
        },
        rule: 'pcapng interfaces',
      });
      notes.push(`${f.name}: one file with both sides, split by interface (underlay ${un.join(', ')}, bridge ${on.join(', ')})`);
      continue;
    }
    if (isCooked(f) || (iface !== undefined && roleOfInterface(iface, names) === 'any')) {
      const cooked = cookedSplit(f, names);
      oneFile.push({ node: base, ...cooked.sides, rule: 'cooked interfaces' });
      notes.push(`${f.name}: ${cooked.note}`);
      continue;
    }
    const single = f.interfaces.length === 1 ? f.interfaces[0]?.name : undefined;
    let role = iface !== undefined ? roleOfInterface(iface, names) : single !== undefined ? roleOfInterface(single, names) : 'unknown';
    if (role === 'unknown' || role === 'any') role = roleByContent(f);
    if (node === undefined && role !== 'unknown') {
      unprefixed.push(f);
      continue;
    }
    const key = node ?? base;
    let entry = byNode.get(key);
    if (!entry) byNode.set(key, (entry = { underlay: [], overlay: [], unknown: [] }));
    entry[role === 'underlay' || role === 'overlay' ? role : 'unknown'].push(f);
  }

  if (unprefixed.length > 0) {
    const name = defaultNodeName(unprefixed);
    const entry = byNode.get(name) ?? { underlay: [], overlay: [], unknown: [] };
    for (const f of unprefixed) {
      const { iface } = splitCaptureName(f.name, names);
      const role = roleOfInterface(iface ?? f.interfaces[0]?.name ?? '', names);
      entry[role === 'underlay' || role === 'overlay' ? role : 'unknown'].push(f);
    }
    byNode.set(name, entry);
  }

  for (const [name, e] of byNode) {
    // files of unknown role fill the free side of their node (the caller may still look at content)
    const underlays = [...e.underlay];
    const overlays = [...e.overlay];
    for (const f of e.unknown) (underlays.length <= overlays.length ? underlays : overlays).push(f);
    const count = Math.max(underlays.length, overlays.length, 1);
    for (let k = 0; k < count; k++) {
      const u = underlays[k];
      const o = overlays[k];
      if (!u && !o) continue;
      const pairing: NodePairing = { node: uniqueName(k === 0 ? name : `${name}-${k + 1}`), rule: 'file names' };
      if (u) pairing.underlay = wholeFile(u, names);
      if (o) pairing.overlay = wholeFile(o, names);
      nodes.push(pairing);
    }
    if (count > 1) notes.push(`node ${name}: ${underlays.length} underlay and ${overlays.length} bridge captures, paired in name order`);
  }
  for (const n of oneFile) nodes.push({ ...n, node: uniqueName(n.node) });
  return { nodes, notes };
}

function wholeFile(f: FileShape, names: RoleNames): SideSource {
  const s: SideSource = { path: f.path, name: f.name, select: { kind: 'all' } };
  const iface = splitCaptureName(f.name, names).iface ?? (f.interfaces.length === 1 ? f.interfaces[0]?.name : undefined);
  if (iface !== undefined) s.iface = iface;
  return s;
}

/**
 * A `tcpdump -i any` capture: SLL2 records carry the ifindex, but which interface is which side
 * is decided from the traffic (analysis/cooked.ts): an `any` capture does not put the bridge in
 * promiscuous mode, so the bridge device itself sees only the host's own frames; the frames
 * bridged into the tunnel are seen on the VXLAN device. Names `capture` recorded label them.
 */
function cookedSplit(f: FileShape, _names: RoleNames): { sides: Pick<NodePairing, 'underlay' | 'overlay'>; note: string } {
  const open: PacketSelector = { kind: 'ifindex', ifindexes: [], names: [] };
  return {
    sides: {
      underlay: { path: f.path, name: f.name, iface: 'any', select: open },
      overlay: { path: f.path, name: f.name, iface: 'any', select: { ...open, ifindexes: [], names: [] } },
    },
    note:
      'a capture of every interface (tcpdump -i any): the interface that carries the VXLAN packets is the ' +
      'underlay, the one whose frames they carry the bridge side',
  };
}

/** Where the compared bytes of a node's frames start: after the EtherType when its bridge side is a Linux cooked capture. */
export function compareFromOf(overlay: SideSource | undefined): 'ethernet' | 'network' {
  return overlay?.select.kind === 'ifindex' ? 'network' : 'ethernet';
}
