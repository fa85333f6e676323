/** Processes the lab started, found by pid (pid files, `ip netns pids`) and stopped by pid. */
import { readFileSync } from 'node:fs';
import { run, sleep } from './run.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a zombie is gone for our purposes
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The process name (/proc/PID/comm), or null when it is gone. */
export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Pids of the processes living in a named namespace (empty when it does not exist). */
export async function netnsPids(netns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', netns], { timeoutMs: 5000 });
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/**
 * SIGTERM, wait up to graceMs, then SIGKILL whatever is left. With `onlyName`, a pid whose
 * process is not called that (a pid file gone stale, the pid reused) is left alone.
 */
export async function killAndWait(pids: readonly number[], onlyName?: string, graceMs = 2000): Promise<void> {
  const targets = pids.filter((p) => isAlive(p) && (onlyName === undefined || processName(p) === onlyName));
  for (const p of targets) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (targets.some(isAlive) && Date.now() < deadline) await sleep(25);
  for (const p of targets.filter(isAlive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const hard = Date.now() + 2000;
  while (targets.some(isAlive) && Date.now() < hard) await sleep(25);
}
