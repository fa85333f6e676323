/**
 * `vxlan-inspect demo --live` as a person runs it: the built CLI as a child process brings the
 * namespace lab up, runs its traffic, captures kvm1 and kvm2 live and serves them; the page's API
 * shows both nodes filling in; Ctrl-C (SIGINT) stops it all with exit 0 and leaves no namespace,
 * tcpdump or sshd behind.
 *
 * Network safety: this process talks only to 127.0.0.1 (the demo's web server). The demo runs
 * its capture inside the lab's frontend namespace. Root only; skipped with the reason elsewhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labDown } from '../src/lab/index.js';
import { canRunNetns, namespaces, uniquePrefix } from './helpers/netns.js';

const can = canRunNetns();
const suite = can.ok ? describe : describe.skip;
if (!can.ok) describe.skip(`demo --live (skipped: ${can.reason})`, () => it('skipped', () => {}));

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');

/** The program name of a live process; null when it is gone (or a zombie waiting for init to reap it). */
function comm(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? null : readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The processes running inside a namespace: pid and program name. */
function processesIn(netns: string): { pid: number; comm: string }[] {
  const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number);
  return pids.flatMap((pid) => {
    const c = comm(pid);
    return c ? [{ pid, comm: c }] : [];
  });
}

interface NodeView {
  name: string;
  underlay: { iface: string | null; tunnelled: number; live: boolean } | null;
  overlay: { iface: string | null; packets: number } | null;
  analysis: { matched: number } | null;
}

/** The prefix that runs a command as uid/gid 65534 (nobody), without root's groups. */
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * Why an unprivileged user cannot run the built CLI from this checkout, if it cannot: a clone
 * under a directory only root may enter (`mktemp -d` makes mode 0700) hides dist/ from uid 65534.
 */
function nobodyCannotRunCli(): string | undefined {
  const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, BIN, '--version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return undefined;
  const lines = (r.error?.message ?? r.stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const said = lines.find((l) => /error|denied/i.test(l)) ?? lines[0] ?? `exit ${r.status}`;
  return `uid 65534 cannot run ${BIN} (this checkout is not readable by an unprivileged user): ${said.slice(0, 160)}`;
}

describe('demo --live: refused before anything is made', () => {
  const run = (args: string[], asNobody = false): { status: number | null; stdout: string; stderr: string } => {
    const argv = [process.execPath, BIN, 'demo', ...args];
    const r = asNobody
      ? spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), ...argv], { encoding: 'utf8', timeout: 20_000 })
      : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  it('not root (or not Linux): one line saying why, exit 2', (ctx) => {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (root) {
      const why = nobodyCannotRunCli();
      if (why) ctx.skip(why);
    }
    // only this test's prefix: the other lab files run beside this one, making and removing their own
    const prefix = uniquePrefix();
    const r = run(['--live', '--prefix', prefix, '--port', '0'], root);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^vxlan-inspect: demo --live brings up the namespace lab: .*(needs root|needs Linux|needs ).*\n$/);
    expect(r.stdout).toBe('');
    expect(namespaces().filter((n) => n.startsWith(prefix))).toEqual([]);
  });

  it('usage errors: exit 2, nothing made', () => {
    let r = run(['--live', '--prefix', 'bad prefix']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad lab prefix 'bad prefix'/);
    r = run(['--duration', '5s', '--port', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--duration goes only with --live/);
    r = run(['--live', '--duration', 'soon']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--duration must be a time like 10s/);
  });
});

