/**
 * The tcpdump command line and what tcpdump says back. Error texts come from the local tcpdump
 * itself (opening a missing interface, compiling a bad filter, capturing as an unprivileged
 * user): nothing is sent anywhere.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCommand } from '../remote/exec.js';
import {
  checkUserFilter,
  combineFilters,
  isListening,
  parseSshConnection,
  parseTcpdumpCounters,
  selfExclusionFilter,
  tcpdumpArgv,
  tcpdumpFailure,
  type StreamWhere,
} from './tcpdump.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/lab/kvm1-eth1.pcap', import.meta.url));
const where: StreamWhere = { node: 'kvm1 (10.3.1.156)', iface: 'eth1', user: 'root', sudo: false, program: 'tcpdump' };

function localTcpdump(args: string[], asNobody = false): { stderr: string; code: number | null } {
  const argv = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'tcpdump', ...args] : ['tcpdump', ...args];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { stderr: r.stderr ?? '', code: r.status };
}

describe('the self-exclusion filter', () => {
  it('reads $SSH_CONNECTION', () => {
    expect(parseSshConnection('10.3.1.250 45620 10.3.1.156 22\n')).toEqual({
      clientAddress: '10.3.1.250',
      clientPort: 45620,
      serverAddress: '10.3.1.156',
      serverPort: 22,
    });
    expect(parseSshConnection('::ffff:10.3.1.250 1 ::ffff:10.3.1.156 2222')).toMatchObject({
      clientAddress: '10.3.1.250',
      serverPort: 2222,
    });
    expect(parseSshConnection('fe80::1 50000 fe80::2 22')?.clientAddress).toBe('fe80::1');
    expect(parseSshConnection('')).toBeUndefined();
    expect(parseSshConnection('10.3.1.250 x 10.3.1.156 22')).toBeUndefined();
    expect(parseSshConnection('$(reboot) 1 10.3.1.156 22')).toBeUndefined();
  });

  it('leaves out our session by port and address, and adds the user filter with AND', () => {
    const ssh = parseSshConnection('10.3.1.250 45620 10.3.1.156 22');
    expect(selfExclusionFilter(ssh, 22)).toBe('not (tcp port 22 and host 10.3.1.250)');
    expect(selfExclusionFilter(undefined, 2222)).toBe('not tcp port 2222');
    expect(combineFilters('not tcp port 22', undefined)).toBe('not tcp port 22');
    expect(combineFilters('not tcp port 22', ' udp port 4789 ')).toBe('(not tcp port 22) and (udp port 4789)');
  });

  it('is a filter the local tcpdump compiles', () => {
    const f = combineFilters(selfExclusionFilter(parseSshConnection('10.3.1.250 45620 10.3.1.156 22'), 22), 'udp port 4789 or arp');
    // -d: compile for the link type of an Ethernet capture file, print the BPF program, exit
    const r = spawnSync('tcpdump', ['-d', '-r', FIXTURE, f], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.stdout).toMatch(/ret\s+#0/);
  });

  it('refuses user filters that could not travel as one argument or would escape the AND', () => {
    expect(() => checkUserFilter('udp port 4789; touch /tmp/x')).not.toThrow(); // data, not a command
    expect(() => checkUserFilter('-w /tmp/x')).toThrow(/must not start with "-"/);
    expect(() => checkUserFilter('udp\nport 1')).not.toThrow();
    expect(() => checkUserFilter('udp\x01')).toThrow(/control characters/);
    expect(() => checkUserFilter('udp) or (tcp')).toThrow(/unbalanced parentheses/);
    expect(() => checkUserFilter('(udp')).toThrow(/unbalanced parentheses/);
    expect(() => checkUserFilter('  ')).toThrow(/--filter is empty/);
  });
});

describe('the tcpdump command line', () => {
  it('streams pcap to stdout, unbuffered, with the filter as the last single argument', () => {
    expect(tcpdumpArgv({ iface: 'eth1', filter: 'not tcp port 22' })).toEqual([
      'tcpdump',
      '-U',
      '-n',
      '-w',
      '-',
      '-i',
      'eth1',
      '--',
      'not tcp port 22',
    ]);
    expect(tcpdumpArgv({ program: '/usr/sbin/tcpdump', iface: 'any', filter: 'udp', snaplen: 128, count: 10 })).toEqual([
      '/usr/sbin/tcpdump',
      '-U',
      '-n',
      '-w',
      '-',
      '-i',
      'any',
      '-s',
      '128',
      '-c',
      '10',
      '--',
      'udp',
    ]);
  });

  it('keeps shell metacharacters in the filter as data in the SSH command (and sudo -n when asked)', () => {
    const argv = tcpdumpArgv({
      iface: 'eth1',
      filter: combineFilters('not tcp port 22', "udp port 4789; touch /tmp/pwned-x $(id) `id` 'q'"),
    });
    const cmd = buildCommand({ name: 'kvm1', host: 'h', user: 'u', sudo: true }, argv, { sudo: true, reportPid: true });
    expect(cmd).toBe(
      `sh -c 'echo VXI_PID=$$ >&2; exec "$@"' sh sudo -n -- tcpdump -U -n -w - -i eth1 -- '(not tcp port ` +
        `22) and (udp port 4789; touch /tmp/pwned-x $(id) \`id\` '\\''q'\\'')'`,
    );
    // the local shell parses it back to the same argv
    const back = spawnSync('sh', ['-c', `printf '%s\\n' ${cmd.slice(cmd.indexOf('tcpdump'))}`], { encoding: 'utf8' });
    expect(back.stdout.split('\n').slice(0, -1)).toEqual(argv);
  });
});

describe("tcpdump's own words", () => {
  it('finds the listening line and the closing counters', () => {
    const stderr =
      'tcpdump: listening on eth1, link-type EN10MB (Ethernet), ' +
      'snapshot length 262144 bytes\n14 packets captured\n18 packets received by filter\n0 packets ' +
      'dropped by kernel\n';
    expect(isListening(stderr)).toBe(true);
    expect(isListening('tcpdump: eth1: No such device exists\n')).toBe(false);
    expect(parseTcpdumpCounters(stderr)).toEqual({ captured: 14, receivedByFilter: 18, droppedByKernel: 0, droppedByInterface: null });
    expect(
      parseTcpdumpCounters('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n3 packets dropped by interface\n'),
    ).toEqual({
      captured: 1,
      receivedByFilter: 1,
      droppedByKernel: 0,
      droppedByInterface: 3,
    });
    expect(parseTcpdumpCounters('tcpdump: eth1: No such device exists\n')).toBeNull();
  });

  it('turns a missing interface into an error naming node and interface (exit 2)', () => {
    const r = localTcpdump(['-n', '-w', '/dev/null', '-i', 'nosuch0']);
    expect(r.code).not.toBe(0);
    const e = tcpdumpFailure({ ...where, iface: 'nosuch0' }, r.stderr, { code: r.code, signal: null }, 'udp');
    expect(e.message).toMatch(/^kvm1 \(10\.3\.1\.156\) nosuch0: interface nosuch0 does not exist on the node/);
    expect(e.exitCode).toBe(2);
  });

  it('turns a filter syntax error into an error quoting the filter (exit 2)', () => {
    const f = 'udp port 4789; touch /tmp/pwned';
    const r = localTcpdump(['-d', '-r', FIXTURE, f]);
    expect(r.code).not.toBe(0);
    const e = tcpdumpFailure(where, r.stderr, { code: r.code, signal: null }, f);
    expect(e.message).toContain(`kvm1 (10.3.1.156) eth1: tcpdump rejected the filter "${f}"`);
    expect(e.message).toMatch(/syntax error/);
    expect(e.exitCode).toBe(2);
  });

  it.skipIf(process.getuid?.() !== 0)('turns "no permission" into advice about sudo (tcpdump run as nobody)', () => {
    const r = localTcpdump(['-n', '-w', '/dev/null', '-i', 'lo'], true);
    expect(r.stderr).toMatch(/permission|not permitted/i);
    const plain = tcpdumpFailure({ ...where, user: 'alice' }, r.stderr, { code: r.code, signal: null }, 'udp');
    expect(plain.message).toMatch(/^kvm1 \(10\.3\.1\.156\) eth1: permission denied: alice may not capture on eth1 .*set sudo: true/);
    const sudo = tcpdumpFailure({ ...where, user: 'alice', sudo: true }, r.stderr, { code: r.code, signal: null }, 'udp');
    expect(sudo.message).toMatch(/NOPASSWD/);
  });

  it('turns "command not found" into an install hint (exit 2)', () => {
    const r = spawnSync('sh', ['-c', 'tcpdump-missing-xyz -w -'], { encoding: 'utf8' });
    expect(r.status).toBe(127);
    const e = tcpdumpFailure({ ...where, program: 'tcpdump-missing-xyz' }, r.stderr, { code: 127, signal: null }, 'udp');
    expect(e.message).toMatch(/^kvm1 \(10\.3\.1\.156\) eth1: tcpdump-missing-xyz is not installed .*apt install tcpdump.*--tcpdump PATH/);
    expect(e.exitCode).toBe(2);
  });
});
