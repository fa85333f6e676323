/**
 * `lab up`: the class's topology in namespaces, two real sshd, the inventory, and (when
 * provisioned) the overlay with vm1 ↔ vm2 checked. On any failure everything made so far is
 * removed before the error is thrown.
 */
import { readFileSync } from 'node:fs';
import { VxiError } from '../errors.js';
import { LabError } from './errors.js';
import {
  buildGuests,
  buildUnderlay,
  createNamespaces,
  disableChecksumOffload,
  existingLabNamespaces,
  pingOk,
  provisionOverlay,
} from './build.js';
import { labDown } from './down.js';
import { labFiles } from './files.js';
import { renderInventory } from './inventory.js';
import { assertLabPrerequisites } from './preflight.js';
import { prepareDir, replaceFile } from './safedir.js';
import { makeKey, prepareNodeSshd, startSshd } from './sshd.js';
import {
  DEFAULT_PREFIX,
  DEFAULT_TOPOLOGY,
  GUESTS,
  MAX_GROUP,
  NODES,
  addressOnly,
  checkPrefix,
  guestSpec,
  labTopology,
  netnsName,
  type GuestName,
  type LabTopology,
  type NodeName,
} from './topology.js';

export interface LabOptions {
  /** Namespace name prefix; default 'vxi-'. */
  prefix?: string;
  /**
   * Where keys, sshd configs, inventory.yaml and pid files live. Created by `lab up`; an existing
   * folder must be ours, writable by no one else, and empty or a lab (it has lab.json).
   */
  dir: string;
  /** Build the overlay (vxlan_bridge, vxlan10, flood entries) on both nodes. */
  provisioned?: boolean;
}

export interface LabNodeInfo {
  name: NodeName;
  netns: string;
  /** Underlay address, e.g. 10.3.1.156. */
  host: string;
  /** e.g. 10.220.220.201/24. */
  bridgeAddress: string;
  sshPort: number;
}

export interface LabHandle {
  prefix: string;
  dir: string;
  inventoryPath: string;
  frontendNetns: string;
  nodes: LabNodeInfo[];
  guests: { name: GuestName; netns: string; address: string }[];
}

/** Contents of DIR/lab.json. */
export interface LabState {
  prefix: string;
  provisioned: boolean;
  createdAt: string;
}

/** What a lab (or one group of a class lab, with its `topo`) is made of. */
export function labHandle(prefix: string, dir: string, topo: LabTopology = DEFAULT_TOPOLOGY): LabHandle {
  const files = labFiles(dir);
  return {
    prefix,
    dir: files.dir,
    inventoryPath: files.inventory,
    frontendNetns: netnsName(prefix, 'frontend'),
    nodes: topo.nodes.map((n) => ({
      name: n.name,
      netns: netnsName(prefix, n.name),
      host: n.host,
      bridgeAddress: n.bridgeAddress,
      sshPort: 22,
    })),
    guests: GUESTS.map((g) => ({ name: g.name, netns: netnsName(prefix, g.name), address: g.address })),
  };
}

/** The addresses of the lab in DIR: a group of a class lab (`lab up --groups`) has its number in lab.json; any other lab is group 1. */
export function labTopologyAt(dir: string): LabTopology {
  try {
    const g = (JSON.parse(readFileSync(labFiles(dir).state, 'utf8')) as { group?: unknown }).group;
    if (typeof g === 'number' && Number.isInteger(g) && g >= 1 && g <= MAX_GROUP) return labTopology(g);
  } catch {
    /* no lab.json, or not ours: the class lab's own addresses */
  }
  return DEFAULT_TOPOLOGY;
}

export function readLabState(dir: string): LabState | null {
  try {
    const s = JSON.parse(readFileSync(labFiles(dir).state, 'utf8')) as Partial<LabState>;
    return typeof s.prefix === 'string'
      ? { prefix: s.prefix, provisioned: s.provisioned === true, createdAt: String(s.createdAt ?? '') }
      : null;
  } catch {
    return null;
  }
}

export async function labUp(opts: LabOptions): Promise<LabHandle> {
  await assertLabPrerequisites();
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const existing = await existingLabNamespaces(prefix);
  if (existing.length > 0) {
    throw new LabError(
      `a lab with prefix '${prefix}' already exists (${existing.join(', ')}): ` +
        `run \`vxlan-inspect lab down --prefix ${prefix}\` first, or pick another --prefix`,
    );
  }
  // outside the try: a folder that is refused is not ours to clean up
  const files = labFiles(prepareDir(opts.dir, { what: 'lab folder', option: '--dir', marker: 'lab.json', owner: 'self' }));
  try {
    await createNamespaces(prefix);
    await buildUnderlay(prefix);
    await buildGuests(prefix);
    await disableChecksumOffload(prefix);

    replaceFile(files.authorizedKeys, await makeKey(files.clientKey, 'vxlan-inspect-lab-client'), 0o600);
    const knownHosts: string[] = [];
    for (const n of NODES) knownHosts.push(await prepareNodeSshd(files, files.node(n.name), n.name, n.host));
    replaceFile(files.knownHosts, `${knownHosts.join('\n')}\n`, 0o644);
    for (const n of NODES) await startSshd(netnsName(prefix, n.name), files.node(n.name));

    const frontend = netnsName(prefix, 'frontend');
    for (const n of NODES) {
      if (!(await pingOk(frontend, n.host)))
        throw new LabError(`the underlay does not work: ${frontend} cannot ping ${n.name} (${n.host})`);
    }

    if (opts.provisioned) {
      await provisionOverlay(prefix);
      const vm1 = guestSpec('vm1');
      const vm2 = guestSpec('vm2');
      if (!(await pingOk(netnsName(prefix, vm1.name), addressOnly(vm2.address), 5))) {
        throw new LabError(
          `the overlay does not work: ${vm1.name} (${addressOnly(vm1.address)}) cannot ping ${vm2.name} (${addressOnly(vm2.address)}) across vxlan10; ` +
            `look at \`ip netns exec ${netnsName(prefix, 'kvm1')} bridge fdb show dev vxlan10\``,
        );
      }
    }

    replaceFile(files.inventory, renderInventory({ identityFile: files.clientKey, knownHosts: files.knownHosts }), 0o644);
    const state: LabState = { prefix, provisioned: opts.provisioned === true, createdAt: new Date().toISOString() };
    replaceFile(files.state, `${JSON.stringify(state, null, 2)}\n`, 0o644);
    return labHandle(prefix, files.dir);
  } catch (err) {
    const what = err instanceof LabError ? err.message : `lab up failed: ${(err as Error).message}`;
    try {
      await labDown({ prefix, dir: files.dir });
    } catch (cleanupErr) {
      throw new LabError(`${what} (and cleaning up failed too: ${(cleanupErr as Error).message})`, { cause: err });
    }
    throw err instanceof VxiError ? err : new LabError(`${what}; everything lab up had made is removed`, { cause: err });
  }
}
