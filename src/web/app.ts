/**
 * The web view's HTTP server: `createApp(deps)` returns the express app (tests start it on
 * port 0 and use fetch). Routes, all JSON unless said:
 *
 *   GET  /api/session                          captures, nodes, correlation summaries
 *   GET  /api/nodes/:node/series?bins=         packets/s and bytes/s per VNI, both sides, one time axis
 *   GET  /api/nodes/:node/report.json          the node's correlation, diagnostics, topology (download)
 *   GET  /api/topology                         VTEPs, their VNIs, the MACs/IPs behind each
 *   GET  /api/diagnostics                      findings with likely causes
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
 *   GET  /, /app.js, /style.css, /vendor/chart.umd.js   the page (works offline)
 *
 * Every /api route refuses requests a browser marks as from another site (security.ts); the
 * filter= of the packet routes is bounded (filter.ts); uploads share one quota, reserved
 * before their first byte.
 */
import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CaptureFormatError, isVxiError } from '../errors.js';
import { TooManyPacketsError } from './capture-index.js';
import { FILTER_HELP } from './filter.js';
import { writeInnerPcap, writePacketsNdjson, type Sink } from './downloads.js';
import { MAX_PAGE, packetDetail, packetPage, positionOf } from './packets.js';
import { TOKEN_HEADER, hostCheck, requireToken, sameSiteOnly, securityHeaders } from './security.js';
import { computeSeries, overlayGroup, underlayGroup, type SeriesSide } from './series.js';
import { pageTopology, type NodeAnalysis } from './analysis.js';
import type { CaptureStore, StoredCapture } from './store.js';

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

export interface LiveCaptureStatus {
  id: string;
  node: string;
  interfaces: string[];
  running: boolean;
  startedAt: string;
  /** Folder of its files (OUT/<node>-<iface>.pcap, session.json at the end). */
  outDir?: string;
  /** One line per problem, naming node and interface. */
  errors: string[];
}

/**
 * Seam for live capture: starts capturing (e.g. tcpdump over SSH into local files) and hands each
 * file to `store.follow({ path, name, node, role, iface })`, which indexes it as it grows and tells
 * every open page (server-sent event `update`).
 */
export type StartCapture = (req: LiveCaptureRequest, store: CaptureStore, emit: (event: string, data: unknown) => void) => Promise<LiveCaptureHandle>;

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
  /** Where index.html, app.js and style.css are (default: ./public next to this module). */
  publicDir?: string;
  /** A line shown on the page (e.g. "synthetic sample: fixtures/lab not found"). */
  banner?: string;
}

export const DEFAULT_UPLOAD_LIMIT = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  // the package's main entry is dist/chart.cjs; the UMD build sits next to it
  return path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
}

function intParam(v: unknown, name: string, def: number, min: number, max: number): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return n;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

function wrap(fn: Handler) {
  return (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve(fn(req, res)).catch(next);
  };
}

function safeFileName(name: string): string {
  const base = path.basename(name.replace(/\\/g, '/')).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return base && base !== '.' && base !== '..' ? base : 'upload.pcap';
}

/**
 * Writes a request body to `dest`; `check` sees each chunk and returns an error to stop (the
 * rest of the body is drained, not kept).
 */
function receive(req: Request, dest: string, check: (chunk: Buffer) => Error | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const out = createWriteStream(dest);
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      req.unpipe(out);
      out.destroy();
      req.resume();
      reject(e);
    };
    req.on('data', (chunk: Buffer) => {
      const e = check(chunk);
      if (e) fail(e);
    });
    req.on('error', (e) => fail(e));
    req.on('close', () => {
      if (!req.complete) fail(new HttpError(400, 'upload interrupted: the connection closed before the whole file came'));
    });
    out.on('error', (e) => fail(e));
    out.on('finish', () => {
      if (!failed) resolve();
    });
    req.pipe(out);
  });
}

/** Trailers of the inner-only pcap download: frames left out, timestamps carried into the seconds. */
export const INNER_TRAILERS = { skipped: 'X-VXI-Skipped', normalised: 'X-VXI-Timestamps-Normalised' } as const;

/** A response as a download's sink: waiting for drain ends when the client goes away. */
function responseSink<T extends string | Uint8Array>(res: Response): Sink<T> {
  let closed = false;
  res.once('close', () => {
    closed = true;
  });
  return {
    write: (data) => res.write(data),
    waitDrain: () => new Promise<void>((resolve) => {
      if (closed || res.destroyed) {
        closed = true;
        resolve();
        return;
      }
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    }),
    get closed() {
      return closed || res.destroyed;
    },
  };
}

/** A node's analysis as served (its diagnostics are served on their own). */
function analysisOf(a: NodeAnalysis | undefined): NodeAnalysis | null {
  return a ?? null;
}

