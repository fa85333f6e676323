import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { LAB_ROLES, addressOnly, checkPrefix, defaultLabDir, netnsName } from './topology.js';
import { commandLine, netnsExec } from './run.js';

describe('lab names', () => {
  it('names namespaces prefix + role', () => {
    expect(LAB_ROLES.map((r) => netnsName('vxi-', r))).toEqual(['vxi-lan', 'vxi-frontend', 'vxi-kvm1', 'vxi-kvm2', 'vxi-vm1', 'vxi-vm2']);
  });

  it('refuses prefixes that are not plain file names', () => {
    expect(checkPrefix('vxt3f-')).toBe('vxt3f-');
    for (const bad of ['', '-x', 'a/b', 'a b', '../x', 'x'.repeat(21)]) expect(() => checkPrefix(bad)).toThrow(UsageError);
  });

  it('puts the default directory under .lab, named after the prefix', () => {
    expect(defaultLabDir('vxi-', '/home/me')).toBe('/home/me/.lab/vxi');
    expect(defaultLabDir('t1', '/w')).toBe('/w/.lab/t1');
  });

  it('builds ip netns exec argv and a copy-pasteable line', () => {
    expect(netnsExec('vxi-kvm1', ['tcpdump', '-i', 'eth1'])).toEqual(['ip', 'netns', 'exec', 'vxi-kvm1', 'tcpdump', '-i', 'eth1']);
    expect(commandLine(['sh', '-c', "echo 'hi' $X"])).toBe(`sh -c 'echo '\\''hi'\\'' $X'`);
    expect(addressOnly('10.220.220.201/24')).toBe('10.220.220.201');
  });
});
