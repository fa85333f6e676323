/**
 * The Path view: every frame followed across the overlay (GET /api/path, what `vxlan-inspect path`
 * prints): per direction and VNI what was sent, delivered, lost at which hop and why, the per-hop
 * p50/p99; and for a selected frame (GET /api/path/frame) a ladder diagram of the four capture
 * points — the source node's bridge and underlay, the destination's underlay and bridge, as four
 * vertical lines — with the frame's arrows between them and the time of each hop. A frame that
 * did not complete its path stops where it was last seen, with the reason. Each sighting opens in
 * the Packets view; under the ladder, the same byte view at each hop (path-hops.ts): the frame
 * wrapped on the underlay and unwrapped on the bridges. Beside the paths, each node's recorded
 * configuration and what it disagrees with (path-config.ts).
 *
 * The frame shown is the page's selection (node tab, side, packet number: the address bar keeps
 * it), so a frame picked here is the one the Packets view opens on, and back.
 */
import type {
  PacketPage,
  PathBranchView,
  PathFrameBranchView,
  PathFrameResponse,
  PathGroupView,
  PathHopName,
  PathLatency,
  PathPointName,
  PathResponse,
  Side,
} from '../api-types.js';
import { errorOf, messageOf } from './api.js';
import { $, el } from './dom.js';
import { fmtNum } from './format.js';
import { openPacket, renderNodeTabs, writeLocation } from './navigation.js';
import { HOP_POINTS as POINTS } from './path-bytes.js';
import { configSection } from './path-config.js';
import { hopBytesView } from './path-hops.js';
import { currentNode, state } from './state.js';
import { showMessage } from './ui.js';

/** Frames listed to pick from, per list. */
const LISTED = 40;
const HOP_AFTER: Partial<Record<PathPointName, [PathHopName, string]>> = {
  srcBridge: ['encapsulation', 'encapsulation'],
  srcUnderlay: ['underlay', 'underlay crossing (one way, clock offsets applied)'],
  dstUnderlay: ['decapsulation', 'decapsulation'],
};
const LOST_AT: readonly [keyof PathGroupView['lostAt'], string][] = [
  ['encapsulation', 'not encapsulated'],
  ['underlay', 'lost on the underlay'],
  ['decapsulation', 'not decapsulated'],
  ['delivery', 'sent to the wrong VTEP'],
];

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  const text = await r.text();
  if (!r.ok) throw errorOf(r.status, r.statusText, text);
  return JSON.parse(text) as T;
}

/** Counts the view's renders: only the latest one's answers are drawn. */
let seq = 0;

