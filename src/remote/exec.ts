/**
 * Running one command on an SSH connection: building the command string (argv quoted, `sudo -n`
 * when asked), collecting stdout/stderr/exit code, and turning sudo's and the shell's own
 * complaints into errors a user can act on.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { VxiError } from '../errors.js';
import { shellJoin, shellQuote } from './quote.js';

export interface RunResult {
  /** Exit status; null when the remote process died from a signal (`signal` says which). */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The command needs root: prefixed with `sudo -n --` when the node's inventory says `sudo: true`. */
  sudo?: boolean;
  stdin?: string | Buffer;
  /** Default 60 s. The remote process is sent KILL and the channel closed. */
  timeoutMs?: number;
  /** Cap on collected stdout+stderr bytes; default 32 MiB. */
  maxBytes?: number;
}

export interface SpawnOptions {
  sudo?: boolean;
  /**
   * Learn the remote PID: the command runs as `sh -c 'echo VXI_PID=$$ >&2; exec "$@"' sh ARGV…`,
   * so `pid` is the PID of the program itself (exec keeps it), and that first stderr line is
   * removed from `stderr`. Use it to stop a long-running program by its own PID.
   */
  reportPid?: boolean;
  /**
   * Stop the program when its channel goes away (the connection dropped, this process was
   * killed): a watchdog beside it waits for end of file on the channel's stdin, which sshd
   * closes when the channel or the connection ends, then sends it TERM (KILL 2 s later if it
   * is still there). Without it, a program that writes nothing (tcpdump on an idle interface)
   * would run on until its next write fails. The program keeps its PID (`reportPid`) and its
   * exit status; the caller must not end the channel's stdin.
   */
  watchdog?: boolean;
}

/** Who and where, for messages: `kvm1 (10.3.1.156)`. */
export interface ExecTarget {
  name: string;
  host: string;
  user: string;
  /** Whether the inventory says `sudo: true` (privileged commands get `sudo -n --`). */
  sudo: boolean;
}

export const PID_MARKER = 'VXI_PID=';

/**
 * The watchdog (SpawnOptions.watchdog), run by the wrapper shell before it becomes the program
 * (`exec "$@"`, so `$$` is the program's PID): a subshell with the channel's stdin (saved on
 * fd 3: a background job's own stdin is /dev/null) and its output on /dev/null (sshd closes
 * the channel once the program's stdout and stderr are closed, the watchdog must not hold
 * them). At end of file it signals `$$` only while `$$` is still its parent (read from
 * /proc/self/stat): once the program has ended the watchdog is re-parented, and a PID used
 * again by another process is never signalled. Fixed text: no value of ours or the user's is
 * in it (the program's argv comes as "$@").
 */
function watchdogScript(kill: string): string {
  const stillOurs = 'read -r _ _ _ p _ </proc/self/stat || exit 0; [ "$p" = "$$" ] || exit 0';
  return `exec 3<&0; (while read -r _; do :; done; for s in TERM KILL; do ${stillOurs}; ${kill} -s $s $$; sleep 2; done) <&3 >/dev/null 2>&1 & exec "$@" 3<&-`;
}

/** The exact string sent in the SSH exec request. */
export function buildCommand(
  target: ExecTarget,
  argv: readonly string[],
  opts: { sudo?: boolean; reportPid?: boolean; watchdog?: boolean } = {},
): string {
  // sudo runs the program itself, so a NOPASSWD rule for that program matches; the PID shell
  // (reportPid) wraps sudo, not the other way round (`sudo sh -c …` would need a rule for sh).
  const usedSudo = Boolean(opts.sudo && target.sudo);
  let cmd = usedSudo ? `sudo -n -- ${shellJoin(argv)}` : shellJoin(argv);
  if (opts.reportPid || opts.watchdog) {
    const pid = opts.reportPid ? `echo ${PID_MARKER}$$ >&2; ` : '';
    // the program runs as root through sudo: so does the watchdog's kill (a NOPASSWD rule for kill, as stop() needs)
    const run = opts.watchdog ? watchdogScript(usedSudo ? 'sudo -n -- kill' : 'kill') : 'exec "$@"';
    cmd = `sh -c ${shellQuote(`${pid}${run}`)} sh ${cmd}`;
  }
  return cmd;
}

function who(t: ExecTarget): string {
  return `${t.name} (${t.host})`;
}

