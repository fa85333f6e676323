/**
 * The files a lab keeps in its directory. Teardown removes exactly these names and nothing
 * else, then the directories if they are empty.
 */
import path from 'node:path';
import type { NodeName } from './topology.js';

export interface LabFiles {
  dir: string;
  clientKey: string;
  clientPub: string;
  authorizedKeys: string;
  knownHosts: string;
  inventory: string;
  /** What `lab up` built: prefix, provisioned. */
  state: string;
  /** The fault `lab break` made and `lab fix` undoes. */
  breakRecord: string;
  node(name: NodeName): NodeFiles;
}

export interface NodeFiles {
  dir: string;
  sshdConfig: string;
  hostKey: string;
  hostPub: string;
  pidFile: string;
  log: string;
}

export function labFiles(dir: string): LabFiles {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    clientKey: path.join(abs, 'id_ed25519'),
    clientPub: path.join(abs, 'id_ed25519.pub'),
    authorizedKeys: path.join(abs, 'authorized_keys'),
    knownHosts: path.join(abs, 'known_hosts'),
    inventory: path.join(abs, 'inventory.yaml'),
    state: path.join(abs, 'lab.json'),
    breakRecord: path.join(abs, 'break.json'),
    node(name) {
      const d = path.join(abs, name);
      return {
        dir: d,
        sshdConfig: path.join(d, 'sshd_config'),
        hostKey: path.join(d, 'ssh_host_ed25519_key'),
        hostPub: path.join(d, 'ssh_host_ed25519_key.pub'),
        pidFile: path.join(d, 'sshd.pid'),
        log: path.join(d, 'sshd.log'),
      };
    },
  };
}

/** Every file a lab may have written, deepest first, then its directories. */
export function allLabPaths(files: LabFiles, nodes: readonly NodeName[]): { files: string[]; dirs: string[] } {
  const out: string[] = [];
  for (const n of nodes) {
    const f = files.node(n);
    out.push(f.sshdConfig, f.hostKey, f.hostPub, f.pidFile, f.log);
  }
  out.push(files.clientKey, files.clientPub, files.authorizedKeys, files.knownHosts, files.inventory, files.state, files.breakRecord);
  return { files: out, dirs: [...nodes.map((n) => files.node(n).dir), files.dir] };
}
