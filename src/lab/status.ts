/** `lab status`: which namespaces, processes and overlay pieces exist, and what answers a ping. */
import { existsSync } from 'node:fs';
import { existingLabNamespaces, pingOk } from './build.js';
import { readBreak, type BreakRecord } from './faults.js';
import { labFiles } from './files.js';
import { isAlive, netnsPids, processName } from './processes.js';
import { netnsExec, run } from './run.js';
import { readPid } from './sshd.js';
import {
  DEFAULT_PREFIX,
  GUESTS,
  LAB_ROLES,
  NODES,
  OVERLAY,
  addressOnly,
  checkPrefix,
  netnsName,
  nodeSpec,
  type LabRole,
  type NodeName,
} from './topology.js';

export interface LabNamespaceStatus {
  role: LabRole;
  netns: string;
  exists: boolean;
  /** Processes running inside it. */
  pids: number[];
}

export interface LabNodeStatus {
  name: NodeName;
  netns: string;
  sshd: { pid: number | null; running: boolean; listening: boolean };
  overlay: { bridge: boolean; vxlan: boolean; guestAttached: boolean };
}

export interface LabReachability {
  from: LabRole;
  to: string;
  address: string;
  /** 'underlay' (frontend → node), 'overlay' (vm1 → vm2 through vxlan10), 'local' (guest → its node's bridge). */
  path: 'underlay' | 'overlay' | 'local';
  ok: boolean;
}

export interface LabStatus {
  prefix: string;
  dir: string | null;
  /** All six namespaces exist. */
  up: boolean;
  /** The overlay is on both nodes (vxlan_bridge and vxlan10). */
  provisioned: boolean;
  inventoryPath: string | null;
  namespaces: LabNamespaceStatus[];
  nodes: LabNodeStatus[];
  reachability: LabReachability[];
  /** The fault `lab break` made (DIR/break.json), null when none or no --dir. */
  activeBreak: BreakRecord | null;
  /** Why DIR/break.json could not be read, when it is there but is not a record we wrote. */
  breakProblem: string | null;
}

async function linkExists(netns: string, name: string): Promise<boolean> {
  return (await run(['ip', '-n', netns, 'link', 'show', 'dev', name], { timeoutMs: 5000 })).code === 0;
}

async function masterOf(netns: string, name: string): Promise<string | null> {
  const r = await run(['ip', '-n', netns, '-o', 'link', 'show', 'dev', name], { timeoutMs: 5000 });
  const m = / master (\S+)/.exec(r.stdout);
  return m?.[1] ?? null;
}

async function listening22(netns: string, address: string): Promise<boolean> {
  const r = await run(netnsExec(netns, ['ss', '-H', '-l', '-t', '-n']), { timeoutMs: 5000 });
  return r.stdout
    .split('\n')
    .some((l) => l.includes(`${address}:22 `) || l.includes(`${address}:22\t`) || l.trim().split(/\s+/)[3] === `${address}:22`);
}

export async function labStatus(opts: { prefix?: string; dir?: string }): Promise<LabStatus> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const files = opts.dir === undefined ? null : labFiles(opts.dir);
  const existing = new Set(await existingLabNamespaces(prefix));
  const namespaces: LabNamespaceStatus[] = [];
  for (const role of LAB_ROLES) {
    const ns = netnsName(prefix, role);
    namespaces.push({ role, netns: ns, exists: existing.has(ns), pids: existing.has(ns) ? await netnsPids(ns) : [] });
  }
  const has = (role: LabRole): boolean => existing.has(netnsName(prefix, role));

  const nodes: LabNodeStatus[] = [];
  for (const n of NODES) {
    const ns = netnsName(prefix, n.name);
    const present = has(n.name);
    // the pid file when we know the directory, else the sshd living in the node's namespace
    const fromFile = files ? readPid(files.node(n.name).pidFile) : null;
    const inNetns = present ? (namespaces.find((x) => x.netns === ns)?.pids ?? []).filter((p) => processName(p) === 'sshd') : [];
    const pid = fromFile !== null && isAlive(fromFile) ? fromFile : (inNetns.sort((a, b) => a - b)[0] ?? fromFile);
    const running = pid !== null && isAlive(pid) && processName(pid) === 'sshd';
    const guest = GUESTS.find((g) => g.node === n.name);
    nodes.push({
      name: n.name,
      netns: ns,
      sshd: { pid, running, listening: present && (await listening22(ns, n.host)) },
      overlay: {
        bridge: present && (await linkExists(ns, OVERLAY.bridge)),
        vxlan: present && (await linkExists(ns, OVERLAY.vxlanIf)),
        guestAttached: present && guest !== undefined && (await masterOf(ns, guest.hostIf)) === OVERLAY.bridge,
      },
    });
  }

  const checks: Omit<LabReachability, 'ok'>[] = [
    ...NODES.map((n) => ({ from: 'frontend' as LabRole, to: n.name, address: n.host, path: 'underlay' as const })),
    { from: 'vm1', to: 'vm2', address: addressOnly(GUESTS[1]?.address ?? ''), path: 'overlay' },
    ...GUESTS.map((g) => ({
      from: g.name as LabRole,
      to: `${g.node} ${OVERLAY.bridge}`,
      address: addressOnly(nodeSpec(g.node).bridgeAddress),
      path: 'local' as const,
    })),
  ];
  const reachability = await Promise.all(
    checks.map(async (c) => ({ ...c, ok: has(c.from) && (await pingOk(netnsName(prefix, c.from), c.address, 1)) })),
  );

  return {
    prefix,
    dir: files?.dir ?? null,
    up: namespaces.every((n) => n.exists),
    provisioned: nodes.every((n) => n.overlay.bridge && n.overlay.vxlan),
    inventoryPath: files && existsSync(files.inventory) ? files.inventory : null,
    namespaces,
    nodes,
    reachability,
    ...activeBreakOf(files?.dir ?? null),
  };
}

/** The recorded fault; a record that cannot be read is reported rather than failing the status. */
function activeBreakOf(dir: string | null): { activeBreak: BreakRecord | null; breakProblem: string | null } {
  if (dir === null) return { activeBreak: null, breakProblem: null };
  try {
    return { activeBreak: readBreak(dir), breakProblem: null };
  } catch (err) {
    return { activeBreak: null, breakProblem: (err as Error).message };
  }
}
