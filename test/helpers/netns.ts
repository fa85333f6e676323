/**
 * For integration tests that build network namespaces: can this machine do it, and a prefix
 * of our own so tests never clash with each other or with a developer's running lab (`vxi-`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export type NetnsAbility = { ok: true } | { ok: false; reason: string };

let cached: NetnsAbility | undefined;

/** Root, `ip` present, and a namespace can really be made and removed (not only listed). */
export function canRunNetns(): NetnsAbility {
  if (cached) return cached;
  cached = probe();
  return cached;
}

function probe(): NetnsAbility {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return { ok: false, reason: 'needs root to create network namespaces (run as root; CI does)' };
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (list.error || list.status !== 0)
    return { ok: false, reason: `\`ip netns list\` fails: ${list.error?.message ?? list.stderr.trim()} (install iproute2)` };
  const name = `${uniquePrefix()}probe`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.status !== 0) return { ok: false, reason: `\`ip netns add\` fails here: ${add.stderr.trim()}` };
  spawnSync('ip', ['netns', 'del', name]);
  return { ok: true };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `vxt` + 3 random characters + `-`, e.g. `vxt3f9-`. */
export function uniquePrefix(): string {
  const bytes = randomBytes(3);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `vxt${s}-`;
}

/** A process's argument vector, from /proc ([] once it has ended). */
export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Processes inside a namespace, by `ip netns pids` (a local query: nothing is sent). */
export function processesIn(netns: string): { pid: number; comm: string; argv: string[] }[] {
  const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number);
  return pids.map((pid) => {
    let comm = 'gone';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      /* ended meanwhile */
    }
    return { pid, comm, argv: cmdline(pid) };
  });
}

/** What a child process printed, and how it ended. */
export interface ChildOut {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv without blocking the event loop (lab traffic may run in this process meanwhile); killed after `timeoutMs`. */
export function runAsync(argv: string[], timeoutMs = 90_000): Promise<ChildOut> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(cmd ?? 'false', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The network namespaces that exist now (`ip netns list`), by name. */
export function namespaces(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export function netnsExists(ns: string): boolean {
  return namespaces().includes(ns);
}

/** Runs argv inside `ns`, refusing when the namespace is missing (lab addresses must never leave the machine). */
export function inNetnsAsync(ns: string, argv: string[], timeoutMs?: number): Promise<ChildOut> {
  if (!netnsExists(ns)) throw new Error(`namespace ${ns} does not exist: refusing to send anything`);
  return runAsync(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
}