function us(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`;
}

function p50p99(l: PathLatency): string {
  return l.count === 0 ? '–' : `${us(l.p50)} / ${us(l.p99)}`;
}

/** A hop's time as the CLI writes it (`+32 µs`). */
function hopText(v: number): string {
  return `${v >= 0 ? '+' : ''}${v} µs`;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

function summaryTable(r: PathResponse): HTMLElement {
  const head = el(
    'tr',
    {},
    ...[
      'path',
      'VNI',
      'sent',
      'delivered',
      'lost',
      'not captured',
      'encapsulation p50 / p99',
      'underlay p50 / p99',
      'decapsulation p50 / p99',
    ].map((h, i) => el('th', { class: i >= 1 && i <= 5 ? 'num' : '' }, h)),
  );
  const rows = r.paths.map((g) =>
    el(
      'tr',
      { 'data-src': g.src, 'data-dst': g.dst, 'data-vni': g.vni ?? '' },
      el('td', {}, `${g.src} → ${g.dst}`),
      el('td', { class: 'num' }, g.vni === null ? '–' : String(g.vni)),
      el('td', { class: 'num sent' }, fmtNum(g.sent)),
      el('td', { class: 'num delivered' }, fmtNum(g.delivered)),
      el('td', { class: `num lost${g.lost ? ' bad' : ''}` }, fmtNum(g.lost)),
      el('td', { class: 'num' }, fmtNum(sum(g.notCaptured))),
      el('td', { class: 'mono' }, p50p99(g.latencyUs.encapsulation)),
      el('td', { class: 'mono' }, p50p99(g.latencyUs.underlay)),
      el('td', { class: 'mono' }, p50p99(g.latencyUs.decapsulation)),
    ),
  );
  const t = r.totals;
  const total = el(
    'tr',
    { class: 'total' },
    el('th', {}, 'all'),
    el('td', {}),
    el('td', { class: 'num', 'data-total': 'sent' }, fmtNum(t.sent)),
    el('td', { class: 'num', 'data-total': 'delivered' }, fmtNum(t.delivered)),
    el('td', { class: `num${t.lost ? ' bad' : ''}`, 'data-total': 'lost' }, fmtNum(t.lost)),
    el('td', { class: 'num', 'data-total': 'notCaptured' }, fmtNum(t.notCaptured)),
    el('td', { colspan: 3 }),
  );
  return el('table', { class: 'grid path-summary' }, el('thead', {}, head), el('tbody', {}, ...rows, total));
}

/** Where and why, per path: losses per hop by reason (with one example's words), and what is not a loss. */
function whereAndWhy(r: PathResponse): HTMLElement | null {
  const items: HTMLElement[] = [];
  const example = (code: string, g: PathGroupView): string | undefined =>
    r.incomplete.find((b) => b.code === code && b.src === g.src && b.dst === g.dst)?.reason;
  for (const g of r.paths) {
    const name = `${g.src} → ${g.dst}${g.vni === null ? '' : ` VNI ${g.vni}`}`;
    for (const [hop, words] of LOST_AT) {
      for (const [code, n] of Object.entries(g.lostAt[hop]).sort((a, b) => b[1] - a[1])) {
        const why = example(code, g);
        items.push(
          el(
            'li',
            { class: 'loss', 'data-hop': hop, 'data-code': code },
            el('strong', {}, `${name}: ${fmtNum(n)} ${words}`),
            ` (${code})`,
            why ? el('div', { class: 'why' }, why) : null,
          ),
        );
      }
    }
    for (const [code, n] of Object.entries(g.notCaptured)) {
      const why = example(code, g);
      items.push(
        el(
          'li',
          { class: 'nocapture', 'data-code': code },
          `${name}: ${fmtNum(n)} not captured — no loss (${code})`,
          why ? el('div', { class: 'why' }, why) : null,
        ),
      );
    }
    const info: string[] = [];
    if (g.fromVxlanDevice)
      info.push(`${fmtNum(g.fromVxlanDevice)} sent by the VXLAN device itself (IPv6 MLD/RS/DAD: they start on the underlay, normal)`);
    if (g.sourceBridgeMissed) info.push(`${fmtNum(g.sourceBridgeMissed)} not found on the source bridge (follow one of them for why)`);
    if (g.sourceUnderlayMissed)
      info.push(`${fmtNum(g.sourceUnderlayMissed)} first seen on the destination underlay (the source's capture missed them)`);
    if (g.flooded) info.push(`${fmtNum(g.flooded)} branches of flooded frames (head-end replication: one branch per VTEP)`);
    if (g.checksumOffload)
      info.push(
        `${fmtNum(g.checksumOffload)} with a TCP/UDP checksum that differs between sightings: checksum offload on the sender, not a loss`,
      );
    if (g.negativeUnderlay)
      info.push(`${fmtNum(g.negativeUnderlay)} underlay crossings came out negative: the clock offsets are missing or not precise enough`);
    for (const i of info) items.push(el('li', { class: 'info' }, `${name}: ${i}`));
  }
  return items.length ? el('div', { class: 'path-why' }, el('h3', {}, 'Where and why'), el('ul', {}, ...items)) : null;
}

/** A sighting's label in a frame list: the node and capture it was first seen in. */
function firstSighting(b: PathBranchView): { node: string; side: Side; n: number } | null {
  for (const p of POINTS) {
    const s = b.sightings[p];
    if (s?.packet) return { node: s.node, side: s.packet.side, n: s.packet.n };
  }
  return null;
}

async function pickFrame(node: string, side: Side, n: number): Promise<void> {
  state.selected = { side, n };
  state.linked = null;
  if (state.node !== node) {
    // another node's frame: its tab, and its lists to pick from
    state.node = node;
    renderNodeTabs();
    writeLocation();
    await renderPath();
    return;
  }
  writeLocation();
  await renderFrame();
}

