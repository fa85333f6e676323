import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VxiError } from '../errors.js';
import { BUILTIN_SOURCE, loadInventory, overlayMembers, parseInventory, resolveNode, vxlanInterfaceName } from './inventory.js';

const dir = mkdtempSync(join(tmpdir(), 'vxi-inv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ISSUE_EXAMPLE = `
defaults: { user: root, identityFile: ~/.ssh/id_ed25519, knownHosts: ~/.ssh/known_hosts, sudo: false }
overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }
nodes:
  kvm1: { host: 10.3.1.156, bridgeAddress: 10.220.220.201/24 }
  kvm2: { host: 10.3.1.174, bridgeAddress: 10.220.220.202/24, jump: frontend }
  frontend: { host: 10.3.1.250, user: admin, port: 2222, identityFile: keys/front }
`;

function invalid(text: string): VxiError {
  try {
    parseInventory(text, '/x/inv.yaml', '/x');
  } catch (err) {
    expect(err).toBeInstanceOf(VxiError);
    return err as VxiError;
  }
  throw new Error('expected an error');
}

describe('inventory', () => {
  it('merges defaults, overlay and node overrides', () => {
    const inv = parseInventory(ISSUE_EXAMPLE, '/x/inv.yaml', '/x');
    const kvm1 = resolveNode(inv, 'kvm1');
    expect(kvm1).toEqual({
      name: 'kvm1',
      host: '10.3.1.156',
      sshPort: 22,
      user: 'root',
      identityFile: join(homedir(), '.ssh/id_ed25519'),
      knownHosts: join(homedir(), '.ssh/known_hosts'),
      sudo: false,
      bridgeAddress: '10.220.220.201/24',
      overlay: { vni: 10, port: 4789, bridge: 'vxlan_bridge', underlay: 'eth1', mtu: 1450 },
    });
    const kvm2 = resolveNode(inv, 'kvm2');
    expect(kvm2.jump).toEqual({
      name: 'frontend',
      host: '10.3.1.250',
      sshPort: 2222,
      user: 'admin',
      identityFile: '/x/keys/front',
      knownHosts: join(homedir(), '.ssh/known_hosts'),
    });
    expect(overlayMembers(inv)).toEqual(['kvm1', 'kvm2']);
    expect(vxlanInterfaceName(kvm1.overlay)).toBe('vxlan10');
  });

  it('lets a node override overlay keys, directly or in a nested overlay map', () => {
    const inv = parseInventory(
      `nodes:\n  a: { host: h1, bridgeAddress: 10.0.0.1/24, vni: 42, mtu: 1400, port: 2200, overlay: { port: 8472 }, jump: "bob@gw.example:2022" }\n`,
      'f',
      '/',
    );
    const a = resolveNode(inv, 'a');
    expect(a.overlay).toMatchObject({ vni: 42, mtu: 1400, port: 8472 });
    expect(a.sshPort).toBe(2200);
    expect(a.jump).toMatchObject({ name: 'bob@gw.example:2022', host: 'gw.example', sshPort: 2022, user: 'bob' });
  });

  it('names the file, the key path and the problem', () => {
    const e = invalid('nodes:\n  kvm2: { host: 10.3.1.174, bridgeAddress: 10.220.220.300/24 }\n');
    expect(e.code).toBe('VXI_INVENTORY');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('/x/inv.yaml');
    expect(e.message).toContain('nodes.kvm2.bridgeAddress');
    expect(invalid('overlay: { vni: 99999999 }\nnodes: { a: { host: h } }').message).toMatch(/overlay\.vni: must be between 0 and 16777215/);
    expect(invalid('overlay: { bridge: "br;id" }\nnodes: { a: { host: h } }').message).toMatch(/overlay\.bridge/);
    expect(invalid('nodes: { a: { host: h, bridge: this_name_is_too_long } }').message).toMatch(/nodes\.a\.bridge: is 21 bytes/);
    expect(invalid('nodes: { a: { hots: h } }').message).toMatch(/nodes\.a\.hots: unknown key/);
    expect(invalid('nodes: { a: { bridgeAddress: 10.0.0.1/24 } }').message).toMatch(/nodes\.a\.host: is missing/);
    expect(invalid('nodes: {}').message).toMatch(/nodes: must be a map with at least one node/);
    expect(invalid('nodes: { a: { host: h, jump: b }, b: { host: g, jump: a } }').message).toMatch(/loop: a -> b -> a/);
    expect(invalid('defaults: { sudo: yes please }\nnodes: { a: { host: h } }').message).toMatch(/defaults\.sudo: must be true or false/);
    expect(invalid('nodes: [1, 2').message).toMatch(/not valid YAML: line/);
    expect(invalid('nodes: { a: { host: "-oProxyCommand=id" } }').message).toMatch(/nodes\.a\.host/);
  });

  it('loads a file, the cwd default or the built-in class lab', async () => {
    const f = join(dir, 'inv.yaml');
    writeFileSync(f, 'nodes:\n  n1: { host: 127.0.0.1, port: 2222, knownHosts: kh }\n');
    const inv = await loadInventory(f);
    expect(inv.source).toBe(f);
    expect(resolveNode(inv, 'n1').knownHosts).toBe(join(dir, 'kh'));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const builtin = await loadInventory();
      expect(builtin.source).toBe(BUILTIN_SOURCE);
      expect(resolveNode(builtin, 'kvm2')).toMatchObject({ host: '10.3.1.174', bridgeAddress: '10.220.220.202/24', overlay: { vni: 10, port: 4789 } });
      writeFileSync(join(dir, 'vxlan-inspect.yaml'), 'nodes: { only: { host: 10.0.0.9 } }\n');
      expect(Object.keys((await loadInventory()).nodes)).toEqual(['only']);
    } finally {
      process.chdir(cwd);
    }
    await expect(loadInventory(join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'VXI_INVENTORY', exitCode: 2 });
    expect(() => resolveNode(inv, 'kvm9')).toThrow(/node "kvm9" is not in the inventory .*nodes: n1/);
  });
});