export function createApp(deps: AppDeps): express.Express {
  const { store, token } = deps;
  const uploadLimit = deps.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT;
  const uploadPacketLimit = deps.uploadPacketLimit ?? Math.max(1, Math.floor(uploadLimit / 64));
  const publicDir = deps.publicDir ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
  const vendorChart = existsSync(path.join(publicDir, 'vendor', 'chart.umd.js')) ? path.join(publicDir, 'vendor', 'chart.umd.js') : chartJsPath();
  const listeners = new Set<Response>();
  const emit = (event: string, data: unknown): void => {
    const msg = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const r of listeners) r.write(msg);
  };
  const live = new Map<string, LiveCaptureHandle>();
  /** Starts a live capture the server will stop when it closes (the route, and `app.locals.startLive`). */
  const startLive = async (req: LiveCaptureRequest): Promise<LiveCaptureHandle> => {
    if (!deps.startCapture) throw new HttpError(501, 'live capture is not available: start the server with an inventory');
    const handle = await deps.startCapture(req, store, emit);
    live.set(handle.id, handle);
    return handle;
  };
  // a capture added (upload, live) or grown (live): every open page hears of it
  const unsubscribe = store.onChange((c) => emit('update', store.summary(c)));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(hostCheck(deps.allowedHosts ?? []));
  app.use(securityHeaders);
  app.use('/api', sameSiteOnly);

  const capture = (req: Request): StoredCapture => {
    const c = store.capture(str(req.params.id));
    if (!c) throw new HttpError(404, `no capture ${JSON.stringify(req.params.id)} (GET /api/session lists them)`);
    return c;
  };
  const nodeOf = (req: Request) => {
    const n = store.node(str(req.params.node));
    if (!n) throw new HttpError(404, `no node ${JSON.stringify(req.params.node)} (GET /api/session lists them)`);
    return n;
  };

  app.get('/api/session', wrap(async (_req, res) => {
    await store.analyzeAll();
    res.json({
      nodes: store.nodes().map((n) => {
        const u = n.underlay ? store.capture(n.underlay) : undefined;
        const o = n.overlay ? store.capture(n.overlay) : undefined;
        return { name: n.name, clockOffsetUs: n.clockOffsetUs, underlay: u ? store.summary(u) : null, overlay: o ? store.summary(o) : null, analysis: analysisOf(n.analysis) };
      }),
      captures: store.captures().map((c) => store.summary(c)),
      problems: store.problems,
      live: deps.startCapture !== undefined,
      liveNodes: deps.startCapture ? (deps.liveNodes ?? []) : [],
      liveCaptures: [...live.values()].flatMap((h) => (h.status ? [h.status()] : [])),
      uploadLimitBytes: uploadLimit,
      filterHelp: FILTER_HELP,
      banner: deps.banner ?? null,
      tokenHeader: TOKEN_HEADER,
    });
  }));

  app.get('/api/nodes/:node/series', wrap(async (req, res) => {
    const node = nodeOf(req);
    await store.analyze(node.name);
    const bins = intParam(req.query.bins, 'bins', 120, 10, 2000);
    const u = node.underlay ? store.capture(node.underlay) : undefined;
    const o = node.overlay ? store.capture(node.overlay) : undefined;
    // one time axis for every node of the session, so kvm1 and kvm2 line up
    const all = store.nodes();
    let t0 = Infinity;
    let t1 = -Infinity;
    for (const n of all) {
      for (const id of [n.underlay, n.overlay]) {
        const c = id ? store.capture(id) : undefined;
        if (!c || c.index.count === 0) continue;
        t0 = Math.min(t0, c.index.firstTsUs - n.clockOffsetUs);
        t1 = Math.max(t1, c.index.lastTsUs - n.clockOffsetUs);
      }
    }
    const sides: SeriesSide[] = [];
    if (u) sides.push({ key: 'underlay', index: u.index, offsetUs: node.clockOffsetUs, groupOf: underlayGroup(u.index) });
    if (o) sides.push({ key: 'overlay', index: o.index, offsetUs: node.clockOffsetUs - node.overlayClockOffsetUs, groupOf: overlayGroup(o.index, u?.index) });
    const series = computeSeries(sides, bins, Number.isFinite(t0) ? { t0Us: t0, t1Us: t1 } : undefined);
    res.json({ node: node.name, ...series });
  }));

  app.get('/api/nodes/:node/report.json', wrap(async (req, res) => {
    const node = nodeOf(req);
    await store.analyze(node.name);
    const u = node.underlay ? store.capture(node.underlay) : undefined;
    const o = node.overlay ? store.capture(node.overlay) : undefined;
    res.attachment(`${node.name}-report.json`);
    res.type('application/json').send(JSON.stringify({
      node: node.name,
      underlay: u ? store.summary(u) : null,
      overlay: o ? store.summary(o) : null,
      correlation: analysisOf(node.analysis),
      diagnostics: node.diagnostics ?? [],
      topology: pageTopology(store.topology()),
    }, null, 2));
  }));

  app.get('/api/topology', wrap(async (_req, res) => {
    await store.analyzeAll();
    res.json({ ...pageTopology(store.topology()), localOf: store.localVteps(), nodes: store.nodes().map((n) => ({ name: n.name, underlay: n.underlay ?? null, overlay: n.overlay ?? null })) });
  }));

  app.get('/api/diagnostics', wrap(async (_req, res) => {
    await store.analyzeAll();
    res.json({ diagnostics: store.diagnostics() });
  }));

  app.get('/api/captures/:id/packets', wrap(async (req, res) => {
    const c = capture(req);
    await store.analyze(c.node);
    const offset = intParam(req.query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(req.query.limit, 'limit', 100, 1, MAX_PAGE);
    res.json(await packetPage(store, c, offset, limit, str(req.query.filter), store.generation));
  }));

  app.get('/api/captures/:id/packets/:n', wrap(async (req, res) => {
    const c = capture(req);
    await store.analyze(c.node);
    const n = intParam(req.params.n, 'packet number', 1, 1, Number.MAX_SAFE_INTEGER);
    if (n > c.index.count) throw new HttpError(404, `${c.name} has ${c.index.count} packets: there is no packet ${n}`);
    const d = await packetDetail(store, c, n);
    if (!d) throw new HttpError(500, `packet ${n} of ${c.name} could not be re-read (was the file changed on disk?)`);
    res.json(d);
  }));

  app.get('/api/captures/:id/position/:n', wrap(async (req, res) => {
    const c = capture(req);
    await store.analyze(c.node);
    const n = intParam(req.params.n, 'packet number', 1, 1, Number.MAX_SAFE_INTEGER);
    res.json({ n, position: positionOf(c, n, str(req.query.filter), store.generation) });
  }));

  app.get('/api/captures/:id/file', wrap(async (req, res) => {
    const c = capture(req);
    res.attachment(c.name.endsWith('.pcap') || c.name.endsWith('.pcapng') ? c.name : `${c.name}.pcap`);
    res.type('application/vnd.tcpdump.pcap');
    // pipeline closes the file when the client goes away (pipe would leave it open)
    await pipeline(createReadStream(c.path), res).catch(() => res.destroy());
  }));

  app.get('/api/captures/:id/inner.pcap', wrap(async (req, res) => {
    const c = capture(req);
    res.attachment(`${c.name.replace(/\.(pcapng|pcap|cap)$/i, '')}-inner.pcap`);
    res.type('application/vnd.tcpdump.pcap');
    // what could not be written is said at the end (the status is sent with the first bytes)
    res.set('Trailer', `${INNER_TRAILERS.skipped}, ${INNER_TRAILERS.normalised}`);
    const r = await writeInnerPcap(c.path, store.registry, responseSink<Uint8Array>(res));
    if (r.closed) return;
    res.addTrailers({
      [INNER_TRAILERS.skipped]: r.skipped ? `${r.skipped} frame(s) left out: their timestamp is after 2106 and does not fit a pcap record` : '0',
      [INNER_TRAILERS.normalised]: String(r.normalised),
    });
    res.end();
  }));

  app.get('/api/captures/:id/packets.ndjson', wrap(async (req, res) => {
    const c = capture(req);
    res.attachment(`${c.name.replace(/\.(pcapng|pcap|cap)$/i, '')}.ndjson`);
    res.type('application/x-ndjson');
    const sink = responseSink<string>(res);
    await writePacketsNdjson(c.path, store.registry, sink);
    if (!sink.closed) res.end();
  }));

  app.get('/api/events', (req, res) => {
    res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.flushHeaders();
    res.write(`event: hello\ndata: ${JSON.stringify({ captures: store.captures().length })}\n\n`);
    listeners.add(res);
    req.on('close', () => listeners.delete(res));
  });

  app.post('/api/captures/live', requireToken(token), express.json({ limit: '16kb' }), wrap(async (req, res) => {
    if (!deps.startCapture) {
      throw new HttpError(501, 'live capture is not available on this server: start it with `vxlan-inspect serve --inventory FILE` (or `demo --live` for the namespace lab), or record with `vxlan-inspect capture` and serve the folder');
    }
    const body = (req.body ?? {}) as Partial<LiveCaptureRequest>;
    if (typeof body.node !== 'string' || !body.node) throw new HttpError(400, 'live capture needs {"node": "<inventory node name>"}');
    if (body.durationSec !== undefined && (typeof body.durationSec !== 'number' || !(body.durationSec > 0))) throw new HttpError(400, 'durationSec must be a number of seconds above 0');
    const handle = await startLive({ node: body.node, ...(Array.isArray(body.interfaces) ? { interfaces: body.interfaces.map(String) } : {}), ...(typeof body.durationSec === 'number' ? { durationSec: body.durationSec } : {}) });
    res.status(202).json({ id: handle.id, status: handle.status?.() ?? null });
  }));

  app.post('/api/captures/live/:id/stop', requireToken(token), wrap(async (req, res) => {
    const handle = live.get(str(req.params.id));
    if (!handle) throw new HttpError(404, `no live capture ${JSON.stringify(req.params.id)} (GET /api/session lists them under liveCaptures)`);
    await handle.stop();
    res.json({ id: handle.id, status: handle.status?.() ?? null });
  }));

  app.post('/api/captures', requireToken(token), wrap(async (req, res) => {
    const name = safeFileName(str(req.query.name) || req.get('x-file-name') || 'upload.pcap');
    const declared = Number(req.get('content-length') ?? NaN);
    const limitText = `${Math.round(uploadLimit / 1024 / 1024)} MB`;
    if (Number.isFinite(declared) && declared > uploadLimit) {
      req.resume();
      throw new HttpError(413, `${name} is ${(declared / 1024 / 1024).toFixed(1)} MB: uploads are limited to ${limitText}. Serve large captures from disk instead: vxlan-inspect serve FILE…`);
    }
    const totalLimit = uploadLimit * 8;
    // the quota is taken before the first byte is accepted: uploads side by side share it
    const reserved = Number.isFinite(declared) && declared >= 0 ? declared : uploadLimit;
    if (!store.reserveUpload(reserved, totalLimit)) {
      req.resume();
      throw new HttpError(413, `uploads so far (and those being received) fill the ${Math.round(totalLimit / 1024 / 1024)} MB this server keeps for them: wait for them, restart it, or serve the captures from disk (vxlan-inspect serve DIR)`);
    }
    const dest = store.uploadPath();
    let size = 0;
    try {
      await receive(req, dest, (chunk) => {
        size += chunk.length;
        // a declared length is the most the HTTP parser delivers; without one, the reservation is the upload limit
        return size > reserved ? new HttpError(413, `${name} is larger than the ${limitText} upload limit. Serve large captures from disk instead: vxlan-inspect serve FILE…`) : undefined;
      });
      if (size === 0) throw new HttpError(400, `${name} is empty: choose a .pcap or .pcapng file`);
      const c = await store.addUpload(dest, name, uploadPacketLimit);
      res.status(201).json({ capture: store.summary(c), node: c.node });
    } catch (err) {
      rmSync(dest, { force: true });
      if (err instanceof CaptureFormatError) {
        throw new HttpError(400, `${name} is not a capture file we can read: ${err.message}. Upload a .pcap or .pcapng file (tcpdump -w, Wireshark "Save As").`);
      }
      if (err instanceof TooManyPacketsError) {
        throw new HttpError(413, `${name} has more than ${err.maxPackets} packets: uploads are indexed up to that many. Serve large captures from disk instead: vxlan-inspect serve FILE…`);
      }
      throw err;
    } finally {
      store.releaseUpload(reserved);
    }
  }));

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'no such API route' });
  });

  app.get('/vendor/chart.umd.js', (_req, res) => {
    // a fixed path of ours (it may sit under a dot-directory such as a package manager's cache)
    res.type('application/javascript').sendFile(vendorChart, { dotfiles: 'allow' });
  });
  app.use(express.static(publicDir, { index: 'index.html', dotfiles: 'deny', fallthrough: true }));
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found');
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      // a refused upload may still be streaming in: do not keep reading it on this connection
      if (err.status === 413) res.set('Connection', 'close');
      res.status(err.status).json({ error: err.message });
    }
    else if (isVxiError(err)) res.status(err.exitCode === 2 ? 400 : 500).json({ error: err.message, code: err.code });
    else if ((err as { type?: string }).type === 'entity.too.large') res.status(413).json({ error: 'request body too large' });
    else if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: 'request body is not valid JSON' });
    else res.status(500).json({ error: `internal error: ${(err as Error)?.message ?? String(err)}` });
  });

  app.locals.startLive = startLive;
  app.locals.closeLive = async (): Promise<void> => {
    unsubscribe();
    for (const h of live.values()) await h.stop().catch(() => undefined);
    live.clear();
    for (const r of listeners) r.end();
    listeners.clear();
  };
  return app;
}
