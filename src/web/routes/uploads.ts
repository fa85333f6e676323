/**
 *   POST /api/captures?name=FILE   upload a capture (raw body; token). All uploads share one
 *                                  quota, reserved before their first byte.
 */
import { createWriteStream, rmSync } from 'node:fs';
import path from 'node:path';
import { Router, type Request } from 'express';
import { CaptureFormatError } from '../../errors.js';
import type { UploadResponse } from '../api-types.js';
import { TooManyPacketsError } from '../capture-index.js';
import { HttpError } from '../errors.js';
import { requireToken } from '../security.js';
import { str, wrap, type RouteContext } from './common.js';

function safeFileName(name: string): string {
  const base = path
    .basename(name.replace(/\\/g, '/'))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 100);
  return base && base !== '.' && base !== '..' ? base : 'upload.pcap';
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
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
      if (!req.complete) fail(new HttpError('VXI_WEB_BAD_REQUEST', 'upload interrupted: the connection closed before the whole file came'));
    });
    out.on('error', (e) => fail(e));
    out.on('finish', () => {
      if (!failed) resolve();
    });
    req.pipe(out);
  });
}

export function uploadRoutes(ctx: RouteContext): Router {
  const { store, uploadLimit } = ctx;
  const r = Router();

  r.post(
    '/api/captures',
    requireToken(ctx.token),
    wrap(async (req, res) => {
      const name = safeFileName(str(req.query.name) || req.get('x-file-name') || 'upload.pcap');
      const declared = Number(req.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > uploadLimit) {
        req.resume();
        throw new HttpError(
          'VXI_WEB_TOO_LARGE',
          `${name} is ${(declared / 1024 / 1024).toFixed(1)} MB: ` +
            `uploads are limited to ${mb(uploadLimit)}. Serve large captures from disk instead: ` +
            'vxlan-inspect serve FILE…',
        );
      }
      const totalLimit = uploadLimit * 8;
      // the quota is taken before the first byte is accepted: uploads side by side share it
      const reserved = Number.isFinite(declared) && declared >= 0 ? declared : uploadLimit;
      if (!store.reserveUpload(reserved, totalLimit)) {
        req.resume();
        throw new HttpError(
          'VXI_WEB_TOO_LARGE',
          `uploads so far (and those being received) fill the ${mb(totalLimit)} this server keeps for them: ` +
            'wait for them, restart it, or serve the captures from disk (vxlan-inspect serve DIR)',
        );
      }
      const dest = store.uploadPath();
      let size = 0;
      try {
        await receive(req, dest, (chunk) => {
          size += chunk.length;
          // a declared length is the most the HTTP parser delivers; without one, the reservation is the upload limit
          return size > reserved
            ? new HttpError(
                'VXI_WEB_TOO_LARGE',
                `${name} is larger than the ${mb(uploadLimit)} upload limit. Serve large captures from disk instead: vxlan-inspect serve FILE…`,
              )
            : undefined;
        });
        if (size === 0) throw new HttpError('VXI_WEB_BAD_REQUEST', `${name} is empty: choose a .pcap or .pcapng file`);
        const c = await store.addUpload(dest, name, ctx.uploadPacketLimit);
        const body: UploadResponse = { capture: store.summary(c), node: c.node };
        res.status(201).json(body);
      } catch (err) {
        rmSync(dest, { force: true });
        if (err instanceof CaptureFormatError) {
          throw new HttpError(
            'VXI_CAPTURE_FORMAT',
            `${name} is not a capture file we can read: ${err.message}. Upload a .pcap or .pcapng file (tcpdump -w, Wireshark "Save As").`,
            { status: 400, cause: err },
          );
        }
        if (err instanceof TooManyPacketsError) {
          throw new HttpError(
            'VXI_WEB_TOO_LARGE',
            `${name} has more than ${err.maxPackets} packets: ` +
              'uploads are indexed up to that many. Serve large captures from disk instead: ' +
              'vxlan-inspect serve FILE…',
            { cause: err },
          );
        }
        throw err;
      } finally {
        store.releaseUpload(reserved);
      }
    }),
  );

  return r;
}
