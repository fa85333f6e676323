/**
 *   GET /api/events    server-sent events: `update` when a capture is added or grows (live),
 *                      and the live captures' `live-start`, `live-stats`, `live-error`, `live-end`
 */
import { Router, type Response } from 'express';
import type { ServerEvents } from '../api-types.js';
import type { CaptureStore } from '../store.js';

/** The open event streams, and what is sent to all of them. */
export class EventHub {
  private readonly listeners = new Set<Response>();

  /** Sends one event to every open page. */
  emit<K extends keyof ServerEvents>(event: K, data: ServerEvents[K]): void;
  emit(event: string, data: unknown): void;
  emit(event: string, data: unknown): void {
    const msg = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const r of this.listeners) r.write(msg);
  }

  add(res: Response): void {
    this.listeners.add(res);
    res.on('close', () => this.listeners.delete(res));
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const r of this.listeners) r.end();
    this.listeners.clear();
  }
}

export function eventRoutes(store: CaptureStore, hub: EventHub): Router {
  const r = Router();
  r.get('/api/events', (_req, res) => {
    res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.flushHeaders();
    const hello: ServerEvents['hello'] = { captures: store.captures().length };
    res.write(`event: hello\ndata: ${JSON.stringify(hello)}\n\n`);
    hub.add(res);
  });
  return r;
}
