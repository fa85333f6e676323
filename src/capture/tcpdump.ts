/**
 * What we say to tcpdump and what it says back: the command line of one capture stream, the
 * filter that keeps the capture's own SSH session out of it, tcpdump's closing statistics, and
 * its complaints turned into errors that name the node and the interface.
 */
import { isIP } from 'node:net';
import { UsageError, VxiError } from '../errors.js';
import { bpfFilterProblem } from '../remote/quote.js';

/** `$SSH_CONNECTION` on the node: `client_ip client_port server_ip server_port`. */
export interface SshEndpoints {
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
}

/** Parses `$SSH_CONNECTION`; undefined when it is empty or not four fields with IP addresses and ports. */
export function parseSshConnection(text: string): SshEndpoints | undefined {
  const f = text.trim().split(/\s+/);
  if (f.length !== 4) return undefined;
  const [ca, cp, sa, sp] = f as [string, string, string, string];
  const clientPort = Number(cp);
  const serverPort = Number(sp);
  // sshd may print an IPv4-mapped IPv6 address; BPF takes the plain IPv4 form
  const clientAddress = ca.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  const serverAddress = sa.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (isIP(clientAddress) === 0 || isIP(serverAddress) === 0) return undefined;
  if (
    !Number.isInteger(clientPort) ||
    !Number.isInteger(serverPort) ||
    clientPort < 1 ||
    serverPort < 1 ||
    clientPort > 65535 ||
    serverPort > 65535
  )
    return undefined;
  return { clientAddress, clientPort, serverAddress, serverPort };
}

/**
 * The BPF expression that leaves out the SSH session carrying the stream: its TCP port on the
 * node and our address as the node sees it. Without `$SSH_CONNECTION`, every SSH packet on the
 * port is left out.
 */
export function selfExclusionFilter(ssh: SshEndpoints | undefined, sshPort: number): string {
  if (!ssh) return `not tcp port ${sshPort}`;
  return `not (tcp port ${ssh.serverPort} and host ${ssh.clientAddress})`;
}

/** Throws a UsageError when a user's BPF filter cannot go to tcpdump as one argument, or would escape the AND. */
export function checkUserFilter(filter: string): void {
  const p = bpfFilterProblem(filter);
  if (p) throw new UsageError(`--filter ${p}`);
  let depth = 0;
  for (const ch of filter) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) break;
  }
  if (depth !== 0) throw new UsageError(`--filter has unbalanced parentheses: ${JSON.stringify(filter)}`);
}

/** The exclusion ANDed with the user's filter: one BPF expression. */
export function combineFilters(exclusion: string, user: string | undefined): string {
  if (user === undefined || user.trim() === '') return exclusion;
  return `(${exclusion}) and (${user.trim()})`;
}

export interface TcpdumpArgs {
  /** Program name or path; default `tcpdump`. */
  program?: string;
  iface: string;
  filter: string;
  snaplen?: number;
  /** Stop after this many packets (`-c`). */
  count?: number;
}

/** `tcpdump -U -n -w - -i IFACE [-s N] [-c N] -- FILTER`: the filter is one argument, quoted by the SSH layer. */
export function tcpdumpArgv(a: TcpdumpArgs): string[] {
  const argv = [a.program ?? 'tcpdump', '-U', '-n', '-w', '-', '-i', a.iface];
  if (a.snaplen !== undefined) argv.push('-s', String(a.snaplen));
  if (a.count !== undefined) argv.push('-c', String(a.count));
  argv.push('--', a.filter);
  return argv;
}

/** tcpdump's closing lines ("N packets captured", "… received by filter", "… dropped by kernel"). */
export interface TcpdumpCounters {
  captured: number | null;
  receivedByFilter: number | null;
  droppedByKernel: number | null;
  /** Only some platforms/drivers report it. */
  droppedByInterface: number | null;
}

