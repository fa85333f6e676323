/**
 * The SSH layer against a real OpenSSH sshd on 127.0.0.1 (a high port, its own temp dir,
 * generated host and client keys). Nothing here leaves the loopback interface.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteSession, SessionPool } from '../src/remote/connection.js';
import { parseInventory, resolveNode, type NodeConfig } from '../src/remote/inventory.js';
import { freePort, waitForPort } from './helpers/net.js';

const SSHD = '/usr/sbin/sshd';
const canRun = existsSync(SSHD) && process.getuid?.() === 0;
const skipReason = canRun ? '' : 'needs root and /usr/sbin/sshd';

let dir = '';
let port = 0;
let sshd: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let hostLine = '';
let otherHostLine = '';
let hostFp = '';
let sshdLog = '';

/** OpenSSH's client with StrictHostKeyChecking=accept-new against the test sshd, on `knownHosts`. */
function spawnSyncSsh(knownHosts: string): { status: number | null; stderr: string } {
  const r = spawnSync(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'HashKnownHosts=no',
      '-o',
      'IdentitiesOnly=yes',
      '-i',
      join(dir, 'client'),
      '-p',
      String(port),
      'root@127.0.0.1',
      'true',
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return { status: r.status, stderr: r.stderr };
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vxi-test', '-f', file]);
}

/** A node on the test sshd; `extra` is YAML merged into the node entry. */
function node(extra = '', knownHosts = 'known_hosts'): NodeConfig {
  const yaml = `defaults: { identityFile: ${dir}/client, knownHosts: ${dir}/${knownHosts} }
nodes:
  local: { host: 127.0.0.1, port: ${port}${extra ? `, ${extra}` : ''} }
  hop: { host: 127.0.0.1, port: ${port} }
`;
  return resolveNode(parseInventory(yaml, 'test', dir), 'local');
}

beforeAll(async () => {
  if (!canRun) return;
  dir = mkdtempSync(join(tmpdir(), 'vxi-sshd-'));
  keygen(join(dir, 'host'));
  keygen(join(dir, 'host2'));
  keygen(join(dir, 'client'));
  keygen(join(dir, 'stranger'));
  copyFileSync(join(dir, 'client.pub'), join(dir, 'authorized_keys'));
  port = await freePort();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr?.on('data', (d: Buffer) => (sshdLog += d.toString()));
  await waitForPort(port, 10_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${sshdLog}`);
  });
  const pub = readFileSync(join(dir, 'host.pub'), 'utf8').split(' ');
  const pub2 = readFileSync(join(dir, 'host2.pub'), 'utf8').split(' ');
  hostLine = `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`;
  otherHostLine = `[127.0.0.1]:${port} ${pub2[0]} ${pub2[1]}\n`;
  hostFp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host.pub')], { encoding: 'utf8' }).split(' ')[1] ?? '';
  writeFileSync(join(dir, 'known_hosts'), hostLine);
});

afterAll(() => {
  sshd?.kill('SIGTERM');
  agent?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!canRun)(`SSH layer against a real sshd${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('connects with a known host key and runs a command', async () => {
    const s = await RemoteSession.connect(node(), { agent: false });
    try {
      const r = await s.run(['printf', '%s', 'hello']);
      expect(r).toEqual({ code: 0, signal: null, stdout: 'hello', stderr: '' });
      const e = await s.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(e).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
      const c = await s.run(['cat'], { stdin: 'from stdin\n' });
      expect(c.stdout).toBe('from stdin\n');
      await expect(s.runChecked(['sh', '-c', 'echo boom >&2; exit 4'])).rejects.toMatchObject({
        code: 'VXI_REMOTE_COMMAND',
        message: expect.stringMatching(/local \(127\.0\.0\.1\).*failed \(exit 4\): boom/),
      });
    } finally {
      await s.close();
    }
  });

  it('passes hostile arguments to the remote program as data', async () => {
    const pwned = join(dir, 'pwned');
    const hostile = [
      `; touch ${pwned}`,
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `' ; touch ${pwned} ; '`,
      `" ; touch ${pwned} ; "`,
      `a\nb\ntouch ${pwned}`,
      '$(id)',
      'it\'s "quoted" \\ back\\slash',
      '*',
      '',
      '-n',
      '日本 é',
    ];
    const s = await RemoteSession.connect(node(), { agent: false });
    try {
      for (const arg of hostile) {
        const r = await s.run(['printf', '%s', arg]);
        expect(r.stdout, JSON.stringify(arg)).toBe(arg);
      }
      const many = await s.run(['sh', '-c', 'printf "%s|" "$@"', 'sh', ...hostile]);
      expect(many.stdout).toBe(hostile.map((a) => `${a}|`).join(''));
    } finally {
      await s.close();
    }
    expect(existsSync(pwned)).toBe(false);
  });

  it('refuses an unknown host with its fingerprint and how to accept it', async () => {
    writeFileSync(join(dir, 'empty_known_hosts'), '');
    await expect(RemoteSession.connect(node('', 'empty_known_hosts'), { agent: false })).rejects.toMatchObject({
      code: 'VXI_HOSTKEY',
      message: expect.stringContaining(`host key not in ${dir}/empty_known_hosts — ssh-ed25519 fingerprint ${hostFp}`),
    });
    await expect(RemoteSession.connect(node('', 'empty_known_hosts'), { agent: false })).rejects.toThrow(/--accept-new/);
  });

  it('accept-new writes known_hosts, and later connections use it', async () => {
    const kh = join(dir, 'fresh', 'known_hosts');
    const s = await RemoteSession.connect(node('', 'fresh/known_hosts'), { agent: false, acceptNew: true });
    await s.close();
    const written = readFileSync(kh, 'utf8');
    expect(written).toBe(hostLine);
    const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${port}`, '-f', kh], { encoding: 'utf8' });
    expect(found).toContain('ssh-ed25519');
    const again = await RemoteSession.connect(node('', 'fresh/known_hosts'), { agent: false });
    await again.close();
    expect(readFileSync(kh, 'utf8')).toBe(hostLine);
  });

  it('refuses a changed host key loudly, even with accept-new', async () => {
    writeFileSync(join(dir, 'changed_known_hosts'), otherHostLine);
    const err = RemoteSession.connect(node('', 'changed_known_hosts'), { agent: false, acceptNew: true });
    await expect(err).rejects.toMatchObject({
      code: 'VXI_HOSTKEY',
      message: expect.stringMatching(/REMOTE HOST IDENTIFICATION HAS CHANGED.*ssh-keygen -f .* -R/),
    });
    expect(readFileSync(join(dir, 'changed_known_hosts'), 'utf8')).toBe(otherHostLine);
  });

  it('decides every host-key case as OpenSSH does (accept-new), a key of another type included', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', join(dir, 'ecdsa')]);
    const ecdsa = readFileSync(join(dir, 'ecdsa.pub'), 'utf8').split(' ');
    const ecdsaLine = `[127.0.0.1]:${port} ${ecdsa[0]} ${ecdsa[1]}\n`;
    const cases: { name: string; text: string; accepted: boolean }[] = [
      { name: 'other-type', text: ecdsaLine, accepted: false }, // the issue's man-in-the-middle case
      { name: 'changed', text: otherHostLine, accepted: false },
      { name: 'empty', text: '', accepted: true },
      { name: 'both-types', text: ecdsaLine + hostLine, accepted: true },
      { name: 'other-host', text: ecdsaLine.replace('[127.0.0.1]', '[127.0.0.2]'), accepted: true },
    ];
    for (const c of cases) {
      // OpenSSH's own client, on its own copy of the same file, is the reference
      const ref = join(dir, `kh-openssh-${c.name}`);
      writeFileSync(ref, c.text);
      const ssh = spawnSyncSsh(ref);
      expect(ssh.status === 0, `OpenSSH on ${c.name}: ${ssh.stderr}`).toBe(c.accepted);
      const ours = join(dir, `kh-ours-${c.name}`);
      writeFileSync(ours, c.text);
      const attempt = RemoteSession.connect(node('', `kh-ours-${c.name}`), { agent: false, acceptNew: true });
      if (c.accepted) {
        await (await attempt).close();
        expect(readFileSync(ours, 'utf8'), c.name).toBe(readFileSync(ref, 'utf8').replace(/^\|1\|.*\n/m, hostLine));
      } else {
        await expect(attempt, c.name).rejects.toMatchObject({
          code: 'VXI_HOSTKEY',
          exitCode: 2,
          message: expect.stringContaining('REMOTE HOST IDENTIFICATION HAS CHANGED'),
        });
        expect(readFileSync(ours, 'utf8'), `${c.name}: nothing appended`).toBe(c.text);
        expect(readFileSync(ref, 'utf8')).toBe(c.text);
      }
    }
    // without --accept-new, the other-type case is not "unknown … run again with --accept-new"
    const err: unknown = await RemoteSession.connect(node('', 'kh-ours-other-type'), { agent: false }).then(
      async (s) => s.close(),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/records only a ecdsa-sha2-nistp256 key for it/);
    expect((err as Error).message).not.toMatch(/--accept-new/);
  });

  it('a knownHosts or identityFile that is a directory is named as such (exit 2)', async () => {
    mkdirSync(join(dir, 'kh-dir'), { recursive: true });
    await expect(RemoteSession.connect(node('', 'kh-dir'), { agent: false })).rejects.toMatchObject({
      code: 'VXI_HOSTKEY',
      exitCode: 2,
      message: expect.stringMatching(/known_hosts .*kh-dir: it is a directory/),
    });
    const n = node(`identityFile: ${dir}/kh-dir`);
    await expect(RemoteSession.connect(n, { agent: false })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/identity file .*kh-dir: it is a directory/),
    });
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const f = join(dir, 'hashed_known_hosts');
    writeFileSync(f, hostLine);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', f], { stdio: 'ignore' });
    expect(readFileSync(f, 'utf8')).toMatch(/^\|1\|/);
    const s = await RemoteSession.connect(node('', 'hashed_known_hosts'), { agent: false });
    expect((await s.run(['true'])).code).toBe(0);
    await s.close();
  });

  it('says when authentication fails, with what was tried', async () => {
    await expect(RemoteSession.connect(node(`identityFile: ${dir}/stranger`), { agent: false })).rejects.toMatchObject({
      code: 'VXI_SSH_AUTH',
      message: expect.stringMatching(/authentication failed as root \(tried .*stranger\).*authorized_keys/),
    });
    await expect(RemoteSession.connect(node(`identityFile: ${dir}/none`), { agent: false })).rejects.toMatchObject({
      code: 'VXI_SSH_AUTH',
      message: expect.stringMatching(/no credentials/),
    });
  });

  it('authenticates through ssh-agent (SSH_AUTH_SOCK) before the identity file', async () => {
    const sock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    execFileSync('ssh-add', ['-q', join(dir, 'client')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    // the identity file names a key the server refuses: only the agent's key can succeed
    const s = await RemoteSession.connect(node(`identityFile: ${dir}/stranger`), { agent: sock });
    expect((await s.run(['printf', 'agent'])).stdout).toBe('agent');
    await s.close();
  });

  it('reports a refused connection and a connect timeout with the node and host', async () => {
    const closed = await freePort();
    const n = { ...node(), sshPort: closed };
    await expect(RemoteSession.connect(n, { agent: false })).rejects.toMatchObject({
      code: 'VXI_SSH_REFUSED',
      message: expect.stringMatching(new RegExp(`local \\(127\\.0\\.0\\.1:${closed}\\): connection refused`)),
    });
    // a listener that never speaks SSH: the handshake times out
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const a = silent.address();
    const sp = a && typeof a === 'object' ? a.port : 0;
    try {
      await expect(RemoteSession.connect({ ...node(), sshPort: sp }, { agent: false, timeoutMs: 800 })).rejects.toMatchObject({
        code: 'VXI_SSH_TIMEOUT',
        message: expect.stringMatching(/no SSH session within 0.8 s/),
      });
    } finally {
      silent.close();
    }
  });

  it('goes through a jump host like ssh -J (the jump is the same sshd)', async () => {
    const n = node('jump: hop');
    expect(n.jump).toMatchObject({ name: 'hop', host: '127.0.0.1', sshPort: port });
    const s = await RemoteSession.connect(n, { agent: false });
    // sshd sees the connection coming from itself (forwardOut from 127.0.0.1)
    const info = await s.connectionInfo();
    expect(info).toMatchObject({ clientAddress: '127.0.0.1', serverAddress: '127.0.0.1', serverPort: port });
    await s.close();
  });

  it('gives a clear error when sudo is asked for but missing, and when a program is missing', async () => {
    const s = await RemoteSession.connect(node('sudo: true'), { agent: false });
    try {
      const hasSudo = (await s.run(['sh', '-c', 'command -v sudo'])).code === 0;
      if (hasSudo) {
        console.info('sudo is installed here: the "sudo missing" message is not exercised');
      } else {
        await expect(s.run(['id'], { sudo: true })).rejects.toMatchObject({
          code: 'VXI_REMOTE_COMMAND',
          message: expect.stringMatching(/local \(127\.0\.0\.1\): sudo is not installed/),
        });
      }
      // without `sudo: true` on the command, no sudo is used
      expect((await s.run(['id', '-u'])).stdout.trim()).toBe('0');
      await expect(s.run(['vxi-no-such-program'])).rejects.toThrow(/vxi-no-such-program is not installed/);
    } finally {
      await s.close();
    }
  });

  it('stops a command that runs past its timeout', async () => {
    const s = await RemoteSession.connect(node(), { agent: false });
    try {
      await expect(s.run(['sleep', '30'], { timeoutMs: 500 })).rejects.toThrow(/did not finish within 0.5 s/);
      expect((await s.run(['true'])).code).toBe(0); // the connection is still usable
    } finally {
      await s.close();
    }
  });

  it('spawns a long-running program, learns its PID, streams binary stdout and kills it by PID', async () => {
    const pool = new SessionPool({ agent: false });
    try {
      const s = await pool.get(node());
      expect(await pool.get(node())).toBe(s); // one connection per node, reused
      const p = await s.spawn(['sh', '-c', 'head -c 200000 /dev/zero; echo done >&2; exec sleep 60'], { reportPid: true });
      const pid = await p.pid;
      expect(pid).toBeGreaterThan(1);
      let bytes = 0;
      p.stdout.on('data', (d: Buffer) => (bytes += d.length));
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      for (let i = 0; i < 50 && (bytes < 200000 || !err.includes('done')); i++) await new Promise((r) => setTimeout(r, 100));
      expect(bytes).toBe(200000);
      expect(err).toBe('done\n'); // the PID marker line is not part of stderr
      expect((await s.run(['kill', '-0', String(pid)])).code).toBe(0);
      await s.kill(pid ?? 0, 'TERM');
      const exit = await p.exit;
      expect(exit.signal === 'TERM' || exit.code !== 0).toBe(true);
      expect((await s.run(['kill', '-0', String(pid)])).code).not.toBe(0);
    } finally {
      await pool.closeAll();
    }
  });

  it('tells the session user when the connection drops', async () => {
    const s = await RemoteSession.connect(node(), { agent: false });
    const closed = new Promise<{ requested: boolean; error?: Error }>((r) => s.once('close', r));
    // kill this session's own sshd child (its PPID is the per-connection sshd process)
    await s.run(['sh', '-c', 'kill -TERM $PPID']).catch(() => undefined);
    const info = await closed;
    expect(info.requested).toBe(false);
    expect(info.error?.message).toMatch(/local \(127\.0\.0\.1\)/);
    await expect(s.run(['true'])).rejects.toThrow(/connection is closed/);
  });
});