/**
 * Errors that are not the command's own result: sudo wanting a password, sudo missing, the
 * program missing. Null when the result is the program's own.
 */
export function interpretFailure(target: ExecTarget, argv: readonly string[], r: RunResult, usedSudo: boolean): VxiError | null {
  const prog = argv[0] ?? '';
  if (usedSudo) {
    if (/sudo: (a )?password is required|sudo: a terminal is required|sudo: no tty present/i.test(r.stderr)) {
      return new VxiError(
        'VXI_REMOTE_COMMAND',
        `${who(target)}: sudo wants a password for ${target.user} to run ${prog}; ` +
          'allow it without one (a NOPASSWD rule in /etc/sudoers.d/) or connect as root (user: ' +
          'root in the inventory)',
      );
    }
    if (r.code === 127 && /sudo: (command )?not found|sudo: not found/i.test(r.stderr)) {
      return new VxiError(
        'VXI_REMOTE_COMMAND',
        `${who(target)}: sudo is not installed, and the inventory says sudo: true for ${target.user}; ` +
          'install sudo there or connect as root (user: root, sudo: false)',
      );
    }
    if (/is not in the sudoers file|is not allowed to execute/i.test(r.stderr)) {
      return new VxiError('VXI_REMOTE_COMMAND', `${who(target)}: ${target.user} may not run ${prog} with sudo: ${firstLine(r.stderr)}`);
    }
  }
  if (r.code === 127 && prog !== '' && (r.stderr.includes(`${prog}: not found`) || r.stderr.includes(`${prog}: command not found`))) {
    return new VxiError(
      'VXI_REMOTE_COMMAND',
      `${who(target)}: ${prog} is not installed (or not on the PATH of ${target.user}): ${firstLine(r.stderr)}`,
    );
  }
  return null;
}

export function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}

/** A command's channel closed without an exit status: sshd there was stopped, or the connection was lost. */
function connectionLost(target: ExecTarget, argv: readonly string[]): VxiError {
  return new VxiError(
    'VXI_SSH',
    `${who(target)}: the SSH connection closed while \`${argv.join(' ')}\` was running ` +
      `(no exit status came back: sshd on ${target.name} stopped, ` +
      `or the connection to ${target.host} was lost); whether it took effect is unknown: ` +
      'check the node, then run again',
  );
}

/** A started command's channel, and its exit status once the server has sent it. */
interface StartedChannel {
  ch: ClientChannel;
  exit: { code: number | null; signal: string | null } | null;
}

/**
 * Opens an exec channel. The exit-status listener is attached inside ssh2's callback, not after
 * the caller's `await` resumes: on a loaded machine the exec reply, the output, the exit status and
 * the close of a quick command arrive in one socket read, which ssh2 parses in one go, so an `exit`
 * event emitted before the caller's continuation runs would be lost and the command reported as cut
 * off (seen as "the SSH connection closed while `ip -j addr show` was running" with 8 checks at once).
 */
function execChannel(client: Client, cmd: string): Promise<StartedChannel> {
  return new Promise((resolve, reject) => {
    client.exec(cmd, (err, ch) => {
      if (err) {
        reject(err);
        return;
      }
      const started: StartedChannel = { ch, exit: null };
      ch.on('exit', (c: number | null, s?: string) => {
        started.exit = { code: typeof c === 'number' ? c : null, signal: s ?? null };
      });
      resolve(started);
    });
  });
}

/**
 * Runs one command and collects its output. Rejects only for transport problems (the
 * connection lost while the command runs, too) and timeouts.
 */
