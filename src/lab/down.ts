/**
 * Teardown: stop every process inside the lab's namespaces (sshd, tcpdump, anything a person
 * started with `lab exec`), delete the namespaces (their veths, bridges and VXLAN devices go
 * with them), then remove the files `lab up` wrote. Safe to run twice, and on a half-built lab.
 * Files are removed (and pid files read) only in a folder that is ours (safedir.ownedDir): in
 * one another user can change, DIR/kvm1 could be a link to /etc/ssh.
 */
import { rmdirSync, rmSync } from 'node:fs';
import { allLabPaths, labFiles, type LabFiles } from './files.js';
import { existingLabNamespaces } from './build.js';
import { killAndWait, netnsPids } from './processes.js';
import { run, sleep } from './run.js';
import { stopSshd } from './sshd.js';
import { DEFAULT_PREFIX, NODES, checkPrefix } from './topology.js';
import { LabError } from './errors.js';
import { isOwnSubdir, ownedDir } from './safedir.js';

export async function labDown(opts: { prefix?: string; dir?: string }): Promise<void> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const problems: string[] = [];
  let files: LabFiles | null = null;
  let folderProblem: string | null = null;
  if (opts.dir !== undefined) {
    const own = ownedDir(opts.dir);
    if (own !== null && 'problem' in own) folderProblem = `${own.problem}: it is not a lab folder of ours, so its files were left alone`;
    else if (own !== null) files = labFiles(own.real);
  }
  // a DIR/kvm1 that is a link or not ours is left alone too: no pid read from it, nothing removed in it
  const nodes = files === null ? [] : NODES.map((n) => n.name).filter((n) => files !== null && isOwnSubdir(files.node(n).dir));

  if (files) for (const n of nodes) await stopSshd(files.node(n));

  const namespaces = await existingLabNamespaces(prefix);
  // guests and nodes first, the switch last: order does not matter to the kernel, only to a reader of `ip netns`
  for (const ns of [...namespaces].reverse()) {
    for (let round = 0; round < 3; round++) {
      const pids = await netnsPids(ns);
      if (pids.length === 0) break;
      await killAndWait(pids);
    }
    let deleted = false;
    for (let attempt = 0; attempt < 5 && !deleted; attempt++) {
      const r = await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 });
      deleted = r.code === 0 || !(await existingLabNamespaces(prefix)).includes(ns);
      if (!deleted) await sleep(100);
      if (!deleted && attempt === 4) problems.push(`${ns}: ${r.stderr.trim()}`);
    }
  }

  if (files) {
    const { files: paths, dirs } = allLabPaths(files, nodes);
    for (const p of paths) {
      try {
        rmSync(p, { force: true });
      } catch {
        /* not ours (e.g. a directory a person put there): leave it */
      }
    }
    for (const d of dirs) {
      try {
        rmdirSync(d);
      } catch {
        /* missing or holds files that are not the lab's */
      }
    }
  }
  const why = [
    ...(problems.length > 0
      ? [`could not delete namespace(s) ${problems.join('; ')}: run \`ip netns pids NAME\` to see what still runs there`]
      : []),
    ...(folderProblem !== null ? [folderProblem] : []),
  ];
  if (why.length > 0) throw new LabError(why.join('; '));
}