/** Frames to follow: the incomplete ones first, then the current node's bridge frames that crossed. */
async function frameLists(r: PathResponse, mySeq: number): Promise<HTMLElement> {
  const parts: HTMLElement[] = [];
  if (r.incomplete.length) {
    parts.push(el('h3', {}, `Frames that did not complete (${fmtNum(r.incomplete.length)}${r.listsCapped ? ', the first listed' : ''})`));
    parts.push(
      el(
        'ul',
        { class: 'frame-list incomplete' },
        ...r.incomplete.slice(0, LISTED).map((b) => {
          const at = firstSighting(b);
          return el(
            'li',
            {},
            at
              ? el(
                  'button',
                  {
                    type: 'button',
                    'data-node': at.node,
                    'data-side': at.side,
                    'data-n': at.n,
                    onclick: () => void pickFrame(at.node, at.side, at.n),
                  },
                  `${at.node} ${at.side === 'overlay' ? 'bridge' : 'underlay'} #${at.n}`,
                )
              : el('span', {}, '?'),
            ` ${b.src} → ${b.dst} · ${b.status}: ${b.reason}`,
          );
        }),
      ),
    );
  }
  const node = currentNode();
  const bridge = node?.overlay;
  if (bridge) {
    let page: PacketPage | null = null;
    try {
      page = await getJson<PacketPage>(`/api/captures/${encodeURIComponent(bridge.id)}/packets?offset=0&limit=${LISTED}&filter=matched`);
    } catch (err) {
      parts.push(el('p', { class: 'hint bad' }, `${node.name}'s bridge frames could not be listed: ${messageOf(err)}`));
    }
    if (mySeq !== seq) return el('div');
    if (page)
      parts.push(
        el('h3', {}, `${node.name}'s bridge frames that crossed the tunnel (first ${fmtNum(page.rows.length)} of ${fmtNum(page.total)})`),
      );
    if (page)
      parts.push(
        el(
          'div',
          { class: 'table-wrap path-frames' },
          el(
            'table',
            { class: 'packets' },
            el('thead', {}, el('tr', {}, el('th', {}, 'No.'), el('th', {}, 'Time'), el('th', {}, 'Summary'))),
            el(
              'tbody',
              {},
              ...page.rows.map((row) =>
                el(
                  'tr',
                  {
                    'data-n': row.n,
                    tabindex: 0,
                    class: state.selected?.side === 'overlay' && state.selected.n === row.n ? 'selected' : '',
                    onclick: () => void pickFrame(node.name, 'overlay', row.n),
                    onkeydown: (e: KeyboardEvent) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        void pickFrame(node.name, 'overlay', row.n);
                      }
                    },
                  },
                  el('td', {}, String(row.n)),
                  el('td', { class: 'mono' }, row.time),
                  el('td', { class: 'sum' }, row.summary),
                ),
              ),
            ),
          ),
        ),
      );
  }
  const go = (form: HTMLFormElement): void => {
    const n = Number($<HTMLInputElement>('input', form).value.trim().replace(/^#/, ''));
    const side = $<HTMLSelectElement>('select', form).value as Side;
    if (!state.node || !Number.isInteger(n) || n < 1) {
      showMessage('Give a packet number (from 1), as the Packets view numbers it.');
      return;
    }
    void pickFrame(state.node, side, n);
  };
  parts.push(
    el(
      'form',
      {
        class: 'frame-go',
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          go(e.currentTarget as HTMLFormElement);
        },
      },
      el(
        'label',
        {},
        `Follow ${state.node ?? ''}'s `,
        el(
          'select',
          { 'aria-label': 'Side' },
          el('option', { value: 'overlay' }, 'bridge'),
          el('option', { value: 'underlay' }, 'underlay'),
        ),
        ' packet #',
        el('input', { 'aria-label': 'Packet number', inputmode: 'numeric', size: 7 }),
      ),
      el('button', { type: 'submit' }, 'Follow'),
    ),
  );
  return el('div', { class: 'path-pick' }, ...parts);
}