suite('demo --live', () => {
  const prefix = uniquePrefix();
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxi-live-demo-'));
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // whatever a failed run left: the namespaces and what runs in them (no --dir: only namespaces)
    if (namespaces().some((n) => n.startsWith(prefix))) await labDown({ prefix });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('brings the lab up, serves kvm1 and kvm2 as they are captured, and takes it all down on Ctrl-C', async () => {
    child = spawn(process.execPath, [BIN, 'demo', '--live', '--prefix', prefix, '--port', '0'], {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const c = child;
    exited = new Promise((resolve) => c.on('close', (code, signal) => resolve({ code, signal })));

    // the URL with the real port (--port 0) and the token
    const deadline = Date.now() + 40_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /^open (http:\/\/127\.0\.0\.1:(\d+)\/)#token=(\S+)$/m.exec(stdout))) {
      if (Date.now() > deadline || c.exitCode !== null) throw new Error(`no URL from demo --live:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = m[1]!;
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(stdout).toMatch(new RegExp(`capturing kvm1 and kvm2 \\(eth1, vxlan_bridge\\) from namespace ${prefix}frontend`));

    // both nodes fill in: VXLAN packets on eth1, and frames matched between eth1 and the bridge
    let nodes: NodeView[] = [];
    let live: { node: string; running: boolean }[] = [];
    const until = Date.now() + 30_000;
    for (;;) {
      const s = (await (await fetch(`${url}api/session`)).json()) as {
        nodes: NodeView[];
        liveCaptures: { node: string; running: boolean }[];
      };
      nodes = s.nodes;
      live = s.liveCaptures;
      const ready = ['kvm1', 'kvm2'].every((name) => {
        const n = nodes.find((x) => x.name === name);
        return (
          n &&
          n.underlay?.iface === 'eth1' &&
          n.underlay.tunnelled > 0 &&
          n.overlay?.iface === 'vxlan_bridge' &&
          (n.analysis?.matched ?? 0) > 0
        );
      });
      if (ready) break;
      if (Date.now() > until) throw new Error(`the nodes did not fill in: ${JSON.stringify(nodes)}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(nodes.map((n) => n.name)).toEqual(['kvm1', 'kvm2']);
    expect(nodes.every((n) => n.underlay?.live)).toBe(true);
    expect(live.map((l) => [l.node, l.running])).toEqual([
      ['kvm1', true],
      ['kvm2', true],
    ]);
    // the page's charts have data too
    const series = (await (await fetch(`${url}api/nodes/kvm2/series`)).json()) as {
      sides: Record<string, { groups: Record<string, unknown> }>;
    };
    expect(Object.keys(series.sides.underlay?.groups ?? {})).toContain('VNI 10');

    // what runs in the lab now: sshd and tcpdump on the nodes, the capture CLI in the frontend
    const running = [`${prefix}kvm1`, `${prefix}kvm2`, `${prefix}frontend`].flatMap(processesIn);
    expect(running.map((p) => p.comm)).toEqual(expect.arrayContaining(['sshd', 'tcpdump', 'node']));

    c.kill('SIGINT');
    const r = await Promise.race([
      exited!,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`demo --live did not stop within 30 s:\n${stdout}\n${stderr}`)), 30_000),
      ),
    ]);
    expect(r, `${stdout}\n${stderr}`).toEqual({ code: 0, signal: null });
    expect(stdout).toMatch(/^ {2}kvm1: eth1 \d+ packets \(\d+ VXLAN\), vxlan_bridge \d+ frames; \d+ matched$/m);
    expect(stdout).toContain(`lab '${prefix}' is down`);
    expect(namespaces().filter((n) => n.startsWith(prefix))).toEqual([]);
    // every process that ran in the lab is gone (a pid reused since then has another program)
    const left = running.filter((p) => comm(p.pid) === p.comm);
    expect(left).toEqual([]);
    // the temporary capture folder went too
    const folder = /into (\/\S+)$/m.exec(stdout)?.[1];
    expect(folder && existsSync(folder)).toBe(false);
  });

  it('Ctrl-C while the lab is still coming up: it is taken down all the same, exit 0', async () => {
    const p2 = uniquePrefix();
    const c = spawn(process.execPath, [BIN, 'demo', '--live', '--prefix', p2, '--port', '0'], {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    c.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const done = new Promise<number | null>((resolve) => c.on('close', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!out.includes('bringing up the namespace lab')) {
        if (Date.now() > deadline || c.exitCode !== null) throw new Error(`demo --live did not start:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      c.kill('SIGINT');
      expect(await done, `${out}\n${err}`).toBe(0);
      expect(out).not.toMatch(/^open /m);
      expect(namespaces().filter((n) => n.startsWith(p2))).toEqual([]);
    } finally {
      if (c.exitCode === null) c.kill('SIGKILL');
      if (namespaces().some((n) => n.startsWith(p2))) await labDown({ prefix: p2 });
    }
  });
});
