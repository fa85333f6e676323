/**
 * POSIX shell quoting and validators for the values we put on a remote command line.
 *
 * An SSH exec request is one string that the remote user's login shell parses, so every
 * argument is quoted here, always, even after validation: validation catches mistakes early
 * with a message naming the value; quoting is what makes a hostile value harmless.
 */
import { UsageError } from '../errors.js';

/**
 * Characters that never need quoting in a POSIX shell word. A leading "=" is quoted too:
 * zsh expands `=cmd` to the command's path.
 */
const SAFE_WORD = /^[A-Za-z0-9_\-.,:/@%+][A-Za-z0-9_\-.,:/@%+=]*$/;

/**
 * Quotes one argument for a POSIX shell (sh, dash, bash, zsh in sh mode): the result parses
 * back to exactly `arg`. Single quotes protect everything but a single quote, which is written
 * as `'\''`. NUL cannot travel in a C string argument, so it is refused.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new UsageError('an argument contains a NUL byte, which no remote command can receive');
  if (arg !== '' && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes every argument and joins them with spaces: the string an SSH exec request carries. */
export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new UsageError('empty command');
  return argv.map(shellQuote).join(' ');
}

/** Linux accepts up to 15 bytes (IFNAMSIZ - 1) for an interface name. */
export const IFNAME_MAX = 15;

const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The reason `name` is not an interface name we accept, or null when it is fine. */
export function interfaceNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name) > IFNAME_MAX) return `is ${Buffer.byteLength(name)} bytes long; Linux allows at most ${IFNAME_MAX}`;
  if (!IFNAME.test(name)) return 'may only contain letters, digits, "_", "." and "-" and must not start with "-" or "."';
  return null;
}

export function vniProblem(vni: unknown): string | null {
  if (typeof vni !== 'number' || !Number.isInteger(vni)) return 'must be an integer';
  if (vni < 0 || vni > 0xffffff) return 'must be between 0 and 16777215 (24 bits)';
  return null;
}

export function portProblem(port: unknown): string | null {
  if (typeof port !== 'number' || !Number.isInteger(port)) return 'must be an integer';
  if (port < 1 || port > 65535) return 'must be between 1 and 65535';
  return null;
}

export function mtuProblem(mtu: unknown): string | null {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu)) return 'must be an integer';
  if (mtu < 68 || mtu > 65535) return 'must be between 68 and 65535';
  return null;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

export function ipv4Problem(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be an IPv4 address written as text (e.g. 10.3.1.156)';
  return isIpv4(s) ? null : `"${s}" is not an IPv4 address (four decimal numbers 0-255 without leading zeros)`;
}

/** `a.b.c.d/len`. */
export function cidrProblem(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be an IPv4 address with a prefix length, e.g. 10.220.220.201/24';
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIpv4(m[1] ?? '')) return `"${s}" is not an IPv4 address with a prefix length (e.g. 10.220.220.201/24)`;
  const len = Number(m[2]);
  if (len > 32 || ((m[2] ?? '').length > 1 && (m[2] ?? '').startsWith('0'))) return `"${s}": the prefix length must be 0..32`;
  return null;
}

/** 224.0.0.0/4. */
export function multicastGroupProblem(s: unknown): string | null {
  const p = ipv4Problem(s);
  if (p) return p;
  const first = Number(String(s).split('.')[0]);
  return first >= 224 && first <= 239 ? null : `"${String(s)}" is not a multicast address (224.0.0.0 - 239.255.255.255)`;
}

/** SSH host: an IPv4 address or a DNS name. */
export function hostProblem(s: unknown): string | null {
  if (typeof s !== 'string' || s.length === 0) return 'must be a host name or an IPv4 address';
  if (isIpv4(s)) return null;
  if (/^\d+(\.\d+)*$/.test(s)) return `"${s}" looks like an IPv4 address but is not one`;
  if (s.length > 253 || !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(s)) {
    return `"${s}" is not a host name or an IPv4 address`;
  }
  return null;
}

/** A remote login name (POSIX portable user names). */
export function userProblem(s: unknown): string | null {
  if (typeof s !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(s)) return 'must be a user name (letters, digits, "_", ".", "-")';
  return null;
}

/**
 * A BPF filter travels to tcpdump as ONE argument (quoted). It must not start with "-"
 * (tcpdump would read it as an option), must be printable text, and stays short.
 */
export function bpfFilterProblem(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be text';
  if (s.trim().length === 0) return 'is empty';
  if (s.length > 4096) return 'is longer than 4096 characters';
  if (/^\s*-/.test(s)) return 'must not start with "-" (tcpdump would take it for an option)';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(s)) return 'contains control characters';
  return null;
}

/** Throws a UsageError naming `what` when `problem` is not null. */
export function assertValid(what: string, problem: string | null): void {
  if (problem !== null) throw new UsageError(`${what} ${problem}`);
}
