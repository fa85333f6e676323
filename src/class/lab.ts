/**
 * The class lab: `lab up --groups N` builds N copies of the lab side by side on one machine,
 * group n a whole ordinary lab with prefix PREFIX + `gNN-` (`vxc-g03-kvm1`, …) on underlay
 * 10.3.n.0/24, each node with its own OpenSSH server, plus one class frontend namespace
 * (PREFIX + `frontend`) wired into every group's underlay switch (a veth `gNN`, 10.3.n.254/24),
 * from where `check --class` and `capture --class` reach every node. The class frontend does not
 * forward: the groups stay apart.
 *
 *   DIR/class.yaml           the class inventory (a numbered series, 10.3.{n}.x)
 *   DIR/id_ed25519, known_hosts, lab.json ({ prefix, provisioned, groups })
 *   DIR/gNN/                 group n's lab folder (inventory.yaml, sshd configs, break.json…)
 *
 * Every group is an ordinary lab folder and namespace set, so `lab status|break|fix|traffic`
 * work on one group by resolving `--group gNN` to its prefix and folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError, VxiError } from '../errors.js';
import {
  buildGuests,
  buildUnderlay,
  createNamespaces,
  disableChecksumOffload,
  existingLabNamespaces,
  pingOk,
  provisionOverlay,
} from '../lab/build.js';
import { labDown } from '../lab/down.js';
import { LabError } from '../lab/errors.js';
import { labFiles } from '../lab/files.js';
import { renderClassInventory, renderInventory } from '../lab/inventory.js';
import { assertLabPrerequisites } from '../lab/preflight.js';
import { mustRun, run } from '../lab/run.js';
import { ensureSubdir, ownedDir, prepareDir, removeEntry, replaceFile } from '../lab/safedir.js';
import { makeKey, prepareNodeSshd, startSshd } from '../lab/sshd.js';
import { labStatus, type LabStatus } from '../lab/status.js';
import {
  HOST_BYTES,
  LAB_ROLES,
  addressOnly,
  checkPrefix,
  guestSpec,
  labGroupName,
  labGroupPrefix,
  labTopology,
  netnsName,
  underlayAddress,
} from '../lab/topology.js';
import { labHandle, type LabHandle } from '../lab/up.js';
import { runBounded } from './run.js';

/** `lab up --groups` at most: 99 groups keep names at gNN and 594 namespaces and 198 sshd on one machine. */
export const MAX_LAB_GROUPS = 99;
export const CLASS_INVENTORY_FILE = 'class.yaml';
/** Groups built (or torn down) at once: the kernel serialises namespace changes anyway. */
const BUILD_PARALLEL = 4;

export interface ClassLabGroup {
  name: string;
  n: number;
  prefix: string;
  dir: string;
  handle: LabHandle;
}

export interface ClassLabHandle {
  prefix: string;
  dir: string;
  frontendNetns: string;
  classInventoryPath: string;
  provisioned: boolean;
  groups: ClassLabGroup[];
}

