/**
 * The matrix as text: one row per group, one column per check (short headers, a legend), the
 * traffic seen per VNI, then one line per cell that is not a pass (what fails, on which node),
 * then a summary. Verdicts are words, not colours (a terminal may have none; colour-blind safe).
 */
import { formatDuration } from '../capture/duration.js';
import { trafficByVni } from './traffic.js';
import type { CellStatus, ClassCheckMatrix, GroupCheck } from './types.js';

/** Column headers short enough for 17 checks in a terminal; a name not listed keeps its first 6 letters. */
const SHORT: Readonly<Record<string, string>> = {
  underlay: 'ulay',
  'bridge-address': 'braddr',
  'local-address': 'local',
  'underlay-dev': 'uldev',
  firewall: 'fw',
  'packet-filter': 'filter',
  'peer-underlay': 'peer-u',
  'peer-overlay': 'peer-o',
  'same-vni-port': 'same',
  'same-group': 'sgroup',
};

export function shortName(check: string): string {
  return SHORT[check] ?? check.slice(0, 6);
}

const WORD: Record<CellStatus, string> = { pass: 'ok', warn: 'WARN', fail: 'FAIL', error: 'ERR' };

function trafficText(g: GroupCheck): string {
  const t = trafficByVni(g.traffic);
  if (g.status === 'error') return '';
  if (t.length === 0) return 'no VXLAN device';
  return t.map((v) => `VNI ${v.vni} rx ${v.rxPackets} tx ${v.txPackets}`).join(', ');
}

export function renderMatrix(m: ClassCheckMatrix): string {
  const nameW = Math.max(5, ...m.groups.map((g) => g.group.length));
  const heads = m.columns.map((c) => shortName(c));
  const widths = heads.map((h) => Math.max(4, h.length));
  const row = (first: string, cells: string[], last: string): string =>
    `${first.padEnd(nameW)}  ${cells.map((c, i) => c.padEnd(widths[i] ?? 4)).join(' ')}  ${last}`.trimEnd();
  const lines = [row('group', heads, 'traffic seen (packets, both nodes)')];
  for (const g of m.groups) {
    const cells = m.columns.map((c) => {
      const cell = g.cells[c];
      return cell ? WORD[cell.status] : g.status === 'error' ? 'ERR' : '-';
    });
    lines.push(row(g.group, cells, trafficText(g)));
  }
  const renamed = m.columns.filter((c) => shortName(c) !== c).map((c) => `${shortName(c)} = ${c}`);
  lines.push(
    `legend: ok pass, WARN warning, FAIL fails, ERR not checked (the group's error below), - did not run${renamed.length ? `; ${renamed.join(', ')}` : ''}`,
  );

  const problems: string[] = [];
  for (const g of m.groups) {
    if (g.error !== undefined) problems.push(`${g.group}  ERR   ${g.error}`);
    for (const c of m.columns) {
      const cell = g.cells[c];
      if (cell && cell.status !== 'pass') problems.push(`${g.group}  ${WORD[cell.status].padEnd(4)}  ${c}: ${cell.detail}`);
    }
  }
  if (problems.length > 0) lines.push('', ...problems);

  const failed = m.groups.filter((g) => g.status === 'fail' || g.status === 'error').map((g) => g.group);
  const nodes = new Set(
    m.groups.flatMap((g) =>
      g.checks
        .map((c) => c.node)
        .filter((n) => n !== 'overlay')
        .map((n) => `${g.group}/${n}`),
    ),
  ).size;
  const verdict =
    failed.length === 0
      ? `every group passes (${m.groups.length})`
      : `${m.groups.length - failed.length} of ${m.groups.length} groups pass, ${failed.length} fail${failed.length === 1 ? 's' : ''}: ${failed.join(', ')}`;
  lines.push(
    `check --class: ${verdict}; ${nodes} nodes in ${formatDuration(m.durationMs / 1000)}, ` +
      `at most ${m.peakSessions} SSH sessions at once (--parallel ${m.parallel})`,
  );
  return `${lines.join('\n')}\n`;
}
