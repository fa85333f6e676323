/**
 * The configuration comparison of the Path view, beside the paths: per node a card of its
 * recorded overlay configuration (VNI, port, local, group or remote, dev, MTU, flood list,
 * firewall), the lines a finding is about marked on it, and the findings list — severity in
 * words and a symbol as well as colour, each with its evidence from the configuration and from
 * the traffic. What the lines and the order are: path-config-data.ts.
 */
import type { PathConfigComparison } from '../api-types.js';
import { el } from './dom.js';
import {
  configCards,
  configLines,
  findingsInOrder,
  flaggedLines,
  nothingRecorded,
  recordedLine,
  severityText,
} from './path-config-data.js';

export function configSection(cmp: PathConfigComparison, pathNodes: readonly string[]): HTMLElement {
  const head = el('h3', {}, 'Configuration against the traffic');
  if (nothingRecorded(cmp)) {
    // what the traffic alone shows is in "where and why"; the analysis's "not recorded" notes, once per node, would say this again
    return el(
      'div',
      { class: 'path-config none' },
      head,
      el(
        'p',
        { class: 'hint' },
        "No configuration recorded: no session.json here holds a node's overlay configuration " +
          '(nodes[].config). vxlan-inspect capture kvm1 kvm2 records it with the captures, ' +
          'or vxlan-inspect check kvm1 kvm2 --save DIR beside them; ' +
          "the paths are then compared with each node's VXLAN device, FDB and firewall.",
      ),
    );
  }
  const cards = configCards(cmp, pathNodes).map((c) => {
    const lines = configLines(c);
    const flagged = flaggedLines(c.node, cmp.findings);
    return el(
      'div',
      { class: `config-card${c.recordedAt === null ? ' empty' : ''}`, 'data-node': c.node },
      el('h4', {}, c.node, el('span', { class: 'hint' }, ` · ${recordedLine(c)}`)),
      lines.length
        ? el(
            'table',
            { class: 'config-lines' },
            ...lines.map((l) => {
              const sev = flagged.get(l.key);
              return el(
                'tr',
                { class: sev ? `flagged ${sev}` : '', 'data-key': l.key },
                el(
                  'th',
                  {},
                  sev ? el('span', { class: 'mark', 'aria-label': severityText(sev).word }, `${severityText(sev).symbol} `) : null,
                  l.label,
                ),
                el('td', { class: 'mono' }, l.value),
              );
            }),
          )
        : el(
            'p',
            { class: 'hint' },
            c.recordedAt === null ? 'no configuration recorded for this node' : 'no VXLAN device, bridge or underlay recorded',
          ),
    );
  });
  const findings = findingsInOrder(cmp.findings);
  const list = findings.length
    ? el(
        'ul',
        { class: 'config-findings' },
        ...findings.map((f) => {
          const s = severityText(f.severity);
          return el(
            'li',
            { class: `finding ${f.severity}`, 'data-code': f.code, 'data-severity': f.severity },
            el('span', { class: 'sev' }, `${s.symbol} ${s.word}`),
            el('strong', {}, f.message),
            el('span', { class: 'hint' }, ` (${f.code}${f.nodes.length ? `: ${f.nodes.join(', ')}` : ''})`),
            f.evidence.config.length || f.evidence.traffic.length
              ? el(
                  'dl',
                  { class: 'evidence' },
                  f.evidence.config.length ? [el('dt', {}, 'configuration'), ...f.evidence.config.map((x) => el('dd', {}, x))] : null,
                  f.evidence.traffic.length ? [el('dt', {}, 'traffic'), ...f.evidence.traffic.map((x) => el('dd', {}, x))] : null,
                )
              : null,
          );
        }),
      )
    : el('p', { class: 'hint config-ok' }, 'The configurations agree with each other and with the traffic: no finding.');
  return el('div', { class: 'path-config' }, head, el('div', { class: 'config-cards' }, ...cards), list);
}
