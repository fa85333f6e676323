import { describe, expect, it } from 'vitest';
import { LAB_TOOLS, preflightReason } from './preflight.js';

describe('preflightReason', () => {
  it('allows root on Linux with every tool', () => {
    expect(preflightReason({ platform: 'linux', uid: 0, missing: [] })).toBeNull();
  });

  it('names the Debian packages to install, once each', () => {
    expect(preflightReason({ platform: 'linux', uid: 0, missing: ['sshd', 'tcpdump', 'ip', 'bridge'] })).toBe(
      'the lab needs ip, bridge, sshd, tcpdump: install with `apt-get install iproute2 openssh-server tcpdump`',
    );
    expect(preflightReason({ platform: 'linux', uid: 0, missing: ['ethtool'] })).toBe(
      'the lab needs ethtool: install with `apt-get install ethtool`',
    );
    expect(LAB_TOOLS).toEqual(['ip', 'bridge', 'sshd', 'ssh-keygen', 'tcpdump', 'ping', 'ethtool']);
  });

  it('asks for root after tools, and for Linux first', () => {
    expect(preflightReason({ platform: 'linux', uid: 1000, missing: [] })).toMatch(/needs root: run it with sudo/);
    expect(preflightReason({ platform: 'darwin', uid: 0, missing: ['ip'] })).toBe('the lab needs Linux network namespaces; this is darwin');
  });
});
