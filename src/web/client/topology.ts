/** The Topology view: the forwarding table rebuilt from the traffic, one column per VTEP. */
import { api } from './api.js';
import { $, el } from './dom.js';
import { fmtBytes, fmtNum } from './format.js';

export async function renderTopology(): Promise<void> {
  const t = await api.topology();
  const box = $('#topology');
  if (t.vteps.length === 0) {
    box.replaceChildren(el('p', { class: 'hint' }, 'No VXLAN traffic in the underlay captures: no VTEP to show.'));
    return;
  }
  const names = t.localOf;
  const vnis = [...new Set(t.vteps.flatMap((v) => v.vnis.map((r) => r.vni)))].sort((a, b) => a - b);
  const ports = [...new Set(t.vteps.flatMap((v) => v.ports))];
  const cols = `repeat(${t.vteps.length}, minmax(16em, 1fr))`;
  box.replaceChildren(
    el(
      'div',
      { class: 'topo-grid', style: `grid-template-columns: ${cols}` },
      ...t.vteps.map((v) => {
        const name = names[v.ip];
        return el(
          'div',
          { class: 'node-head' },
          name
            ? el('span', { class: 'node-name' }, name)
            : el(
                'span',
                { class: 'node-name unknown' },
                v.seenBy.length ? `seen in ${v.seenBy.join(', ')}'s capture (whose VTEP it is needs the bridge capture)` : 'not captured',
              ),
        );
      }),
      ...t.vteps.map((v) =>
        el(
          'div',
          { class: 'vtep' },
          el('h3', {}, 'VTEP ', el('span', { class: 'mono' }, v.ip)),
          el('div', { class: 'hint' }, `sends to ${v.peers.join(', ')} · UDP ${v.ports.join(', ')}`),
        ),
      ),
      el(
        'div',
        { class: 'tunnel', style: `grid-column: 1 / span ${t.vteps.length}` },
        el(
          'span',
          {},
          `underlay ⇄ VXLAN tunnels: UDP ${ports.join(', ')} · VNI ${vnis.join(', ')} · every frame wrapped in 50 bytes (outer Ethernet, IPv4, UDP, VXLAN)`,
        ),
      ),
      ...t.vteps.map((v) =>
        el(
          'div',
          { class: 'behind' },
          ...v.vnis.map((r) =>
            el(
              'div',
              { class: 'vni-box' },
              el('h4', {}, `VNI ${r.vni}`, el('span', { class: 'hint' }, ` · ${fmtNum(r.packets)} packets, ${fmtBytes(r.bytes)} sent`)),
              r.hosts.length
                ? el(
                    'table',
                    { class: 'grid hosts' },
                    el('tr', {}, el('th', {}, 'inner MAC'), el('th', {}, 'IPv4')),
                    ...r.hosts.map((h) =>
                      el('tr', {}, el('td', { class: 'mono' }, h.mac), el('td', { class: 'mono' }, h.ips.join(', ') || '—')),
                    ),
                  )
                : el('p', { class: 'hint' }, 'no unicast source seen'),
            ),
          ),
        ),
      ),
    ),
    el(
      'p',
      { class: 'hint' },
      'Read it as the forwarding table (bridge fdb) that traffic taught each VTEP: ' +
        'a frame for one of these MACs is sent, encapsulated, to the VTEP above it. Broadcasts ' +
        '(ARP requests) and unknown MACs go to every VTEP. Seen from the underlay captures ' +
        `of: ${[...new Set(t.vteps.flatMap((v) => v.seenBy))].join(', ')}.`,
    ),
  );
}
