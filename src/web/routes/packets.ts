/**
 *   GET /api/captures/:id/packets?offset&limit&filter=   a page of the packet list
 *   GET /api/captures/:id/packets/:n                     one packet (its layers with their fields, hex) and its match on the other side
 *   GET /api/captures/:id/position/:n?filter=            the row of packet n in the filtered list
 */
import { Router } from 'express';
import type { PacketDetail, PacketPage, PositionResponse } from '../api-types.js';
import { HttpError } from '../errors.js';
import { MAX_PAGE, packetDetail, packetPage, positionOf } from '../packets.js';
import type { CaptureStore } from '../store.js';
import { captureParam, intParam, str, wrap } from './common.js';

export function packetRoutes(store: CaptureStore): Router {
  const r = Router();

  r.get(
    '/api/captures/:id/packets',
    wrap(async (req, res) => {
      const c = captureParam(store, req);
      await store.analyze(c.node);
      const offset = intParam(req.query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(req.query.limit, 'limit', 100, 1, MAX_PAGE);
      const body: PacketPage = await packetPage(store, c, offset, limit, str(req.query.filter), store.generation);
      res.json(body);
    }),
  );

  r.get(
    '/api/captures/:id/packets/:n',
    wrap(async (req, res) => {
      const c = captureParam(store, req);
      await store.analyze(c.node);
      const n = intParam(req.params.n, 'packet number', 1, 1, Number.MAX_SAFE_INTEGER);
      if (n > c.index.count) throw new HttpError('VXI_WEB_NOT_FOUND', `${c.name} has ${c.index.count} packets: there is no packet ${n}`);
      const d: PacketDetail | undefined = await packetDetail(store, c, n);
      if (!d) throw new HttpError('VXI_WEB_INTERNAL', `packet ${n} of ${c.name} could not be re-read (was the file changed on disk?)`);
      res.json(d);
    }),
  );

  r.get(
    '/api/captures/:id/position/:n',
    wrap(async (req, res) => {
      const c = captureParam(store, req);
      await store.analyze(c.node);
      const n = intParam(req.params.n, 'packet number', 1, 1, Number.MAX_SAFE_INTEGER);
      const body: PositionResponse = { n, position: positionOf(c, n, str(req.query.filter), store.generation) };
      res.json(body);
    }),
  );

  return r;
}
