/** The inventory `lab up` writes, in the provisioning issue's format (YAML flow maps, one line per node). */
import { stringify } from 'yaml';
import { NODES, OVERLAY } from './topology.js';

export interface LabInventoryPaths {
  identityFile: string;
  knownHosts: string;
}

/** A YAML scalar: plain when safe, else double-quoted JSON-style. */
function scalar(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  return /^[A-Za-z0-9_./@-][A-Za-z0-9_./@:-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v) ? v : stringify(v, { defaultStringType: 'QUOTE_DOUBLE' }).trim();
}

function flow(entries: [string, string | number | boolean][]): string {
  return `{ ${entries.map(([k, v]) => `${k}: ${scalar(v)}`).join(', ')} }`;
}

export function renderInventory(p: LabInventoryPaths): string {
  const lines = [
    '# vxlan-inspect lab inventory: written by `vxlan-inspect lab up`, removed by `lab down`',
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
    'nodes:',
    ...NODES.map((n) => `  ${n.name}: ${flow([['host', n.host], ['bridgeAddress', n.bridgeAddress]])}`),
    '',
  ];
  return lines.join('\n');
}
