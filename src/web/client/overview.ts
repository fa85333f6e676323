/** The Overview: the node's cards, its charts, per-VNI and VTEP-pair tables, downloads. */
import type { NodeAnalysis } from '../api-types.js';
import { api } from './api.js';
import { clearCharts, drawCharts } from './charts.js';
import { $, el } from './dom.js';
import { renderDownloads } from './downloads.js';
import { fmtBytes, fmtNum, fmtUs, sideLabel } from './format.js';
import { currentNode } from './state.js';

function card(cls: string, value: string, label: string, small?: string): HTMLElement {
  return el(
    'div',
    { class: `card ${cls}` },
    el('div', { class: 'v' }, value),
    el('div', { class: 'k' }, label),
    small ? el('div', { class: 'small' }, small) : null,
  );
}

export async function renderOverview(): Promise<void> {
  const node = currentNode();
  const cards = $('#cards');
  if (!node) {
    cards.replaceChildren();
    clearCharts();
    return;
  }
  const a = node.analysis;
  const u = node.underlay;
  const o = node.overlay;
  const list: HTMLElement[] = [];
  // every number on this screen comes from the node's one analysis (a.*), read at the same moment
  if (u)
    list.push(
      card(
        'under',
        fmtNum(u.packets),
        `${sideLabel(u)} packets`,
        `${fmtNum(a ? a.vxlanPackets : u.tunnelled)} VXLAN · ${fmtBytes(u.bytes)} · ${u.name}`,
      ),
    );
  if (o) list.push(card('over', fmtNum(o.packets), `${sideLabel(o)} frames`, `${fmtBytes(o.bytes)} · ${o.name}`));
  if (a && u && o) {
    list.push(
      card(
        'matched',
        fmtNum(a.matched),
        'matched',
        `${fmtNum(a.encapsulated)} encapsulated (bridge → ${u.iface ?? 'underlay'}), ${fmtNum(a.decapsulated)} decapsulated`,
      ),
    );
    list.push(
      card(
        'under',
        fmtNum(a.underlayOnly),
        'VXLAN packets only on the underlay',
        `${fmtNum(a.underlayNotTunnelled)} underlay packets are not VXLAN`,
      ),
    );
    list.push(
      card(
        'over',
        fmtNum(a.overlayOnly),
        'bridge frames only on the bridge',
        a.floodedFrames ? `${fmtNum(a.floodedFrames)} flooded to several VTEPs` : 'never left the node',
      ),
    );
    // nothing matched: "–", never "0 µs"
    list.push(
      a.latencyUs
        ? card('', fmtUs(a.latencyUs.p50), 'bridge ↔ underlay, median', `p99 ${fmtUs(a.latencyUs.p99)} · max ${fmtUs(a.latencyUs.max)}`)
        : card('', '–', 'bridge ↔ underlay, median', a.disjoint ? 'the two captures do not overlap in time' : 'no frame matched'),
    );
  }
  if (a && u) {
    list.push(
      a.overhead
        ? card(
            'ovh',
            `${a.overhead.perPacket} B`,
            'encapsulation overhead per packet',
            `outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 = 50 · ${a.overhead.percent}% of the underlay's tunnelled bytes`,
          )
        : card('ovh', '–', 'encapsulation overhead per packet', 'no tunnelled packet on the underlay'),
    );
  }
  cards.replaceChildren(...list);
  $('#u-title').textContent = u ? `${sideLabel(u)} — ${u.name}` : 'Underlay: no capture';
  $('#o-title').textContent = o ? `${sideLabel(o)} — ${o.name}` : 'Bridge: no capture';

  drawCharts(await api.series(node.name));
  renderTables(a);
  renderDownloads(node);
}

function renderTables(a: NodeAnalysis | null): void {
  const vt = $('#vni-table');
  const pt = $('#pair-table');
  if (!a) {
    vt.replaceChildren();
    pt.replaceChildren();
    return;
  }
  vt.replaceChildren(
    el(
      'tr',
      {},
      el('th', {}, 'VNI'),
      el('th', { class: 'num' }, 'VXLAN packets'),
      el('th', { class: 'num' }, 'bytes'),
      el('th', { class: 'num' }, 'matched'),
      el('th', { class: 'num' }, 'underlay only'),
    ),
    ...Object.entries(a.byVni).map(([vni, r]) =>
      el(
        'tr',
        {},
        el('td', {}, vni),
        el('td', { class: 'num' }, fmtNum(r.packets)),
        el('td', { class: 'num' }, fmtBytes(r.bytes)),
        el('td', { class: 'num' }, fmtNum(r.matched)),
        el('td', { class: 'num' }, fmtNum(r.underlayOnly)),
      ),
    ),
  );
  pt.replaceChildren(
    el(
      'tr',
      {},
      el('th', {}, 'source VTEP'),
      el('th', {}, 'destination VTEP'),
      el('th', {}, 'VNI'),
      el('th', { class: 'num' }, 'packets'),
      el('th', { class: 'num' }, 'matched'),
    ),
    ...a.byVtepPair.map((r) =>
      el(
        'tr',
        {},
        el('td', {}, r.src),
        el('td', {}, r.dst),
        el('td', {}, String(r.vni)),
        el('td', { class: 'num' }, fmtNum(r.packets)),
        el('td', { class: 'num' }, fmtNum(r.matched)),
      ),
    ),
  );
}
