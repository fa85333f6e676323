/**
 * The web view's correlation, both ways: through the correlation library (the normal path) and
 * through the built-in index matcher it falls back to. On the synthetic lab sample both must
 * find the counts listed in src/web/sample.ts, and pair the very same packets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import { setBuiltInMatcher } from '../src/web/analysis.js';
import { SAMPLE, writeSampleSession } from '../src/web/sample.js';
import { sessionFromDir } from '../src/web/session.js';
import { CaptureStore } from '../src/web/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-analysis-'));
writeSampleSession(dir);
afterEach(() => setBuiltInMatcher(false));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(builtIn: boolean): Promise<{ store: CaptureStore; matches: Record<string, number[]> }> {
  setBuiltInMatcher(builtIn);
  const store = await CaptureStore.open(sessionFromDir(dir));
  const matches: Record<string, number[]> = {};
  for (const c of store.captures()) matches[c.name] = Array.from(c.index.match);
  return { store, matches };
}

test('library and built-in matcher agree with the sample, packet for packet', async () => {
  const lib = await run(false);
  const own = await run(true);
  for (const [store, engine] of [[lib.store, 'correlate library'], [own.store, 'built-in index matcher']] as const) {
    for (const node of ['kvm1', 'kvm2'] as const) {
      const a = store.node(node)!.analysis!;
      const want = SAMPLE.expected[node];
      expect(a.engine).toBe(engine);
      expect([a.matched, a.underlayOnly, a.overlayOnly, a.floodedFrames], `${engine} ${node}`).toEqual([want.matched, want.underlayOnly, want.overlayOnly, want.floodedFrames]);
      // each node sends the ARP request (kvm1 twice: flooded), or reply, and 5 pings or replies
      expect([a.encapsulated, a.decapsulated]).toEqual(node === 'kvm1' ? [7, 6] : [6, 6]);
      expect(a.overhead.perPacket).toBe(50);
    }
    expect(store.localVteps()).toEqual({ '10.3.1.156': 'kvm1', '10.3.1.174': 'kvm2' });
  }
  expect(own.matches).toEqual(lib.matches);
  // kvm1's bridge frames 9 and 10 (vm1 ↔ the bridge's own address) are the two never tunnelled
  const bridge1 = lib.matches['kvm1-vxlan_bridge.pcap']!;
  expect(bridge1.flatMap((m, i) => (m === 0 ? [i + 1] : []))).toEqual([9, 10]);
});

test('the built-in matcher explains what it could not match', async () => {
  const { store } = await run(true);
  const a = store.node('kvm1')!.analysis!;
  expect(a.unmatchedUnderlay).toHaveLength(1);
  expect(a.unmatchedUnderlay[0]!.reason).toMatch(/no bridge frame with the same bytes/);
  expect(a.unmatchedOverlay.map((x) => x.n)).toEqual([9, 10]);
  expect(a.byVni['20']).toEqual({ matched: 0, underlayOnly: 1, packets: 1, bytes: 92 });
  // diagnostics from the indexes
  const titles = store.diagnostics().map((d) => `${d.node}: ${d.title}`);
  expect(titles).toContain('kvm1: 1 VXLAN packet(s) on the underlay with no frame on the bridge');
  expect(titles).toContain('kvm1: 2 bridge frame(s) never left the node');
  expect(titles).toContain('kvm1: 1 bridge frame(s) flooded to several VTEPs');
  expect(titles).toContain('kvm2: every frame is accounted for');
});
