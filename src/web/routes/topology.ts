/**
 *   GET /api/topology      VTEPs, their VNIs, the MACs/IPs behind each, and which node each VTEP is
 *   GET /api/diagnostics   findings with likely causes
 */
import { Router } from 'express';
import type { DiagnosticsResponse, TopologyResponse } from '../api-types.js';
import { pageTopology } from '../analysis.js';
import type { CaptureStore } from '../store.js';
import { wrap } from './common.js';

export function topologyRoutes(store: CaptureStore): Router {
  const r = Router();

  r.get(
    '/api/topology',
    wrap(async (_req, res) => {
      await store.analyzeAll();
      const body: TopologyResponse = {
        ...pageTopology(store.topology()),
        localOf: store.localVteps(),
        nodes: store.nodes().map((n) => ({ name: n.name, underlay: n.underlay ?? null, overlay: n.overlay ?? null })),
      };
      res.json(body);
    }),
  );

  r.get(
    '/api/diagnostics',
    wrap(async (_req, res) => {
      await store.analyzeAll();
      const body: DiagnosticsResponse = { diagnostics: store.diagnostics() };
      res.json(body);
    }),
  );

  return r;
}
