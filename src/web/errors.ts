/**
 * HTTP errors of the web view: each is a VxiError with a stable code (src/errors.ts) and the
 * status it is answered with. Every error, whoever throws it, goes through `errorHandler`, which
 * answers `{ "error": { "code", "message" } }` (ApiErrorBody): the page branches on the code,
 * never on the message.
 */
import type { NextFunction, Request, Response } from 'express';
import { VxiError, isVxiError, type ErrorCode } from '../errors.js';
import type { ApiErrorBody } from './api-types.js';

/** The status each web code is answered with, unless the error says otherwise. */
export const WEB_ERROR_STATUS = {
  VXI_WEB_BAD_REQUEST: 400,
  VXI_WEB_TOKEN: 401,
  VXI_WEB_FORBIDDEN: 403,
  VXI_WEB_NOT_FOUND: 404,
  VXI_WEB_HOST: 421,
  VXI_WEB_TOO_LARGE: 413,
  VXI_WEB_INTERNAL: 500,
  VXI_WEB_UNAVAILABLE: 501,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type WebErrorCode = keyof typeof WEB_ERROR_STATUS;

export class HttpError extends VxiError {
  readonly status: number;
  constructor(code: WebErrorCode | ErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    const status = options.status ?? (WEB_ERROR_STATUS as Partial<Record<ErrorCode, number>>)[code] ?? 500;
    super(code, message, { cause: options.cause, exitCode: status < 500 ? 2 : 1 });
    this.status = status;
  }
}

/** Status and body for any error: ours keep their code; others are internal errors. */
export function errorResponse(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof HttpError) return { status: err.status, body: { error: { code: err.code, message: err.message } } };
  if (isVxiError(err)) return { status: err.exitCode === 2 ? 400 : 500, body: { error: { code: err.code, message: err.message } } };
  const type = (err as { type?: unknown } | null)?.type;
  // express's body parsers
  if (type === 'entity.too.large')
    return { status: 413, body: { error: { code: 'VXI_WEB_TOO_LARGE', message: 'request body too large' } } };
  if (type === 'entity.parse.failed')
    return { status: 400, body: { error: { code: 'VXI_WEB_BAD_REQUEST', message: 'request body is not valid JSON' } } };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { code: 'VXI_WEB_INTERNAL', message: `internal error: ${message}` } } };
}

/** The one error handler, last in the app. */
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, body } = errorResponse(err);
  // a refused upload may still be streaming in: do not keep reading it on this connection
  if (status === 413) res.set('Connection', 'close');
  res.status(status).json(body);
}
