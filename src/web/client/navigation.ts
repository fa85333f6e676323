/**
 * Which node and view are shown: the session, the node tabs, the views, and the address bar
 * that says what is shown (view, node, packet) so a view can be bookmarked or shared.
 */
import type { Side } from '../api-types.js';
import { api, messageOf } from './api.js';
import { renderDiagnostics } from './diagnostics.js';
import { $, el } from './dom.js';
import { mergeStatus, renderLive } from './live.js';
import { loadList, renderPackets } from './packets.js';
import { renderOverview } from './overview.js';
import { renderPath } from './path.js';
import { SIDES, VIEWS, currentNode, resetLists, state, type View } from './state.js';
import { renderTopology } from './topology.js';
import { showMessage } from './ui.js';

export async function loadSession(keepNode = true): Promise<void> {
  const session = await api.session();
  state.session = session;
  const names = session.nodes.map((n) => n.name);
  if (!keepNode || state.node === null || !names.includes(state.node)) state.node = names[0] ?? null;
  const banner = $('#banner');
  banner.hidden = !session.banner;
  banner.textContent = session.banner ?? '';
  if (session.problems.length) showMessage(`Some files could not be read: ${session.problems.join('; ')}`);
  for (const c of session.liveCaptures) mergeStatus(c);
  renderNodeTabs();
  renderLive();
}

export function renderNodeTabs(): void {
  const nodes = state.session?.nodes ?? [];
  $('#nodes').replaceChildren(
    ...nodes.map((n) =>
      el(
        'button',
        {
          type: 'button',
          class: n.name === state.node ? 'active' : '',
          'data-node': n.name,
          'aria-pressed': n.name === state.node ? 'true' : 'false',
          onclick: () => void selectNode(n.name),
        },
        n.name,
      ),
    ),
  );
  $('#empty').hidden = nodes.length > 0;
}

async function selectNode(name: string): Promise<void> {
  state.node = name;
  state.selected = null;
  state.linked = null;
  resetLists();
  renderNodeTabs();
  await renderView();
}

export function writeLocation(): void {
  const p = new URLSearchParams();
  p.set('view', state.view);
  if (state.node) p.set('node', state.node);
  if (state.selected) {
    p.set('side', state.selected.side);
    p.set('n', String(state.selected.n));
  }
  history.replaceState(null, '', `${location.pathname}${location.search}#${p.toString()}`);
}

function isView(v: string | null): v is View {
  return v !== null && (VIEWS as readonly string[]).includes(v);
}

export function readLocation(): void {
  const p = new URLSearchParams(location.hash.slice(1));
  const view = p.get('view');
  if (isView(view)) state.view = view;
  const node = p.get('node');
  if (node) state.node = node;
  const side = p.get('side');
  const n = Number(p.get('n'));
  if ((side === 'underlay' || side === 'overlay') && Number.isInteger(n) && n > 0) state.selected = { side, n };
}

export async function setView(view: View): Promise<void> {
  state.view = view;
  await renderView();
}

export async function renderView(): Promise<void> {
  for (const b of document.querySelectorAll<HTMLElement>('.views button')) b.classList.toggle('active', b.dataset.view === state.view);
  for (const s of document.querySelectorAll('.view')) s.classList.toggle('active', s.id === `view-${state.view}`);
  writeLocation();
  try {
    if (state.view === 'overview') await renderOverview();
    else if (state.view === 'packets') await renderPackets();
    else if (state.view === 'path') await renderPath();
    else if (state.view === 'topology') await renderTopology();
    else await renderDiagnostics();
  } catch (err) {
    showMessage(messageOf(err));
  }
}

/** Opens packet n of a node's side in the Packets view (from a finding). */
export async function openPacket(node: string, side: Side, n: number): Promise<void> {
  state.node = node;
  renderNodeTabs();
  state.selected = { side, n };
  resetLists();
  await setView('packets');
}

/** A capture was added or grew (live): refresh at most about once a second, keeping filters and selection. */
export function scheduleRefresh(): void {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    void (async () => {
      const ids = (): string => JSON.stringify([currentNode()?.underlay?.id, currentNode()?.overlay?.id]);
      const before = ids();
      try {
        await loadSession(true);
        if (state.view === 'packets' && before === ids()) {
          for (const side of SIDES) await loadList(side);
        } else await renderView();
      } catch (err) {
        showMessage(messageOf(err));
      }
    })();
  }, 800);
}
