/**
 * When the channel goes away under a remote command:
 * - runOn: a channel that closes without an exit status (sshd killed, connection lost) is an
 *   error naming the node, the command and what happened, not a result with exit "?" and an
 *   empty reason;
 * - the watchdog (spawnOn's `watchdog`): the program is stopped when its channel's stdin reaches
 *   end of file, keeps its PID and exit status otherwise, and never touches a process that is
 *   not its parent any more. Run here with the local `sh`, as sshd would run the command string.
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import type { Client } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCommand, PID_MARKER, runOn, type ExecTarget } from './exec.js';

const root: ExecTarget = { name: 'kvm1', host: '10.3.1.156', user: 'root', sudo: false };
const admin: ExecTarget = { name: 'kvm1', host: '10.3.1.156', user: 'admin', sudo: true };
const DEADLINE_MS = 10_000;

/** An ssh2 client whose one exec channel the test drives: `exit` and `close` as sshd would send them. */
function fakeClient(): { client: Client; channel: () => EventEmitter } {
  let ch: EventEmitter | undefined;
  const client = {
    exec(_cmd: string, cb: (err: Error | undefined, channel: EventEmitter) => void): void {
      const c = Object.assign(new EventEmitter(), {
        stderr: new EventEmitter(),
        end: () => undefined,
        close: () => undefined,
        signal: () => undefined,
      });
      ch = c;
      cb(undefined, c);
    },
  };
  return {
    client: client as unknown as Client,
    channel: () => {
      if (!ch) throw new Error('no channel yet');
      return ch;
    },
  };
}

async function channelOf(f: ReturnType<typeof fakeClient>): Promise<EventEmitter> {
  for (let i = 0; i < 100; i++) {
    try {
      return f.channel();
    } catch {
      await new Promise((r) => setImmediate(r));
    }
  }
  return f.channel();
}

describe('runOn when the connection goes', () => {
  it('a channel closed without an exit status: an SSH error naming the node, the command and what happened', async () => {
    const f = fakeClient();
    const run = runOn(f.client, root, ['ip', '-j', 'addr', 'show']);
    const ch = await channelOf(f);
    ch.emit('close');
    await expect(run).rejects.toMatchObject({
      code: 'VXI_SSH',
      message:
        'kvm1 (10.3.1.156): the SSH connection closed while `ip -j addr show` was running ' +
        '(no exit status came back: sshd on kvm1 stopped, or the connection to 10.3.1.156 was lost); ' +
        'whether it took effect is unknown: check the node, then run again',
    });
  });

  it('an exit status, then the close: the result, failures included (a signal too)', async () => {
    for (const [exit, want] of [
      [[0], { code: 0, signal: null }],
      [[2], { code: 2, signal: null }],
      [[null, 'KILL'], { code: null, signal: 'KILL' }],
    ] as const) {
      const f = fakeClient();
      const run = runOn(f.client, root, ['ip', 'link']);
      const ch = await channelOf(f);
      ch.emit('exit', ...exit);
      ch.emit('close');
      await expect(run).resolves.toMatchObject(want);
    }
  });
});

/** Processes (not this one) whose command line has `marker` as one of its arguments. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > DEADLINE_MS) throw new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `p`, or a failure naming `what` after the deadline (a hang fails, it does not wait for the test timeout). */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`)), DEADLINE_MS)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

/** Runs the command string as sshd would (`sh -c STRING`) with stdin a pipe the test holds: the channel. */
function asSshd(cmd: string): {
  stdinEnd: () => void;
  pid: Promise<number>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
} {
  const child = spawn('sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid) started.push(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const pid = new Promise<number>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      const m = new RegExp(`^${PID_MARKER}(\\d+)$`, 'm').exec(stderr);
      if (m) {
        started.push(Number(m[1]));
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => reject(new Error(`ended before reporting its PID: ${stderr}`)));
  });
  pid.catch(() => undefined);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { stdinEnd: () => child.stdin.end(), pid, exit, stdout: () => stdout };
}

describe('the watchdog', () => {
  it('stops the program when the channel (its stdin) goes, by TERM, and nothing of it is left', async () => {
    const marker = `vxi-watchdog-${process.pid}-a`;
    const r = asSshd(buildCommand(root, ['sh', '-c', 'exec sleep 600', marker], { reportPid: true, watchdog: true }));
    const pid = await within(r.pid, 'the PID line');
    // the PID is the program's own (its sh execs sleep in turn)
    await until('the program to be sleep', () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
    expect(alive(pid)).toBe(true); // the watchdog waits while the channel is there
    r.stdinEnd();
    expect(await within(r.exit, 'the program to be stopped')).toEqual({ code: 143, signal: null }); // 128 + TERM
    await until('no process of the command left', () => processesWith(marker).length === 0 && !alive(pid));
  });

  it('a program that ends by itself keeps its exit status and output (its argv arrives as data); the watchdog leaves with the channel', async () => {
    const marker = `vxi-watchdog-${process.pid}-b`;
    const hostile = "$(touch /tmp/vxi-pwned) `id` 'q' ; exit 9";
    const r = asSshd(buildCommand(root, ['sh', '-c', 'printf "%s\\n" "$1"; exit 3', marker, hostile], { reportPid: true, watchdog: true }));
    await within(r.pid, 'the PID line');
    expect(await within(r.exit, 'the program to end')).toEqual({ code: 3, signal: null });
    expect(r.stdout()).toBe(`${hostile}\n`); // argv arrives as data
    // the channel closes after the exit status (Node closes the pipe when sh exits, as sshd does)
    r.stdinEnd();
    await until('the watchdog to leave', () => processesWith(marker).length === 0);
  });

  it('without reportPid it still watches; with sudo its kill goes through sudo -n as stop() does', () => {
    const plain = buildCommand(root, ['tcpdump', '-i', 'eth1'], { watchdog: true });
    expect(plain).not.toContain(PID_MARKER);
    expect(plain).toMatch(/ kill -s \$s \$\$; /);
    expect(plain.endsWith(`' sh tcpdump -i eth1`)).toBe(true);
    const sudo = buildCommand(admin, ['tcpdump', '-i', 'eth1'], { sudo: true, reportPid: true, watchdog: true });
    expect(sudo).toMatch(/ sudo -n -- kill -s \$s \$\$; /);
    expect(sudo.endsWith(`' sh sudo -n -- tcpdump -i eth1`)).toBe(true);
    // what runs is still parsed by a POSIX sh without complaint
    expect(spawnSync('sh', ['-n', '-c', sudo]).status).toBe(0);
  });
});
