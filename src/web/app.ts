/**
 * The web view's HTTP server: `createApp(deps)` builds the express app from the route modules
 * (src/web/routes/, one per group below) and returns it with what the server needs to start
 * live captures and to close (tests start it on port 0 and use fetch). Routes, all JSON unless
 * said; what each answers is typed in api-types.ts, and every error is
 * `{ "error": { "code", "message" } }` (errors.ts):
 *
 *   GET  /api/session                          captures, nodes, correlation summaries
 *   GET  /api/nodes/:node/series?bins=         packets/s and bytes/s per VNI, both sides, one time axis
 *   GET  /api/nodes/:node/report.json          the node's correlation, diagnostics, topology (download)
 *   GET  /api/topology                         VTEPs, their VNIs, the MACs/IPs behind each
 *   GET  /api/diagnostics                      findings with likely causes
 *   GET  /api/path                             every frame followed across the nodes: sent, delivered, lost per hop and why
 *   GET  /api/path/frame?node&side&n           one frame's journey: its four sightings and per-hop times
 *   GET  /api/captures/:id/packets?offset&limit&filter=   a page of the packet list
 *   GET  /api/captures/:id/packets/:n          one packet (layers, hex) and its match on the other side
 *   GET  /api/captures/:id/position/:n?filter= the row of packet n in the filtered list
 *   GET  /api/captures/:id/file                the capture as loaded (download)
 *   GET  /api/captures/:id/inner.pcap          decapsulated frames (download; trailers X-VXI-Skipped, X-VXI-Timestamps-Normalised)
 *   GET  /api/captures/:id/packets.ndjson      every packet decoded, one JSON object a line (download)
 *   GET  /api/events                           server-sent events: `update` when a capture is added or grows (live)
 *   POST /api/captures?name=FILE               upload a capture (raw body; token)
 *   POST /api/captures/live                    start a live capture (token; needs deps.startCapture)
 *   POST /api/captures/live/:id/stop           stop it (token); its files stay served
 *   GET  /, /client/app.js, /style.css, /vendor/chart.umd.js   the page (works offline; src/web/client/ compiled)
 *   GET  /class, /api/class…                   with deps.classBoard (serve --class): the class dashboard (routes/class.ts)
 *
 * Every /api route refuses requests a browser marks as from another site (security.ts); the
 * filter= of the packet routes is bounded (filter.ts); uploads share one quota, reserved
 * before their first byte.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import type { LiveCaptureStatus } from './api-types.js';
import { HttpError, errorHandler } from './errors.js';
import { hostCheck, sameSiteOnly, securityHeaders } from './security.js';
import type { CaptureStore } from './store.js';
import type { RouteContext } from './routes/common.js';
import { downloadRoutes } from './routes/downloads.js';
import { EventHub, eventRoutes } from './routes/events.js';
import { LiveCaptures, liveRoutes } from './routes/live.js';
import { packetRoutes } from './routes/packets.js';
import { pathRoutes } from './routes/path.js';
import { sessionRoutes } from './routes/session.js';
import { topologyRoutes } from './routes/topology.js';
import { uploadRoutes } from './routes/uploads.js';
import { classRoutes } from './routes/class.js';
import type { ClassBoard } from './class/board.js';

export type { LiveCaptureStatus } from './api-types.js';
export { INNER_TRAILERS } from './routes/downloads.js';

export interface LiveCaptureRequest {
  /** Inventory node name (kvm1, kvm2…). */
  node: string;
  /** Interfaces to capture; default the node's underlay and bridge. */
  interfaces?: string[];
  durationSec?: number;
}

export interface LiveCaptureHandle {
  id: string;
  stop(): Promise<void>;
  /** What the page lists about it (GET /api/session `liveCaptures`). */
  status?(): LiveCaptureStatus;
}

/**
 * Seam for live capture: starts capturing (e.g. tcpdump over SSH into local files) and hands each
 * file to `store.follow({ path, name, node, role, iface })`, which indexes it as it grows and tells
 * every open page (server-sent event `update`).
 */
export type StartCapture = (
  req: LiveCaptureRequest,
  store: CaptureStore,
  emit: (event: string, data: unknown) => void,
) => Promise<LiveCaptureHandle>;

