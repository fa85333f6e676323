/**
 * Everything about one node before its streams start, on its one SSH connection: where we are
 * as the node sees us ($SSH_CONNECTION, for the self-exclusion filter), which tcpdump it has
 * (and whether sudo lets us run it), which interfaces exist, and its clock against ours.
 */
import { VxiError, isVxiError } from '../errors.js';
import type { RemoteSession } from '../remote/connection.js';
import { measureClockOffset, type ClockOffset } from './clock.js';
import { parseSshConnection, selfExclusionFilter, type SshEndpoints } from './tcpdump.js';
import { ifindexProblem, linkNameProblem, type IfindexName } from './session-file.js';

export interface NodeFacts {
  ssh: SshEndpoints | null;
  exclusionFilter: string;
  tcpdumpVersion: string;
  libpcapVersion: string | null;
  interfaces: string[];
  /** Each interface's index (what a `tcpdump -i any` record carries) and name; null when the node could not list them. */
  ifindexNames: IfindexName[] | null;
  clock: ClockOffset | null;
}

/** Names in `ls -1 /sys/class/net`, or from `ip -o link show` when /sys is not there. */
export function parseInterfaceList(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:/.exec(t);
    if (m?.[1]) names.add(m[1]);
    // /sys/class/net also holds bonding_masters (a file) when the bonding driver is loaded
    else if (/^[A-Za-z0-9_.-]+$/.test(t) && t !== 'bonding_masters') names.add(t);
  }
  return [...names].sort();
}

/**
 * Index and name of every link in `ip -j link show` (JSON), or in `ip -o link show` (one line per
 * link, `3: eth1@if4: <…>`: iproute2 before JSON output); sorted by index. Undefined when the
 * text is neither, or lists no link; entries with an index or a name that cannot be one are left out.
 */
export function parseLinkIndexes(text: string): IfindexName[] | undefined {
  const found = new Map<number, string>();
  const add = (ifindex: unknown, name: unknown): void => {
    if (ifindexProblem(ifindex) === null && linkNameProblem(name) === null && !found.has(ifindex as number)) found.set(ifindex as number, name as string);
  };
  const t = text.trim();
  if (t.startsWith('[')) {
    let j: unknown;
    try {
      j = JSON.parse(t);
    } catch {
      return undefined;
    }
    if (!Array.isArray(j)) return undefined;
    for (const e of j as unknown[]) if (typeof e === 'object' && e !== null) add((e as { ifindex?: unknown }).ifindex, (e as { ifname?: unknown }).ifname);
  } else {
    for (const line of t.split('\n')) {
      const m = /^(\d+):\s+([^:@\s]+)(?:@\S+)?:/.exec(line.trim());
      if (m?.[1] && m[2]) add(Number(m[1]), m[2]);
    }
  }
  if (found.size === 0) return undefined;
  return [...found].sort((a, b) => a[0] - b[0]).map(([ifindex, name]) => ({ ifindex, name }));
}

/** The node's links by index, over the session's connection: `ip -j link show`, else `ip -o link show`; null when neither works (nothing else depends on it). */
async function listLinkIndexes(session: RemoteSession): Promise<IfindexName[] | null> {
  for (const argv of [['ip', '-j', 'link', 'show'], ['ip', '-o', 'link', 'show']]) {
    const r = await session.run(argv, { timeoutMs: 15_000 }).catch(() => undefined);
    const list = r?.code === 0 ? parseLinkIndexes(r.stdout) : undefined;
    if (list) return list;
  }
  return null;
}

/** `tcpdump version 4.99.3` and `libpcap version 1.10.3 (with TPACKET_V3)` from `tcpdump --version`. */
export function parseTcpdumpVersion(text: string): { tcpdump: string; libpcap: string | null } | undefined {
  const t = /^tcpdump version (.+)$/m.exec(text)?.[1]?.trim();
  if (!t) return undefined;
  return { tcpdump: t, libpcap: /^libpcap version (.+)$/m.exec(text)?.[1]?.trim() ?? null };
}

/** The interfaces that may be captured on a node: those it has, plus tcpdump's pseudo-device `any`. */
export function missingInterfaces(wanted: readonly string[], present: readonly string[]): string[] {
  return wanted.filter((i) => i !== 'any' && !present.includes(i));
}

