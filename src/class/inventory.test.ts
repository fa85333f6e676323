import { describe, expect, it } from 'vitest';
import { VxiError } from '../errors.js';
import { overlayMembers, resolveNode } from '../remote/inventory.js';
import { fillPattern, parseClassInventory, selectGroups } from './inventory.js';

const CLASS = `defaults: { user: root, identityFile: /keys/id, knownHosts: /keys/known_hosts }
overlay: { vni: 10, port: 4789, bridge: vxlan_bridge, underlay: eth1, mtu: 1450 }
groups:
  count: 15
  name: g{n:02}
  nodes:
    kvm1: { host: "10.3.{n}.156", bridgeAddress: 10.220.220.201/24 }
    kvm2: { host: "10.3.{n}.174", bridgeAddress: 10.220.220.202/24 }
`;

function errorOf(text: string): VxiError {
  try {
    parseClassInventory(text, '/c/class.yaml', '/c');
  } catch (err) {
    if (err instanceof VxiError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('class inventory', () => {
  it('expands a numbered series into groups that are ordinary inventories', () => {
    const cls = parseClassInventory(CLASS, '/c/class.yaml', '/c');
    expect(cls.groups.map((g) => g.name)).toEqual(Array.from({ length: 15 }, (_, i) => `g${String(i + 1).padStart(2, '0')}`));
    const g3 = cls.groups[2];
    expect(g3?.n).toBe(3);
    expect(g3?.line).toBe(3);
    if (!g3) throw new Error('no g03');
    expect(overlayMembers(g3.inventory)).toEqual(['kvm1', 'kvm2']);
    const kvm2 = resolveNode(g3.inventory, 'kvm2');
    expect(kvm2).toMatchObject({
      host: '10.3.3.174',
      bridgeAddress: '10.220.220.202/24',
      user: 'root',
      identityFile: '/keys/id',
      knownHosts: '/keys/known_hosts',
    });
    expect(kvm2.overlay).toEqual({ vni: 10, port: 4789, bridge: 'vxlan_bridge', underlay: 'eth1', mtu: 1450 });
    expect(g3.inventory.source).toBe('/c/class.yaml (group g03)');
  });

  it('applies group defaults, per-group overrides, patterns in number keys, and single groups', () => {
    const cls = parseClassInventory(
      `defaults: { identityFile: keys/id }
groups:
  - count: 3
    start: 7
    name: team{n}
    overlay: { vni: "1{n:02}" }
    nodes:
      a: { host: "192.168.{n}.1", bridgeAddress: 10.0.0.1/24 }
      b: { host: "192.168.{n}.2", bridgeAddress: 10.0.0.2/24, port: "22{n:02}" }
  - name: demo
    defaults: { user: admin, sudo: true }
    nodes:
      x: { host: 10.9.9.1, bridgeAddress: 10.1.1.1/24 }
      y: { host: 10.9.9.2, bridgeAddress: 10.1.1.2/24 }
overrides:
  team8: { overlay: { mtu: 1400 }, nodes: { b: { user: teacher } } }
`,
      '/c/class.yaml',
      '/c',
    );
    expect(cls.groups.map((g) => g.name)).toEqual(['team7', 'team8', 'team9', 'demo']);
    const [t7, t8, , demo] = cls.groups;
    if (!t7 || !t8 || !demo) throw new Error('missing groups');
    expect(resolveNode(t7.inventory, 'b')).toMatchObject({ host: '192.168.7.2', sshPort: 2207, identityFile: '/c/keys/id', user: 'root' });
    expect(resolveNode(t7.inventory, 'a').overlay.vni).toBe(107);
    expect(resolveNode(t8.inventory, 'b')).toMatchObject({ user: 'teacher', host: '192.168.8.2' });
    expect(resolveNode(t8.inventory, 'a').overlay).toMatchObject({ vni: 108, mtu: 1400 });
    expect(resolveNode(t7.inventory, 'a').overlay.mtu).toBe(1450);
    expect(resolveNode(demo.inventory, 'x')).toMatchObject({ user: 'admin', sudo: true });
    expect(demo.n).toBeUndefined();
    expect(selectGroups(cls, ['demo', 'team7']).map((g) => g.name)).toEqual(['team7', 'demo']);
    expect(() => selectGroups(cls, ['team1'])).toThrow(/no group "team1".*team7, team8, team9, demo/);
  });

  it('names the file, the line and the key of an invalid value, whichever group it breaks', () => {
    const e = errorOf(CLASS.replace('10.3.{n}.174', '10.3.{n}.999'));
    expect(e.code).toBe('VXI_INVENTORY');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^invalid class inventory \/c\/class\.yaml, line 8: groups\.nodes\.kvm2\.host \(group g01\): /);

    expect(errorOf(CLASS.replace('vni: 10', 'vni: 99999999')).message).toMatch(/, line 2: overlay\.vni \(group g01\): /);
    expect(errorOf(CLASS.replace('user: root', 'usr: root')).message).toMatch(/, line 1: defaults\.usr \(group g01\): unknown key/);
    expect(errorOf(CLASS.replace('  count: 15', '  count: 15\n  colour: red')).message).toMatch(/, line 5: groups\.colour: unknown key/);
    expect(errorOf(CLASS.replace('name: g{n:02}', 'name: g{m}')).message).toMatch(/, line 5: groups\.name: unknown placeholder \{m\}/);
    expect(errorOf(CLASS.replace('name: g{n:02}', 'name: g')).message).toMatch(/, line 5: groups\.name: "g" has no \{n\}/);
    expect(errorOf(CLASS.replace('count: 15', 'count: 0')).message).toMatch(/, line 4: groups\.count: must be a whole number/);
    expect(errorOf(`${CLASS}overrides:\n  g99: { overlay: { vni: 3 } }\n`).message).toMatch(/, line 10: overrides\.g99: no group g99/);
    expect(errorOf(`${CLASS}overrides:\n  g02: { overlay: { mtu: 20 } }\n`).message).toMatch(
      /, line 10: overrides\.g02\.overlay\.mtu \(group g02\): /,
    );
    expect(errorOf(`${CLASS}  - oops`).message).toMatch(/not valid YAML|line/);
    expect(errorOf(CLASS.replace('"10.3.{n}.174"', '10.3.{n}.174')).message).toMatch(
      /line 8: not valid YAML: .*quote a pattern inside \{ \}: host: "10\.3\.\{n\}\.156"/,
    );
    expect(
      errorOf('groups:\n  - name: a\n    nodes: { x: { host: 10.0.0.1 } }\n  - name: a\n    nodes: { x: { host: 10.0.0.1 } }\n').message,
    ).toMatch(/, line 4: groups\[1\]\.name: group a is defined twice \(first at line 2\)/);
    expect(errorOf('nodes:\n  kvm1: { host: 10.0.0.1 }\n').message).toMatch(/line 1: nodes: this is a node inventory/);
    expect(errorOf('groups:\n  - name: a\n    nodes: { x: { bridgeAddress: 10.0.0.1/24 } }\n').message).toMatch(
      /line 3: groups\[0\]\.nodes\.x \(group a\): .*missing/,
    );
  });

  it('fills {n} and {n:0W}, and refuses other placeholders', () => {
    expect(fillPattern('10.3.{n}.156', 7)).toEqual({ text: '10.3.7.156', filled: true });
    expect(fillPattern('g{n:02}', 3)).toEqual({ text: 'g03', filled: true });
    expect(fillPattern('g{n:03}', 12)).toEqual({ text: 'g012', filled: true });
    expect(fillPattern('plain', 1)).toEqual({ text: 'plain', filled: false });
    expect(fillPattern('{x}', 1)).toHaveProperty('problem');
  });
});
