/**
 * The class dashboard's page (class.html): the board from GET /api/class, kept current by the
 * server-sent events of /api/class/events (each group's check as it ends), "checked N s ago"
 * ticking every second, a "check now" per group (with the token), and a click on a group opening
 * that group's own page. The figures and words are in class-data.ts.
 */
import type { ClassBoardResponse, ClassCheckNowResponse, ClassEvents, ClassGroupRow, ClassGroupViewResponse } from '../class-types.js';
import { errorOf, messageOf } from './api.js';
import {
  MARKS,
  agoText,
  applyEvent,
  groupViewUrl,
  problems,
  sinceChecked,
  skewMs,
  tally,
  vniSilent,
  vniText,
  vniTitle,
} from './class-data.js';
import { $, el, syncAttributes, syncChildren } from './dom.js';
import { state } from './state.js';
import { readToken, saveToken } from './ui.js';

interface ClassPage {
  board: ClassBoardResponse | null;
  /** The server's clock minus this one's. */
  skew: number;
  /** Events received (the browser test waits on it). */
  events: number;
}

declare global {
  interface Window {
    vxiClass: ClassPage;
  }
}

const page: ClassPage = { board: null, skew: 0, events: 0 };
window.vxiClass = page;

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(path, init);
  const text = await r.text();
  if (!r.ok) throw errorOf(r.status, r.statusText, text);
  return JSON.parse(text) as T;
}

function say(text: string, kind: 'error' | 'ok' = 'error'): void {
  const m = $('#message');
  m.textContent = text;
  m.className = `message ${kind}`;
  m.hidden = !text;
}

/**
 * A verdict cell: a symbol (with its word in the verdict column; 17 check columns must fit a projector), a colour,
 * the reason on hover and for screen readers.
 */
function mark(status: keyof typeof MARKS, detail: string, extra = ''): HTMLTableCellElement {
  const m = MARKS[status];
  const shown = extra ? `${m.symbol} ${m.word}` : m.symbol;
  return el(
    'td',
    { class: `cell ${status} ${extra}`.trim(), title: detail, 'data-status': status },
    el('span', { 'aria-hidden': 'true' }, shown),
    el('span', { class: 'sr-only' }, `${m.label}: ${detail}`),
  );
}

async function openGroup(group: string): Promise<void> {
  try {
    const v = await call<ClassGroupViewResponse>(`/api/class/groups/${encodeURIComponent(group)}/view`);
    location.assign(groupViewUrl(location, v.port, state.token));
  } catch (err) {
    say(`Cannot open group ${group}: ${messageOf(err)}`);
  }
}

async function checkNow(group: string): Promise<void> {
  let token = state.token;
  if (!token) {
    token = window.prompt('"Check now" starts SSH sessions: paste the token printed by `vxlan-inspect serve --class`')?.trim() || null;
    if (!token) return;
    saveToken(token);
  }
  try {
    const r = await call<ClassCheckNowResponse>(`/api/class/groups/${encodeURIComponent(group)}/check`, {
      method: 'POST',
      headers: { 'X-VXI-Token': token },
    });
    say(
      `${group}: ${r.state === 'running' ? 'a check is running already' : r.state === 'started' ? 'checking now' : 'first in line for a check'}`,
      'ok',
    );
  } catch (err) {
    if ((err as { code?: string }).code === 'VXI_WEB_TOKEN') {
      sessionStorage.removeItem('vxi-token');
      state.token = null;
    }
    say(`Check of ${group} refused: ${messageOf(err)}`);
  }
}

function row(g: ClassGroupRow, columns: ClassBoardResponse['columns']): HTMLTableRowElement {
  const last = g.last;
  const cells = columns.map((c) => {
    const cell = last?.cells[c.name];
    if (cell) return mark(cell.status, `${c.name}: ${cell.detail}`);
    if (last?.status === 'error') return mark('error', `${c.name}: not checked: ${last.error ?? 'the group could not be checked'}`);
    return el('td', { class: 'cell none', title: last ? `${c.name} did not run on this group` : 'not checked yet' }, '–');
  });
  const verdict = last
    ? mark(last.status, last.error ?? `${g.group} ${MARKS[last.status].label}`, 'verdict')
    : el('td', { class: 'cell none verdict', title: 'not checked yet' }, '…');
  const traffic = el(
    'td',
    { class: 'traffic' },
    g.vnis.length === 0
      ? last && last.status !== 'error'
        ? 'no VXLAN device'
        : ''
      : g.vnis.map((v, i) => [i ? el('br') : null, el('span', { title: vniTitle(v), class: vniSilent(v) ? 'silent' : null }, vniText(v))]),
  );
  return el(
    'tr',
    { 'data-group': g.group, 'data-status': last?.status ?? 'pending', class: g.checking ? 'checking' : null },
    el(
      'td',
      { class: 'g' },
      el(
        'button',
        {
          type: 'button',
          class: 'open',
          title: `${g.nodes.map((n) => `${n.name} ${n.host}`).join(', ')}: open ${g.group}'s own view (its captures, live capture)`,
          onclick: () => void openGroup(g.group),
        },
        g.group,
      ),
    ),
    verdict,
    traffic,
    el('td', { class: 'ago', 'data-group': g.group }),
    cells,
    el(
      'td',
      {},
      el(
        'button',
        { type: 'button', class: 'now', title: 'check this group now (needs the token)', onclick: () => void checkNow(g.group) },
        'check now',
      ),
    ),
  );
}

