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
    expect(invalid('overlay: { vni: 99999999 }\nnodes: { a: { host: h } }').message).toMatch(
      /overlay\.vni: must be between 0 and 16777215/,
    );
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
      expect(resolveNode(builtin, 'kvm2')).toMatchObject({
        host: '10.3.1.174',
        bridgeAddress: '10.220.220.202/24',
        overlay: { vni: 10, port: 4789 },
      });
      writeFileSync(join(dir, 'vxlan-inspect.yaml'), 'nodes: { only: { host: 10.0.0.9 } }\n');
      expect(Object.keys((await loadInventory()).nodes)).toEqual(['only']);
    } finally {
      process.chdir(cwd);
    }
    await expect(loadInventory(join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'VXI_INVENTORY', exitCode: 2 });
    expect(() => resolveNode(inv, 'kvm9')).toThrow(/no node "kvm9" in the inventory .*nodes: n1/);
  });
});

describe('hostile inventories and node names (adversarial review, issue 16)', () => {
  it('a node name that is an Object.prototype member is "no node", never a host-less node', async () => {
    const inv = await loadInventory(undefined);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      expect(() => resolveNode(inv, name), name).toThrow(new RegExp(`no node "${name.replace(/[_$]/g, '\\$&')}" in the inventory`));
      try {
        resolveNode(inv, name);
      } catch (err) {
        expect(err).toMatchObject({ code: 'VXI_INVENTORY', exitCode: 2 });
      }
    }
  });

  it('the same names are ordinary nodes when the file defines them', () => {
    const inv = parseInventory('nodes:\n  constructor: { host: 10.0.0.1 }\n  __proto__: { host: 10.0.0.2 }\n', 'f.yaml', '/');
    expect(resolveNode(inv, 'constructor').host).toBe('10.0.0.1');
    expect(resolveNode(inv, '__proto__').host).toBe('10.0.0.2');
    expect(Object.keys(inv.nodes)).toEqual(['constructor', '__proto__']);
    expect(() => resolveNode(inv, 'toString')).toThrow(/no node "toString"/);
    // a jump naming an Object member is a host name, not a node
    const j = parseInventory('nodes:\n  a: { host: 10.0.0.1, jump: toString }\n', 'f.yaml', '/');
    expect(resolveNode(j, 'a').jump).toMatchObject({ name: 'toString', host: 'toString' });
  });

  it('a YAML alias bomb is an invalid inventory (exit 2), not an unexpected error', () => {
    const rows = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ] as const)
      rows.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
    const err = invalid(`${rows.join('\n')}\nnodes: { n1: { host: 10.0.0.1 } }\n`);
    expect(err.message).toMatch(/invalid inventory .*YAML.*alias/i);
  });

  it('--inventory /dev/zero (or any huge file) is refused after 1 MiB, not read whole', async () => {
    await expect(loadInventory('/dev/zero')).rejects.toMatchObject({
      code: 'VXI_INVENTORY',
      exitCode: 2,
      message: expect.stringMatching(/\/dev\/zero: larger than 1024 KiB/),
    });
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\nnodes: { n1: { host: 10.0.0.1 } }\n`);
    await expect(loadInventory(big)).rejects.toMatchObject({ code: 'VXI_INVENTORY', exitCode: 2 });
  });

  it('an inventory that is a directory names it', async () => {
    await expect(loadInventory(dir)).rejects.toMatchObject({ code: 'VXI_INVENTORY', exitCode: 2, message: expect.stringContaining(dir) });
  });
});
