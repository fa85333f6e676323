/** The Live panel: start a capture on a node of the inventory, see each one's progress, stop it. */
import type { LiveCaptureStatus, ServerEvents } from '../api-types.js';
import { api, messageOf } from './api.js';
import { $, $maybe, el } from './dom.js';
import { fmtNum } from './format.js';
import { loadSession, renderView, scheduleRefresh } from './navigation.js';
import { currentNode, state, type LiveEntry } from './state.js';
import { needToken, showMessage, tokenRefused } from './ui.js';

export type LiveEventKind = 'live-start' | 'live-stats' | 'live-error' | 'live-end';
export const LIVE_EVENTS: readonly LiveEventKind[] = ['live-start', 'live-stats', 'live-error', 'live-end'];

/** Keeps what the page knows of a capture (its figures) and takes the server's status. */
export function mergeStatus(status: LiveCaptureStatus): void {
  const known = state.live.get(status.id);
  state.live.set(status.id, { stats: {}, ...known, ...status, errors: status.errors });
}

function buildLivePanel(): void {
  if ($maybe('#live-panel')) return;
  const nodes = state.session?.liveNodes ?? [];
  const panel = el(
    'section',
    { id: 'live-panel', class: 'token-box', 'aria-label': 'Live capture', hidden: true },
    el(
      'form',
      {
        id: 'live-form',
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          void startLive();
        },
      },
      el('strong', {}, 'Live capture '),
      el('label', {}, 'node ', el('select', { id: 'live-node' }, ...nodes.map((n) => el('option', { value: n }, n)))),
      ' ',
      el(
        'label',
        {},
        'for ',
        el('input', { id: 'live-duration', type: 'number', min: '1', step: '1', placeholder: 'until stopped', style: 'width:9em' }),
        ' s',
      ),
      ' ',
      el('button', { type: 'submit', id: 'live-start' }, 'Start'),
      el('span', { class: 'hint' }, " tcpdump on the node's underlay and bridge; the charts and lists fill in as packets arrive"),
    ),
    el('ul', { id: 'live-list', style: 'margin:.4em 0 0;padding-left:1.2em' }),
  );
  $('#token-box').after(panel);
  const toggle = el('button', { type: 'button', id: 'live-toggle', 'aria-pressed': 'false' }, 'Live');
  toggle.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute('aria-pressed', panel.hidden ? 'false' : 'true');
  });
  $('.tools').prepend(toggle);
}

function streamText(c: LiveEntry, iface: string): string {
  const s = c.stats[iface];
  return s
    ? `${iface} ${fmtNum(s.packets)} ` +
        `packets${s.vxlanPackets ? ` (${fmtNum(s.vxlanPackets)} VXLAN)` : ''}${c.running && s.packetsPerSec ? `, ${s.packetsPerSec}/s` : ''}`
    : `${iface} waiting`;
}

export function renderLive(): void {
  if (!state.session?.live) return;
  buildLivePanel();
  const list = $('#live-list');
  const items = [...state.live.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  if (items.some((c) => c.running)) {
    $('#live-panel').hidden = false;
    $('#live-toggle').setAttribute('aria-pressed', 'true');
  }
  list.replaceChildren(
    ...items.map((c) =>
      el(
        'li',
        { 'data-live': c.id },
        el('strong', {}, c.node),
        ' ',
        c.running
          ? el('span', { class: 'live' }, '● live')
          : el('span', { class: 'hint' }, c.ok === false || c.errors.length ? 'ended with errors' : 'stopped'),
        ` — ${c.interfaces.map((i) => streamText(c, i)).join(' · ')} `,
        c.running ? el('button', { type: 'button', class: 'live-stop', onclick: () => void stopLive(c.id) }, 'Stop') : null,
        ...c.errors.map((e) => el('div', { class: 'message error', style: 'padding:.2em .5em;margin-top:.2em' }, e)),
      ),
    ),
  );
}

async function startLive(): Promise<void> {
  if (needToken('Live capture')) return;
  const node = $<HTMLSelectElement>('#live-node').value;
  const durationBox = $<HTMLInputElement>('#live-duration');
  const dur = Number(durationBox.value);
  const body: { node: string; durationSec?: number } = { node };
  if (durationBox.value !== '' && dur > 0) body.durationSec = dur;
  const button = $<HTMLButtonElement>('#live-start');
  button.disabled = true;
  showMessage(`Starting the capture on ${node}…`, 'ok');
  try {
    const r = await api.startLive(body, state.token ?? '');
    if (r.status) mergeStatus(r.status);
    showMessage(`Capturing on ${node}: the charts and lists fill in as packets arrive.`, 'ok');
    if (!state.node || !currentNode()) state.node = node;
    await loadSession(true);
    await renderView();
  } catch (err) {
    showMessage(`Live capture on ${node} failed — ${messageOf(err)}`);
    tokenRefused(err);
  } finally {
    button.disabled = false;
  }
}

async function stopLive(id: string): Promise<void> {
  if (needToken('Stopping a live capture')) return;
  try {
    const r = await api.stopLive(id, state.token ?? '');
    if (r.status) mergeStatus(r.status);
    renderLive();
    scheduleRefresh();
  } catch (err) {
    showMessage(`Stopping failed — ${messageOf(err)}`);
    tokenRefused(err);
  }
}

/** A live capture's server-sent event. */
export function onLiveEvent<K extends LiveEventKind>(kind: K, data: ServerEvents[K]): void {
  const c: LiveEntry = state.live.get(data.id) ?? {
    id: data.id,
    node: data.node,
    interfaces: [],
    running: true,
    startedAt: '',
    errors: [],
    stats: {},
  };
  if (kind === 'live-start') {
    const d = data as ServerEvents['live-start'];
    Object.assign(c, { interfaces: d.interfaces.map((i) => i.iface), running: true });
  } else if (kind === 'live-stats') {
    const d = data as ServerEvents['live-stats'];
    c.stats = { ...c.stats, [d.iface]: d };
  } else if (kind === 'live-error') {
    const d = data as ServerEvents['live-error'];
    c.errors = [...c.errors.filter((e) => e !== d.message), d.message];
  } else if (kind === 'live-end') {
    const d = data as ServerEvents['live-end'];
    Object.assign(c, { running: false, ok: d.ok, errors: d.errors });
  }
  state.live.set(data.id, c);
  renderLive();
  if (kind === 'live-end') scheduleRefresh();
}
