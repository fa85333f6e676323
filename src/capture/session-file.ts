/**
 * `OUT/session.json`: what was captured, where, how, and each node's clock against ours — in the
 * shape the web view and `correlate` read (`nodes[].underlay`, `nodes[].overlay`, `clockOffsetUs`,
 * `overlayClockOffsetUs`, `vxlanPorts`), with everything else alongside.
 *
 * `nodes[].ifindexNames` (optional: absent in files of older versions, and when the node could
 * not list its links) is each interface index of the node and its name when the capture started,
 * as `ip -j link show` gave them: what names the records of a `tcpdump -i any` capture (Linux
 * cooked v2, which carry the index only). `ifindexNamesOf` reads it back, checked.
 *
 * `nodes[].config` (optional: absent in older files, and for nodes nobody recorded) is the node's
 * overlay configuration as `capture` or `check --save` read it over SSH — its VXLAN devices, bridge,
 * underlay, the VXLAN devices' FDB, firewalld, the nftables rules on the VXLAN port — or the error
 * that stopped the reading. `overlayConfigOf` reads it back, checked and bounded.
 */
import { closeSync, constants, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { NftChain, NftRule, NftablesView } from '../provision/check.js';
import type { FirewallState, FirewallView } from '../provision/state.js';
import type { CaptureRunSummary, NodeSummary } from './types.js';

export const SESSION_FILE = 'session.json';

/** One interface of a node: its index (what SLL2 records carry) and its name. */
export interface IfindexName {
  ifindex: number;
  name: string;
}

/** Why `name` cannot be a Linux interface name as `ip link` reports it, or null: 1..15 bytes, no `/`, no white space or control characters. */
export function linkNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'must be text';
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > 15) return `must be 1 to 15 bytes long (it is ${bytes})`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\s/\x00-\x1f\x7f]/.test(name)) return 'must hold no white space, "/" or control characters';
  return null;
}

/** Why `ifindex` cannot be an interface index, or null: a whole number from 1 to 2^31 - 1 (the kernel's int). */
export function ifindexProblem(ifindex: unknown): string | null {
  if (typeof ifindex !== 'number' || !Number.isInteger(ifindex)) return 'must be a whole number';
  if (ifindex < 1 || ifindex > 0x7fffffff) return 'must be between 1 and 2147483647';
  return null;
}

/**
 * A node's `ifindexNames` from session.json as a map; undefined when the field is absent (a
 * session.json of an older version). Anything else than a list of `{ifindex, name}` with
 * distinct indexes is refused: `what` (the file and the node) names the place in the message.
 */
export function ifindexNamesOf(value: unknown, what: string): Map<number, string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    throw new UsageError(
      `${what}: "ifindexNames" must be a list of {"ifindex", "name"} (as capture writes it), not ${value === null ? 'null' : typeof value}`,
    );
  const map = new Map<number, string>();
  value.forEach((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new UsageError(`${what}: ifindexNames[${i}] must be an object {"ifindex", "name"}, not ${JSON.stringify(e)}`);
    const { ifindex, name } = e as { ifindex?: unknown; name?: unknown };
    const pi = ifindexProblem(ifindex);
    if (pi) throw new UsageError(`${what}: ifindexNames[${i}].ifindex ${pi}, not ${JSON.stringify(ifindex)}`);
    const pn = linkNameProblem(name);
    if (pn) throw new UsageError(`${what}: ifindexNames[${i}].name ${pn}: ${JSON.stringify(name)}`);
    if (map.has(ifindex as number))
      throw new UsageError(
        `${what}: ifindexNames lists ifindex ${String(ifindex)} twice (${JSON.stringify(map.get(ifindex as number))} and ${JSON.stringify(name)})`,
      );
    map.set(ifindex as number, name as string);
  });
  return map;
}

