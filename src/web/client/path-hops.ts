/**
 * The same byte view at each hop of a frame's path: under the ladder, the record of each sighting
 * (source bridge, source underlay, destination underlay, destination bridge) as hex, coloured by
 * layer as the packet detail colours it. The guest's frame is striped and starts on a row of its
 * own at every hop, so its bytes stand one above the other from hop to hop; on the underlay the
 * outer headers come first, in plain colours: the wrapping. Hovering a byte lights its field at
 * every hop and says its value at each; bytes that differ between sightings are marked, and the
 * table under them says which fields differ and why (what is laid out where: path-bytes.ts).
 */
import type { PathFrameBranchView, PathPointName } from '../api-types.js';
import { el } from './dom.js';
import {
  HOP_POINTS,
  POINT_LABEL,
  byteDiffs,
  fieldAt,
  fieldDiffs,
  hexRows,
  hopBytes,
  hopFields,
  hopLine,
  innerRowCount,
  type HopBytes,
  type HopField,
} from './path-bytes.js';

/** Rows of the guest's frame shown before "show all" (its headers, and some of what they carry). */
const FIRST_ROWS = 8;

/** The bytes of a branch's sightings, one block per capture point, and how they differ. */
export function hopBytesView(b: PathFrameBranchView, heads: Record<PathPointName, [string, string]>): HTMLElement {
  const hops: HopBytes[] = [];
  for (const p of HOP_POINTS) {
    const x = b.bytes[p];
    if (x) hops.push(hopBytes(p, x));
  }
  const box = el('div', { class: 'hop-bytes-all' });
  if (hops.length === 0) return box;
  const diffs = byteDiffs(hops);
  const fields = new Map<PathPointName, HopField[]>(hops.map((h) => [h.point, hopFields(h)]));
  const caption = el('div', { class: 'hop-caption', 'aria-live': 'polite' }, 'Hover a byte: its field, and its value at each hop.');
  const blocks = el('div', { class: 'hop-blocks' });
  let all = false;
  const draw = (): void => {
    blocks.replaceChildren(
      ...HOP_POINTS.map((p, idx) => {
        const h = hops.find((x) => x.point === p);
        const s = b.sightings[p];
        const title = el(
          'h5',
          {},
          `${idx + 1} · ${POINT_LABEL[p]}`,
          el('span', { class: 'hint' }, ` — ${heads[p][0]} ${heads[p][1]}${s ? ` #${s.packet?.n ?? s.frame}` : ''}`),
        );
        if (!h)
          return el(
            'section',
            { class: 'hop-bytes missing', 'data-point': p },
            title,
            el('p', { class: 'hint' }, s ? 'its bytes could not be re-read' : 'not seen here'),
          );
        const rows = hexRows(h, diffs, all ? Infinity : FIRST_ROWS);
        const hex = el(
          'div',
          {
            class: 'hex hop-hex',
            'aria-label': `${POINT_LABEL[p]}: bytes in hexadecimal; the wrapping first, then the frame from a row of its own`,
          },
          ...rows.map((r) =>
            el(
              'div',
              { class: `row ${r.part === 'outer' ? 'wrap-row' : 'inner-row'}` },
              el(
                'span',
                { class: 'ofs', title: r.part === 'outer' ? 'offset in the packet' : 'offset in the frame (the same at every hop)' },
                r.part === 'outer' ? `w ${r.label}` : r.label,
              ),
              ...r.cells.map((c) =>
                el(
                  'span',
                  {
                    class: `b ${c.cls}${c.differs ? ' differs' : ''}`,
                    'data-i': c.i,
                    ...(c.k !== null ? { 'data-k': c.k } : {}),
                    ...(c.differs ? { title: 'differs between sightings' } : {}),
                  },
                  c.hex,
                ),
              ),
            ),
          ),
        );
        const shown = rows.filter((r) => r.part === 'inner').length;
        return el(
          'section',
          { class: `hop-bytes ${h.frame.tunnelled ? 'wrapped' : 'unwrapped'}`, 'data-point': p, 'data-inner': h.inner ?? '' },
          title,
          el('div', { class: 'mono sum' }, b.bytes[p]?.summary ?? ''),
          el('div', { class: 'hint' }, hopLine(h)),
          hex,
          shown < innerRowCount(h) ? el('div', { class: 'hint' }, `first ${shown * 16} bytes of the frame shown`) : null,
        );
      }),
    );
  };
  draw();

  // hovering a byte: its field at every hop (the guest's frame at all four, the wrapping on both underlays)
  const light = (target: EventTarget | null): void => {
    const cell = target instanceof HTMLElement ? target.closest<HTMLElement>('.b[data-i]') : null;
    const point = cell?.closest<HTMLElement>('.hop-bytes')?.dataset.point as PathPointName | undefined;
    const h = point ? hops.find((x) => x.point === point) : undefined;
    const f = h && cell ? fieldAt(fields.get(h.point) ?? [], Number(cell.dataset.i)) : undefined;
    for (const x of blocks.querySelectorAll<HTMLElement>('.b.hl')) x.classList.remove('hl');
    if (!h || !f) return;
    const values: string[] = [];
    for (const other of hops) {
      const same = (fields.get(other.point) ?? []).find((g) => g.key === f.key);
      if (!same) continue;
      values.push(`${POINT_LABEL[other.point]} ${same.value}`);
      for (const x of blocks.querySelectorAll<HTMLElement>(`.hop-bytes[data-point="${other.point}"] .b[data-i]`)) {
        const i = Number(x.dataset.i);
        if (i >= same.from && i <= same.to) x.classList.add('hl');
      }
    }
    caption.textContent = `${f.label} (bytes ${f.from}–${f.to} here): ${values.join(' · ')}`;
  };
  blocks.addEventListener('mouseover', (e) => light(e.target));
  blocks.addEventListener('mouseleave', () => light(null));

  const more = hops.some((h) => innerRowCount(h) > FIRST_ROWS)
    ? el(
        'button',
        {
          type: 'button',
          class: 'hop-all',
          onclick: (e: MouseEvent) => {
            all = !all;
            (e.currentTarget as HTMLElement).textContent = all ? 'Show the first bytes only' : 'Show every byte';
            draw();
          },
        },
        'Show every byte',
      )
    : null;

  const rows = fieldDiffs(hops, diffs, b.checksumOffload);
  const shownAt = HOP_POINTS.filter((p) => hops.some((h) => h.point === p));
  const table = rows.length
    ? el(
        'table',
        { class: 'grid hop-diffs' },
        el('thead', {}, el('tr', {}, el('th', {}, 'field'), ...shownAt.map((p) => el('th', {}, POINT_LABEL[p])), el('th', {}, 'why'))),
        el(
          'tbody',
          {},
          ...rows.map((d) =>
            el(
              'tr',
              { class: d.differs ? 'differs' : 'same', 'data-key': d.key },
              el('td', {}, el('span', { class: 'mark', 'aria-label': d.differs ? 'differs' : 'same' }, d.differs ? '≠ ' : '= '), d.label),
              ...shownAt.map((p) => el('td', { class: 'mono' }, d.values[p] ?? '–')),
              el('td', { class: 'ex' }, d.why),
            ),
          ),
        ),
      )
    : null;
  const differing = rows.filter((d) => d.differs).length;
  const parts: (HTMLElement | null)[] = [
    el('h4', {}, 'The frame at each hop'),
    el(
      'p',
      { class: 'hint' },
      "The guest's frame (striped) is the same bytes at every hop, row for row; " +
        'on the underlay it is wrapped in the outer headers (rows marked w, ' +
        'plain colours). Bytes that differ between sightings are underlined and marked ≠.',
    ),
    caption,
    blocks,
    more,
    el(
      'p',
      { class: 'hop-diff-line' },
      differing ? `${differing} field${differing > 1 ? 's' : ''} differ between the sightings:` : 'The frame is the same at every hop.',
    ),
    table,
  ];
  box.append(...parts.filter((x): x is HTMLElement => x !== null));
  return box;
}
