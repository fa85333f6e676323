/** The page's API client against a real server (port 0): typed answers, errors by code. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE, writeSampleSession } from '../sample.js';
import { startServer, type RunningServer } from '../server.js';
import { sessionFromDir } from '../session.js';
import { ApiError, createApi, errorOf, isTokenError, type Api } from './api.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-client-api-'));
let server: RunningServer;
let api: Api;

beforeAll(async () => {
  writeSampleSession(path.join(dir, 'lab'));
  server = await startServer(sessionFromDir(path.join(dir, 'lab')), { port: 0 });
  api = createApi(server.url.replace(/\/$/, ''));
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('the API client', () => {
  it('reads the session and a packet with its fields', async () => {
    const s = await api.session();
    const kvm1 = s.nodes.find((n) => n.name === 'kvm1');
    expect(kvm1?.analysis?.matched).toBe(SAMPLE.expected.kvm1.matched);
    const id = kvm1?.underlay?.id ?? '';
    const page = await api.packets(id, 0, 5, 'vxlan');
    expect(page.rows.length).toBeGreaterThan(0);
    const d = await api.packet(id, page.rows[0]!.n);
    const vxlan = d.frame.layers.find((l) => l.type === 'vxlan');
    expect(vxlan?.fields.find((x) => x.name === 'VNI')).toMatchObject({ offset: 46, length: 3, value: '0x00000a = 10' });
    expect(d.match?.direction).toMatch(/^(encap|decap)$/);
  });

  it("errors carry the server's code: not found, bad request, usage", async () => {
    const id = (await api.session()).captures[0]!.id;
    expect(await rejection(api.packet(id, 100_000))).toMatchObject({
      status: 404,
      code: 'VXI_WEB_NOT_FOUND',
      message: expect.stringMatching(/there is no packet 100000/),
    });
    expect(await rejection(api.packet('c999', 1))).toMatchObject({ status: 404, code: 'VXI_WEB_NOT_FOUND' });
    expect(await rejection(api.packets(id, 0, 100_000, ''))).toMatchObject({ status: 400, code: 'VXI_WEB_BAD_REQUEST' });
    expect(await rejection(api.position(id, 1, 'vni=ten'))).toMatchObject({
      status: 400,
      code: 'VXI_USAGE',
      message: expect.stringMatching(/cannot understand filter/),
    });
    expect(await rejection(api.startLive({ node: 'kvm1' }, server.token))).toMatchObject({ status: 501, code: 'VXI_WEB_UNAVAILABLE' });
  });

  it('a missing or refused token is a token error, whatever the message says; others are not', async () => {
    const none = await rejection(api.upload('kvm9-eth1.pcap', new Blob([new Uint8Array(8)]), ''));
    expect(none).toMatchObject({ status: 401, code: 'VXI_WEB_TOKEN' });
    expect(isTokenError(none)).toBe(true);
    const wrong = await rejection(api.upload('kvm9-eth1.pcap', new Blob([new Uint8Array(8)]), 'x'.repeat(24)));
    expect(wrong).toMatchObject({ status: 403, code: 'VXI_WEB_TOKEN' });
    expect(isTokenError(wrong)).toBe(true);
    const notCapture = await rejection(api.upload('token.pcap', new Blob(['the token is not here']), server.token));
    expect(notCapture).toMatchObject({ status: 400, code: 'VXI_CAPTURE_FORMAT' });
    // a message that speaks of a token is not a token error
    expect(isTokenError(new ApiError(400, 'VXI_WEB_BAD_REQUEST', 'token of the filter'))).toBe(false);
    expect(isTokenError(new Error('token refused'))).toBe(false);
  });
});

describe('errorOf', () => {
  it('reads the error body', () => {
    expect(errorOf(403, 'Forbidden', '{"error":{"code":"VXI_WEB_FORBIDDEN","message":"cross-site request refused"}}')).toMatchObject({
      status: 403,
      code: 'VXI_WEB_FORBIDDEN',
      message: 'cross-site request refused',
    });
  });

  it('an answer that is not ours says what came', () => {
    expect(errorOf(502, 'Bad Gateway', '<html>proxy down</html>')).toMatchObject({
      status: 502,
      code: 'VXI_WEB_UNREADABLE',
      message: '<html>proxy down</html>',
    });
    expect(errorOf(500, 'Internal Server Error', '')).toMatchObject({ code: 'VXI_WEB_UNREADABLE', message: '500 Internal Server Error' });
    // the old shape, a string: not an error body
    expect(errorOf(400, 'Bad Request', '{"error":"text"}')).toMatchObject({ code: 'VXI_WEB_UNREADABLE' });
  });
});