/** A session.json as read: its nodes (objects; their fields checked by whoever uses them) and its extra VXLAN ports. */
export interface SessionJsonRead {
  nodes: Record<string, unknown>[];
  vxlanPorts: number[];
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

/**
 * The one reader of session.json's shape, for every command that reads one (correlate, path,
 * serve, export): valid JSON, an object, `nodes` (when present) a list of objects, `vxlanPorts`
 * the valid port numbers it lists. A usage error names the file and the key.
 */
export function parseSessionJson(text: string, file: string): SessionJsonRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message}): fix it, or remove it to pair captures by file name`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UsageError(
      `${file} is not a session file: it must hold a JSON object with a "nodes" list (as capture writes it), not ${kindOf(json)}`,
    );
  }
  const { nodes, vxlanPorts } = json as { nodes?: unknown; vxlanPorts?: unknown };
  if (nodes !== undefined && !Array.isArray(nodes)) throw new UsageError(`${file}: "nodes" must be a list of nodes, not ${kindOf(nodes)}`);
  const list = (nodes ?? []) as unknown[];
  list.forEach((n, i) => {
    if (typeof n !== 'object' || n === null || Array.isArray(n))
      throw new UsageError(`${file}: nodes[${i}] must be an object (name, underlay, overlay, clockOffsetUs), not ${kindOf(n)}`);
  });
  const ports = Array.isArray(vxlanPorts) ? vxlanPorts.filter((p): p is number => Number.isInteger(p) && p > 0 && p < 65536) : [];
  return { nodes: list as Record<string, unknown>[], vxlanPorts: ports };
}

export interface SessionJsonNode {
  name: string;
  host: string;
  /** File name (in the folder) of the underlay capture. */
  underlay?: string;
  /** File name of the bridge capture. */
  overlay?: string;
  /** Node clock minus local clock, µs. */
  clockOffsetUs: number;
  /** The bridge capture runs on the same clock as the underlay one. */
  overlayClockOffsetUs: number;
  clockRttUs: number | null;
  tcpdumpVersion: string;
  libpcapVersion: string | null;
  ssh: NodeSummary['ssh'];
  sudo: boolean;
  /** Every interface of the node at capture start, by index (absent when the node could not list them). */
  ifindexNames?: IfindexName[];
  /** The node's overlay configuration at capture start (absent when it was not recorded). */
  config?: OverlayConfigRecord;
  interfaces: {
    iface: string;
    role: string;
    file: string | null;
    filter: string;
    packets: number;
    bytes: number;
    vxlanPackets: number;
    vnis: number[];
    captured: number | null;
    receivedByFilter: number | null;
    droppedByKernel: number | null;
    end: string;
    startedAt: string;
    listeningAt: string | null;
    stopRequestedAt: string | null;
    stoppedAt: string;
    error?: string;
  }[];
}

export interface SessionJson {
  tool: 'vxlan-inspect capture';
  version: 1;
  localHost: string;
  startedAt: string;
  stoppedAt: string;
  durationSec: number;
  reason: string;
  filter: string | null;
  vxlanPorts: number[];
  nodes: SessionJsonNode[];
  errors: string[];
}

export function sessionJson(s: CaptureRunSummary, vxlanPorts: number[]): SessionJson {
  return {
    tool: 'vxlan-inspect capture',
    version: 1,
    localHost: hostname(),
    startedAt: s.startedAt,
    stoppedAt: s.stoppedAt,
    durationSec: s.durationSec,
    reason: s.reason,
    filter: s.filter,
    vxlanPorts,
    nodes: s.nodes.map((n) => {
      const under = n.streams.find((x) => x.role === 'underlay' && x.file);
      const over = n.streams.find((x) => x.role === 'bridge' && x.file);
      const j: SessionJsonNode = {
        name: n.node,
        host: n.host,
        clockOffsetUs: n.clock?.offsetUs ?? 0,
        overlayClockOffsetUs: 0,
        clockRttUs: n.clock?.rttUs ?? null,
        tcpdumpVersion: n.tcpdumpVersion,
        libpcapVersion: n.libpcapVersion,
        ssh: n.ssh,
        sudo: n.sudo,
        interfaces: n.streams.map((x) => {
          const i: SessionJsonNode['interfaces'][number] = {
            iface: x.iface,
            role: x.role,
            file: x.file ? path.basename(x.file) : null,
            filter: x.filter,
            packets: x.packets,
            bytes: x.bytes,
            vxlanPackets: x.vxlanPackets,
            vnis: x.vnis,
            captured: x.tcpdump?.captured ?? null,
            receivedByFilter: x.tcpdump?.receivedByFilter ?? null,
            droppedByKernel: x.tcpdump?.droppedByKernel ?? null,
            end: x.end,
            startedAt: x.startedAt,
            listeningAt: x.listeningAt,
            stopRequestedAt: x.stopRequestedAt,
            stoppedAt: x.stoppedAt,
          };
          if (x.error) i.error = x.error;
          return i;
        }),
      };
      if (n.ifindexNames) j.ifindexNames = n.ifindexNames.map(({ ifindex, name }) => ({ ifindex, name }));
      if (n.config) j.config = n.config;
      if (under?.file) j.underlay = path.basename(under.file);
      if (over?.file) j.overlay = path.basename(over.file);
      return j;
    }),
    errors: s.errors,
  };
}

/**
 * Written to a temporary name and renamed: a reader never sees half a file. The temporary file
 * is created new (a file or symlink already there under its name is removed first, never
 * written through), and removed again when writing or renaming fails (a full disk): nothing
 * is left behind but the error, which names the file.
 */
export function writeSessionJson(dir: string, json: SessionJson | Record<string, unknown>): string {
  const file = path.join(dir, SESSION_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  let created = false;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    created = true;
    try {
      writeFileSync(fd, `${JSON.stringify(json, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    if (created) rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}

// ---- nodes[].config: the node's overlay configuration, recorded over SSH ----

/** Most VXLAN devices, FDB entries, nftables chains and rules per chain one record holds (a node with more is cut, and says so). */
export const CONFIG_LIMITS = { vxlan: 64, fdb: 4096, chains: 64, rules: 256, addresses: 64 } as const;

export interface RecordedVxlanDevice {
  name: string;
  vni: number;
  port: number;
  local: string | null;
  group: string | null;
  remote: string | null;
  /** The underlay device it is bound to (`dev`). */
  dev: string | null;
  mtu: number;
  up: boolean;
  /** The bridge it is a port of. */
  master: string | null;
}

export interface RecordedLink {
  name: string;
  mtu: number;
  up: boolean;
  /** IPv4 addresses with prefix length. */
  addresses: string[];
}

/** An entry of a VXLAN device's FDB (`bridge -j fdb show dev DEV`). */
export interface RecordedFdbEntry {
  dev: string;
  mac: string;
  /** The remote VTEP (`dst`); null for the bridge's own entries of the port. */
  dst: string | null;
  /** permanent, static, or null (learnt). */
  state: string | null;
}

export interface OverlayConfigRecord {
  recordedAt: string;
  recordedBy: 'capture' | 'check';
  /** What the inventory asks of the node: what the names below were looked up by. */
  inventory: { vni: number; port: number; bridge: string; underlay: string; mtu: number; group: string | null };
  /** Why the configuration could not be read (the rest is then empty). */
  error?: string;
  vxlan: RecordedVxlanDevice[];
  bridge: RecordedLink | null;
  underlay: RecordedLink | null;
  fdb: RecordedFdbEntry[];
  /** Entries left out past CONFIG_LIMITS.fdb. */
  fdbLeftOut?: number;
  firewalld: FirewallState | null;
  /** The nftables base chains on the receive path (ingress, prerouting, input) and their rules on a UDP port. */
  nftables: NftablesView | null;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const CIDR = /^([^/]+)\/(\d{1,3})$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads one record with checks that name the key: every field is what the recorder writes, nothing else is taken. */
class ConfigReader {
  constructor(private readonly what: string) {}
  fail(key: string, problem: string, v: unknown): never {
    const shown = JSON.stringify(v);
    throw new UsageError(
      `${this.what}: config.${key} ${problem}, ` +
        `not ${shown === undefined ? 'undefined' : shown.slice(0, 80)} ` +
        '(remove "config" to analyse without the recorded configuration)',
    );
  }
  obj(v: unknown, key: string): Record<string, unknown> {
    if (!isObj(v)) this.fail(key, 'must be an object', v);
    return v;
  }
  list(v: unknown, key: string, max: number): unknown[] {
    if (!Array.isArray(v)) this.fail(key, 'must be a list', v);
    if (v.length > max) this.fail(key, `must hold at most ${max} entries`, v.length);
    return v;
  }
  text(v: unknown, key: string, max = 200): string {
    if (typeof v !== 'string' || v.length > max) this.fail(key, `must be text of at most ${max} characters`, v);
    return v;
  }
  textOrNull(v: unknown, key: string): string | null {
    return v === null || v === undefined ? null : this.text(v, key);
  }
  int(v: unknown, key: string, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) this.fail(key, `must be a whole number from ${lo} to ${hi}`, v);
    return v;
  }
  bool(v: unknown, key: string): boolean {
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false', v);
    return v;
  }
  link(v: unknown, key: string): string {
    const p = linkNameProblem(v);
    if (p) this.fail(key, p, v);
    return v as string;
  }
  linkOrNull(v: unknown, key: string): string | null {
    return v === null || v === undefined ? null : this.link(v, key);
  }
  ip(v: unknown, key: string): string {
    if (typeof v !== 'string' || !(IPV4.test(v) || (v.includes(':') && IPV6.test(v)))) this.fail(key, 'must be an IPv4 or IPv6 address', v);
    return v;
  }
  ipOrNull(v: unknown, key: string): string | null {
    return v === null || v === undefined ? null : this.ip(v, key);
  }
}

function readLink(r: ConfigReader, v: unknown, key: string): RecordedLink | null {
  if (v === null || v === undefined) return null;
  const o = r.obj(v, key);
  const addresses = r.list(o.addresses ?? [], `${key}.addresses`, CONFIG_LIMITS.addresses).map((a, i) => {
    const m = CIDR.exec(r.text(a, `${key}.addresses[${i}]`, 50));
    if (!m) r.fail(`${key}.addresses[${i}]`, 'must be ADDRESS/PREFIX', a);
    r.ip(m[1], `${key}.addresses[${i}]`);
    return a as string;
  });
  return { name: r.link(o.name, `${key}.name`), mtu: r.int(o.mtu, `${key}.mtu`, 0, 0x7fffffff), up: r.bool(o.up, `${key}.up`), addresses };
}

function readFirewalld(r: ConfigReader, v: unknown): FirewallState | null {
  if (v === null || v === undefined) return null;
  const o = r.obj(v, 'firewalld');
  if (o.running === false) return { running: false, reason: r.text(o.reason, 'firewalld.reason') };
  if (o.running !== true) r.fail('firewalld.running', 'must be true or false', o.running);
  const view = (x: unknown, key: string): FirewallView => {
    const w = r.obj(x, key);
    const out: FirewallView = { masquerade: r.bool(w.masquerade, `${key}.masquerade`), portOpen: r.bool(w.portOpen, `${key}.portOpen`) };
    if (w.bridgeZone !== undefined) out.bridgeZone = r.text(w.bridgeZone, `${key}.bridgeZone`, 100);
    if (w.underlayZone !== undefined) out.underlayZone = r.text(w.underlayZone, `${key}.underlayZone`, 100);
    return out;
  };
  return {
    running: true,
    defaultZone: r.text(o.defaultZone, 'firewalld.defaultZone', 100),
    runtime: view(o.runtime, 'firewalld.runtime'),
    permanent: view(o.permanent, 'firewalld.permanent'),
  };
}

function readNftables(r: ConfigReader, v: unknown): NftablesView | null {
  if (v === null || v === undefined) return null;
  const o = r.obj(v, 'nftables');
  if (o.installed === false) return { installed: false };
  if (o.installed !== true) r.fail('nftables.installed', 'must be true or false', o.installed);
  if (o.error !== undefined) return { installed: true, error: r.text(o.error, 'nftables.error', 500) };
  const chains = r.list(o.chains, 'nftables.chains', CONFIG_LIMITS.chains).map((c, i): NftChain => {
    const k = `nftables.chains[${i}]`;
    const x = r.obj(c, k);
    const chain: NftChain = {
      family: r.text(x.family, `${k}.family`, 20),
      table: r.text(x.table, `${k}.table`, 100),
      name: r.text(x.name, `${k}.name`, 100),
      rules: [],
    };
    if (x.hook !== undefined) chain.hook = r.text(x.hook, `${k}.hook`, 20);
    if (x.device !== undefined) chain.device = r.text(x.device, `${k}.device`, 20);
    if (x.policy !== undefined) chain.policy = r.text(x.policy, `${k}.policy`, 20);
    chain.rules = r.list(x.rules, `${k}.rules`, CONFIG_LIMITS.rules).map((ru, j): NftRule => {
      const rk = `${k}.rules[${j}]`;
      const y = r.obj(ru, rk);
      const rule: NftRule = { otherMatches: r.bool(y.otherMatches, `${rk}.otherMatches`) };
      if (y.handle !== undefined) rule.handle = r.int(y.handle, `${rk}.handle`, 0, Number.MAX_SAFE_INTEGER);
      if (y.comment !== undefined) rule.comment = r.text(y.comment, `${rk}.comment`, 200);
      if (y.packets !== undefined) rule.packets = r.int(y.packets, `${rk}.packets`, 0, Number.MAX_SAFE_INTEGER);
      if (y.verdict !== undefined) {
        if (y.verdict !== 'accept' && y.verdict !== 'drop' && y.verdict !== 'reject' && y.verdict !== 'other')
          r.fail(`${rk}.verdict`, 'must be accept, drop, reject or other', y.verdict);
        rule.verdict = y.verdict;
      }
      if (y.udpDport !== undefined) {
        const d = r.obj(y.udpDport, `${rk}.udpDport`);
        if (d.op !== 'in' && d.op !== 'not') r.fail(`${rk}.udpDport.op`, 'must be in or not', d.op);
        const ranges = r.list(d.ranges, `${rk}.udpDport.ranges`, 64).map((x2, n): [number, number] => {
          const pair = r.list(x2, `${rk}.udpDport.ranges[${n}]`, 2);
          return [r.int(pair[0], `${rk}.udpDport.ranges[${n}][0]`, 0, 65535), r.int(pair[1], `${rk}.udpDport.ranges[${n}][1]`, 0, 65535)];
        });
        rule.udpDport = { op: d.op, ranges };
      }
      return rule;
    });
    return chain;
  });
  return { installed: true, chains };
}

/**
 * A node's `config` from session.json, checked; undefined when absent. Anything else than what the
 * recorder writes is refused with the key named (`what`: the file and the node).
 */
export function overlayConfigOf(value: unknown, what: string): OverlayConfigRecord | undefined {
  if (value === undefined) return undefined;
  const r = new ConfigReader(what);
  const o = r.obj(value, '');
  const recordedAt = r.text(o.recordedAt, 'recordedAt', 40);
  if (Number.isNaN(Date.parse(recordedAt))) r.fail('recordedAt', 'must be an ISO date', recordedAt);
  if (o.recordedBy !== 'capture' && o.recordedBy !== 'check') r.fail('recordedBy', 'must be "capture" or "check"', o.recordedBy);
  const inv = r.obj(o.inventory, 'inventory');
  const rec: OverlayConfigRecord = {
    recordedAt,
    recordedBy: o.recordedBy as 'capture' | 'check',
    inventory: {
      vni: r.int(inv.vni, 'inventory.vni', 0, 0xffffff),
      port: r.int(inv.port, 'inventory.port', 1, 65535),
      bridge: r.link(inv.bridge, 'inventory.bridge'),
      underlay: r.link(inv.underlay, 'inventory.underlay'),
      mtu: r.int(inv.mtu, 'inventory.mtu', 0, 0x7fffffff),
      group: r.ipOrNull(inv.group, 'inventory.group'),
    },
    vxlan: r.list(o.vxlan ?? [], 'vxlan', CONFIG_LIMITS.vxlan).map((d, i) => {
      const k = `vxlan[${i}]`;
      const x = r.obj(d, k);
      return {
        name: r.link(x.name, `${k}.name`),
        vni: r.int(x.vni, `${k}.vni`, 0, 0xffffff),
        port: r.int(x.port, `${k}.port`, 0, 65535),
        local: r.ipOrNull(x.local, `${k}.local`),
        group: r.ipOrNull(x.group, `${k}.group`),
        remote: r.ipOrNull(x.remote, `${k}.remote`),
        dev: r.linkOrNull(x.dev, `${k}.dev`),
        mtu: r.int(x.mtu, `${k}.mtu`, 0, 0x7fffffff),
        up: r.bool(x.up, `${k}.up`),
        master: r.linkOrNull(x.master, `${k}.master`),
      };
    }),
    bridge: readLink(r, o.bridge, 'bridge'),
    underlay: readLink(r, o.underlay, 'underlay'),
    fdb: r.list(o.fdb ?? [], 'fdb', CONFIG_LIMITS.fdb).map((e, i) => {
      const k = `fdb[${i}]`;
      const x = r.obj(e, k);
      const mac = r.text(x.mac, `${k}.mac`, 17).toLowerCase();
      if (!MAC.test(mac)) r.fail(`${k}.mac`, 'must be a MAC address', x.mac);
      return { dev: r.link(x.dev, `${k}.dev`), mac, dst: r.ipOrNull(x.dst, `${k}.dst`), state: r.textOrNull(x.state, `${k}.state`) };
    }),
    firewalld: readFirewalld(r, o.firewalld),
    nftables: readNftables(r, o.nftables),
  };
  if (o.error !== undefined) rec.error = r.text(o.error, 'error', 2000);
  if (o.fdbLeftOut !== undefined) rec.fdbLeftOut = r.int(o.fdbLeftOut, 'fdbLeftOut', 0, Number.MAX_SAFE_INTEGER);
  return rec;
}

/** A node's configuration for `saveOverlayConfigs`: its name, host, the capture files `check` looks for, and the record. */
export interface ConfigToSave {
  name: string;
  host: string;
  underlay: string;
  bridge: string;
  config: OverlayConfigRecord;
}

/**
 * `check --save DIR`: each node's `config` written into DIR/session.json. An existing session.json
 * (capture's) keeps everything else; a node it does not list is added with its name and host. A
 * folder without one gets a new session.json, which lists `NODE-UNDERLAY.pcap` and
 * `NODE-BRIDGE.pcap` when they are there, so the captures paired by name stay paired (a
 * session.json names its files). Returns the file written.
 */
export function saveOverlayConfigs(dir: string, nodes: readonly ConfigToSave[]): string {
  const file = path.join(dir, SESSION_FILE);
  let json: Record<string, unknown>;
  let list: Record<string, unknown>[];
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    list = parseSessionJson(text, file).nodes;
    json = JSON.parse(text) as Record<string, unknown>;
    json.nodes = list;
  } else {
    list = [];
    json = { tool: 'vxlan-inspect check', version: 1, localHost: hostname(), vxlanPorts: [], nodes: list };
  }
  for (const n of nodes) {
    let entry = list.find((x) => x.name === n.name);
    if (!entry) {
      entry = { name: n.name, host: n.host, clockOffsetUs: 0 };
      for (const [role, iface] of [
        ['underlay', n.underlay],
        ['overlay', n.bridge],
      ] as const) {
        const f = `${n.name}-${iface}.pcap`;
        if (existsSync(path.join(dir, f))) entry[role] = f;
      }
      list.push(entry);
    }
    entry.config = n.config;
  }
  return writeSessionJson(dir, json);
}
