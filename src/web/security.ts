/**
 * The server's guards.
 *
 * - Every request: the Host header must name this server — an IP literal or `localhost` (or a
 *   name given with allowedHosts) on the port the request came in on. A DNS-rebinding page
 *   reaches us under its own domain name, so it is refused here, before any route.
 * - Every API request, reading ones too: not from another site. A browser says where a request
 *   comes from (`Sec-Fetch-Site`, and `Origin` on CORS and state-changing requests): another
 *   site, or an Origin that is not this server, is refused, so a page elsewhere cannot make a
 *   visitor's browser load captures or run filters here, even blind (`mode: 'no-cors'`).
 *   Requests without those headers (curl, scripts) and the page's own requests pass.
 * - State-changing requests (POST, PUT, PATCH, DELETE): the token printed at start-up in the
 *   `X-VXI-Token` header, and, when the browser sends one, an Origin (or Referer) that is this
 *   server. A cross-site form or fetch cannot set the header, and cannot fake the Origin.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors.js';

export const TOKEN_HEADER = 'x-vxi-token';

export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Splits a Host header into hostname (brackets removed) and port. */
export function parseHost(host: string): { hostname: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return undefined;
  const hostname = (m[1] as string).replace(/^\[|\]$/g, '').toLowerCase();
  return { hostname, port: m[2] === undefined ? undefined : Number(m[2]) };
}

export function hostCheck(allowedHosts: readonly string[]) {
  const names = new Set(['localhost', ...allowedHosts.map((h) => h.toLowerCase())]);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers.host;
    const parsed = header ? parseHost(header) : undefined;
    const port = req.socket.localPort;
    if (!parsed) {
      next(new HttpError('VXI_WEB_HOST', 'missing or malformed Host header'));
      return;
    }
    const nameOk = isIP(parsed.hostname) !== 0 || names.has(parsed.hostname);
    const portOk = parsed.port === undefined ? port === 80 : parsed.port === port;
    if (!nameOk || !portOk) {
      next(
        new HttpError(
          'VXI_WEB_HOST',
          `Host ${JSON.stringify(header)} is not this server: open it by its address (http://127.0.0.1:${port}/), or start it with --host NAME to allow a name`,
        ),
      );
      return;
    }
    next();
  };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Why a request comes from another site by what the browser says (Sec-Fetch-Site, Origin), or undefined. */
function fromAnotherSite(req: Request): string | undefined {
  const site = req.get('sec-fetch-site');
  // same-site is another origin too (e.g. another port of this host): only the page itself, or no browser context
  if (site === 'cross-site' || site === 'same-site') return `${site} request`;
  const origin = req.get('origin');
  if (origin === undefined) return undefined;
  if (origin === 'null' || originOf(origin) !== originOf(`http://${req.headers.host ?? ''}`))
    return `request from another site (${origin})`;
  return undefined;
}

/** For every API route: refuses what a browser says comes from another site (403). */
export function sameSiteOnly(req: Request, _res: Response, next: NextFunction): void {
  const why = fromAnotherSite(req);
  if (why) {
    next(new HttpError('VXI_WEB_FORBIDDEN', `${why} refused: open the page served at http://${req.headers.host ?? ''}/ (or use curl)`));
    return;
  }
  next();
}

/** For routes that change state: token, and same-origin when the browser says where it comes from. */
export function requireToken(token: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const given = req.get(TOKEN_HEADER);
    if (!given) {
      next(
        new HttpError(
          'VXI_WEB_TOKEN',
          `this action needs the token printed by \`vxlan-inspect serve\` at start-up ` +
            `(header ${TOKEN_HEADER}; in the page: open the URL it printed, with #token=…)`,
        ),
      );
      return;
    }
    if (!sameToken(given, token)) {
      next(
        new HttpError('VXI_WEB_TOKEN', 'wrong token: use the one printed by `vxlan-inspect serve` at start-up (it changes at each start)', {
          status: 403,
        }),
      );
      return;
    }
    const self = `http://${req.headers.host ?? ''}`;
    const origin = req.get('origin');
    const referer = req.get('referer');
    const from = origin !== undefined && origin !== 'null' ? origin : referer !== undefined ? originOf(referer) : undefined;
    if (origin === 'null' || (from !== undefined && from !== originOf(self))) {
      next(new HttpError('VXI_WEB_FORBIDDEN', `request from another site (${origin ?? referer}) refused: use the page served at ${self}/`));
      return;
    }
    if (req.get('sec-fetch-site') === 'cross-site') {
      next(new HttpError('VXI_WEB_FORBIDDEN', 'cross-site request refused'));
      return;
    }
    next();
  };
}

/** Headers for every response: no framing, no sniffing, assets only from here. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  });
  next();
}
