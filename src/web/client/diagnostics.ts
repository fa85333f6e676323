/** The Diagnostics view: findings with likely causes; a packet button opens the packet. */
import { api } from './api.js';
import { $, el } from './dom.js';
import { openPacket } from './navigation.js';

/** Packet buttons shown per finding; the rest are counted. */
const SHOWN = 16;

export async function renderDiagnostics(): Promise<void> {
  const { diagnostics } = await api.diagnostics();
  const box = $('#diagnostics');
  if (diagnostics.length === 0) {
    box.replaceChildren(el('p', { class: 'hint' }, 'Nothing to report.'));
    return;
  }
  box.replaceChildren(
    ...diagnostics.map((d) => {
      const node = d.node;
      const side = d.side;
      const packets = d.packets ?? [];
      return el(
        'div',
        { class: `diag ${d.severity}` },
        el(
          'div',
          {},
          el('span', { class: 'sev' }, d.severity),
          el('strong', {}, d.title),
          node ? el('span', { class: 'hint' }, ` · ${node}${side ? ` ${side === 'overlay' ? 'bridge' : 'underlay'}` : ''}`) : null,
        ),
        el('p', {}, d.detail),
        packets.length && node && side
          ? el(
              'div',
              { class: 'pk' },
              'Packets: ',
              ...packets
                .slice(0, SHOWN)
                .map((n) =>
                  el('button', { type: 'button', title: `open packet ${n}`, onclick: () => void openPacket(node, side, n) }, `#${n}`),
                ),
              packets.length > SHOWN ? ` … and ${packets.length - SHOWN} more (filter the list)` : '',
            )
          : null,
      );
    }),
  );
}
