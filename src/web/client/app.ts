/**
 * vxlan-inspect's page: ES modules compiled from src/web/client/ (tsconfig.client.json), no
 * bundler, nothing fetched beyond this server. One module per view (overview, packets, detail,
 * topology, diagnostics, live, downloads), the API client (api.ts) and formatting apart; the
 * types of what the server answers come from src/web/api-types.ts.
 */
import type { ServerEvents } from '../api-types.js';
import { messageOf } from './api.js';
import { $ } from './dom.js';
import { LIVE_EVENTS, onLiveEvent } from './live.js';
import { loadSession, readLocation, renderView, scheduleRefresh, setView } from './navigation.js';
import { renderOverview } from './overview.js';
import { VIEWS, state, type State, type View } from './state.js';
import { readToken, saveToken, showMessage } from './ui.js';
import { upload } from './uploads.js';

declare global {
  interface Window {
    /** The page's state, for the browser tests and the curious. */
    vxi: State;
  }
}
window.vxi = state;

function setLarge(on: boolean): void {
  document.body.classList.toggle('large', on);
  $('#large').setAttribute('aria-pressed', on ? 'true' : 'false');
  localStorage.setItem('vxi-large', on ? '1' : '0');
}

async function start(): Promise<void> {
  readToken();
  readLocation();
  for (const b of document.querySelectorAll<HTMLElement>('.views button')) {
    const view = b.dataset.view;
    if (VIEWS.includes(view as View)) b.addEventListener('click', () => void setView(view as View));
  }
  $('#large').addEventListener('click', () => {
    setLarge(!document.body.classList.contains('large'));
    if (state.view === 'overview') void renderOverview();
  });
  setLarge(localStorage.getItem('vxi-large') === '1');
  const input = $<HTMLInputElement>('#upload');
  input.addEventListener('change', () => {
    void upload([...(input.files ?? [])]).then(() => {
      input.value = '';
    });
  });
  $('#token-box').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $<HTMLInputElement>('#token-input').value.trim();
    if (!v) return;
    saveToken(v);
    $('#token-box').hidden = true;
    showMessage('Token saved for this tab: upload again.', 'ok');
  });
  try {
    await loadSession(true);
  } catch (err) {
    showMessage(`Cannot reach the server: ${messageOf(err)}`);
    return;
  }
  await renderView();
  if (window.EventSource) {
    const es = new EventSource('/api/events');
    es.addEventListener('update', scheduleRefresh);
    for (const kind of LIVE_EVENTS)
      es.addEventListener(kind, (e) => onLiveEvent(kind, JSON.parse((e as MessageEvent<string>).data) as ServerEvents[typeof kind]));
    es.onerror = () => es.close();
  }
  document.body.dataset.ready = '1';
}

window.addEventListener('DOMContentLoaded', () => void start());
