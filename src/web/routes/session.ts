/**
 *   GET  /api/session                   captures, nodes, each node's analysis
 *   GET  /api/nodes/:node/series?bins=  packets/s and bytes/s per VNI, both sides, one time axis
 *   GET  /api/nodes/:node/report.json   the node's correlation, diagnostics, topology (download)
 */
import { Router } from 'express';
import type { NodeEntry, NodeReport, SeriesResponse, SessionResponse } from '../api-types.js';
import { pageTopology } from '../analysis.js';
import { FILTER_HELP } from '../filter.js';
import { TOKEN_HEADER } from '../security.js';
import { computeSeries, overlayGroup, sessionTimeAxis, underlayGroup, type SeriesSide } from '../series.js';
import type { CaptureStore, StoredNode } from '../store.js';
import { intParam, nodeParam, wrap, type RouteContext } from './common.js';

function nodeEntry(store: CaptureStore, n: StoredNode): NodeEntry {
  const u = n.underlay ? store.capture(n.underlay) : undefined;
  const o = n.overlay ? store.capture(n.overlay) : undefined;
  return {
    name: n.name,
    clockOffsetUs: n.clockOffsetUs,
    underlay: u ? store.summary(u) : null,
    overlay: o ? store.summary(o) : null,
    analysis: n.analysis ?? null,
  };
}

export function sessionRoutes(ctx: RouteContext): Router {
  const { store } = ctx;
  const r = Router();

  r.get(
    '/api/session',
    wrap(async (_req, res) => {
      await store.analyzeAll();
      const body: SessionResponse = {
        nodes: store.nodes().map((n) => nodeEntry(store, n)),
        captures: store.captures().map((c) => store.summary(c)),
        problems: store.problems,
        live: ctx.live.available,
        liveNodes: ctx.live.nodes,
        liveCaptures: ctx.live.statuses(),
        uploadLimitBytes: ctx.uploadLimit,
        filterHelp: FILTER_HELP,
        banner: ctx.banner,
        tokenHeader: TOKEN_HEADER,
      };
      res.json(body);
    }),
  );

  r.get(
    '/api/nodes/:node/series',
    wrap(async (req, res) => {
      const node = nodeParam(store, req);
      await store.analyze(node.name);
      const bins = intParam(req.query.bins, 'bins', 120, 10, 2000);
      const u = node.underlay ? store.capture(node.underlay) : undefined;
      const o = node.overlay ? store.capture(node.overlay) : undefined;
      // one time axis for every node of the session, so kvm1 and kvm2 line up
      const axis = sessionTimeAxis(
        store.nodes().flatMap((n) =>
          [n.underlay, n.overlay].flatMap((id) => {
            const c = id ? store.capture(id) : undefined;
            return c ? [{ count: c.index.count, firstTsUs: c.index.firstTsUs, lastTsUs: c.index.lastTsUs, offsetUs: n.clockOffsetUs }] : [];
          }),
        ),
      );
      const sides: SeriesSide[] = [];
      if (u) sides.push({ key: 'underlay', index: u.index, offsetUs: node.clockOffsetUs, groupOf: underlayGroup(u.index) });
      if (o)
        sides.push({
          key: 'overlay',
          index: o.index,
          offsetUs: node.clockOffsetUs - node.overlayClockOffsetUs,
          groupOf: overlayGroup(o.index, u?.index),
        });
      const body: SeriesResponse = { node: node.name, ...computeSeries(sides, bins, axis) };
      res.json(body);
    }),
  );

  r.get(
    '/api/nodes/:node/report.json',
    wrap(async (req, res) => {
      const node = nodeParam(store, req);
      await store.analyze(node.name);
      const entry = nodeEntry(store, node);
      const body: NodeReport = {
        node: node.name,
        underlay: entry.underlay,
        overlay: entry.overlay,
        correlation: entry.analysis,
        diagnostics: node.diagnostics ?? [],
        topology: pageTopology(store.topology()),
      };
      res.attachment(`${node.name}-report.json`);
      res.type('application/json').send(JSON.stringify(body, null, 2));
    }),
  );

  return r;
}
