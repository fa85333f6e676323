/** The Packets view: the node's two lists (underlay, bridge), paged and filtered, and the selection. */
import type { CaptureSummary, PacketDetail, Side } from '../api-types.js';
import { api, messageOf } from './api.js';
import { renderDetail, setMirror } from './detail.js';
import { $, $maybe, el } from './dom.js';
import { fmtNum, sideLabel } from './format.js';
import { writeLocation } from './navigation.js';
import { PAGE, SIDES, currentNode, state } from './state.js';
import { showMessage } from './ui.js';

const PROTOCOLS: readonly [string, string][] = [
  ['', 'any protocol'],
  ['vxlan', 'VXLAN'],
  ['arp', 'ARP'],
  ['icmp', 'ICMP'],
  ['icmpv6', 'ICMPv6'],
  ['tcp', 'TCP'],
  ['udp', 'UDP'],
  ['matched', 'matched'],
  ['unmatched', 'unmatched'],
];

function captureOf(side: Side): CaptureSummary | null {
  return currentNode()?.[side] ?? null;
}

/** The filter text the boxes above a list say. */
function filterText(side: Side): string {
  const box = $maybe(`#list-${side} .filters`);
  if (!box) return '';
  const value = (sel: string): string => $<HTMLInputElement | HTMLSelectElement>(sel, box).value.trim();
  const parts: string[] = [];
  const vni = value('input.vni');
  const mac = value('input.mac');
  const ip = value('input.ip');
  const proto = value('select.proto');
  const extra = value('input.extra');
  if (vni) parts.push(`vni=${vni}`);
  if (mac) parts.push(`mac=${mac}`);
  if (ip) parts.push(`ip=${ip}`);
  if (proto) parts.push(proto.includes('=') || proto === 'matched' || proto === 'unmatched' ? proto : `proto=${proto}`);
  if (extra) parts.push(extra);
  return parts.join(' ');
}

function buildList(side: Side, capture: CaptureSummary | null): void {
  const root = $(`#list-${side}`);
  const apply = async (): Promise<void> => {
    state.lists[side].filter = filterText(side);
    state.lists[side].offset = 0;
    await loadList(side);
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Enter') void apply();
  };
  const clear = (): void => {
    for (const i of root.querySelectorAll<HTMLInputElement>('.filters input')) i.value = '';
    $<HTMLSelectElement>('select.proto', root).value = '';
    void apply();
  };
  const parts: (HTMLElement | null)[] = [
    el(
      'h2',
      {},
      capture ? `${sideLabel(capture)} — ${capture.name}` : `${side === 'underlay' ? 'Underlay' : 'Bridge'}: no capture for this node`,
      capture?.live ? el('span', { class: 'live' }, ' ● live') : null,
    ),
    capture
      ? el(
          'div',
          { class: 'filters' },
          el('input', { class: 'vni', placeholder: 'VNI', 'aria-label': 'VNI', inputmode: 'numeric', onkeydown: onKey }),
          el('input', { class: 'mac', placeholder: 'MAC', 'aria-label': 'MAC address', onkeydown: onKey }),
          el('input', { class: 'ip', placeholder: 'IPv4', 'aria-label': 'IP address', onkeydown: onKey }),
          el(
            'select',
            { class: 'proto', 'aria-label': 'Protocol', onchange: () => void apply() },
            ...PROTOCOLS.map(([v, t]) => el('option', { value: v }, t)),
          ),
          el('input', {
            class: 'extra',
            placeholder: 'more: flood, unmatched…',
            'aria-label': 'Other filter terms',
            title: state.session?.filterHelp ?? '',
            onkeydown: onKey,
          }),
          el('button', { type: 'button', onclick: () => void apply() }, 'Filter'),
          el('button', { type: 'button', onclick: clear }, 'Clear'),
        )
      : null,
    capture
      ? el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'packets' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                el('th', {}, 'No.'),
                el('th', {}, 'Time'),
                el('th', {}, 'Len'),
                el('th', {}, 'VNI'),
                el('th', {}, 'Summary'),
                el('th', { title: 'the same frame on the other side' }, '⇄'),
              ),
            ),
            el('tbody', {}),
          ),
        )
      : null,
    capture
      ? el(
          'div',
          { class: 'pager' },
          el('button', { type: 'button', class: 'prev', onclick: () => void page(side, -1) }, '◀ previous'),
          el('span', { class: 'range' }),
          el('button', { type: 'button', class: 'next', onclick: () => void page(side, 1) }, 'next ▶'),
          el('input', {
            class: 'goto',
            placeholder: 'go to #',
            'aria-label': 'Go to packet number',
            inputmode: 'numeric',
            size: 7,
            onkeydown: (e: KeyboardEvent) => {
              if (e.key === 'Enter') void goTo(side, (e.target as HTMLInputElement).value);
            },
          }),
        )
      : null,
  ];
  root.replaceChildren(...parts.filter((x): x is HTMLElement => x !== null));
}

