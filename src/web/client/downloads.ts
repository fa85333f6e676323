/** The overview's download links: each capture as loaded, its inner frames, its decode; the node's report. */
import type { NodeEntry } from '../api-types.js';
import { $, el } from './dom.js';

export function renderDownloads(node: NodeEntry): void {
  const links: HTMLElement[] = [];
  for (const c of [node.underlay, node.overlay]) {
    if (!c) continue;
    links.push(el('a', { href: `/api/captures/${c.id}/file`, download: c.name }, `${c.name}`));
    if (c.tunnelled > 0)
      links.push(el('a', { href: `/api/captures/${c.id}/inner.pcap`, download: '' }, `${c.name}: inner frames only (decapsulated)`));
    links.push(el('a', { href: `/api/captures/${c.id}/packets.ndjson`, download: '' }, `${c.name} decoded (JSON lines)`));
  }
  links.push(el('a', { href: `/api/nodes/${encodeURIComponent(node.name)}/report.json`, download: '' }, `${node.name} report (JSON)`));
  $('#downloads').replaceChildren(el('strong', {}, 'Downloads:'), ...links);
}