export function parseTcpdumpCounters(stderr: string): TcpdumpCounters | null {
  const grab = (re: RegExp): number | null => {
    const m = re.exec(stderr);
    return m?.[1] === undefined ? null : Number(m[1]);
  };
  const c: TcpdumpCounters = {
    captured: grab(/^(\d+) packets? captured$/m),
    receivedByFilter: grab(/^(\d+) packets? received by filter$/m),
    droppedByKernel: grab(/^(\d+) packets? dropped by kernel$/m),
    droppedByInterface: grab(/^(\d+) packets? dropped by interface$/m),
  };
  return c.captured === null && c.receivedByFilter === null && c.droppedByKernel === null ? null : c;
}

/** tcpdump prints this once the interface is open and the filter compiled. */
export function isListening(stderr: string): boolean {
  return /(^|\n)tcpdump: listening on /.test(stderr) || /(^|\n)listening on /.test(stderr);
}

/** tcpdump's stderr without the lines that are only noise. */
function meaningful(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) =>
        l !== '' &&
        !/^tcpdump: listening on /.test(l) &&
        !/packets? (captured|received by filter|dropped by (kernel|interface))$/.test(l) &&
        !/^tcpdump: verbose output suppressed/.test(l),
    )
    .join(' / ');
}

export interface StreamWhere {
  /** `kvm1 (10.3.1.156)`. */
  node: string;
  iface: string;
  user: string;
  sudo: boolean;
  program: string;
}

/**
 * The error for a tcpdump that ended on its own with a failure (it could not start, or stopped
 * with an error), from its stderr and exit code. Interface and filter problems are the user's
 * (exit 2); the others are failures (exit 1).
 */
export function tcpdumpFailure(
  w: StreamWhere,
  stderr: string,
  exit: { code: number | null; signal: string | null },
  filter: string,
): VxiError {
  const where = `${w.node} ${w.iface}`;
  const said =
    meaningful(stderr) || (exit.signal ? `killed by ${exit.signal.replace(/^(SIG)?/, 'SIG')}` : `exit code ${exit.code ?? 'unknown'}`);
  if (exit.code === 127 && /not found/.test(stderr)) {
    return new VxiError(
      'VXI_PREREQ',
      `${where}: ${w.program} is not installed (or not on the PATH of ${w.user}): ${said}; ` +
        'install it there (apt install tcpdump / dnf install tcpdump) or name it with --tcpdump PATH',
      { exitCode: 2 },
    );
  }
  if (/No such device exists|No such device|SIOCGIFHWADDR|doesn't exist|no such interface/i.test(stderr)) {
    return new VxiError('VXI_CAPTURE', `${where}: interface ${w.iface} does not exist on the node (${said})`, { exitCode: 2 });
  }
  if (
    /can't parse filter expression|syntax error|illegal token|unknown host|unknown port|expression rejects all packets|filter expression/i.test(
      stderr,
    )
  ) {
    return new VxiError(
      'VXI_CAPTURE',
      `${where}: tcpdump rejected the filter ${JSON.stringify(filter)}: ${said}; check the --filter expression (pcap-filter(7))`,
      { exitCode: 2 },
    );
  }
  if (/permission|Operation not permitted|not permitted|Permission denied/i.test(stderr)) {
    const fix = w.sudo
      ? `allow ${w.user} to run ${w.program} as root without a password (a NOPASSWD rule in /etc/sudoers.d/)`
      : `set sudo: true for the node in the inventory (with a NOPASSWD rule for ${w.program}), ` +
        'connect as root, or give tcpdump the capability (setcap cap_net_raw,cap_net_admin=eip ' +
        '$(command -v tcpdump))';
    return new VxiError('VXI_CAPTURE', `${where}: permission denied: ${w.user} may not capture on ${w.iface} (${said}); ${fix}`);
  }
  if (/That device is not up|is not up/i.test(stderr)) {
    return new VxiError('VXI_CAPTURE', `${where}: interface ${w.iface} is down (${said}); bring it up (ip link set ${w.iface} up)`);
  }
  return new VxiError('VXI_CAPTURE', `${where}: tcpdump failed: ${said}`);
}
