/**
 *   POST /api/captures/live             start a live capture (token; needs deps.startCapture)
 *   POST /api/captures/live/:id/stop    stop it (token); its files stay served
 */
import express, { Router } from 'express';
import type { LiveCaptureStatus, LiveResponse } from '../api-types.js';
import type { LiveCaptureHandle, LiveCaptureRequest, StartCapture } from '../app.js';
import { HttpError } from '../errors.js';
import { requireToken } from '../security.js';
import type { CaptureStore } from '../store.js';
import { str, wrap, type RouteContext } from './common.js';
import type { EventHub } from './events.js';

/** The live captures this server started; it stops them when it closes. */
export class LiveCaptures {
  private readonly handles = new Map<string, LiveCaptureHandle>();

  constructor(
    private readonly store: CaptureStore,
    private readonly events: EventHub,
    private readonly startCapture: StartCapture | undefined,
    /** Inventory nodes the page offers. */
    readonly nodes: string[],
  ) {}

  get available(): boolean {
    return this.startCapture !== undefined;
  }

  /** Throws, saying how to get live capture, when this server has none. */
  assertAvailable(): StartCapture {
    if (this.startCapture) return this.startCapture;
    throw new HttpError(
      'VXI_WEB_UNAVAILABLE',
      'live capture is not available on this server: start it with `vxlan-inspect serve --inventory FILE` ' +
        '(or `demo --live` for the namespace lab), or record with `vxlan-inspect capture` and ' +
        'serve the folder',
    );
  }

  async start(req: LiveCaptureRequest): Promise<LiveCaptureHandle> {
    const startCapture = this.assertAvailable();
    const handle = await startCapture(req, this.store, (event, data) => this.events.emit(event, data));
    this.handles.set(handle.id, handle);
    return handle;
  }

  get(id: string): LiveCaptureHandle | undefined {
    return this.handles.get(id);
  }

  statuses(): LiveCaptureStatus[] {
    return [...this.handles.values()].flatMap((h) => (h.status ? [h.status()] : []));
  }

  async stopAll(): Promise<void> {
    for (const h of this.handles.values()) await h.stop().catch(() => undefined);
    this.handles.clear();
  }
}

/** The request body, checked. */
function liveRequest(body: unknown): LiveCaptureRequest {
  const b = (body ?? {}) as { node?: unknown; interfaces?: unknown; durationSec?: unknown };
  if (typeof b.node !== 'string' || !b.node)
    throw new HttpError('VXI_WEB_BAD_REQUEST', 'live capture needs {"node": "<inventory node name>"}');
  if (b.durationSec !== undefined && (typeof b.durationSec !== 'number' || !(b.durationSec > 0)))
    throw new HttpError('VXI_WEB_BAD_REQUEST', 'durationSec must be a number of seconds above 0');
  const req: LiveCaptureRequest = { node: b.node };
  if (Array.isArray(b.interfaces)) req.interfaces = b.interfaces.map(String);
  if (typeof b.durationSec === 'number') req.durationSec = b.durationSec;
  return req;
}

export function liveRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post(
    '/api/captures/live',
    requireToken(ctx.token),
    express.json({ limit: '16kb' }),
    wrap(async (req, res) => {
      ctx.live.assertAvailable();
      const handle = await ctx.live.start(liveRequest(req.body));
      const body: LiveResponse = { id: handle.id, status: handle.status?.() ?? null };
      res.status(202).json(body);
    }),
  );

  r.post(
    '/api/captures/live/:id/stop',
    requireToken(ctx.token),
    wrap(async (req, res) => {
      const handle = ctx.live.get(str(req.params.id));
      if (!handle)
        throw new HttpError(
          'VXI_WEB_NOT_FOUND',
          `no live capture ${JSON.stringify(req.params.id)} (GET /api/session lists them under liveCaptures)`,
        );
      await handle.stop();
      const body: LiveResponse = { id: handle.id, status: handle.status?.() ?? null };
      res.json(body);
    }),
  );

  return r;
}
