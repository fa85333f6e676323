/**
 *   GET /api/captures/:id/file            the capture as loaded
 *   GET /api/captures/:id/inner.pcap      decapsulated frames (trailers X-VXI-Skipped, X-VXI-Timestamps-Normalised)
 *   GET /api/captures/:id/packets.ndjson  every packet decoded, one JSON object a line
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router, type Response } from 'express';
import { writeInnerPcap, writePacketsNdjson, type Sink } from '../downloads.js';
import type { CaptureStore } from '../store.js';
import { captureParam, wrap } from './common.js';

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
    waitDrain: () =>
      new Promise<void>((resolve) => {
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

function baseName(name: string): string {
  return name.replace(/\.(pcapng|pcap|cap)$/i, '');
}

export function downloadRoutes(store: CaptureStore): Router {
  const r = Router();

  r.get(
    '/api/captures/:id/file',
    wrap(async (req, res) => {
      const c = captureParam(store, req);
      res.attachment(c.name.endsWith('.pcap') || c.name.endsWith('.pcapng') ? c.name : `${c.name}.pcap`);
      res.type('application/vnd.tcpdump.pcap');
      // pipeline closes the file when the client goes away (pipe would leave it open)
      await pipeline(createReadStream(c.path), res).catch(() => res.destroy());
    }),
  );

  r.get(
    '/api/captures/:id/inner.pcap',
    wrap(async (req, res) => {
      const c = captureParam(store, req);
      res.attachment(`${baseName(c.name)}-inner.pcap`);
      res.type('application/vnd.tcpdump.pcap');
      // what could not be written is said at the end (the status is sent with the first bytes)
      res.set('Trailer', `${INNER_TRAILERS.skipped}, ${INNER_TRAILERS.normalised}`);
      const w = await writeInnerPcap(c.path, store.registry, responseSink<Uint8Array>(res));
      if (w.closed) return;
      res.addTrailers({
        [INNER_TRAILERS.skipped]: w.skipped
          ? `${w.skipped} frame(s) left out: their timestamp is after 2106 and does not fit a pcap record`
          : '0',
        [INNER_TRAILERS.normalised]: String(w.normalised),
      });
      res.end();
    }),
  );

  r.get(
    '/api/captures/:id/packets.ndjson',
    wrap(async (req, res) => {
      const c = captureParam(store, req);
      res.attachment(`${baseName(c.name)}.ndjson`);
      res.type('application/x-ndjson');
      const sink = responseSink<string>(res);
      await writePacketsNdjson(c.path, store.registry, sink);
      if (!sink.closed) res.end();
    }),
  );

  return r;
}
