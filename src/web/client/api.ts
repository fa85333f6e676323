/**
 * The page's API client: one typed function per route (the types are the server's, from
 * api-types.ts), and errors as ApiError with the server's stable code, so the page branches
 * on `code` (VXI_WEB_TOKEN…), never on message text. No DOM here: it runs in Node for its tests.
 */
import type {
  ApiErrorBody,
  DiagnosticsResponse,
  LiveResponse,
  PacketDetail,
  PacketPage,
  PositionResponse,
  SeriesResponse,
  SessionResponse,
  TopologyResponse,
  UploadResponse,
} from '../api-types.js';

export class ApiError extends Error {
  constructor(
    /** HTTP status (0 when the server could not be reached). */
    readonly status: number,
    /** The server's code (src/errors.ts), or VXI_WEB_UNREADABLE when the answer was not ours. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const e = (v as { error?: unknown }).error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

/** The error an answer that is not 2xx stands for. */
export function errorOf(status: number, statusText: string, text: string): ApiError {
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (isErrorBody(body)) return new ApiError(status, body.error.code, body.error.message);
  // not our JSON (a proxy, a crash): say what came
  return new ApiError(status, 'VXI_WEB_UNREADABLE', text.trim() ? text.trim().slice(0, 300) : `${status} ${statusText}`);
}

/** The token was missing or refused: the page asks for it again. */
export function isTokenError(err: unknown): boolean {
  return err instanceof ApiError && err.code === 'VXI_WEB_TOKEN';
}

/** A message to show for any error. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface Api {
  session(): Promise<SessionResponse>;
  series(node: string): Promise<SeriesResponse>;
  topology(): Promise<TopologyResponse>;
  diagnostics(): Promise<DiagnosticsResponse>;
  packets(captureId: string, offset: number, limit: number, filter: string): Promise<PacketPage>;
  packet(captureId: string, n: number): Promise<PacketDetail>;
  position(captureId: string, n: number, filter: string): Promise<PositionResponse>;
  upload(name: string, body: Blob, token: string): Promise<UploadResponse>;
  startLive(req: { node: string; durationSec?: number }, token: string): Promise<LiveResponse>;
  stopLive(id: string, token: string): Promise<LiveResponse>;
}

/** The API of the server at `base` ('' in the page: the server that served it). */
export function createApi(base = '', tokenHeader = 'X-VXI-Token'): Api {
  async function call<T>(path: string, init?: RequestInit): Promise<T> {
    const r = await fetch(`${base}${path}`, init);
    const text = await r.text();
    if (!r.ok) throw errorOf(r.status, r.statusText, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(r.status, 'VXI_WEB_UNREADABLE', `${path} answered something that is not JSON`);
    }
  }
  const enc = encodeURIComponent;
  return {
    session: () => call('/api/session'),
    series: (node) => call(`/api/nodes/${enc(node)}/series`),
    topology: () => call('/api/topology'),
    diagnostics: () => call('/api/diagnostics'),
    packets: (id, offset, limit, filter) => call(`/api/captures/${enc(id)}/packets?offset=${offset}&limit=${limit}&filter=${enc(filter)}`),
    packet: (id, n) => call(`/api/captures/${enc(id)}/packets/${n}`),
    position: (id, n, filter) => call(`/api/captures/${enc(id)}/position/${n}?filter=${enc(filter)}`),
    upload: (name, body, token) =>
      call(`/api/captures?name=${enc(name)}`, {
        method: 'POST',
        headers: { [tokenHeader]: token, 'Content-Type': 'application/octet-stream' },
        body,
      }),
    startLive: (req, token) =>
      call('/api/captures/live', {
        method: 'POST',
        headers: { [tokenHeader]: token, 'Content-Type': 'application/json' },
        body: JSON.stringify(req),
      }),
    stopLive: (id, token) => call(`/api/captures/live/${enc(id)}/stop`, { method: 'POST', headers: { [tokenHeader]: token } }),
  };
}

/** The page's API: the server that served it. */
export const api: Api = createApi();
