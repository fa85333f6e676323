/**
 * What every route module shares: the context createApp builds once (the store, the options,
 * live captures, the event stream), and the small helpers that turn a request into typed
 * values or an HttpError.
 */
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors.js';
import type { CaptureStore, StoredCapture, StoredNode } from '../store.js';
import type { EventHub } from './events.js';
import type { LiveCaptures } from './live.js';

export interface RouteContext {
  store: CaptureStore;
  /** Required for state-changing requests (header X-VXI-Token). */
  token: string;
  /** Largest upload, bytes; all uploads together: 8 times that. */
  uploadLimit: number;
  /** Most packets an upload may hold. */
  uploadPacketLimit: number;
  banner: string | null;
  live: LiveCaptures;
  events: EventHub;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

/** An async handler whose failures go to the one error handler. */
export function wrap(fn: Handler) {
  return (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve(fn(req, res)).catch(next);
  };
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A whole number from the query or the path, min..max; `def` when absent. */
export function intParam(v: unknown, name: string, def: number, min: number, max: number): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpError('VXI_WEB_BAD_REQUEST', `${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return n;
}

/** The capture named by `:id`. */
export function captureParam(store: CaptureStore, req: Request): StoredCapture {
  const c = store.capture(str(req.params.id));
  if (!c) throw new HttpError('VXI_WEB_NOT_FOUND', `no capture ${JSON.stringify(req.params.id)} (GET /api/session lists them)`);
  return c;
}

/** The node named by `:node`. */
export function nodeParam(store: CaptureStore, req: Request): StoredNode {
  const n = store.node(str(req.params.node));
  if (!n) throw new HttpError('VXI_WEB_NOT_FOUND', `no node ${JSON.stringify(req.params.node)} (GET /api/session lists them)`);
  return n;
}
