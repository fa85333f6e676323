/** The inventory `lab up` writes, in the provisioning issue's format (YAML flow maps, one line per node). */
import { stringify } from 'yaml';
import { DEFAULT_TOPOLOGY, HOST_BYTES, OVERLAY, labTopology, underlayAddress, type LabTopology } from './topology.js';

export interface LabInventoryPaths {
  identityFile: string;
  knownHosts: string;
}

/** A YAML scalar: plain when safe, else double-quoted JSON-style. */
function scalar(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  return /^[A-Za-z0-9_./@-][A-Za-z0-9_./@:-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v)
    ? v
    : stringify(v, { defaultStringType: 'QUOTE_DOUBLE' }).trim();
}

function flow(entries: [string, string | number | boolean][]): string {
  return `{ ${entries.map(([k, v]) => `${k}: ${scalar(v)}`).join(', ')} }`;
}

/** The SSH defaults and the overlay: the same in a lab's inventory and in a class lab's. */
function sharedLines(p: LabInventoryPaths): string[] {
  return [
    `defaults: ${flow([
      ['user', 'root'],
      ['identityFile', p.identityFile],
      ['knownHosts', p.knownHosts],
      ['sudo', false],
    ])}`,
    `overlay: ${flow([
      ['vni', OVERLAY.vni],
      ['port', OVERLAY.port],
      ['bridge', OVERLAY.bridge],
      ['underlay', OVERLAY.underlay],
      ['mtu', OVERLAY.mtu],
    ])}`,
  ];
}

/** The inventory of one lab (or one group of a class lab: `topo` gives its addresses). */
export function renderInventory(p: LabInventoryPaths, topo: LabTopology = DEFAULT_TOPOLOGY): string {
  const lines = [
    '# vxlan-inspect lab inventory: written by `vxlan-inspect lab up`, removed by `lab down`',
    ...sharedLines(p),
    'nodes:',
    ...topo.nodes.map(
      (n) =>
        `  ${n.name}: ${flow([
          ['host', n.host],
          ['bridgeAddress', n.bridgeAddress],
        ])}`,
    ),
    '',
  ];
  return lines.join('\n');
}

/**
 * The class inventory `lab up --groups N` writes: the groups as one numbered series, group n's
 * nodes on 10.3.n.x, as its namespaces are (src/class/inventory.ts reads it).
 */
export function renderClassInventory(p: LabInventoryPaths, groups: number): string {
  const nodes = labTopology(1).nodes;
  const byte = (name: 'kvm1' | 'kvm2'): number => HOST_BYTES[name];
  return [
    `# vxlan-inspect class lab inventory: written by \`vxlan-inspect lab up --groups ${groups}\`, removed by \`lab down\``,
    ...sharedLines(p),
    'groups:',
    `  count: ${groups}`,
    `  name: ${scalar('g{n:02}')}`,
    '  nodes:',
    ...nodes.map(
      (n) =>
        `    ${n.name}: ${flow([
          ['host', underlayAddress('{n}', byte(n.name))],
          ['bridgeAddress', n.bridgeAddress],
        ])}`,
    ),
    '',
  ].join('\n');
}