export interface AppDeps {
  store: CaptureStore;
  /** Required for state-changing requests (header X-VXI-Token). */
  token: string;
  /** Host names (besides IP literals and localhost) the Host header may carry. */
  allowedHosts?: string[];
  /** Largest upload, bytes (default 64 MiB); all uploads together: 8 times that. */
  uploadLimitBytes?: number;
  /** Most packets an upload may hold (its index is kept in memory); default one per 64 bytes of uploadLimitBytes. */
  uploadPacketLimit?: number;
  startCapture?: StartCapture;
  /** Inventory nodes the page offers for live capture. */
  liveNodes?: string[];
  /** Where index.html, client/app.js and style.css are (default: the built page, see defaultPublicDir). */
  publicDir?: string;
  /** A line shown on the page (e.g. "synthetic sample: fixtures/lab not found"). */
  banner?: string;
  /** serve --class: the class dashboard (its page at / and /class); closed with the app. */
  classBoard?: ClassBoard;
}

/** What a server needs of the app: the app to listen with, live capture, and closing. */
export interface WebApp {
  app: Express;
  /** Starts a live capture as POST /api/captures/live does (pages hear of it); stopped by close(). */
  startLive(req: LiveCaptureRequest): Promise<LiveCaptureHandle>;
  /** Stops the live captures, ends the event streams, and stops listening to the store. */
  close(): Promise<void>;
}

export const DEFAULT_UPLOAD_LIMIT = 64 * 1024 * 1024;

function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  // the package's main entry is dist/chart.cjs; the UMD build sits next to it
  return path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
}

/**
 * The page's files: `public/` next to this module once built (dist/web/public holds the
 * compiled client). Run from the sources (tests, tsx), src/web/public has no compiled client:
 * the build's copy in dist/web/public is served.
 */
export function defaultPublicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'public');
  if (existsSync(path.join(beside, 'client', 'app.js'))) return beside;
  const built = path.join(here, '..', '..', 'dist', 'web', 'public');
  return existsSync(path.join(built, 'client', 'app.js')) ? built : beside;
}

export function createApp(deps: AppDeps): WebApp {
  const { store } = deps;
  const uploadLimit = deps.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT;
  const publicDir = deps.publicDir ?? defaultPublicDir();
  const vendorChart = existsSync(path.join(publicDir, 'vendor', 'chart.umd.js'))
    ? path.join(publicDir, 'vendor', 'chart.umd.js')
    : chartJsPath();
  const events = new EventHub();
  const ctx: RouteContext = {
    store,
    token: deps.token,
    uploadLimit,
    uploadPacketLimit: deps.uploadPacketLimit ?? Math.max(1, Math.floor(uploadLimit / 64)),
    banner: deps.banner ?? null,
    events,
    live: new LiveCaptures(store, events, deps.startCapture, deps.startCapture ? (deps.liveNodes ?? []) : []),
  };
  // a capture added (upload, live) or grown (live): every open page hears of it
  const unsubscribe = store.onChange((c) => events.emit('update', store.summary(c)));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(hostCheck(deps.allowedHosts ?? []));
  app.use(securityHeaders);
  app.use('/api', sameSiteOnly);
  if (deps.classBoard) app.use(classRoutes(deps.classBoard, deps.token, publicDir));
  app.use(sessionRoutes(ctx));
  app.use(topologyRoutes(store));
  app.use(pathRoutes(store));
  app.use(packetRoutes(store));
  app.use(downloadRoutes(store));
  app.use(eventRoutes(store, events));
  app.use(liveRoutes(ctx));
  app.use(uploadRoutes(ctx));
  app.use('/api', () => {
    throw new HttpError('VXI_WEB_NOT_FOUND', 'no such API route');
  });

  app.get('/vendor/chart.umd.js', (_req, res) => {
    // a fixed path of ours (it may sit under a dot-directory such as a package manager's cache)
    res.type('application/javascript').sendFile(vendorChart, { dotfiles: 'allow' });
  });
  app.use(express.static(publicDir, { index: 'index.html', dotfiles: 'deny', fallthrough: true }));
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found');
  });
  app.use(errorHandler);

  return {
    app,
    startLive: (req) => ctx.live.start(req),
    close: async () => {
      unsubscribe();
      await deps.classBoard?.close();
      await ctx.live.stopAll();
      events.close();
    },
  };
}