function rethrowNaming(session: RemoteSession, ifaces: readonly string[], program: string) {
  return (err: unknown): never => {
    if (!isVxiError(err)) throw err;
    const msg = err.message.startsWith(`${session.label}: `) ? err.message.slice(session.label.length + 2) : err.message;
    const where = `${session.label} ${ifaces.join(', ')}`;
    if (/is not installed/.test(msg) && msg.includes(program)) {
      throw new VxiError('VXI_PREREQ', `${where}: ${msg}; install it there (apt install tcpdump) or name it with --tcpdump PATH`, { exitCode: 2, cause: err });
    }
    throw new VxiError(err.code, `${where}: ${msg}`, { exitCode: err.exitCode, cause: err });
  };
}

/**
 * The clock samples go over one open channel (`date` per line read): opening an exec channel
 * per sample costs a fork of sshd and a shell *before* `date` runs, which makes the round trip
 * lopsided and the midpoint wrong by up to half of it.
 */
async function measureClock(session: RemoteSession, samples = 7, timeoutMs = 10_000): Promise<ClockOffset | undefined> {
  const proc = await session.spawn(['sh', '-c', 'while read -r _; do date +%s.%N; done']);
  let buf = '';
  let waiter: (() => void) | undefined;
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    waiter?.();
  });
  let exited = false;
  void proc.exit.then(() => {
    exited = true;
    waiter?.();
  });
  const readLine = async (): Promise<string> => {
    buf = '';
    proc.stdin.write('x\n');
    const deadline = Date.now() + timeoutMs;
    while (!buf.includes('\n')) {
      if (exited || Date.now() > deadline) throw new Error('no answer from date');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return buf.slice(0, buf.indexOf('\n'));
  };
  try {
    await readLine(); // warm-up: the shell's start is not part of any sample
    return await measureClockOffset(readLine, samples);
  } finally {
    proc.stdin.end();
    proc.close();
  }
}

export async function gatherNodeFacts(session: RemoteSession, ifaces: readonly string[], program: string): Promise<NodeFacts> {
  const fail = rethrowNaming(session, ifaces, program);
  const [conn, version, links, ifindexNames] = await Promise.all([
    session.run(['printenv', 'SSH_CONNECTION'], { timeoutMs: 15_000 }).catch(fail),
    session.run([program, '--version'], { sudo: true, timeoutMs: 15_000 }).catch(fail),
    session.run(['ls', '-1', '/sys/class/net'], { timeoutMs: 15_000 }).catch(fail),
    listLinkIndexes(session),
  ]);
  const v = parseTcpdumpVersion(`${version.stdout}\n${version.stderr}`);
  if (!v && /(^|: )(command )?not found/m.test(version.stderr)) {
    // `sudo: tcpdump: command not found` (exit 1): sudo's secure_path has no tcpdump either
    const u = session.node.user;
    throw new VxiError('VXI_PREREQ', `${session.label} ${ifaces.join(', ')}: ${program} is not installed (or not on the PATH${session.node.sudo ? ' sudo uses' : ` of ${u}`}): ${version.stderr.trim().split('\n')[0] ?? ''}; install it there (apt install tcpdump) or name it with --tcpdump PATH`, { exitCode: 2 });
  }
  if (!v) {
    const said = (version.stderr.trim() || version.stdout.trim()).split('\n').slice(0, 2).join(' / ');
    throw new VxiError('VXI_PREREQ', `${session.label} ${ifaces.join(', ')}: \`${program} --version\` did not print a tcpdump version (exit ${version.code ?? version.signal ?? '?'}): ${said || 'no output'}; is ${program} tcpdump?`, { exitCode: 2 });
  }
  let present = links.code === 0 ? parseInterfaceList(links.stdout) : [];
  if (present.length === 0) {
    const ip = await session.run(['ip', '-o', 'link', 'show'], { timeoutMs: 15_000 }).catch(fail);
    present = parseInterfaceList(ip.stdout);
  }
  const missing = missingInterfaces(ifaces, present);
  if (missing.length > 0) {
    throw new VxiError(
      'VXI_CAPTURE',
      `${session.label} ${missing.join(', ')}: interface${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist on the node (it has: ${present.join(', ') || 'none found'}); pick one with --iface, or fix underlay/bridge in the inventory`,
      { exitCode: 2 },
    );
  }
  const ssh = parseSshConnection(conn.stdout) ?? null;
  const clock = await measureClock(session).catch(() => undefined);
  return {
    ssh,
    exclusionFilter: selfExclusionFilter(ssh ?? undefined, session.node.sshPort),
    tcpdumpVersion: v.tcpdump,
    libpcapVersion: v.libpcap,
    interfaces: present,
    ifindexNames,
    clock: clock ?? null,
  };
}