/** DIR/lab.json of a class lab. */
export interface ClassLabState {
  prefix: string;
  provisioned: boolean;
  createdAt: string;
  groups: number;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Group numbers that have at least one namespace now (`PREFIX gNN-role`). */
export async function existingGroups(prefix: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  const re = new RegExp(`^${escapeRe(prefix)}g(\\d{2,3})-(${LAB_ROLES.join('|')})$`);
  const found = new Set<number>();
  for (const line of r.stdout.split('\n')) {
    const m = re.exec(line.trim().split(/\s+/)[0] ?? '');
    if (m?.[1]) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

export function readClassLabState(dir: string): ClassLabState | null {
  try {
    const s = JSON.parse(readFileSync(labFiles(dir).state, 'utf8')) as Partial<ClassLabState>;
    return typeof s.prefix === 'string' && typeof s.groups === 'number' && Number.isInteger(s.groups)
      ? { prefix: s.prefix, provisioned: s.provisioned === true, createdAt: String(s.createdAt ?? ''), groups: s.groups }
      : null;
  } catch {
    return null;
  }
}

/** The groups a class lab has: from its lab.json, and from the namespaces there are (a half-built lab has no lab.json). */
export async function knownGroups(prefix: string, dir: string | undefined): Promise<number[]> {
  const st = dir === undefined ? null : readClassLabState(dir);
  const fromState = st && st.prefix === prefix ? Array.from({ length: st.groups }, (_, i) => i + 1) : [];
  return [...new Set([...fromState, ...(await existingGroups(prefix))])].sort((a, b) => a - b);
}

/** Whether PREFIX (with DIR) is a class lab: its lab.json says so, or group namespaces exist. */
export async function isClassLab(prefix: string, dir: string | undefined): Promise<boolean> {
  return (await knownGroups(prefix, dir)).length > 0;
}

/** `g03`, `3` or `03` → group 3 of the class lab, with its prefix and folder; refused when the lab has no such group. */
export async function resolveLabGroup(
  prefix: string,
  dir: string,
  group: string,
): Promise<{ name: string; n: number; prefix: string; dir: string }> {
  const m = /^g?(\d{1,3})$/.exec(group);
  const groups = await knownGroups(prefix, dir);
  const list = groups.map(labGroupName).join(', ') || 'none: is it up? (lab up --groups N)';
  const n = m?.[1] === undefined ? NaN : Number(m[1]);
  if (!groups.includes(n)) throw new UsageError(`--group ${group}: lab '${prefix}' has no such group (groups: ${list})`);
  return { name: labGroupName(n), n, prefix: labGroupPrefix(prefix, n), dir: path.join(dir, labGroupName(n)) };
}

export function classLabHandle(prefix: string, dir: string, groups: number, provisioned: boolean): ClassLabHandle {
  const root = path.resolve(dir);
  return {
    prefix,
    dir: root,
    frontendNetns: netnsName(prefix, 'frontend'),
    classInventoryPath: path.join(root, CLASS_INVENTORY_FILE),
    provisioned,
    groups: Array.from({ length: groups }, (_, i) => {
      const n = i + 1;
      const gdir = path.join(root, labGroupName(n));
      return {
        name: labGroupName(n),
        n,
        prefix: labGroupPrefix(prefix, n),
        dir: gdir,
        handle: labHandle(labGroupPrefix(prefix, n), gdir, labTopology(n)),
      };
    }),
  };
}

const ipn = (ns: string, ...args: string[]): string[] => ['ip', '-n', ns, ...args];

/** One group: an ordinary lab in its namespaces and folder, plus its veth to the class frontend. Returns its known_hosts lines. */
async function buildGroup(
  prefix: string,
  root: string,
  n: number,
  clientPub: string,
  clientKey: string,
  provisioned: boolean,
): Promise<string[]> {
  const gp = labGroupPrefix(prefix, n);
  const topo = labTopology(n);
  const gdir = path.join(root, labGroupName(n));
  ensureSubdir(gdir);
  const files = labFiles(gdir);
  await createNamespaces(gp);
  await buildUnderlay(gp, topo);
  await buildGuests(gp, topo);

  // the class frontend's leg into this group's underlay switch: `gNN` there, `class` on the switch
  const lan = netnsName(gp, 'lan');
  const fe = netnsName(prefix, 'frontend');
  const leg = labGroupName(n);
  await mustRun(
    `wiring the class frontend ${fe} to ${lan}`,
    ipn(lan, 'link', 'add', 'class', 'type', 'veth', 'peer', 'name', leg, 'netns', fe),
  );
  await mustRun(`plugging the class frontend into ${lan}'s switch`, ipn(lan, 'link', 'set', 'class', 'master', 'lan', 'up'));
  await mustRun(`addressing ${leg} in ${fe}`, ipn(fe, 'addr', 'add', `${underlayAddress(n, HOST_BYTES.classFrontend)}/24`, 'dev', leg));
  await mustRun(`bringing up ${leg} in ${fe}`, ipn(fe, 'link', 'set', leg, 'up'));
  await disableChecksumOffload(gp);

  replaceFile(files.authorizedKeys, clientPub, 0o600);
  const known: string[] = [];
  for (const node of topo.nodes) known.push(await prepareNodeSshd(files, files.node(node.name), node.name, node.host));
  replaceFile(files.knownHosts, `${known.join('\n')}\n`, 0o644);
  for (const node of topo.nodes) await startSshd(netnsName(gp, node.name), files.node(node.name));
  for (const node of topo.nodes) {
    if (!(await pingOk(fe, node.host)))
      throw new LabError(`group ${leg}: the class frontend ${fe} cannot ping ${node.name} (${node.host})`);
  }
  if (provisioned) {
    await provisionOverlay(gp, topo);
    const vm1 = guestSpec('vm1');
    const vm2 = guestSpec('vm2');
    if (!(await pingOk(netnsName(gp, 'vm1'), addressOnly(vm2.address), 5))) {
      throw new LabError(
        `group ${leg}: the overlay does not work: ${vm1.name} cannot ping ${vm2.name} (${addressOnly(vm2.address)}) across it`,
      );
    }
  }
  replaceFile(files.inventory, renderInventory({ identityFile: clientKey, knownHosts: files.knownHosts }, topo), 0o644);
  replaceFile(
    files.state,
    `${JSON.stringify({ prefix: gp, provisioned, createdAt: new Date().toISOString(), group: n, classPrefix: prefix }, null, 2)}\n`,
    0o644,
  );
  return known;
}

export interface ClassLabOptions {
  prefix: string;
  dir: string;
  groups: number;
  provisioned?: boolean;
}

export async function classLabUp(opts: ClassLabOptions): Promise<ClassLabHandle> {
  await assertLabPrerequisites();
  const prefix = checkPrefix(opts.prefix);
  if (!Number.isInteger(opts.groups) || opts.groups < 1 || opts.groups > MAX_LAB_GROUPS)
    throw new UsageError(`--groups must be a whole number from 1 to ${MAX_LAB_GROUPS}, not ${opts.groups}`);
  checkPrefix(labGroupPrefix(prefix, opts.groups)); // the groups' prefixes must be valid too: a shorter PREFIX when not
  const there = [...(await existingLabNamespaces(prefix)), ...(await existingGroups(prefix)).map((n) => `${labGroupPrefix(prefix, n)}*`)];
  if (there.length > 0) {
    throw new LabError(
      `a lab with prefix '${prefix}' already exists ` +
        `(${there.slice(0, 6).join(', ')}${there.length > 6 ? ', …' : ''}): ` +
        `run \`vxlan-inspect lab down --prefix ${prefix}\` first, or pick another --prefix`,
    );
  }
  // outside the try: a folder that is refused is not ours to clean up
  const root = prepareDir(opts.dir, { what: 'lab folder', option: '--dir', marker: 'lab.json', owner: 'self' });
  const files = labFiles(root);
  const provisioned = opts.provisioned === true;
  try {
    const fe = netnsName(prefix, 'frontend');
    await mustRun(`creating namespace ${fe}`, ['ip', 'netns', 'add', fe]);
    await mustRun(`bringing up loopback in ${fe}`, ipn(fe, 'link', 'set', 'lo', 'up'));
    const pub = await makeKey(files.clientKey, 'vxlan-inspect-class-lab-client');
    const r = await runBounded(
      Array.from({ length: opts.groups }, (_, i) => ({
        key: labGroupName(i + 1),
        run: () => buildGroup(prefix, root, i + 1, pub, files.clientKey, provisioned),
      })),
      { parallel: BUILD_PARALLEL, deadlineMs: 180_000 },
    );
    const failed = r.outcomes.filter((o) => !o.ok);
    if (failed.length > 0) throw new LabError(failed.map((o) => `${o.key}: ${o.ok ? '' : o.error}`).join('; '));
    await disableChecksumOffload(prefix);
    replaceFile(files.knownHosts, `${r.outcomes.flatMap((o) => (o.ok ? o.value : [])).join('\n')}\n`, 0o644);
    replaceFile(
      path.join(root, CLASS_INVENTORY_FILE),
      renderClassInventory({ identityFile: files.clientKey, knownHosts: files.knownHosts }, opts.groups),
      0o644,
    );
    const state: ClassLabState = { prefix, provisioned, createdAt: new Date().toISOString(), groups: opts.groups };
    replaceFile(files.state, `${JSON.stringify(state, null, 2)}\n`, 0o644);
    return classLabHandle(prefix, root, opts.groups, provisioned);
  } catch (err) {
    const what = err instanceof LabError ? err.message : `lab up --groups failed: ${(err as Error).message}`;
    try {
      await classLabDown({ prefix, dir: root });
    } catch (cleanupErr) {
      throw new LabError(`${what} (and cleaning up failed too: ${(cleanupErr as Error).message})`, { cause: err });
    }
    throw err instanceof VxiError ? err : new LabError(`${what}; everything lab up had made is removed`, { cause: err });
  }
}

/** Every group (lab down of each), then the class frontend and the class files. Safe to run twice, and on a half-built lab. */
export async function classLabDown(opts: { prefix: string; dir?: string }): Promise<void> {
  const prefix = checkPrefix(opts.prefix);
  const groups = await knownGroups(prefix, opts.dir);
  const r = await runBounded(
    groups.map((n) => ({
      key: labGroupName(n),
      run: () =>
        labDown({ prefix: labGroupPrefix(prefix, n), ...(opts.dir !== undefined ? { dir: path.join(opts.dir, labGroupName(n)) } : {}) }),
    })),
    { parallel: BUILD_PARALLEL, deadlineMs: 120_000 },
  );
  const problems = r.outcomes.flatMap((o) => (o.ok ? [] : [`${o.key}: ${o.error}`]));
  if (opts.dir !== undefined) {
    const own = ownedDir(opts.dir);
    if (own !== null && !('problem' in own)) {
      try {
        removeEntry(path.join(own.real, CLASS_INVENTORY_FILE));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }
  try {
    await labDown({ prefix, ...(opts.dir !== undefined ? { dir: opts.dir } : {}) });
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length > 0) throw new LabError(problems.join('; '));
}

export interface ClassLabStatus {
  prefix: string;
  dir: string;
  frontendNetns: string;
  frontendExists: boolean;
  classInventoryPath: string | null;
  groups: { name: string; n: number; status: LabStatus; fromClassFrontend: { node: string; address: string; ok: boolean }[] }[];
}

export async function classLabStatus(opts: { prefix: string; dir: string }): Promise<ClassLabStatus> {
  const prefix = checkPrefix(opts.prefix);
  const fe = netnsName(prefix, 'frontend');
  const feExists = (await existingLabNamespaces(prefix)).includes(fe);
  const groups = await knownGroups(prefix, opts.dir);
  const r = await runBounded(
    groups.map((n) => ({
      key: labGroupName(n),
      run: async () => {
        const status = await labStatus({ prefix: labGroupPrefix(prefix, n), dir: path.join(opts.dir, labGroupName(n)) });
        const fromClassFrontend = await Promise.all(
          labTopology(n).nodes.map(async (node) => ({
            node: node.name,
            address: node.host,
            ok: feExists && (await pingOk(fe, node.host, 1)),
          })),
        );
        return { name: labGroupName(n), n, status, fromClassFrontend };
      },
    })),
    { parallel: BUILD_PARALLEL, deadlineMs: 60_000 },
  );
  const failed = r.outcomes.find((o) => !o.ok);
  if (failed && !failed.ok) throw new LabError(`lab status of group ${failed.key}: ${failed.error}`);
  const inv = path.join(path.resolve(opts.dir), CLASS_INVENTORY_FILE);
  return {
    prefix,
    dir: path.resolve(opts.dir),
    frontendNetns: fe,
    frontendExists: feExists,
    classInventoryPath: existsSync(inv) ? inv : null,
    groups: r.outcomes.flatMap((o) => (o.ok ? [o.value] : [])),
  };
}
