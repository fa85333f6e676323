import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bpfFilterProblem,
  cidrProblem,
  hostProblem,
  interfaceNameProblem,
  ipv4Problem,
  multicastGroupProblem,
  portProblem,
  shellJoin,
  shellQuote,
  vniProblem,
} from './quote.js';

/** What a real POSIX shell makes of `printf %s <quoted>`: the bytes printf received. */
function throughShell(shell: string, arg: string): string {
  return execFileSync(shell, ['-c', `printf %s ${shellQuote(arg)}`], { encoding: 'utf8' });
}

const HOSTILE = [
  '; touch /tmp/pwned',
  '$(id)',
  '`id`',
  "it's",
  "'",
  "''\\'",
  '"double" and $HOME',
  'line1\nline2\n',
  'a b\tc',
  '*',
  '~root',
  '-n',
  '&& rm -rf /nonexistent',
  '|| id > /tmp/x',
  '!!',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion the quoting must keep literal
  '${IFS}',
  '',
  'é ü 日本',
];

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('eth1')).toBe('eth1');
    expect(shellQuote('10.220.220.201/24')).toBe('10.220.220.201/24');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  for (const shell of ['/bin/sh', '/bin/bash']) {
    it(`hostile arguments reach printf as data through ${shell}`, () => {
      for (const arg of HOSTILE) expect(throughShell(shell, arg)).toBe(arg);
    });
  }

  it('round-trips any string without NUL through /bin/sh', () => {
    // 150 strings as before, 15 to a shell: one command line `printf '%s\0' <quoted>…` per run,
    // the argv as shellJoin builds it. Each string still reaches printf as one argument of its
    // own (split at the NULs printf adds; the strings have none), so a quote that leaks into
    // its neighbour or splits a word changes the list and fails; one shell start per string
    // cost ~65 ms each on a loaded machine.
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')),
          { minLength: 15, maxLength: 15 },
        ),
        (strings) => {
          const out = execFileSync('/bin/sh', ['-c', shellJoin(['printf', '%s\\0', ...strings])], { encoding: 'utf8' });
          expect(out.split('\0').slice(0, -1)).toEqual(strings);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('refuses NUL and an empty argv', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(() => shellJoin([])).toThrow(/empty command/);
  });

  it('joins an argv into one command line', () => {
    expect(shellJoin(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxlan10', 'dst', '10.3.1.174'])).toBe(
      'bridge fdb append 00:00:00:00:00:00 dev vxlan10 dst 10.3.1.174',
    );
    expect(shellJoin(['tcpdump', '-i', 'eth1', 'udp port 4789 and not host 1.2.3.4'])).toBe(
      "tcpdump -i eth1 'udp port 4789 and not host 1.2.3.4'",
    );
  });
});

describe('validators', () => {
  it('interface names', () => {
    expect(interfaceNameProblem('eth1')).toBeNull();
    expect(interfaceNameProblem('vxlan_bridge')).toBeNull();
    expect(interfaceNameProblem('vxlan16777215')).toBeNull();
    expect(interfaceNameProblem('')).toMatch(/empty/);
    expect(interfaceNameProblem('a_very_long_name')).toMatch(/at most 15/);
    for (const bad of ['eth1;id', '$(id)', 'a b', '-eth', '.', '..', 'eth/1', 'eth:1', "e'", 'e\n']) {
      expect(interfaceNameProblem(bad), bad).not.toBeNull();
    }
  });
  it('VNI, port', () => {
    expect(vniProblem(10)).toBeNull();
    expect(vniProblem(16777215)).toBeNull();
    expect(vniProblem(16777216)).toMatch(/24 bits/);
    expect(vniProblem(-1)).not.toBeNull();
    expect(vniProblem('10')).toMatch(/integer/);
    expect(vniProblem(1.5)).toMatch(/integer/);
    expect(portProblem(4789)).toBeNull();
    expect(portProblem(0)).not.toBeNull();
    expect(portProblem(65536)).not.toBeNull();
  });
  it('IPv4, CIDR, multicast, host', () => {
    expect(ipv4Problem('10.3.1.156')).toBeNull();
    for (const bad of ['10.3.1', '10.3.1.256', '010.3.1.1', '1.2.3.4 ', '1.2.3.4;id', '::1']) expect(ipv4Problem(bad), bad).not.toBeNull();
    expect(cidrProblem('10.220.220.201/24')).toBeNull();
    expect(cidrProblem('10.220.220.201')).not.toBeNull();
    expect(cidrProblem('10.220.220.201/33')).not.toBeNull();
    expect(cidrProblem('10.220.220.201/024')).not.toBeNull();
    expect(multicastGroupProblem('239.1.1.1')).toBeNull();
    expect(multicastGroupProblem('10.1.1.1')).toMatch(/multicast/);
    expect(hostProblem('kvm1.one')).toBeNull();
    expect(hostProblem('10.3.1.156')).toBeNull();
    expect(hostProblem('10.3.1.999')).toMatch(/IPv4/);
    expect(hostProblem('-oProxyCommand=id')).not.toBeNull();
    expect(hostProblem('a b')).not.toBeNull();
  });
  it('BPF filters', () => {
    expect(bpfFilterProblem('udp port 4789 and (host 10.3.1.156)')).toBeNull();
    expect(bpfFilterProblem('port 22; touch /tmp/pwned')).toBeNull(); // harmless once quoted: tcpdump rejects it as a filter
    expect(bpfFilterProblem('-w /etc/passwd')).toMatch(/option/);
    expect(bpfFilterProblem('  ')).toMatch(/empty/);
    expect(bpfFilterProblem('port 22\x00')).toMatch(/control/);
    expect(bpfFilterProblem('x'.repeat(5000))).toMatch(/4096/);
  });
});

describe('zsh equals expansion', () => {
  it('quotes a word that starts with "=" (zsh would expand =ls to /usr/bin/ls)', () => {
    expect(shellQuote('=ls')).toBe("'=ls'");
    expect(shellQuote('a=b')).toBe('a=b');
  });
});