function tick(): void {
  const b = page.board;
  if (!b) return;
  const now = Date.now();
  for (const td of document.querySelectorAll<HTMLElement>('#class-grid td.ago')) {
    const g = b.groups.find((x) => x.group === td.dataset.group);
    const ms = g ? sinceChecked(g, now, page.skew) : null;
    td.textContent = ms === null ? 'not yet' : agoText(ms);
  }
}

function render(): void {
  const b = page.board;
  if (!b) return;
  $('#class-source').textContent =
    `${b.groups.length} groups of ${b.source}: each checked every ${b.refreshSec} s, at most ${b.parallel} SSH sessions at once.`;
  const t = tally(b);
  syncChildren(
    $('#class-summary'),
    [
      el('span', { class: 'n' }, `${MARKS.pass.symbol} ${t.pass + t.warn} pass`),
      el('span', { class: 'n' }, `${MARKS.fail.symbol} ${t.fail} fail`),
      t.error ? el('span', { class: 'n' }, `${MARKS.error.symbol} ${t.error} not checked`) : null,
      t.pending ? el('span', { class: 'n' }, `… ${t.pending} pending`) : null,
    ].filter((x): x is HTMLSpanElement => x !== null),
  );
  const head = el(
    'tr',
    {},
    el('th', { class: 'g', scope: 'col' }, 'group'),
    el('th', { scope: 'col' }, 'verdict'),
    el(
      'th',
      {
        scope: 'col',
        class: 'g',
        title: "packets per second through each VNI's VXLAN devices, all the group's nodes, since the previous check",
      },
      'VNI: packets/s',
    ),
    el('th', { scope: 'col', class: 'g' }, 'checked'),
    b.columns.map((c) => el('th', { scope: 'col', title: c.name }, c.short)),
    el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'actions')),
  );
  // every event redraws the board, but only what changed is replaced: a teacher's pointer resting on
  // a cell keeps its reason showing, and a click on a group's button lands on the button it aimed at
  const grid = $('#class-grid');
  syncChildren(grid, [el('thead', {}, head), el('tbody', {})], { keep: (o) => o.tagName === 'TBODY' });
  syncChildren(
    $('tbody', grid),
    b.groups.map((g) => row(g, b.columns)),
    {
      update: (old, fresh) => {
        if ((old as HTMLElement).dataset.group !== (fresh as HTMLElement).dataset.group) return false;
        syncAttributes(old, fresh);
        // "checked N s ago" is tick()'s: an empty fresh cell must not blank it between two ticks
        syncChildren(old, [...fresh.children], { keep: (o) => o.classList.contains('ago') });
        return true;
      },
    },
  );
  const names = b.columns.map((c) => c.name);
  const lines = b.groups.flatMap((g) =>
    problems(g, names).map((p) =>
      el(
        'li',
        { class: p.status, 'data-group': g.group, 'data-check': p.check },
        el('span', { class: 'w' }, `${MARKS[p.status].symbol} ${g.group} ${MARKS[p.status].word} ${p.check}`),
        p.detail,
      ),
    ),
  );
  syncChildren(
    $('#class-problems'),
    lines.length
      ? lines
      : [el('li', {}, b.groups.some((g) => g.last) ? 'every check of every group checked so far passes' : 'no group checked yet')],
  );
  tick();
}

function on<K extends keyof ClassEvents>(es: EventSource, kind: K): void {
  es.addEventListener(kind, (e) => {
    const data = JSON.parse((e as MessageEvent<string>).data) as ClassEvents[K];
    page.board = applyEvent(page.board, kind, data);
    if (page.board) page.skew = skewMs(page.board.now, Date.now());
    page.events++;
    $('#class-stream').hidden = true;
    render();
  });
}

function setLarge(on: boolean): void {
  document.body.classList.toggle('large', on);
  $('#large').setAttribute('aria-pressed', on ? 'true' : 'false');
  localStorage.setItem('vxi-class-large', on ? '1' : '0');
}

async function start(): Promise<void> {
  readToken();
  setLarge(localStorage.getItem('vxi-class-large') !== '0');
  $('#large').addEventListener('click', () => setLarge(!document.body.classList.contains('large')));
  try {
    page.board = await call<ClassBoardResponse>('/api/class');
    page.skew = skewMs(page.board.now, Date.now());
  } catch (err) {
    say(`Cannot reach the dashboard's server: ${messageOf(err)}`);
    return;
  }
  render();
  setInterval(tick, 1000);
  // EventSource reconnects by itself; each reconnection starts with `hello`, the whole board
  const es = new EventSource('/api/class/events');
  on(es, 'hello');
  on(es, 'checking');
  on(es, 'group');
  // leaving the page: the stream ends now, not when the server next writes to it
  window.addEventListener('pagehide', () => es.close());
  es.onerror = () => {
    $('#class-stream').hidden = false;
  };
  document.body.dataset.ready = '1';
}

window.addEventListener('DOMContentLoaded', () => void start());
