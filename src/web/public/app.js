// vxlan-inspect's page: plain ES module, no bundler, no network beyond this server.
import { hexOf, layerFields, layerName, layerNote } from './layers.js';

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
};

// Okabe-Ito, in the order VNIs get them; fixed colours for the two non-VNI groups.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#F0E442', '#D55E00'];
const GROUP_COLOURS = { 'underlay (not tunnelled)': '#8a8a8a', 'stayed on the node': '#000000' };
const PAGE = 100;

const state = {
  session: null,
  node: null,
  view: 'overview',
  token: null,
  charts: {},
  lists: { underlay: { offset: 0, filter: '', total: 0, rows: [] }, overlay: { offset: 0, filter: '', total: 0, rows: [] } },
  selected: null, // { side, n }
  linked: null, // { side, n }
  live: new Map(), // id → { id, node, interfaces, running, errors, stats: { iface: live-stats } }
};
window.vxi = state; // for the browser tests and the curious

// ---------- messages, token ----------

function showMessage(text, kind = 'error') {
  const m = $('#message');
  m.textContent = text;
  m.className = `message ${kind}`;
  m.hidden = !text;
}

function readToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('vxi-token', decodeURIComponent(m[1]));
    // keep the token off the screen (and off a projector)
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = sessionStorage.getItem('vxi-token');
}

async function api(path, opts = {}) {
  const r = await fetch(path, opts);
  let body = null;
  const text = await r.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: text };
  }
  if (!r.ok) throw new Error(body?.error ?? `${r.status} ${r.statusText}`);
  return body;
}

// ---------- formatting ----------

function fmtNum(n) {
  return Number(n).toLocaleString('en-US');
}
function fmtBytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}
function fmtUs(us) {
  if (us === null || us === undefined) return '–';
  const a = Math.abs(us);
  if (a >= 1e6) return `${(us / 1e6).toFixed(3)} s`;
  if (a >= 1e3) return `${(us / 1e3).toFixed(2)} ms`;
  return `${Math.round(us * 10) / 10} µs`;
}
function sideLabel(c) {
  if (!c) return '';
  return c.role === 'underlay' ? `Underlay ${c.iface ?? ''}`.trim() : `Bridge ${c.iface ?? ''}`.trim();
}

// ---------- session, nodes, views ----------

function currentNode() {
  return state.session?.nodes.find((n) => n.name === state.node) ?? null;
}

async function loadSession(keepNode = true) {
  state.session = await api('/api/session');
  const names = state.session.nodes.map((n) => n.name);
  if (!keepNode || !names.includes(state.node)) state.node = names[0] ?? null;
  const banner = $('#banner');
  banner.hidden = !state.session.banner;
  banner.textContent = state.session.banner ?? '';
  if (state.session.problems.length) showMessage(`Some files could not be read: ${state.session.problems.join('; ')}`);
  for (const c of state.session.liveCaptures ?? []) {
    const known = state.live.get(c.id);
    state.live.set(c.id, { stats: {}, ...known, ...c, errors: c.errors });
  }
  renderNodeTabs();
  renderLive();
}

function renderNodeTabs() {
  const nav = $('#nodes');
  nav.replaceChildren(...state.session.nodes.map((n) => el('button', {
    type: 'button', class: n.name === state.node ? 'active' : '', 'data-node': n.name, 'aria-pressed': n.name === state.node ? 'true' : 'false',
    onclick: () => selectNode(n.name),
  }, n.name)));
  $('#empty').hidden = state.session.nodes.length > 0;
}

async function selectNode(name) {
  state.node = name;
  state.selected = null;
  state.linked = null;
  for (const s of ['underlay', 'overlay']) Object.assign(state.lists[s], { offset: 0, filter: '' });
  renderNodeTabs();
  await renderView();
}

/** The address bar says what is shown (view, node, packet), so a view can be bookmarked or shared. */
function writeLocation() {
  const p = new URLSearchParams();
  p.set('view', state.view);
  if (state.node) p.set('node', state.node);
  if (state.selected) {
    p.set('side', state.selected.side);
    p.set('n', String(state.selected.n));
  }
  history.replaceState(null, '', `${location.pathname}${location.search}#${p.toString()}`);
}

function readLocation() {
  const p = new URLSearchParams(location.hash.slice(1));
  const view = p.get('view');
  if (view && ['overview', 'packets', 'topology', 'diagnostics'].includes(view)) state.view = view;
  if (p.get('node')) state.node = p.get('node');
  const side = p.get('side');
  const n = Number(p.get('n'));
  if ((side === 'underlay' || side === 'overlay') && Number.isInteger(n) && n > 0) state.selected = { side, n };
}

async function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll('.views button')) b.classList.toggle('active', b.dataset.view === view);
  for (const s of document.querySelectorAll('.view')) s.classList.toggle('active', s.id === `view-${view}`);
  await renderView();
}

async function renderView() {
  for (const b of document.querySelectorAll('.views button')) b.classList.toggle('active', b.dataset.view === state.view);
  for (const sct of document.querySelectorAll('.view')) sct.classList.toggle('active', sct.id === `view-${state.view}`);
  writeLocation();
  try {
    if (state.view === 'overview') await renderOverview();
    else if (state.view === 'packets') await renderPackets();
    else if (state.view === 'topology') await renderTopology();
    else if (state.view === 'diagnostics') await renderDiagnostics();
  } catch (err) {
    showMessage(err.message);
  }
}

// ---------- overview ----------

function card(cls, value, label, small) {
  return el('div', { class: `card ${cls}` }, el('div', { class: 'v' }, value), el('div', { class: 'k' }, label), small ? el('div', { class: 'small' }, small) : null);
}