export async function renderPath(): Promise<void> {
  const mySeq = ++seq;
  const box = $('#path');
  const r = await getJson<PathResponse>('/api/path');
  if (mySeq !== seq) return;
  if (!r.available) {
    box.replaceChildren(el('p', { class: 'hint path-unavailable' }, r.reason ?? 'No path to follow.'));
    $('#path-list').replaceChildren();
    $('#path-frame').replaceChildren();
    return;
  }
  const nodes = r.nodes
    .map(
      (n) => `${n.name} (VTEP ${n.vtep ?? '?'}${n.clockOffsetUs ? `, clock ${n.clockOffsetUs > 0 ? '+' : ''}${n.clockOffsetUs} µs` : ''})`,
    )
    .join(' · ');
  const lists = await frameLists(r, mySeq);
  if (mySeq !== seq) return;
  const why = whereAndWhy(r);
  box.replaceChildren(
    el(
      'p',
      { class: 'lead' },
      `Every frame followed from one node's bridge to the other's: ` +
        'source bridge → source underlay (encapsulated) → destination underlay → destination bridge ' +
        `(decapsulated). Nodes: ${nodes}; sightings paired within ±${r.windowUs / 1000} ms.`,
    ),
    r.paths.length ? summaryTable(r) : el('p', { class: 'hint' }, 'No frame crossed between the nodes.'),
    ...(why ? [why] : []),
    configSection(
      r.config,
      r.nodes.map((n) => n.name),
    ),
    ...r.notes.map((n) => el('p', { class: 'hint note' }, `Note: ${n}`)),
    ...r.inputErrors.map((e) => el('p', { class: 'hint note bad' }, `${e.node} ${e.side}: ${e.message}`)),
  );
  $('#path-list').replaceChildren(lists);
  await renderFrame();
}

/** The ladder of the selected frame (every branch of it). */
async function renderFrame(): Promise<void> {
  const target = $('#path-frame');
  const sel = state.selected;
  if (!state.node || !sel) {
    target.replaceChildren(
      el('p', { class: 'hint' }, 'Pick a frame: its four sightings, the time of each hop, and where it stopped if it did.'),
    );
    return;
  }
  const mySeq = seq;
  let f: PathFrameResponse;
  try {
    f = await getJson<PathFrameResponse>(`/api/path/frame?node=${encodeURIComponent(state.node)}&side=${sel.side}&n=${sel.n}`);
  } catch (err) {
    if (mySeq === seq) target.replaceChildren(el('p', { class: 'hint bad' }, messageOf(err)));
    return;
  }
  if (mySeq !== seq || state.selected !== sel) return;
  for (const tr of document.querySelectorAll<HTMLElement>('.path-frames tbody tr'))
    tr.classList.toggle('selected', sel.side === 'overlay' && Number(tr.dataset.n) === sel.n);
  const title = el(
    'h3',
    {},
    `${f.ref.node} ${f.ref.side === 'overlay' ? 'bridge' : 'underlay'} packet #${f.ref.n}`,
    el('span', { class: 'hint' }, ` (frame ${f.ref.frame} of ${f.file})`),
  );
  if (f.branches.length === 0) {
    target.replaceChildren(title, el('p', { class: 'hint' }, f.note ?? 'This frame did not cross between the nodes.'));
    return;
  }
  target.replaceChildren(title, ...f.branches.map((b, i) => ladder(b, i, f.branches.length)));
}

/** The interface a node's side is captured on, for the ladder's heads. */
function ifaceOf(node: string, side: Side): string {
  const c = state.session?.nodes.find((n) => n.name === node)?.[side];
  return c?.iface ?? (side === 'overlay' ? 'bridge' : 'underlay');
}

