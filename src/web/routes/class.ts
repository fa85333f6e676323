/**
 * The class dashboard (`serve --class FILE`; src/web/class/):
 *
 *   GET  /class, and / when serving a class      the grid page (class.html, client/class-app.js)
 *   GET  /api/class                              the board: columns, every group's latest check and traffic per VNI
 *   GET  /api/class/events                       server-sent events: `hello` (the board), `checking`, `group` (a row); heartbeats
 *   POST /api/class/groups/:name/check           check this group now (token: it starts SSH sessions to the group's nodes)
 *   GET  /api/class/groups/:name/view            the port of the group's own page (started on first use, on this address)
 *
 * The app's guards apply as to every route (Host on all, same-site on /api). Opening a group's
 * view starts a local listener only (no remote work; the page's live capture needs the token).
 */
import path from 'node:path';
import { Router, type Request } from 'express';
import type { ClassGroup } from '../../class/types.js';
import type { ClassCheckNowResponse, ClassGroupViewResponse } from '../class-types.js';
import type { ClassBoard } from '../class/board.js';
import { HttpError } from '../errors.js';
import { requireToken } from '../security.js';
import { str, wrap } from './common.js';

function groupParam(board: ClassBoard, req: Request): ClassGroup {
  const name = str(req.params.name);
  const g = board.cls.groups.find((x) => x.name === name);
  if (!g) throw new HttpError('VXI_WEB_NOT_FOUND', `no group ${JSON.stringify(name)} in ${board.cls.source} (GET /api/class lists them)`);
  return g;
}

export function classRoutes(board: ClassBoard, token: string, publicDir: string): Router {
  const r = Router();

  r.get('/', (_req, res) => res.redirect(302, '/class'));
  r.get(['/class', '/class/'], (_req, res) => {
    res.type('html').sendFile(path.join(publicDir, 'class.html'), { dotfiles: 'allow' });
  });

  r.get('/api/class', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(board.snapshot());
  });

  r.get('/api/class/events', (_req, res) => {
    if (!board.events.add(res, { event: 'hello', data: board.snapshot() })) {
      throw new HttpError(
        'VXI_WEB_UNAVAILABLE',
        `too many open dashboards (${board.events.size}): close one (each browser tab keeps a stream)`,
        { status: 503 },
      );
    }
  });

  r.post('/api/class/groups/:name/check', requireToken(token), (req, res) => {
    const g = groupParam(board, req);
    const body: ClassCheckNowResponse = { group: g.name, state: board.monitor.checkNow(g.name) };
    res.status(202).json(body);
  });

  r.get(
    '/api/class/groups/:name/view',
    wrap(async (req, res) => {
      const g = groupParam(board, req);
      let server;
      try {
        server = await board.views.open(g);
      } catch (err) {
        throw new HttpError(
          'VXI_WEB_INTERNAL',
          `cannot start the page of group ${g.name}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      const body: ClassGroupViewResponse = { group: g.name, port: server.port };
      res.json(body);
    }),
  );

  return r;
}
