/**
 * The packet detail: a packet's layers as a bar, each layer's fields with their bytes (built by
 * the server: src/decode/format/fields.ts), the hex dump, and the link to the same frame on the
 * other side. Hovering a layer or a field lights its bytes, here and in the other panel.
 */
import type { MatchDirection, PacketDetail, PacketView, Side } from '../api-types.js';
import {
  bytesOf,
  colourClass,
  encapsulationLine,
  fieldRow,
  innerOffset,
  layerOpen,
  layerSubtitle,
  layerTitle,
  mirrorRange,
  segmentLabel,
  segmentTitle,
  segmentsOf,
  type Segment,
} from './detail-data.js';
import { $maybe, el } from './dom.js';
import { matchLine } from './format.js';
import { selectPacket } from './packets.js';
import { state } from './state.js';

export interface DetailLinks {
  /** The same frame on the other side. */
  match?: { n: number; direction: MatchDirection; deltaUs: number } | null;
  /** Why there is none. */
  unmatched?: string | null;
  /** A flooded frame's copies, one per remote VTEP. */
  copies?: PacketDetail['copies'];
  /** This panel shows the match of packet n of the other side. */
  fromPacket?: number;
}

/** Pairs the two panels for mirrored highlighting, from the underlay packet's inner frame offset. */
export function setMirror(panels: { bridge: HTMLElement; underlay: HTMLElement } | null, underlay: PacketView | null): void {
  const shift = underlay ? innerOffset(underlay.frame) : undefined;
  state.mirror = panels && shift !== undefined ? { ...panels, shift } : null;
}

export function renderDetail(root: HTMLElement, d: PacketView, side: Side, links: DetailLinks): void {
  const bytes = bytesOf(d.hex);
  const frame = d.frame;
  const segments = segmentsOf(frame, bytes.length);

  const what = side === 'overlay' ? 'Bridge frame' : 'Underlay packet';
  const head = el(
    'h3',
    {},
    `${what} #${d.n}`,
    el(
      'span',
      { class: 'hint' },
      ` · ${d.capture.name} · ${d.time} · ${frame.len} bytes${frame.caplen < frame.len ? ` (${frame.caplen} captured)` : ''}`,
    ),
  );
  const parts: HTMLElement[] = [head, el('div', { class: 'mono' }, d.summary)];
  if (links.match) parts.push(el('div', { class: 'link-line' }, matchLine(side, links.match)));
  else if (links.unmatched) parts.push(el('div', { class: 'nolink' }, `Not seen on the other side: ${links.unmatched}`));
  const copies = links.copies ?? [];
  if (copies.length > 1) {
    parts.push(
      el(
        'div',
        { class: 'link-line flood' },
        'Flooded: one copy per remote VTEP (head-end replication) — ',
        ...copies.map((c, i) => [
          i ? ', ' : '',
          el(
            'a',
            {
              href: '#',
              onclick: (e: MouseEvent) => {
                e.preventDefault();
                void selectPacket('underlay', c.n);
              },
            },
            `#${c.n}`,
          ),
          ` to ${c.vtep}`,
        ]),
      ),
    );
  }
  if (links.fromPacket !== undefined)
    parts.push(
      el(
        'div',
        { class: 'hint' },
        side === 'underlay'
          ? `The underlay packet that carried bridge frame #${links.fromPacket}: the same bytes, wrapped in 50 more.`
          : `The bridge frame inside underlay packet #${links.fromPacket}.`,
      ),
    );
  const encap = encapsulationLine(frame, bytes.length);
  if (encap) parts.push(el('div', { class: 'overhead' }, encap));

  // the layer bar
  const total = Math.max(1, bytes.length);
  const bar = el('div', { class: 'layerbar', role: 'list', 'aria-label': 'layers and their bytes' });
  for (const s of segments) {
    const len = s.to - s.from + 1;
    const seg = el(
      'div',
      {
        class: `seg ${colourClass(s.type, s.depth)}`,
        role: 'listitem',
        'data-layer': s.index,
        style: `flex: ${Math.max(len, total * 0.045)} 1 0`,
        title: segmentTitle(s),
      },
      el('strong', {}, segmentLabel(s)),
      ` ${len}`,
      el('span', { class: 'off' }, `@${s.from}`),
    );
    seg.addEventListener('mouseenter', () => highlight(root, s.from, s.to, s.index));
    seg.addEventListener('mouseleave', () => highlight(root, -1, -1));
    bar.append(seg);
  }
  parts.push(bar);

  // fields per layer
  frame.layers.forEach((l, i) => {
    const summary = el(
      'summary',
      {},
      el('span', { class: `sw c-${l.type}` }),
      layerTitle(l, frame.tunnelled),
      el('span', { class: 'hint' }, layerSubtitle(l)),
    );
    const det = el(
      'details',
      { class: 'layer', open: layerOpen(frame, i) ? true : undefined, 'data-layer': i },
      summary,
      l.note ? el('p', { class: 'hint' }, l.note) : null,
      el(
        'table',
        { class: 'fields' },
        ...l.fields.map((fd) => {
          const row = fieldRow(fd, bytes);
          const tr = el(
            'tr',
            {},
            el('td', { class: 'bytes' }, row.range),
            el('td', {}, row.name),
            el('td', { class: 'val' }, row.value),
            el('td', { class: 'ex' }, row.explain),
            el('td', { class: 'bytes mono' }, row.hex),
          );
          tr.addEventListener('mouseenter', () => highlight(root, row.from, row.to, i));
          tr.addEventListener('mouseleave', () => highlight(root, -1, -1));
          return tr;
        }),
      ),
    );
    summary.addEventListener('mouseenter', () => highlight(root, l.offset, l.offset + l.length - 1, i));
    summary.addEventListener('mouseleave', () => highlight(root, -1, -1));
    parts.push(det);
  });
  if (frame.warnings.length) parts.push(el('p', { class: 'nolink' }, `Warnings: ${frame.warnings.join('; ')}`));
  if (frame.error)
    parts.push(el('p', { class: 'nolink' }, `Malformed ${frame.error.layer} at byte ${frame.error.offset}: ${frame.error.message}`));
  if (frame.truncated)
    parts.push(el('p', { class: 'nolink' }, "Cut short by the capture's snaplen (not an error): capture with tcpdump -s 0 to see it all."));
  parts.push(hexDump(bytes, segments));
  parts.push(
    el(
      'p',
      { class: 'legend' },
      'Hover a layer or a field to see its bytes. Colours: Ethernet orange, IP sky blue, UDP/TCP green, VXLAN purple, ARP/ICMP yellow; inner layers striped.',
    ),
  );
  root.replaceChildren(...parts);
  root.dataset.side = side;
  root.dataset.n = String(d.n);
}

