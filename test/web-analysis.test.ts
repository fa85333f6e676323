/**
 * The web view's analysis is the node's one pass: on the synthetic lab sample it finds the
 * counts listed in src/web/sample.ts, and every match the page records (partner and direction)
 * is the correlator's own decision.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { correlateFiles } from '../src/correlate/index.js';
import { MATCH_DIR } from '../src/web/capture-index.js';
import { SAMPLE, writeSampleSession } from '../src/web/sample.js';
import { sessionFromDir } from '../src/web/session.js';
import { CaptureStore } from '../src/web/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-analysis-'));
writeSampleSession(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the sample's figures, and every match as the correlator decided it", async () => {
  const store = await CaptureStore.open(sessionFromDir(dir));
  for (const node of ['kvm1', 'kvm2'] as const) {
    const a = store.node(node)!.analysis!;
    const want = SAMPLE.expected[node];
    expect([a.matched, a.underlayOnly, a.overlayOnly, a.floodedFrames], node).toEqual([
      want.matched,
      want.underlayOnly,
      want.overlayOnly,
      want.floodedFrames,
    ]);
    // each node sends the ARP request (kvm1 twice: flooded), or reply, and 5 pings or replies
    expect([a.encapsulated, a.decapsulated]).toEqual(node === 'kvm1' ? [7, 6] : [6, 6]);
    expect(a.overhead?.perPacket).toBe(50);
    const u = store.capture(store.node(node)!.underlay!)!;
    const o = store.capture(store.node(node)!.overlay!)!;
    const ref = await correlateFiles(u.path, o.path, { windowUs: store.windowUs, maxListed: 1e6 });
    for (const m of ref.matches) {
      expect(u.index.match[m.underlay.n - 1], `${node} underlay #${m.underlay.n}`).toBe(m.overlay.n);
      expect(u.index.dir[m.underlay.n - 1]).toBe(m.direction === 'encap' ? MATCH_DIR.encap : MATCH_DIR.decap);
    }
    expect(Array.from(u.index.match).filter((x) => x > 0)).toHaveLength(ref.matched);
  }
  expect(store.localVteps()).toEqual({ '10.3.1.156': 'kvm1', '10.3.1.174': 'kvm2' });
  // kvm1's bridge frames 9 and 10 (vm1 ↔ the bridge's own address) are the two never tunnelled
  const bridge1 = Array.from(store.capture(store.node('kvm1')!.overlay!)!.index.match);
  expect(bridge1.flatMap((m, i) => (m === 0 ? [i + 1] : []))).toEqual([9, 10]);
  store.close();
});

test('what could not be matched is explained, per VNI too', async () => {
  const store = await CaptureStore.open(sessionFromDir(dir));
  const a = store.node('kvm1')!.analysis!;
  expect(a.unmatchedUnderlay).toHaveLength(1);
  expect(a.unmatchedOverlay.map((x) => x.n)).toEqual([9, 10]);
  expect(a.byVni['20']).toEqual({ matched: 0, underlayOnly: 1, packets: 1, bytes: 92 });
  const codes = store.diagnostics().map((d) => `${d.node}: ${d.code}`);
  expect(codes).toContain('kvm2: all-accounted-for');
  store.close();
});
