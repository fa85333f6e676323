/**
 * A real OpenSSH server per node: host key and client key made with ssh-keygen, a config
 * that allows root by key only, started inside the node's namespace and stopped by the pid
 * in its PidFile.
 */
import { mkdirSync, mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LabError } from './errors.js';
import type { LabFiles, NodeFiles } from './files.js';
import { SSHD_PATH } from './preflight.js';
import { mustRun, netnsExec, sleep } from './run.js';
import { isAlive, killAndWait } from './processes.js';
import { ensureSubdir, removeEntry, replaceFile } from './safedir.js';

/** Quotes a value for sshd_config (double quotes; paths with `"` or newlines are refused). */
function confValue(v: string): string {
  if (/["\n\r]/.test(v))
    throw new LabError(`lab directory path ${JSON.stringify(v)} cannot be used in sshd_config: pick a path without quotes or newlines`);
  return /\s/.test(v) ? `"${v}"` : v;
}

/**
 * Makes an ed25519 key pair at `file` and `file.pub` and returns the public key line.
 * ssh-keygen would follow a link at `file`, so it writes into a fresh private folder beside
 * it (mkdtemp, mode 0700) and the keys are copied out with replaceFile.
 */
export async function makeKey(file: string, comment: string): Promise<string> {
  const tmp = mkdtempSync(path.join(path.dirname(file), '.keygen-'));
  try {
    const made = path.join(tmp, 'key');
    await mustRun(`generating the ssh key ${file}`, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', made]);
    const pub = readFileSync(`${made}.pub`, 'utf8');
    replaceFile(file, readFileSync(made), 0o600);
    replaceFile(`${file}.pub`, pub, 0o644);
    return pub;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function sshdConfig(node: NodeFiles, listen: string, authorizedKeys: string): string {
  return [
    '# vxlan-inspect lab: written by `vxlan-inspect lab up`, removed by `lab down`',
    'Port 22',
    `ListenAddress ${listen}`,
    `HostKey ${confValue(node.hostKey)}`,
    `PidFile ${confValue(node.pidFile)}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    `AuthorizedKeysFile ${confValue(authorizedKeys)}`,
    'StrictModes no',
    'PrintMotd no',
    'X11Forwarding no',
    // A client that vanished (its link went down) is dropped after 15 s, so its commands
    // (a remote tcpdump) do not outlive it for the kernel's TCP timeout.
    'ClientAliveInterval 5',
    'ClientAliveCountMax 3',
    'AcceptEnv LANG LC_*',
    // bash runs ~/.bashrc for a command over ssh only as a top-level shell (SHLVL unset or 0).
    // The lab's nodes share the machine's /root, whose .bashrc may do anything (here: `pyenv
    // init`, 0.1 s per command, 60 s when its lock is stale): at level 1 the nodes start clean,
    // as a freshly installed hypervisor does, and every lab command costs the same everywhere.
    'SetEnv SHLVL=1',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** Generates the node's host key and config and returns its known_hosts line. */
export async function prepareNodeSshd(files: LabFiles, node: NodeFiles, nodeName: string, host: string): Promise<string> {
  ensureSubdir(node.dir);
  const pub = await makeKey(node.hostKey, `vxlan-inspect-lab-${nodeName}`);
  replaceFile(node.sshdConfig, sshdConfig(node, host, files.authorizedKeys), 0o644);
  const [type, key] = pub.trim().split(/\s+/);
  if (!type || !key) throw new LabError(`unexpected host key file ${node.hostPub}`);
  return `${host} ${type} ${key}`;
}

export function readPid(pidFile: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : null;
  } catch {
    return null;
  }
}

/** Starts sshd in `netns` (it daemonizes once listening) and waits for its pid file. */
export async function startSshd(netns: string, node: NodeFiles): Promise<number> {
  // privilege separation directory Debian's sshd insists on; /run is shared by all namespaces
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  // sshd opens both by name, as root, following links: they are made here (the folder is ours)
  removeEntry(node.pidFile);
  replaceFile(node.log, '', 0o600);
  await mustRun(`starting sshd in ${netns}`, netnsExec(netns, [SSHD_PATH, '-f', node.sshdConfig, '-E', node.log]), { timeoutMs: 10_000 });
  for (let i = 0; i < 100; i++) {
    const pid = readPid(node.pidFile);
    if (pid !== null && isAlive(pid)) return pid;
    await sleep(30);
  }
  const log = existsSync(node.log) ? readFileSync(node.log, 'utf8').trim().split('\n').slice(-2).join(' / ') : '';
  throw new LabError(`sshd in ${netns} did not write ${node.pidFile}${log ? `: ${log}` : ''}`);
}

/** Stops the sshd named by the pid file, if it is still an sshd. */
export async function stopSshd(node: NodeFiles): Promise<void> {
  const pid = readPid(node.pidFile);
  if (pid !== null) await killAndWait([pid], 'sshd');
}
