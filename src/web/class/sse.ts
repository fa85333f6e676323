/**
 * The dashboard's event streams (text/event-stream), with what a page left open on a projector
 * for hours needs: a heartbeat comment every `heartbeatMs` (proxies and browsers keep the stream,
 * and a client that went away is noticed when the write fails), clients dropped as soon as their
 * connection closes, a bound on clients, and a bound on what may wait unsent for one client — a
 * client that does not read is cut off (its browser reconnects and gets the whole board again)
 * rather than the server buffering for it without end.
 */
import type { Response } from 'express';

export interface SseOptions {
  heartbeatMs?: number;
  maxClients?: number;
  /** Bytes waiting unsent for one client, at most. */
  maxBufferedBytes?: number;
}

export const SSE_DEFAULTS = { heartbeatMs: 15_000, maxClients: 100, maxBufferedBytes: 1 << 20 } as const;

export class SseClients {
  private readonly clients = new Set<Response>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly maxClients: number;
  private readonly maxBuffered: number;
  /** Clients cut off for not reading. */
  dropped = 0;

  constructor(opts: SseOptions = {}) {
    this.maxClients = opts.maxClients ?? SSE_DEFAULTS.maxClients;
    this.maxBuffered = opts.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes;
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), opts.heartbeatMs ?? SSE_DEFAULTS.heartbeatMs);
    this.heartbeat.unref?.();
  }

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.maxClients;
  }

  /** Opens the stream on `res` and sends `first` to it alone; false when there are too many clients already. */
  add(res: Response, first: { event: string; data: unknown }): boolean {
    if (this.full) return false;
    res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    this.writeTo(res, frame(first.event, first.data));
    return true;
  }

  send(event: string, data: unknown): void {
    this.write(frame(event, data));
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    clearInterval(this.heartbeat);
    for (const r of this.clients) r.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const r of this.clients) this.writeTo(r, text);
  }

  private writeTo(r: Response, text: string): void {
    if (r.writableEnded || r.destroyed) {
      this.clients.delete(r);
      return;
    }
    if (r.writableLength > this.maxBuffered) {
      this.clients.delete(r);
      this.dropped++;
      r.destroy();
      return;
    }
    r.write(text);
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
