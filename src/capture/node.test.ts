/** What the node tells us before a capture: its interfaces and its tcpdump. Inputs are real command outputs. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { missingInterfaces, parseInterfaceList, parseTcpdumpVersion } from './node.js';

describe('node facts', () => {
  it('lists interfaces from /sys/class/net and from `ip -o link show`', () => {
    expect(parseInterfaceList('eth1\nlo\nvm1\nvxlan10\nvxlan_bridge\n')).toEqual(['eth1', 'lo', 'vm1', 'vxlan10', 'vxlan_bridge']);
    expect(parseInterfaceList('bond0\nbonding_masters\neth0\n')).toEqual(['bond0', 'eth0']);
    const ipText = [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default ' +
        'qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
      '2: eth1@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group ' +
        'default qlen 1000\\    link/ether 02:00:00:00:01:56 brd ff:ff:ff:ff:ff:ff link-netns vxi-lan',
      '5: vxlan10: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master vxlan_bridge state UNKNOWN',
    ].join('\n');
    expect(parseInterfaceList(ipText)).toEqual(['eth1', 'lo', 'vxlan10']);
    // this machine's own list, both ways, agrees
    const sys = readdirSync('/sys/class/net')
      .filter((n) => n !== 'bonding_masters')
      .sort();
    expect(parseInterfaceList(sys.join('\n'))).toEqual(sys);
    expect(parseInterfaceList(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }))).toEqual(sys);
  });

  it('finds what is missing (tcpdump\'s pseudo-device "any" always exists)', () => {
    expect(missingInterfaces(['eth1', 'vxlan_bridge', 'any', 'nosuch0'], ['eth1', 'lo', 'vxlan_bridge'])).toEqual(['nosuch0']);
  });

  it('reads the versions from `tcpdump --version`', () => {
    const text = execFileSync('tcpdump', ['--version'], { encoding: 'utf8' });
    const v = parseTcpdumpVersion(text);
    expect(v?.tcpdump).toMatch(/^\d+\.\d+(\.\d+)?/);
    expect(v?.libpcap).toMatch(/^\d+\.\d+/);
    expect(parseTcpdumpVersion('tcpdump version 4.9.3\nlibpcap version 1.5.3\n')).toEqual({ tcpdump: '4.9.3', libpcap: '1.5.3' });
    expect(parseTcpdumpVersion('sh: 1: tcpdump: not found')).toBeUndefined();
  });
});
