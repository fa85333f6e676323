/** The message line and the token: asked for when an action needs it, forgotten when refused. */
import { isTokenError } from './api.js';
import { $ } from './dom.js';
import { state } from './state.js';

export function showMessage(text: string, kind: 'error' | 'ok' = 'error'): void {
  const m = $('#message');
  m.textContent = text;
  m.className = `message ${kind}`;
  m.hidden = !text;
}

/** The token from the address (#token=…, as `serve` prints it) goes to the tab's storage and leaves the address bar. */
export function readToken(): void {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('vxi-token', decodeURIComponent(m[1] as string));
    // keep the token off the screen (and off a projector)
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = sessionStorage.getItem('vxi-token');
}

/** Without a token, shows the box to paste it and says so: true when the action must wait. */
export function needToken(what = 'Uploading'): boolean {
  if (state.token) return false;
  $('#token-box').hidden = false;
  $<HTMLInputElement>('#token-input').focus();
  showMessage(
    `${what} needs the token printed by \`vxlan-inspect serve\` when it started: paste it above (or open the URL it printed, which carries it).`,
  );
  return true;
}

/** A refused token (code VXI_WEB_TOKEN) is forgotten, and the box to paste it shows again. */
export function tokenRefused(err: unknown): void {
  if (!isTokenError(err)) return;
  sessionStorage.removeItem('vxi-token');
  state.token = null;
  $('#token-box').hidden = false;
}

export function saveToken(v: string): void {
  sessionStorage.setItem('vxi-token', v);
  state.token = v;
}
