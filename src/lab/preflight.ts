/**
 * Can this machine run the lab? Root, iproute2 with working `ip netns`, OpenSSH's server and
 * key generator, tcpdump, ping, and ethtool (the lab turns checksum offload off on its veths).
 * Answers with one line naming the Debian packages to install.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { PrerequisiteError } from '../errors.js';
import { run } from './run.js';

export const SSHD_PATH = '/usr/sbin/sshd';

interface Tool {
  name: string;
  /** Debian package that ships it. */
  pkg: string;
  /** Absolute path, or a name looked up on PATH. */
  path: string;
}

const TOOLS: readonly Tool[] = [
  { name: 'ip', pkg: 'iproute2', path: 'ip' },
  { name: 'bridge', pkg: 'iproute2', path: 'bridge' },
  { name: 'sshd', pkg: 'openssh-server', path: SSHD_PATH },
  { name: 'ssh-keygen', pkg: 'openssh-client', path: 'ssh-keygen' },
  { name: 'tcpdump', pkg: 'tcpdump', path: 'tcpdump' },
  { name: 'ping', pkg: 'iputils-ping', path: 'ping' },
  { name: 'ethtool', pkg: 'ethtool', path: 'ethtool' },
];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds a program like the shell does (absolute paths as is). */
export function findProgram(name: string): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

export interface PreflightFacts {
  platform: string;
  /** Effective uid, or null where there is none (Windows). */
  uid: number | null;
  /** Programs not found. */
  missing: readonly string[];
}

export const LAB_TOOLS: readonly string[] = TOOLS.map((t) => t.name);

/** The one-line reason from facts, or null when they allow the lab. Checked in this order: OS, tools, root. */
export function preflightReason(f: PreflightFacts): string | null {
  if (f.platform !== 'linux') return `the lab needs Linux network namespaces; this is ${f.platform}`;
  const missing = TOOLS.filter((t) => f.missing.includes(t.name));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => t.pkg))];
    return `the lab needs ${missing.map((t) => t.name).join(', ')}: install with \`apt-get install ${pkgs.join(' ')}\``;
  }
  if (f.uid !== null && f.uid !== 0) {
    return 'the lab creates network namespaces and needs root: run it with sudo (e.g. `sudo npx vxlan-inspect lab up`)';
  }
  return null;
}

/**
 * null when this machine can run the lab, else the one-line reason. `scope: 'namespaces'`
 * asks only for what status, exec and down need (root and iproute2).
 */
export async function labPreflight(scope: 'lab' | 'namespaces' = 'lab'): Promise<string | null> {
  const tools = scope === 'lab' ? TOOLS : TOOLS.filter((t) => t.pkg === 'iproute2');
  const reason = preflightReason({
    platform: process.platform,
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
    missing: tools.filter((t) => findProgram(t.path) === null).map((t) => t.name),
  });
  if (reason !== null) return reason;
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 5000 });
  if (r.code !== 0)
    return `\`ip netns list\` fails on this machine (${r.stderr.trim() || `exit ${r.code}`}): the lab needs network namespaces`;
  return null;
}

/** Throws a PrerequisiteError (exit 2) with labPreflight's reason. */
export async function assertLabPrerequisites(scope: 'lab' | 'namespaces' = 'lab'): Promise<void> {
  const reason = await labPreflight(scope);
  if (reason !== null) throw new PrerequisiteError(reason);
}
