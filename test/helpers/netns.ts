/**
 * For integration tests that build network namespaces: can this machine do it, and a prefix
 * of our own so tests never clash with each other or with a developer's running lab (`vxi-`).
 */
import { spawnSync } from 'node:child_process';
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
