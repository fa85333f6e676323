import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { Client } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { buildCommand, interpretFailure, PID_MARKER, runOn, spawnOn, type ExecTarget, type RunResult } from './exec.js';

const root: ExecTarget = { name: 'kvm1', host: '10.3.1.156', user: 'root', sudo: false };
const admin: ExecTarget = { name: 'kvm1', host: '10.3.1.156', user: 'admin', sudo: true };

function result(code: number, stderr: string): RunResult {
  return { code, signal: null, stdout: '', stderr };
}

describe('buildCommand', () => {
  it('quotes argv and adds sudo -n only when the command needs root and the inventory says sudo', () => {
    expect(buildCommand(root, ['ip', 'link', 'add', 'vxlan10'], { sudo: true })).toBe('ip link add vxlan10');
    expect(buildCommand(admin, ['ip', 'link', 'add', 'vxlan10'], { sudo: true })).toBe('sudo -n -- ip link add vxlan10');
    expect(buildCommand(admin, ['ip', '-j', 'link'])).toBe('ip -j link');
    expect(buildCommand(admin, ['tcpdump', '-i', 'eth1', 'udp port 4789; id'], { sudo: true })).toBe(
      "sudo -n -- tcpdump -i eth1 'udp port 4789; id'",
    );
  });

  it('reports the PID of the program itself, as a real sh runs it', () => {
    const cmd = buildCommand(root, ['sh', '-c', 'echo "self $$"; printf %s "$1" >&2', 'sh', "$(id) 'x'"], { reportPid: true });
    const out = execFileSync('sh', ['-c', `${cmd} 2>&1`], { encoding: 'utf8' });
    const m = new RegExp(`^${PID_MARKER}(\\d+)\\nself (\\d+)\\n\\$\\(id\\) 'x'$`).exec(out);
    expect(m, out).not.toBeNull();
    expect(m?.[1]).toBe(m?.[2]); // exec kept the PID
  });
});

describe('interpretFailure', () => {
  it('says when sudo wants a password, is missing, or refuses', () => {
    expect(interpretFailure(admin, ['ip'], result(1, 'sudo: a password is required\n'), true)?.message).toBe(
      'kvm1 (10.3.1.156): sudo wants a password for admin to run ip; ' +
        'allow it without one (a NOPASSWD rule in /etc/sudoers.d/) or connect as root (user: ' +
        'root in the inventory)',
    );
    expect(interpretFailure(admin, ['ip'], result(127, 'bash: line 1: sudo: command not found\n'), true)?.message).toMatch(
      /sudo is not installed/,
    );
    expect(
      interpretFailure(admin, ['ip'], result(1, 'admin is not in the sudoers file.  This incident will be reported.\n'), true)?.message,
    ).toMatch(/admin may not run ip with sudo/);
  });
  it("says when the program is missing, and leaves the program's own failures alone", () => {
    expect(interpretFailure(root, ['tcpdump'], result(127, 'sh: 1: tcpdump: not found\n'), false)?.message).toBe(
      'kvm1 (10.3.1.156): tcpdump is not installed (or not on the PATH of root): sh: 1: tcpdump: not found',
    );
    expect(interpretFailure(root, ['ip'], result(1, 'Cannot find device "vxlan10"\n'), false)).toBeNull();
    expect(interpretFailure(root, ['sh'], result(127, ''), false)).toBeNull();
  });
});

describe('runOn and spawnOn on a loaded machine', () => {
  /**
   * What ssh2 does when the exec reply, the output, the exit status and the close of a quick
   * command arrive in one socket read: it parses them in one go, so `exit` is emitted inside the
   * exec callback's turn, before a caller awaiting the channel resumes; the close follows later.
   */
  class OneReadChannel extends PassThrough {
    readonly stderr = new PassThrough();
    signal(): void {}
    close(): void {}
  }
  const oneReadClient = (code: number): Client =>
    ({
      exec(_cmd: string, cb: (err: Error | undefined, ch: OneReadChannel) => void) {
        const ch = new OneReadChannel();
        cb(undefined, ch);
        ch.end('[]\n');
        ch.emit('exit', code);
        ch.stderr.end();
        setImmediate(() => ch.emit('close'));
      },
    }) as unknown as Client;

  it('keeps an exit status that came in the same read as the exec reply (was: "the SSH connection closed while …")', async () => {
    const r = await runOn(oneReadClient(3), root, ['ip', '-j', 'addr', 'show']);
    expect(r).toMatchObject({ code: 3, signal: null, stdout: '[]\n' });
  });

  it('spawnOn reports that exit status too', async () => {
    const p = await spawnOn(oneReadClient(0), root, ['tcpdump', '--version']);
    p.stdout.resume();
    expect(await p.exit).toEqual({ code: 0, signal: null });
  });
});