function ladder(b: PathFrameBranchView, i: number, n: number): HTMLElement {
  // the session's node order left to right: kvm1 bridge, kvm1 eth1, kvm2 eth1, kvm2 bridge, whichever way the frame goes
  const order = (state.session?.nodes ?? []).map((x) => x.name);
  const si = order.indexOf(b.src);
  const di = order.indexOf(b.dst);
  const leftward = si >= 0 && di >= 0 ? si > di : false;
  const col = (p: PathPointName): number => {
    const k = POINTS.indexOf(p);
    return (leftward ? 3 - k : k) + 1;
  };
  const head: Record<PathPointName, [string, string]> = {
    srcBridge: [b.src, ifaceOf(b.src, 'overlay')],
    srcUnderlay: [b.src, ifaceOf(b.src, 'underlay')],
    dstUnderlay: [b.dst, ifaceOf(b.dst, 'underlay')],
    dstBridge: [b.dst, ifaceOf(b.dst, 'overlay')],
  };
  const cells: HTMLElement[] = [];
  let row = 1;
  const lanes = (r: number, cls = ''): void => {
    for (let c = 1; c <= 4; c++) cells.push(el('div', { class: `lane ${cls}`, style: `grid-row: ${r}; grid-column: ${c}` }));
  };
  for (const p of POINTS)
    cells.push(
      el(
        'div',
        {
          class: `ladder-head ${p.endsWith('Bridge') ? 'bridge' : 'underlay'}`,
          style: `grid-row: 1; grid-column: ${col(p)}`,
          'data-point': p,
        },
        el('strong', {}, head[p][0]),
        ' ',
        head[p][1],
      ),
    );
  // the first point seen and the first one missed after it: where the frame stopped
  const firstSeen = POINTS.findIndex((p) => b.sightings[p] !== undefined);
  const stoppedAt = b.status === 'delivered' ? -1 : POINTS.findIndex((p, k) => k > firstSeen && b.sightings[p] === undefined);
  for (const [k, p] of POINTS.entries()) {
    row++;
    lanes(row);
    const s = b.sightings[p];
    if (s) {
      cells.push(
        el(
          'div',
          { class: 'ladder-point seen', style: `grid-row: ${row}; grid-column: ${col(p)}`, 'data-point': p, 'data-frame': s.frame },
          el('span', { class: 'dot', 'aria-hidden': 'true' }),
          el(
            'div',
            { class: 'at' },
            s.packet
              ? el(
                  'button',
                  {
                    type: 'button',
                    class: 'open',
                    title: `open ${s.file} #${s.frame} in the Packets view`,
                    onclick: () => void openPacket(s.node, s.packet?.side ?? 'overlay', s.packet?.n ?? s.frame),
                  },
                  `#${s.packet.n}`,
                )
              : el('span', {}, `#${s.frame}`),
            el('span', { class: 'mono t' }, ` ${(s.refUs / 1e6).toFixed(6)} s`),
          ),
        ),
      );
    } else if (k === stoppedAt) {
      cells.push(
        el(
          'div',
          { class: 'ladder-point stopped', style: `grid-row: ${row}; grid-column: ${col(p)}`, 'data-point': p },
          el('span', { class: 'cross', 'aria-hidden': 'true' }, '✕'),
          el('div', { class: 'at' }, 'never seen here'),
        ),
      );
    } else {
      cells.push(
        el(
          'div',
          { class: 'ladder-point missing', style: `grid-row: ${row}; grid-column: ${col(p)}`, 'data-point': p },
          el('div', { class: 'at' }, '– not seen'),
        ),
      );
    }
    const hop = HOP_AFTER[p];
    const next = POINTS[k + 1];
    if (!hop || !next) continue;
    row++;
    if (!s) {
      // nothing left this point: no arrow out of it
      lanes(row, 'hop-lane');
      continue;
    }
    lanes(row, 'hop-lane');
    const v = b.hopsUs[hop[0]];
    const a = col(p);
    const z = col(next);
    const lost = b.sightings[next] === undefined && k + 1 === stoppedAt;
    const cls = `ladder-hop ${z < a ? 'left' : 'right'}${lost ? ' lost' : ''}${v === undefined && !lost ? ' none' : ''}`;
    cells.push(
      el(
        'div',
        {
          class: cls,
          style: `grid-row: ${row}; grid-column: ${Math.min(a, z)} / span 2`,
          'data-hop': hop[0],
          ...(v !== undefined ? { 'data-us': v } : {}),
        },
        el('div', { class: 'arrow', 'aria-hidden': 'true' }),
        el(
          'div',
          { class: 'label' },
          v !== undefined ? el('span', { class: 'us' }, hopText(v)) : lost ? el('span', { class: 'us' }, 'lost') : null,
          ` ${hop[1]}`,
        ),
      ),
    );
  }
  const tunnel = b.vtepSrc !== undefined ? ` · VTEP ${b.vtepSrc} → ${b.vtepDst} UDP ${b.udpPort ?? '?'}` : '';
  return el(
    'div',
    { class: `path-branch ${b.loss ? 'loss' : b.status === 'delivered' ? 'ok' : 'partial'}`, 'data-status': b.status },
    el(
      'h4',
      {},
      n > 1 ? `Branch ${i + 1} of ${n}: ` : '',
      `${b.src} → ${b.dst}${b.vni === null ? '' : `, VNI ${b.vni}`}${tunnel}${b.flood ? ' (flooded)' : ''}`,
      el('span', { class: `status ${b.status}` }, b.status),
    ),
    el('div', { class: 'ladder', role: 'img', 'aria-label': `${b.src} to ${b.dst}: ${b.status}. ${b.reason}` }, ...cells),
    el('p', { class: `reason${b.loss ? ' bad' : ''}` }, b.reason),
    ...b.notes.map((x) => el('p', { class: 'hint' }, `Note: ${x}`)),
    hopBytesView(b, head),
  );
}