async function renderOverview() {
  const node = currentNode();
  const cards = $('#cards');
  if (!node) {
    cards.replaceChildren();
    for (const c of Object.values(state.charts)) c.destroy();
    state.charts = {};
    return;
  }
  const a = node.analysis;
  const u = node.underlay;
  const o = node.overlay;
  const list = [];
  // every number on this screen comes from the node's one analysis (a.*), read at the same moment
  if (u) list.push(card('under', fmtNum(u.packets), `${sideLabel(u)} packets`, `${fmtNum(a ? a.vxlanPackets : u.tunnelled)} VXLAN · ${fmtBytes(u.bytes)} · ${u.name}`));
  if (o) list.push(card('over', fmtNum(o.packets), `${sideLabel(o)} frames`, `${fmtBytes(o.bytes)} · ${o.name}`));
  if (a && u && o) {
    list.push(card('matched', fmtNum(a.matched), 'matched', `${fmtNum(a.encapsulated)} encapsulated (bridge → ${u.iface ?? 'underlay'}), ${fmtNum(a.decapsulated)} decapsulated`));
    list.push(card('under', fmtNum(a.underlayOnly), 'VXLAN packets only on the underlay', `${fmtNum(a.underlayNotTunnelled)} underlay packets are not VXLAN`));
    list.push(card('over', fmtNum(a.overlayOnly), 'bridge frames only on the bridge', a.floodedFrames ? `${fmtNum(a.floodedFrames)} flooded to several VTEPs` : 'never left the node'));
    // nothing matched: "–", never "0 µs"
    list.push(a.latencyUs
      ? card('', fmtUs(a.latencyUs.p50), 'bridge ↔ underlay, median', `p99 ${fmtUs(a.latencyUs.p99)} · max ${fmtUs(a.latencyUs.max)}`)
      : card('', '–', 'bridge ↔ underlay, median', a.disjoint ? 'the two captures do not overlap in time' : 'no frame matched'));
  }
  if (a && u) {
    list.push(a.overhead
      ? card('ovh', `${a.overhead.perPacket} B`, 'encapsulation overhead per packet', `outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 = 50 · ${a.overhead.percent}% of the underlay's tunnelled bytes`)
      : card('ovh', '–', 'encapsulation overhead per packet', 'no tunnelled packet on the underlay'));
  }
  cards.replaceChildren(...list);
  $('#u-title').textContent = u ? `${sideLabel(u)} — ${u.name}` : 'Underlay: no capture';
  $('#o-title').textContent = o ? `${sideLabel(o)} — ${o.name}` : 'Bridge: no capture';

  const series = await api(`/api/nodes/${encodeURIComponent(node.name)}/series`);
  drawCharts(series);
  renderTables(a);
  renderDownloads(node);
}