function hexDump(bytes: Uint8Array, segments: readonly Segment[]): HTMLElement {
  const layerOf = new Int16Array(bytes.length).fill(-1);
  const classOf: string[] = [];
  for (const s of segments) {
    for (let i = s.from; i <= s.to && i < bytes.length; i++) layerOf[i] = s.index;
    classOf[s.index] = colourClass(s.type, s.depth);
  }
  const box = el('div', { class: 'hex', 'aria-label': 'bytes in hexadecimal, coloured by layer' });
  for (let row = 0; row < bytes.length; row += 16) {
    const line = el('div', { class: 'row' }, el('span', { class: 'ofs' }, row.toString(16).padStart(4, '0')));
    let ascii = '';
    for (let i = row; i < row + 16; i++) {
      if (i < bytes.length) {
        const li = layerOf[i] as number;
        const b = bytes[i] as number;
        line.append(
          el('span', { class: `b ${li >= 0 ? (classOf[li] ?? '') : ''}`, 'data-i': i, 'data-layer': li }, b.toString(16).padStart(2, '0')),
        );
        ascii += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      } else line.append(el('span', { class: 'b' }, '  '));
      if (i % 16 === 7) line.append(' ');
    }
    line.append(el('span', { class: 'asc' }, ascii));
    box.append(line);
  }
  return box;
}

function markBytes(root: HTMLElement, from: number, to: number): void {
  for (const b of root.querySelectorAll<HTMLElement>('.hex .b[data-i]')) {
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
function highlight(root: HTMLElement, from: number, to: number, layer?: number): void {
  markBytes(root, from, to);
  for (const s of root.querySelectorAll<HTMLElement>('.layerbar .seg'))
    s.classList.toggle('hot', layer !== undefined && from >= 0 && Number(s.dataset.layer) === layer);
  const m = state.mirror;
  if (!m) return;
  const other = root === m.bridge ? m.underlay : root === m.underlay ? m.bridge : null;
  if (!other) return;
  if (from < 0) {
    markBytes(other, -1, -1);
    $maybe('.mirror-note', other)?.remove();
    return;
  }
  const fromBridge = root === m.bridge;
  const r = mirrorRange(fromBridge, from, to, m.shift);
  if (!r) {
    markBytes(other, -1, -1);
    return;
  }
  markBytes(other, r.from, r.to);
  let note = $maybe('.mirror-note', other);
  if (!note) {
    note = el('div', { class: 'mirror-note' });
    $maybe('.hex', other)?.before(note);
  }
  note.textContent = fromBridge
    ? `The same bytes here: ${r.from}–${r.to}, after the ${m.shift} bytes of outer headers.`
    : `The same bytes in the bridge frame: ${r.from}–${r.to} (here they sit ${m.shift} bytes further, after the outer headers).`;
}