async function goTo(side: Side, text: string): Promise<void> {
  const n = Number(String(text).trim().replace(/^#/, ''));
  const capture = captureOf(side);
  if (!capture) return;
  if (!Number.isInteger(n) || n < 1 || n > capture.packets) {
    showMessage(`There is no packet ${text} in ${capture.name}: it has ${fmtNum(capture.packets)} packets.`);
    return;
  }
  const l = state.lists[side];
  const pos = await api.position(capture.id, n, l.filter);
  if (pos.position === null) {
    showMessage(`Packet ${n} is hidden by the filter “${l.filter}”: clear it to see it.`);
    return;
  }
  showMessage('');
  await revealInList(side, n);
  await selectPacket(side, n);
}

async function page(side: Side, dir: 1 | -1): Promise<void> {
  const l = state.lists[side];
  const next = l.offset + dir * PAGE;
  if (next < 0 || next >= l.total) return;
  l.offset = next;
  await loadList(side);
}

export async function loadList(side: Side): Promise<void> {
  const capture = captureOf(side);
  if (!capture) return;
  const l = state.lists[side];
  let pageData;
  try {
    pageData = await api.packets(capture.id, l.offset, PAGE, l.filter);
  } catch (err) {
    showMessage(messageOf(err));
    return;
  }
  l.total = pageData.total;
  l.rows = pageData.rows;
  const root = $(`#list-${side}`);
  $('tbody', root).replaceChildren(
    ...pageData.rows.map((r) =>
      el(
        'tr',
        {
          'data-n': r.n,
          tabindex: 0,
          onclick: () => void selectPacket(side, r.n),
          onkeydown: (e: KeyboardEvent) => void rowKey(e, side, r.n),
        },
        el('td', {}, String(r.n)),
        el('td', { class: 'mono' }, r.time),
        el('td', {}, String(r.len)),
        el('td', {}, r.vni === null ? '' : String(r.vni)),
        el('td', { class: 'sum' }, r.summary, r.flags.length ? el('span', { class: 'flag' }, ` [${r.flags.join(', ')}]`) : null),
        el(
          'td',
          { class: 'm', title: r.match ? `#${r.match} on the other side` : 'not seen on the other side' },
          r.match ? `#${r.match}` : '',
        ),
      ),
    ),
  );
  $('.range', root).textContent = pageData.total
    ? `${fmtNum(l.offset + 1)}–${fmtNum(l.offset + pageData.rows.length)} ` +
      `of ${fmtNum(pageData.total)}${l.filter ? ` (filtered from ${fmtNum(pageData.all)})` : ''}`
    : `no packet matches${l.filter ? ` “${l.filter}”` : ''}`;
  markRows();
}

/** Keyboard like Wireshark's list: arrows move (and show) the selection, Enter shows the focused row. */
async function rowKey(e: KeyboardEvent, side: Side, n: number): Promise<void> {
  const tr = e.currentTarget as HTMLTableRowElement;
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    await selectPacket(side, n);
    return;
  }
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  e.preventDefault();
  let next = (e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
  if (!next) {
    const l = state.lists[side];
    const dir = e.key === 'ArrowDown' ? 1 : -1;
    if (l.offset + dir * PAGE < 0 || l.offset + dir * PAGE >= l.total) return;
    await page(side, dir);
    const rows = document.querySelectorAll<HTMLElement>(`#list-${side} tbody tr`);
    next = (dir > 0 ? rows[0] : rows[rows.length - 1]) ?? null;
  }
  if (!next) return;
  next.focus();
  await selectPacket(side, Number(next.dataset.n));
}

/** Marks the selected and linked rows, and scrolls the list (not the page) to the one asked for. */
function markRows(): void {
  for (const side of SIDES) {
    for (const tr of document.querySelectorAll<HTMLElement>(`#list-${side} tbody tr`)) {
      const n = Number(tr.dataset.n);
      tr.classList.toggle('selected', state.selected?.side === side && state.selected.n === n);
      tr.classList.toggle('linked', state.linked?.side === side && state.linked.n === n);
      if (state.scrollTo?.side === side && state.scrollTo.n === n) {
        const wrap = tr.closest('.table-wrap');
        if (wrap) wrap.scrollTop = Math.max(0, tr.offsetTop - wrap.clientHeight / 2 + tr.offsetHeight / 2);
        state.scrollTo = null;
      }
    }
  }
}

export async function renderPackets(): Promise<void> {
  for (const side of SIDES) {
    buildList(side, captureOf(side));
    await loadList(side);
  }
  if (state.selected) {
    const { side, n } = state.selected;
    await revealInList(side, n);
    await selectPacket(side, n);
  }
}

/** Shows packet n of a side, and the same frame on the other side (scrolled into view, highlighted). */
export async function selectPacket(side: Side, n: number): Promise<void> {
  const capture = captureOf(side);
  if (!capture) return;
  state.selected = { side, n };
  // Last selection wins: with two quick arrow presses two requests are in flight, and the
  // answer for the older one must not overwrite the newer one's detail.
  const seq = ++state.selectSeq;
  let d: PacketDetail;
  try {
    d = await api.packet(capture.id, n);
  } catch (err) {
    if (seq === state.selectSeq) showMessage(messageOf(err));
    return;
  }
  if (seq !== state.selectSeq) return;
  const other: Side = side === 'underlay' ? 'overlay' : 'underlay';
  state.linked = d.match ? { side: other, n: d.match.n } : null;
  writeLocation();
  const main = $('#detail-main');
  const matchPanel = $('#detail-match');
  renderDetail(main, d, side, { match: d.match, unmatched: d.unmatched, copies: d.copies });
  if (d.match) {
    renderDetail(matchPanel, d.match, other, { fromPacket: d.n });
    setMirror(
      side === 'overlay' ? { bridge: main, underlay: matchPanel } : { bridge: matchPanel, underlay: main },
      side === 'underlay' ? d : d.match,
    );
  } else {
    setMirror(null, null);
    matchPanel.replaceChildren(
      el('p', { class: 'hint' }, side === 'overlay' ? 'No underlay packet carried this frame.' : 'No bridge frame matches this packet.'),
    );
  }
  // the list shows the selection with the detail, in the same turn; the other side's page may
  // have to be fetched first for its linked row, which is marked when it is there
  markRows();
  if (d.match) await revealInList(other, d.match.n);
  if (seq !== state.selectSeq) return;
  markRows();
}

/** Pages the list to packet n (if the filter shows it) and marks it to be scrolled to. */
export async function revealInList(side: Side, n: number): Promise<void> {
  const l = state.lists[side];
  const capture = captureOf(side);
  if (!capture) return;
  let pos;
  try {
    pos = await api.position(capture.id, n, l.filter);
  } catch {
    return;
  }
  if (pos.position === null) return;
  const offset = Math.floor(pos.position / PAGE) * PAGE;
  state.scrollTo = { side, n };
  if (offset !== l.offset || !l.rows.some((r) => r.n === n)) {
    l.offset = offset;
    await loadList(side);
  } else markRows();
}