function groupColour(label, order) {
  if (GROUP_COLOURS[label]) return GROUP_COLOURS[label];
  const i = order.indexOf(label);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

function drawCharts(series) {
  const Chart = window.Chart;
  if (!Chart) {
    showMessage('chart.js did not load (/vendor/chart.umd.js): the charts are missing');
    return;
  }
  const labels = [];
  for (let b = 0; b < series.bins; b++) labels.push(((b * series.binUs) / 1e6).toFixed(series.binUs < 1e5 ? 2 : series.binUs < 1e6 ? 1 : 0));
  // a tick every round number of seconds (0.2 s, 0.5 s, 1 s, 10 s…): about ten of them
  const spanUs = series.bins * series.binUs;
  let tickBins = 1;
  for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) {
    tickBins = m;
    if (spanUs / (m * series.binUs) <= 12) break;
  }
  const vniLabels = new Set();
  for (const side of Object.values(series.sides)) for (const g of Object.keys(side.groups)) if (g.startsWith('VNI')) vniLabels.add(g);
  const order = [...vniLabels].sort((x, y) => Number(x.slice(4)) - Number(y.slice(4)));
  const t0 = new Date(series.t0Us / 1000).toISOString().slice(11, 19);
  const big = document.body.classList.contains('large');
  const make = (id, side, metric, yTitle) => {
    const canvas = document.getElementById(id);
    const groups = series.sides[side]?.groups ?? {};
    const datasets = Object.entries(groups)
      .sort(([x], [y]) => (GROUP_COLOURS[x] ? 1 : 0) - (GROUP_COLOURS[y] ? 1 : 0) || x.localeCompare(y))
      .map(([label, g]) => ({ label, data: g[metric].map((v) => Math.round(v * 10) / 10), backgroundColor: groupColour(label, order), borderWidth: 0, barPercentage: 1, categoryPercentage: 1 }));
    state.charts[id]?.destroy();
    state.charts[id] = new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { position: 'bottom', labels: { font: { size: big ? 18 : 13 } } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${metric === 'bytesPerSec' ? `${fmtBytes(c.parsed.y)}/s` : `${c.parsed.y} packets/s`}` } },
        },
        scales: {
          x: { stacked: true, title: { display: true, text: `seconds since ${t0} UTC (bins of ${fmtUs(series.binUs)})`, font: { size: big ? 16 : 12 } }, ticks: { autoSkip: false, maxRotation: 0, font: { size: big ? 16 : 12 }, callback: (_v, i) => (i % tickBins === 0 ? labels[i] : '') }, grid: { color: (c) => (c.index % tickBins === 0 ? '#ddd' : 'transparent') } },
          // the same y-axis width everywhere, so the four charts' time axes line up
          y: { stacked: true, beginAtZero: true, afterFit: (scale) => { scale.width = big ? 110 : 80; }, title: { display: true, text: yTitle, font: { size: big ? 16 : 12 } }, ticks: { font: { size: big ? 16 : 12 }, callback: (v) => (metric === 'bytesPerSec' ? fmtBytes(v) : v) } },
        },
      },
    });
  };
  for (const id of ['chart-u-pps', 'chart-u-bps', 'chart-o-pps', 'chart-o-bps']) document.getElementById(id).parentElement.style.height = big ? '17em' : '13em';
  make('chart-u-pps', 'underlay', 'packetsPerSec', 'packets/s');
  make('chart-u-bps', 'underlay', 'bytesPerSec', 'bytes/s');
  make('chart-o-pps', 'overlay', 'packetsPerSec', 'packets/s');
  make('chart-o-bps', 'overlay', 'bytesPerSec', 'bytes/s');
  // both sides on the same y scale, so heights compare
  for (const [a, b] of [['chart-u-pps', 'chart-o-pps'], ['chart-u-bps', 'chart-o-bps']]) {
    const ca = state.charts[a];
    const cb = state.charts[b];
    const max = Math.max(ca.scales.y.max, cb.scales.y.max);
    ca.options.scales.y.max = max;
    cb.options.scales.y.max = max;
    ca.update();
    cb.update();
  }
}

function renderTables(a) {
  const vt = $('#vni-table');
  const pt = $('#pair-table');
  if (!a) {
    vt.replaceChildren();
    pt.replaceChildren();
    return;
  }
  vt.replaceChildren(
    el('tr', {}, el('th', {}, 'VNI'), el('th', { class: 'num' }, 'VXLAN packets'), el('th', { class: 'num' }, 'bytes'), el('th', { class: 'num' }, 'matched'), el('th', { class: 'num' }, 'underlay only')),
    ...Object.entries(a.byVni).map(([vni, r]) => el('tr', {}, el('td', {}, vni), el('td', { class: 'num' }, fmtNum(r.packets)), el('td', { class: 'num' }, fmtBytes(r.bytes)), el('td', { class: 'num' }, fmtNum(r.matched)), el('td', { class: 'num' }, fmtNum(r.underlayOnly)))),
  );
  pt.replaceChildren(
    el('tr', {}, el('th', {}, 'source VTEP'), el('th', {}, 'destination VTEP'), el('th', {}, 'VNI'), el('th', { class: 'num' }, 'packets'), el('th', { class: 'num' }, 'matched')),
    ...a.byVtepPair.map((r) => el('tr', {}, el('td', {}, r.src), el('td', {}, r.dst), el('td', {}, String(r.vni)), el('td', { class: 'num' }, fmtNum(r.packets)), el('td', { class: 'num' }, fmtNum(r.matched)))),
  );
}

function renderDownloads(node) {
  const d = $('#downloads');
  const links = [];
  for (const c of [node.underlay, node.overlay]) {
    if (!c) continue;
    links.push(el('a', { href: `/api/captures/${c.id}/file`, download: c.name }, `${c.name}`));
    if (c.tunnelled > 0) links.push(el('a', { href: `/api/captures/${c.id}/inner.pcap`, download: '' }, `${c.name}: inner frames only (decapsulated)`));
    links.push(el('a', { href: `/api/captures/${c.id}/packets.ndjson`, download: '' }, `${c.name} decoded (JSON lines)`));
  }
  links.push(el('a', { href: `/api/nodes/${encodeURIComponent(node.name)}/report.json`, download: '' }, `${node.name} report (JSON)`));
  d.replaceChildren(el('strong', {}, 'Downloads:'), ...links);
}

// ---------- packet lists ----------

function filterText(side) {
  const box = $(`#list-${side} .filters`);
  if (!box) return '';
  const parts = [];
  const vni = $('input.vni', box).value.trim();
  const mac = $('input.mac', box).value.trim();
  const ip = $('input.ip', box).value.trim();
  const proto = $('select.proto', box).value;
  const extra = $('input.extra', box).value.trim();
  if (vni) parts.push(`vni=${vni}`);
  if (mac) parts.push(`mac=${mac}`);
  if (ip) parts.push(`ip=${ip}`);
  if (proto) parts.push(proto.includes('=') || proto === 'matched' || proto === 'unmatched' ? proto : `proto=${proto}`);
  if (extra) parts.push(extra);
  return parts.join(' ');
}

function buildList(side, capture) {
  const root = $(`#list-${side}`);
  const apply = async () => {
    state.lists[side].filter = filterText(side);
    state.lists[side].offset = 0;
    await loadList(side);
  };
  const onKey = (e) => {
    if (e.key === 'Enter') apply();
  };
  root.replaceChildren(
    el('h2', {}, capture ? `${sideLabel(capture)} — ${capture.name}` : `${side === 'underlay' ? 'Underlay' : 'Bridge'}: no capture for this node`, capture?.live ? el('span', { class: 'live' }, ' ● live') : null),
    capture ? el('div', { class: 'filters' },
      el('input', { class: 'vni', placeholder: 'VNI', 'aria-label': 'VNI', inputmode: 'numeric', onkeydown: onKey }),
      el('input', { class: 'mac', placeholder: 'MAC', 'aria-label': 'MAC address', onkeydown: onKey }),
      el('input', { class: 'ip', placeholder: 'IPv4', 'aria-label': 'IP address', onkeydown: onKey }),
      el('select', { class: 'proto', 'aria-label': 'Protocol', onchange: apply },
        ...[['', 'any protocol'], ['vxlan', 'VXLAN'], ['arp', 'ARP'], ['icmp', 'ICMP'], ['icmpv6', 'ICMPv6'], ['tcp', 'TCP'], ['udp', 'UDP'], ['matched', 'matched'], ['unmatched', 'unmatched']].map(([v, t]) => el('option', { value: v }, t))),
      el('input', { class: 'extra', placeholder: 'more: flood, unmatched…', 'aria-label': 'Other filter terms', title: state.session?.filterHelp ?? '', onkeydown: onKey }),
      el('button', { type: 'button', onclick: apply }, 'Filter'),
      el('button', { type: 'button', onclick: () => { for (const i of root.querySelectorAll('.filters input')) i.value = ''; $('select.proto', root).value = ''; apply(); } }, 'Clear'),
    ) : null,
    capture ? el('div', { class: 'table-wrap' }, el('table', { class: 'packets' },
      el('thead', {}, el('tr', {}, el('th', {}, 'No.'), el('th', {}, 'Time'), el('th', {}, 'Len'), el('th', {}, 'VNI'), el('th', {}, 'Summary'), el('th', { title: 'the same frame on the other side' }, '⇄'))),
      el('tbody', {}))) : null,
    capture ? el('div', { class: 'pager' },
      el('button', { type: 'button', class: 'prev', onclick: () => page(side, -1) }, '◀ previous'),
      el('span', { class: 'range' }),
      el('button', { type: 'button', class: 'next', onclick: () => page(side, 1) }, 'next ▶'),
      el('input', { class: 'goto', placeholder: 'go to #', 'aria-label': 'Go to packet number', inputmode: 'numeric', size: 7, onkeydown: (e) => { if (e.key === 'Enter') goTo(side, e.target.value); } })) : null,
  );
}

async function goTo(side, text) {
  const n = Number(String(text).trim().replace(/^#/, ''));
  const capture = currentNode()?.[side];
  if (!capture) return;
  if (!Number.isInteger(n) || n < 1 || n > capture.packets) {
    showMessage(`There is no packet ${text} in ${capture.name}: it has ${fmtNum(capture.packets)} packets.`);
    return;
  }
  const l = state.lists[side];
  const pos = await api(`/api/captures/${capture.id}/position/${n}?filter=${encodeURIComponent(l.filter)}`);
  if (pos.position === null) {
    showMessage(`Packet ${n} is hidden by the filter “${l.filter}”: clear it to see it.`);
    return;
  }
  showMessage('');
  await revealInList(side, n);
  await selectPacket(side, n);
}

async function page(side, dir) {
  const l = state.lists[side];
  const next = l.offset + dir * PAGE;
  if (next < 0 || next >= l.total) return;
  l.offset = next;
  await loadList(side);
}

async function loadList(side) {
  const node = currentNode();
  const capture = node?.[side];
  if (!capture) return;
  const l = state.lists[side];
  let pageData;
  try {
    pageData = await api(`/api/captures/${capture.id}/packets?offset=${l.offset}&limit=${PAGE}&filter=${encodeURIComponent(l.filter)}`);
  } catch (err) {
    showMessage(err.message);
    return;
  }
  l.total = pageData.total;
  l.rows = pageData.rows;
  const root = $(`#list-${side}`);
  const tbody = $('tbody', root);
  tbody.replaceChildren(...pageData.rows.map((r) => {
    const tr = el('tr', { 'data-n': r.n, tabindex: 0, onclick: () => selectPacket(side, r.n), onkeydown: (e) => rowKey(e, side, r.n) },
      el('td', {}, String(r.n)), el('td', { class: 'mono' }, r.time), el('td', {}, String(r.len)), el('td', {}, r.vni === null ? '' : String(r.vni)),
      el('td', { class: 'sum' }, r.summary, r.flags.length ? el('span', { class: 'flag' }, ` [${r.flags.join(', ')}]`) : null),
      el('td', { class: 'm', title: r.match ? `#${r.match} on the other side` : 'not seen on the other side' }, r.match ? `#${r.match}` : ''));
    return tr;
  }));
  $('.range', root).textContent = pageData.total ? `${fmtNum(l.offset + 1)}–${fmtNum(l.offset + pageData.rows.length)} of ${fmtNum(pageData.total)}${l.filter ? ` (filtered from ${fmtNum(pageData.all)})` : ''}` : `no packet matches${l.filter ? ` “${l.filter}”` : ''}`;
  markRows();
}

/** Keyboard like Wireshark's list: arrows move (and show) the selection, Enter shows the focused row. */
async function rowKey(e, side, n) {
  const tr = e.currentTarget;
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    await selectPacket(side, n);
    return;
  }
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  e.preventDefault();
  let next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
  if (!next) {
    const l = state.lists[side];
    const dir = e.key === 'ArrowDown' ? 1 : -1;
    if (l.offset + dir * PAGE < 0 || l.offset + dir * PAGE >= l.total) return;
    await page(side, dir);
    const rows = document.querySelectorAll(`#list-${side} tbody tr`);
    next = dir > 0 ? rows[0] : rows[rows.length - 1];
  }
  if (!next) return;
  next.focus();
  await selectPacket(side, Number(next.dataset.n));
}

function markRows() {
  for (const side of ['underlay', 'overlay']) {
    for (const tr of document.querySelectorAll(`#list-${side} tbody tr`)) {
      const n = Number(tr.dataset.n);
      tr.classList.toggle('selected', state.selected?.side === side && state.selected.n === n);
      tr.classList.toggle('linked', state.linked?.side === side && state.linked.n === n);
      if (state.scrollTo?.side === side && state.scrollTo.n === n) {
        // scroll the list only, not the page
        const wrap = tr.closest('.table-wrap');
        if (wrap) wrap.scrollTop = Math.max(0, tr.offsetTop - wrap.clientHeight / 2 + tr.offsetHeight / 2);
        state.scrollTo = null;
      }
    }
  }
}

async function renderPackets() {
  const node = currentNode();
  for (const side of ['underlay', 'overlay']) {
    buildList(side, node?.[side] ?? null);
    await loadList(side);
  }
  if (state.selected) {
    const { side, n } = state.selected;
    await revealInList(side, n);
    await selectPacket(side, n);
  }
}

/** Shows packet n of a side, and the same frame on the other side (scrolled into view, highlighted). */
async function selectPacket(side, n) {
  const node = currentNode();
  const capture = node?.[side];
  if (!capture) return;
  state.selected = { side, n };
  // Last selection wins: with two quick arrow presses two requests are in flight, and the
  // answer for the older one must not overwrite the newer one's detail.
  const seq = (state.selectSeq = (state.selectSeq ?? 0) + 1);
  let d;
  try {
    d = await api(`/api/captures/${capture.id}/packets/${n}`);
  } catch (err) {
    if (seq === state.selectSeq) showMessage(err.message);
    return;
  }
  if (seq !== state.selectSeq) return;
  const other = side === 'underlay' ? 'overlay' : 'underlay';
  state.linked = d.match ? { side: other, n: d.match.n } : null;
  writeLocation();
  renderDetail($('#detail-main'), d, side, d.match, d.unmatched);
  if (d.match) renderDetail($('#detail-match'), d.match, other, null, null, d);
  state.mirror = null;
  if (d.match) {
    const under = side === 'underlay' ? d : d.match;
    const inner = under.packet.layers.find((l) => (l.depth ?? 0) === 1);
    if (inner) state.mirror = { bridge: side === 'overlay' ? $('#detail-main') : $('#detail-match'), underlay: side === 'underlay' ? $('#detail-main') : $('#detail-match'), shift: inner.offset };
  }
  else $('#detail-match').replaceChildren(el('p', { class: 'hint' }, side === 'overlay' ? 'No underlay packet carried this frame.' : 'No bridge frame matches this packet.'));
  if (d.match) await revealInList(other, d.match.n);
  if (seq !== state.selectSeq) return;
  markRows();
}

async function revealInList(side, n) {
  const l = state.lists[side];
  const capture = currentNode()?.[side];
  if (!capture) return;
  let pos;
  try {
    pos = await api(`/api/captures/${capture.id}/position/${n}?filter=${encodeURIComponent(l.filter)}`);
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

// ---------- packet detail ----------

function bytesOf(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function renderDetail(root, d, side, match, unmatched, fromPacket) {
  const bytes = bytesOf(d.hex);
  const layers = d.packet.layers;
  const tunnelled = layers.some((l) => l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe');
  const last = layers[layers.length - 1];
  const payloadStart = last ? last.offset + last.length : 0;
  const segments = layers.map((l, i) => ({ l, i, from: l.offset, to: l.offset + l.length - 1 }));
  if (payloadStart < bytes.length) segments.push({ l: { type: 'payload', offset: payloadStart, length: bytes.length - payloadStart, depth: last ? last.depth ?? 0 : 0 }, i: layers.length, from: payloadStart, to: bytes.length - 1 });

  const what = side === 'overlay' ? 'Bridge frame' : 'Underlay packet';
  const head = el('h3', {}, `${what} #${d.n}`, el('span', { class: 'hint' }, ` · ${d.capture.name} · ${d.time} · ${d.packet.len} bytes${d.packet.caplen < d.packet.len ? ` (${d.packet.caplen} captured)` : ''}`));
  const parts = [head, el('div', { class: 'mono' }, d.summary)];
  if (match) {
    const dir = match.direction === 'encap' ? 'encapsulated' : 'decapsulated';
    // the direction is the correlator's (from the node's VTEP); the time only says how far apart
    const gap = Math.abs(match.deltaUs);
    const same = gap < 0.5;
    const when = side === 'overlay'
      ? (match.direction === 'encap' ? (same ? 'sent on the underlay in the same microsecond' : `sent on the underlay ${fmtUs(gap)} later`) : (same ? 'arrived on the underlay in the same microsecond' : `arrived on the underlay ${fmtUs(gap)} earlier`))
      : (match.direction === 'encap' ? (same ? 'left the bridge in the same microsecond' : `left the bridge ${fmtUs(gap)} earlier`) : (same ? 'reached the bridge in the same microsecond' : `reached the bridge ${fmtUs(gap)} later`));
    parts.push(el('div', { class: 'link-line' }, side === 'overlay' ? `Carried on the underlay by packet #${match.n} (${dir}: ${when}).` : `This is bridge frame #${match.n}, ${dir} (${when}).`));
  } else if (unmatched) {
    parts.push(el('div', { class: 'nolink' }, `Not seen on the other side: ${unmatched}`));
  }
  if (d.copies?.length > 1) {
    parts.push(el('div', { class: 'link-line flood' }, `Flooded: one copy per remote VTEP (head-end replication) — `,
      ...d.copies.map((c, i) => [i ? ', ' : '', el('a', { href: '#', onclick: (e) => { e.preventDefault(); selectPacket('underlay', c.n); } }, `#${c.n}`), ` to ${c.vtep}`])));
  }
  if (fromPacket) parts.push(el('div', { class: 'hint' }, side === 'underlay' ? `The underlay packet that carried bridge frame #${fromPacket.n}: the same bytes, wrapped in 50 more.` : `The bridge frame inside underlay packet #${fromPacket.n}.`));
  if (tunnelled) {
    const inner = layers.find((l) => l.depth === 1);
    if (inner) parts.push(el('div', { class: 'overhead' }, `Encapsulation: ${inner.offset} bytes of outer headers around a ${bytes.length - inner.offset}-byte inner frame.`));
  }
  // the layer bar
  const total = Math.max(1, bytes.length);
  const bar = el('div', { class: 'layerbar', role: 'list', 'aria-label': 'layers and their bytes' });
  for (const s of segments) {
    const len = s.to - s.from + 1;
    const seg = el('div', {
      class: `seg c-${s.l.type}${s.l.depth > 0 ? ' inner' : ''}`, role: 'listitem', 'data-layer': s.i,
      style: `flex: ${Math.max(len, total * 0.045)} 1 0`,
      title: `${layerName(s.l)}${s.l.depth > 0 ? ' (inner)' : ''}: bytes ${s.from}–${s.to} (${len})`,
    }, el('strong', {}, `${s.l.depth > 0 ? 'inner ' : ''}${layerName(s.l)}`), ` ${len}`, el('span', { class: 'off' }, `@${s.from}`));
    seg.addEventListener('mouseenter', () => highlight(root, s.from, s.to, s.i));
    seg.addEventListener('mouseleave', () => highlight(root, -1, -1));
    bar.append(seg);
  }
  parts.push(bar);
  // fields per layer
  layers.forEach((l, i) => {
    const ctx = { bytes, tunnelled, outer: tunnelled && !l.depth, next: layers[i + 1] };
    const fields = layerFields(l, ctx);
    const note = layerNote(l, ctx);
    const det = el('details', { class: 'layer', open: l.type === 'vxlan' || (!tunnelled && i === layers.length - 1) || (!l.depth && i === 0 && !tunnelled) ? true : undefined, 'data-layer': i },
      el('summary', {}, el('span', { class: `sw c-${l.type}` }), `${l.depth > 0 ? 'Inner ' : tunnelled ? 'Outer ' : ''}${layerName(l)}`, el('span', { class: 'hint' }, ` — bytes ${l.offset}–${l.offset + l.length - 1} (${l.length})${describeLayer(l)}`)),
      note ? el('p', { class: 'hint' }, note) : null,
      el('table', { class: 'fields' }, ...fields.map((fd) => {
        const tr = el('tr', {}, el('td', { class: 'bytes' }, fd.from === fd.to ? `${fd.from}` : `${fd.from}–${fd.to}`), el('td', {}, fd.name), el('td', { class: 'val' }, fd.value), el('td', { class: 'ex' }, fd.explain),
          el('td', { class: 'bytes mono' }, fd.to - fd.from < 6 ? hexOf(bytes, fd.from, fd.to).slice(2).replace(/(..)/g, '$1 ').trim() : ''));
        tr.addEventListener('mouseenter', () => highlight(root, fd.from, fd.to, i));
        tr.addEventListener('mouseleave', () => highlight(root, -1, -1));
        return tr;
      })));
    det.querySelector('summary').addEventListener('mouseenter', () => highlight(root, l.offset, l.offset + l.length - 1, i));
    det.querySelector('summary').addEventListener('mouseleave', () => highlight(root, -1, -1));
    parts.push(det);
  });
  if (d.packet.warnings) parts.push(el('p', { class: 'nolink' }, `Warnings: ${d.packet.warnings.join('; ')}`));
  if (d.packet.error) parts.push(el('p', { class: 'nolink' }, `Malformed ${d.packet.error.layer} at byte ${d.packet.error.offset}: ${d.packet.error.message}`));
  if (d.packet.truncated) parts.push(el('p', { class: 'nolink' }, 'Cut short by the capture\'s snaplen (not an error): capture with tcpdump -s 0 to see it all.'));
  parts.push(hexDump(bytes, segments));
  parts.push(el('p', { class: 'legend' }, 'Hover a layer or a field to see its bytes. Colours: Ethernet orange, IP sky blue, UDP/TCP green, VXLAN purple, ARP/ICMP yellow; inner layers striped.'));
  root.replaceChildren(...parts);
  root.dataset.side = side;
  root.dataset.n = d.n;
}

function describeLayer(l) {
  if (l.type === 'vxlan') return ` · VNI ${l.vni}`;
  if (l.type === 'ipv4' || l.type === 'ipv6') return ` · ${l.src} → ${l.dst}`;
  if (l.type === 'udp' || l.type === 'tcp') return ` · port ${l.srcPort} → ${l.dstPort}`;
  if (l.type === 'eth') return ` · ${l.src} → ${l.dst}`;
  return '';
}

function hexDump(bytes, segments) {
  const layerOf = new Int16Array(bytes.length).fill(-1);
  const typeOf = [];
  for (const s of segments) {
    for (let i = s.from; i <= s.to && i < bytes.length; i++) layerOf[i] = s.i;
    typeOf[s.i] = `c-${s.l.type}${s.l.depth > 0 ? ' inner' : ''}`;
  }
  const box = el('div', { class: 'hex', 'aria-label': 'bytes in hexadecimal, coloured by layer' });
  for (let row = 0; row < bytes.length; row += 16) {
    const line = el('div', { class: 'row' }, el('span', { class: 'ofs' }, row.toString(16).padStart(4, '0')));
    let ascii = '';
    for (let i = row; i < row + 16; i++) {
      if (i < bytes.length) {
        const li = layerOf[i];
        line.append(el('span', { class: `b ${li >= 0 ? typeOf[li] : ''}`, 'data-i': i, 'data-layer': li }, bytes[i].toString(16).padStart(2, '0')));
        ascii += bytes[i] >= 32 && bytes[i] < 127 ? String.fromCharCode(bytes[i]) : '.';
      } else line.append(el('span', { class: 'b' }, '  '));
      if (i % 16 === 7) line.append(' ');
    }
    line.append(el('span', { class: 'asc' }, ascii));
    box.append(line);
  }
  return box;
}

function markBytes(root, from, to) {
  for (const b of root.querySelectorAll('.hex .b[data-i]')) {
    const i = Number(b.dataset.i);
    const on = from >= 0 && i >= from && i <= to;
    b.classList.toggle('hl', on);
    b.classList.toggle('dim', from >= 0 && !on);
  }
}

/**
 * Highlights bytes from..to of one panel, and the same bytes in the other panel: the bridge
 * frame is the underlay packet's inner frame, `shift` bytes (the outer headers) further on.
 */
function highlight(root, from, to, layer) {
  markBytes(root, from, to);
  for (const s of root.querySelectorAll('.layerbar .seg')) s.classList.toggle('hot', layer !== undefined && from >= 0 && Number(s.dataset.layer) === layer);
  const m = state.mirror;
  if (!m) return;
  const other = root === m.bridge ? m.underlay : root === m.underlay ? m.bridge : null;
  if (!other) return;
  if (from < 0) {
    markBytes(other, -1, -1);
    other.querySelector('.mirror-note')?.remove();
    return;
  }
  const shift = root === m.bridge ? m.shift : -m.shift;
  const a = Math.max(0, from + shift);
  const b = to + shift;
  if (b < a || (root === m.underlay && to < m.shift)) {
    markBytes(other, -1, -1);
    return;
  }
  markBytes(other, a, b);
  let note = other.querySelector('.mirror-note');
  if (!note) {
    note = el('div', { class: 'mirror-note' });
    other.querySelector('.hex')?.before(note);
  }
  note.textContent = root === m.bridge
    ? `The same bytes here: ${a}–${b}, after the ${m.shift} bytes of outer headers.`
    : `The same bytes in the bridge frame: ${a}–${b} (here they sit ${m.shift} bytes further, after the outer headers).`;
}

// ---------- topology ----------

async function renderTopology() {
  const t = await api('/api/topology');
  const box = $('#topology');
  if (t.vteps.length === 0) {
    box.replaceChildren(el('p', { class: 'hint' }, 'No VXLAN traffic in the underlay captures: no VTEP to show.'));
    return;
  }
  const names = t.localOf ?? {};
  const vnis = [...new Set(t.vteps.flatMap((v) => v.vnis.map((r) => r.vni)))].sort((a, b) => a - b);
  const ports = [...new Set(t.vteps.flatMap((v) => v.ports))];
  const cols = `repeat(${t.vteps.length}, minmax(16em, 1fr))`;
  box.replaceChildren(
    el('div', { class: 'topo-grid', style: `grid-template-columns: ${cols}` },
      ...t.vteps.map((v) => el('div', { class: 'node-head' }, names[v.ip] ? el('span', { class: 'node-name' }, names[v.ip]) : el('span', { class: 'node-name unknown' }, v.seenBy.length ? `seen in ${v.seenBy.join(', ')}'s capture (whose VTEP it is needs the bridge capture)` : 'not captured'))),
      ...t.vteps.map((v) => el('div', { class: 'vtep' }, el('h3', {}, 'VTEP ', el('span', { class: 'mono' }, v.ip)), el('div', { class: 'hint' }, `sends to ${v.peers.join(', ')} · UDP ${v.ports.join(', ')}`))),
      el('div', { class: 'tunnel', style: `grid-column: 1 / span ${t.vteps.length}` },
        el('span', {}, `underlay ⇄ VXLAN tunnels: UDP ${ports.join(', ')} · VNI ${vnis.join(', ')} · every frame wrapped in 50 bytes (outer Ethernet, IPv4, UDP, VXLAN)`)),
      ...t.vteps.map((v) => el('div', { class: 'behind' }, ...v.vnis.map((r) => el('div', { class: 'vni-box' },
        el('h4', {}, `VNI ${r.vni}`, el('span', { class: 'hint' }, ` · ${fmtNum(r.packets)} packets, ${fmtBytes(r.bytes)} sent`)),
        r.hosts.length
          ? el('table', { class: 'grid hosts' }, el('tr', {}, el('th', {}, 'inner MAC'), el('th', {}, 'IPv4')), ...r.hosts.map((h) => el('tr', {}, el('td', { class: 'mono' }, h.mac), el('td', { class: 'mono' }, h.ips.join(', ') || '—'))))
          : el('p', { class: 'hint' }, 'no unicast source seen'))))),
    ),
    el('p', { class: 'hint' }, 'Read it as the forwarding table (bridge fdb) that traffic taught each VTEP: a frame for one of these MACs is sent, encapsulated, to the VTEP above it. Broadcasts (ARP requests) and unknown MACs go to every VTEP. Seen from the underlay captures of: ' + [...new Set(t.vteps.flatMap((v) => v.seenBy))].join(', ') + '.'),
  );
}

// ---------- diagnostics ----------

async function renderDiagnostics() {
  const { diagnostics } = await api('/api/diagnostics');
  const box = $('#diagnostics');
  if (diagnostics.length === 0) {
    box.replaceChildren(el('p', { class: 'hint' }, 'Nothing to report.'));
    return;
  }
  box.replaceChildren(...diagnostics.map((d) => el('div', { class: `diag ${d.severity}` },
    el('div', {}, el('span', { class: 'sev' }, d.severity), el('strong', {}, d.title), d.node ? el('span', { class: 'hint' }, ` · ${d.node}${d.side ? ` ${d.side === 'overlay' ? 'bridge' : 'underlay'}` : ''}`) : null),
    el('p', {}, d.detail),
    d.packets?.length && d.node && d.side ? el('div', { class: 'pk' }, 'Packets: ', ...d.packets.slice(0, 16).map((n) => el('button', { type: 'button', title: `open packet ${n}`, onclick: () => openPacket(d.node, d.side, n) }, `#${n}`)), d.packets.length > 16 ? ` … and ${d.packets.length - 16} more (filter the list)` : '') : null)));
}

async function openPacket(node, side, n) {
  state.node = node;
  renderNodeTabs();
  state.selected = { side, n };
  for (const s of ['underlay', 'overlay']) Object.assign(state.lists[s], { offset: 0, filter: '' });
  await setView('packets');
}

// ---------- uploads ----------

function needToken(what = 'Uploading') {
  if (state.token) return false;
  $('#token-box').hidden = false;
  $('#token-input').focus();
  showMessage(`${what} needs the token printed by \`vxlan-inspect serve\` when it started: paste it above (or open the URL it printed, which carries it).`);
  return true;
}

/** A refused token is forgotten, and the box to paste it shows again. */
function tokenRefused(err) {
  if (!/token/.test(err.message)) return;
  sessionStorage.removeItem('vxi-token');
  state.token = null;
  $('#token-box').hidden = false;
}

async function upload(files) {
  if (files.length === 0 || needToken()) return;
  const limit = state.session?.uploadLimitBytes ?? Infinity;
  const done = [];
  for (const file of files) {
    if (file.size > limit) {
      showMessage(`${file.name} is ${fmtBytes(file.size)}: uploads are limited to ${fmtBytes(limit)}. Serve large captures from disk: vxlan-inspect serve FILE…`);
      return;
    }
    showMessage(`Uploading ${file.name}…`, 'ok');
    try {
      const r = await api(`/api/captures?name=${encodeURIComponent(file.name)}`, { method: 'POST', headers: { 'X-VXI-Token': state.token, 'Content-Type': 'application/octet-stream' }, body: file });
      done.push(`${r.capture.name}: ${fmtNum(r.capture.packets)} packets (node ${r.node}, ${r.capture.role === 'underlay' ? 'underlay' : 'bridge'})`);
      state.node = r.node;
    } catch (err) {
      showMessage(`Upload failed — ${err.message}`);
      tokenRefused(err);
      return;
    }
  }
  await loadSession(true);
  renderNodeTabs();
  await renderView();
  showMessage(`Loaded ${done.join('; ')}`, 'ok');
}

// ---------- live capture ----------

/** The Live panel: start a capture on a node of the inventory, see each one's progress, stop it. */
function buildLivePanel() {
  if ($('#live-panel')) return;
  const nodes = state.session?.liveNodes ?? [];
  const panel = el('section', { id: 'live-panel', class: 'token-box', 'aria-label': 'Live capture', hidden: true },
    el('form', { id: 'live-form', onsubmit: (e) => { e.preventDefault(); void startLive(); } },
      el('strong', {}, 'Live capture '),
      el('label', {}, 'node ', el('select', { id: 'live-node' }, ...nodes.map((n) => el('option', { value: n }, n)))),
      ' ',
      el('label', {}, 'for ', el('input', { id: 'live-duration', type: 'number', min: '1', step: '1', placeholder: 'until stopped', style: 'width:9em' }), ' s'),
      ' ',
      el('button', { type: 'submit', id: 'live-start' }, 'Start'),
      el('span', { class: 'hint' }, ' tcpdump on the node\'s underlay and bridge; the charts and lists fill in as packets arrive')),
    el('ul', { id: 'live-list', style: 'margin:.4em 0 0;padding-left:1.2em' }));
  $('#token-box').after(panel);
  const toggle = el('button', { type: 'button', id: 'live-toggle', 'aria-pressed': 'false', onclick: () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute('aria-pressed', panel.hidden ? 'false' : 'true');
  } }, 'Live');
  $('.tools').prepend(toggle);
}

function renderLive() {
  if (!state.session?.live) return;
  buildLivePanel();
  const list = $('#live-list');
  const items = [...state.live.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  if (items.some((c) => c.running)) {
    $('#live-panel').hidden = false;
    $('#live-toggle').setAttribute('aria-pressed', 'true');
  }
  list.replaceChildren(...items.map((c) => {
    const streams = (c.interfaces ?? []).map((i) => {
      const s = c.stats?.[i];
      return s ? `${i} ${fmtNum(s.packets)} packets${s.vxlanPackets ? ` (${fmtNum(s.vxlanPackets)} VXLAN)` : ''}${c.running && s.packetsPerSec ? `, ${s.packetsPerSec}/s` : ''}` : `${i} waiting`;
    });
    return el('li', { 'data-live': c.id },
      el('strong', {}, c.node), ' ',
      c.running ? el('span', { class: 'live' }, '● live') : el('span', { class: 'hint' }, c.ok === false || c.errors?.length ? 'ended with errors' : 'stopped'),
      ` — ${streams.join(' · ')} `,
      c.running ? el('button', { type: 'button', class: 'live-stop', onclick: () => stopLive(c.id) }, 'Stop') : null,
      ...(c.errors ?? []).map((e) => el('div', { class: 'message error', style: 'padding:.2em .5em;margin-top:.2em' }, e)));
  }));
}

async function startLive() {
  if (needToken('Live capture')) return;
  const node = $('#live-node').value;
  const dur = Number($('#live-duration').value);
  const body = { node };
  if ($('#live-duration').value !== '' && dur > 0) body.durationSec = dur;
  const button = $('#live-start');
  button.disabled = true;
  showMessage(`Starting the capture on ${node}…`, 'ok');
  try {
    const r = await api('/api/captures/live', { method: 'POST', headers: { 'X-VXI-Token': state.token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status) state.live.set(r.id, { stats: {}, ...state.live.get(r.id), ...r.status });
    showMessage(`Capturing on ${node}: the charts and lists fill in as packets arrive.`, 'ok');
    if (!state.node || !currentNode()) state.node = node;
    await loadSession(true);
    await renderView();
  } catch (err) {
    showMessage(`Live capture on ${node} failed — ${err.message}`);
    tokenRefused(err);
  } finally {
    button.disabled = false;
  }
}

async function stopLive(id) {
  if (needToken('Stopping a live capture')) return;
  try {
    const r = await api(`/api/captures/live/${encodeURIComponent(id)}/stop`, { method: 'POST', headers: { 'X-VXI-Token': state.token } });
    if (r.status) state.live.set(id, { stats: {}, ...state.live.get(id), ...r.status });
    renderLive();
    scheduleRefresh();
  } catch (err) {
    showMessage(`Stopping failed — ${err.message}`);
    tokenRefused(err);
  }
}

function onLiveEvent(kind, data) {
  const c = state.live.get(data.id) ?? { id: data.id, node: data.node, interfaces: [], running: true, errors: [], stats: {} };
  if (kind === 'live-start') Object.assign(c, { interfaces: data.interfaces.map((i) => i.iface), running: true });
  else if (kind === 'live-stats') c.stats = { ...c.stats, [data.iface]: data };
  else if (kind === 'live-error') c.errors = [...(c.errors ?? []).filter((e) => e !== data.message), data.message];
  else if (kind === 'live-end') Object.assign(c, { running: false, ok: data.ok, errors: data.errors });
  state.live.set(data.id, c);
  renderLive();
  if (kind === 'live-end') scheduleRefresh();
}

// ---------- live updates ----------

/** A capture was added or grew (live): refresh at most about once a second, keeping filters and selection. */
function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(async () => {
    state.refreshTimer = null;
    const before = JSON.stringify([currentNode()?.underlay?.id, currentNode()?.overlay?.id]);
    try {
      await loadSession(true);
      const after = JSON.stringify([currentNode()?.underlay?.id, currentNode()?.overlay?.id]);
      if (state.view === 'packets' && before === after) {
        for (const side of ['underlay', 'overlay']) await loadList(side);
      } else await renderView();
    } catch (err) {
      showMessage(err.message);
    }
  }, 800);
}

// ---------- start ----------

function setLarge(on) {
  document.body.classList.toggle('large', on);
  $('#large').setAttribute('aria-pressed', on ? 'true' : 'false');
  localStorage.setItem('vxi-large', on ? '1' : '0');
}

async function start() {
  readToken();
  readLocation();
  for (const b of document.querySelectorAll('.views button')) b.addEventListener('click', () => setView(b.dataset.view));
  $('#large').addEventListener('click', async () => {
    setLarge(!document.body.classList.contains('large'));
    if (state.view === 'overview') await renderOverview();
  });
  setLarge(localStorage.getItem('vxi-large') === '1');
  $('#upload').addEventListener('change', async (e) => {
    await upload([...e.target.files]);
    e.target.value = '';
  });
  $('#token-box').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#token-input').value.trim();
    if (!v) return;
    sessionStorage.setItem('vxi-token', v);
    state.token = v;
    $('#token-box').hidden = true;
    showMessage('Token saved for this tab: upload again.', 'ok');
  });
  try {
    await loadSession(true);
  } catch (err) {
    showMessage(`Cannot reach the server: ${err.message}`);
    return;
  }
  await renderView();
  if (window.EventSource) {
    const es = new EventSource('/api/events');
    es.addEventListener('update', scheduleRefresh);
    for (const kind of ['live-start', 'live-stats', 'live-error', 'live-end']) es.addEventListener(kind, (e) => onLiveEvent(kind, JSON.parse(e.data)));
    es.onerror = () => es.close();
  }
  document.body.dataset.ready = '1';
}

window.addEventListener('DOMContentLoaded', start);
