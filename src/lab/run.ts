/**
 * Running programs for the lab: argv arrays only (no shell), with a time limit, and the
 * `ip netns exec` wrapper every lab command goes through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LabError } from './errors.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** `['ip','netns','exec',netns,...argv]`. */
export function netnsExec(netns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/** Quotes one word for a POSIX shell, for printing copy-pasteable command lines. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Runs argv to completion; never rejects (a missing program gives code null and the error in stderr). */
export function run(argv: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('run: empty argv');
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const finish = (r: RunResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.on('error', (err) => finish({ code: null, signal: null, stdout, stderr: stderr + err.message, timedOut }));
    child.on('close', (code, signal) => finish({ code, signal, stdout, stderr, timedOut }));
  });
}

/** Runs argv and throws a LabError saying `what` failed (with the command and its stderr) unless it exits 0. */
export async function mustRun(what: string, argv: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : r.code === null ? (r.signal ? `killed by ${r.signal}` : 'could not start') : `exit ${r.code}`;
    const err = r.stderr.trim().split('\n').slice(-3).join(' / ');
    throw new LabError(`${what}: \`${commandLine(argv)}\` failed (${why})${err ? `: ${err}` : ''}`);
  }
  return r.stdout;
}

/** A long-running child (tcpdump, a test server) we stop ourselves, by its pid. */
export interface Background {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Waits until stdout or stderr contains `text`, or rejects after timeoutMs / when the process exits first. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
  /** Sends `signal`, waits up to graceMs, then SIGKILL. Resolves when the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export function startBackground(argv: readonly string[]): Background {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('startBackground: empty argv');
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new LabError(`could not start \`${commandLine(argv)}\``);
  let out = '';
  let err = '';
  let alive = true;
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((f) => f());
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    notify();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => {
      alive = false;
      notify();
      resolve(null);
    });
    child.on('close', (code) => {
      alive = false;
      notify();
      resolve(code);
    });
  });
  const pid = child.pid;
  return {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (out.includes(text) || err.includes(text)) {
            cleanup();
            resolve();
          } else if (!alive) {
            cleanup();
            reject(new LabError(`\`${commandLine(argv)}\` exited before saying '${text}': ${err.trim() || out.trim()}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new LabError(`\`${commandLine(argv)}\` did not say '${text}' within ${timeoutMs} ms: ${err.trim()}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 3000) {
      if (!alive) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
