/**
 * Starting and stopping the web view: loads the session into a store, listens (127.0.0.1 unless
 * told otherwise), and says where to point the browser — the URL carries the token in its
 * fragment (#token=…), which the browser never sends to a server.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VxiError } from '../errors.js';
import { createApp, type AppDeps, type LiveCaptureHandle, type LiveCaptureRequest } from './app.js';
import { newToken } from './security.js';
import type { SessionSpec } from './session.js';
import { CaptureStore, type StoreOptions } from './store.js';

export interface ServeOptions extends StoreOptions {
  host?: string;
  /** 0 = any free port. Default 8080. */
  port?: number;
  token?: string;
  uploadLimitBytes?: number;
  startCapture?: AppDeps['startCapture'];
  /** Inventory nodes the page offers for live capture. */
  liveNodes?: string[];
  banner?: string;
  /** serve --class: the class dashboard (started once the server listens). */
  classBoard?: AppDeps['classBoard'];
}

export interface RunningServer {
  url: string;
  /** The URL to open: with the token, so the page can upload. */
  openUrl: string;
  token: string;
  host: string;
  port: number;
  store: CaptureStore;
  /** Starts a live capture as POST /api/captures/live does (pages hear of it); stopped by close(). */
  startLive(req: LiveCaptureRequest): Promise<LiveCaptureHandle>;
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startServer(session: SessionSpec | undefined, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const store = await CaptureStore.open(session, opts);
  const token = opts.token ?? newToken();
  const allowedHosts = /^[a-z0-9.-]+$/i.test(host) && !/^[\d.]+$/.test(host) ? [host] : [];
  const deps: AppDeps = { store, token, allowedHosts };
  if (opts.uploadLimitBytes !== undefined) deps.uploadLimitBytes = opts.uploadLimitBytes;
  if (opts.startCapture) deps.startCapture = opts.startCapture;
  if (opts.liveNodes) deps.liveNodes = opts.liveNodes;
  if (opts.banner) deps.banner = opts.banner;
  if (opts.classBoard) deps.classBoard = opts.classBoard;
  const web = createApp(deps);
  const server: Server = await new Promise((resolve, reject) => {
    const s = web.app.listen(opts.port ?? 8080, host);
    s.once('listening', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => {
      store.close();
      if (err.code === 'EADDRINUSE')
        reject(
          new VxiError(
            'VXI_WEB',
            `port ${opts.port ?? 8080} on ${host} is already in use: choose another with --port (or --port 0 for any free port)`,
            { cause: err, exitCode: 2 },
          ),
        );
      else if (err.code === 'EADDRNOTAVAIL')
        reject(
          new VxiError('VXI_WEB', `cannot listen on ${host}: no interface of this machine has that address (use --host 127.0.0.1)`, {
            cause: err,
            exitCode: 2,
          }),
        );
      else if (err.code === 'EACCES')
        reject(
          new VxiError('VXI_WEB', `not allowed to listen on port ${opts.port}: ports below 1024 need root; choose --port 8080`, {
            cause: err,
            exitCode: 2,
          }),
        );
      else reject(new VxiError('VXI_WEB', `cannot listen on ${host}:${opts.port ?? 8080}: ${err.message}`, { cause: err }));
    });
  });
  const port = (server.address() as AddressInfo).port;
  opts.classBoard?.start();
  const url = `http://${urlHost(host)}:${port}/`;
  return {
    url,
    openUrl: `${url}#token=${token}`,
    token,
    host,
    port,
    store,
    startLive: (req) => web.startLive(req),
    close: async () => {
      await web.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
    },
  };
}