export async function runOn(client: Client, target: ExecTarget, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const cmd = buildCommand(target, argv, opts);
  const usedSudo = Boolean(opts.sudo && target.sudo);
  let started: StartedChannel;
  try {
    started = await execChannel(client, cmd);
  } catch (err) {
    throw new VxiError('VXI_SSH', `${who(target)}: cannot start ${argv[0] ?? 'command'} over SSH: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const { ch } = started;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  const result = await new Promise<RunResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let code: number | null = null;
    let signal: string | null = null;
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    };
    const take = (into: Buffer[]) => (d: Buffer) => {
      bytes += d.length;
      if (bytes > maxBytes) {
        ch.close();
        finish(new VxiError('VXI_REMOTE_COMMAND', `${who(target)}: ${argv[0] ?? 'command'} wrote more than ${maxBytes} bytes; stopped`));
        return;
      }
      into.push(d);
    };
    const timer = setTimeout(() => {
      try {
        ch.signal('KILL');
      } catch {
        /* the server may not support signals */
      }
      ch.close();
      finish(
        new VxiError('VXI_REMOTE_COMMAND', `${who(target)}: ${argv.join(' ')} did not finish within ${timeoutMs / 1000} s; stopped it`),
      );
    }, timeoutMs);
    ch.on('data', take(out));
    ch.stderr.on('data', take(err));
    // sshd always sends the exit status before closing the channel: none means the connection went
    ch.on('close', () => {
      if (!started.exit) {
        finish(connectionLost(target, argv));
        return;
      }
      code = started.exit.code;
      signal = started.exit.signal;
      finish();
    });
    ch.on('error', (e: Error) => finish(new VxiError('VXI_SSH', `${who(target)}: ${argv[0] ?? 'command'}: ${e.message}`, { cause: e })));
    if (opts.stdin !== undefined) ch.end(opts.stdin);
    else ch.end();
  });
  const problem = interpretFailure(target, argv, result, usedSudo);
  if (problem) throw problem;
  return result;
}

/** A long-running remote program (e.g. `tcpdump -w -`) on its own exec channel. */
export interface RemoteProcess {
  /** The command string that was sent. */
  readonly command: string;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable;
  /** The remote PID (with `reportPid`), else undefined. Resolves once the marker line arrives (or the process ends). */
  readonly pid: Promise<number | undefined>;
  /** Resolves when the channel closes. */
  readonly exit: Promise<{ code: number | null; signal: string | null }>;
  /** Sends a signal through the SSH channel (OpenSSH sshd ≥ 7.9 honours it). */
  signal(name: 'INT' | 'TERM' | 'KILL' | 'HUP'): void;
  /** Closes the channel (the remote side sees EOF / SIGPIPE; a program that ignores those keeps running: use kill by PID). */
  close(): void;
}

export async function spawnOn(
  client: Client,
  target: ExecTarget,
  argv: readonly string[],
  opts: SpawnOptions = {},
): Promise<RemoteProcess> {
  const command = buildCommand(target, argv, opts);
  let started: StartedChannel;
  try {
    started = await execChannel(client, command);
  } catch (err) {
    throw new VxiError('VXI_SSH', `${who(target)}: cannot start ${argv[0] ?? 'command'} over SSH: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const { ch } = started;
  const stderr = new PassThrough();
  let resolvePid: (p: number | undefined) => void = () => undefined;
  const pid = new Promise<number | undefined>((r) => (resolvePid = r));
  if (opts.reportPid) {
    let head = Buffer.alloc(0);
    let seen = false;
    ch.stderr.on('data', (d: Buffer) => {
      if (seen) {
        stderr.write(d);
        return;
      }
      head = Buffer.concat([head, d]);
      // Lines before the marker pass through: sshd writes "Could not chdir to home directory …"
      // on every channel of a user without a home, before the shell starts.
      for (let nl = head.indexOf(10); nl >= 0 && !seen; nl = head.indexOf(10)) {
        const line = head.subarray(0, nl).toString('latin1');
        if (line.startsWith(PID_MARKER)) {
          seen = true;
          const n = Number(line.slice(PID_MARKER.length));
          resolvePid(Number.isInteger(n) && n > 0 ? n : undefined);
        } else stderr.write(head.subarray(0, nl + 1));
        head = head.subarray(nl + 1);
      }
      if (!seen && head.length >= 4096) {
        seen = true;
        resolvePid(undefined);
      }
      if (seen && head.length > 0) {
        stderr.write(head);
        head = Buffer.alloc(0);
      }
    });
  } else {
    resolvePid(undefined);
    ch.stderr.pipe(stderr);
  }
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    ch.on('close', () => {
      resolvePid(undefined);
      if (!stderr.writableEnded) stderr.end();
      resolve(started.exit ?? { code: null, signal: null });
    });
  });
  ch.on('error', () => {
    /* surfaced through close / the session's close event */
  });
  return {
    command,
    stdout: ch,
    stderr,
    stdin: ch,
    pid,
    exit,
    signal: (name) => {
      try {
        ch.signal(name);
      } catch {
        /* channel already gone */
      }
    },
    close: () => ch.close(),
  };
}
