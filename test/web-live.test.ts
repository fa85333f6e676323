/**
 * Following captures that are still being written (the seam live capture plugs into): the
 * store indexes what is appended, a record cut at the end waits for its rest, the correlation
 * follows, and open pages hear of it through server-sent events.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PcapWriter, concatBytes } from '../src/decode/file/writer.js';
import { samplePackets } from '../src/web/sample.js';
import { startServer, type RunningServer } from '../src/web/server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-web-live-'));
let server: RunningServer;
const w = new PcapWriter();
const pk = samplePackets();
const ethRecords = pk.kvm1eth.map((p) => w.record(p));
const brRecords = pk.kvm1br.map((p) => w.record(p));
const ethFile = path.join(dir, 'kvm1-eth1.pcap');
const brFile = path.join(dir, 'kvm1-vxlan_bridge.pcap');

beforeAll(async () => {
  server = await startServer(undefined, { port: 0 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: () => Promise<T> | T, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a growing capture is indexed as it grows, and the page is told', async () => {
  // the bridge capture is complete; the underlay one starts with its header only (tcpdump just started)
  writeFileSync(brFile, concatBytes([w.header(), ...brRecords]));
  writeFileSync(ethFile, w.header());
  const store = server.store;
  const events: string[] = [];
  const ac = new AbortController();
  const sse = await fetch(`${server.url}api/events`, { signal: ac.signal });
  const reader = sse.body!.getReader();
  void (async () => {
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        events.push(
          ...dec
            .decode(value)
            .split('\n')
            .filter((l) => l.startsWith('event: ')),
        );
      }
    } catch {
      // aborted
    }
  })();

  const br = await store.follow({ path: brFile, name: 'kvm1-vxlan_bridge.pcap', node: 'kvm1', role: 'overlay', iface: 'vxlan_bridge' }, 30);
  const eth = await store.follow({ path: ethFile, name: 'kvm1-eth1.pcap', node: 'kvm1', role: 'underlay', iface: 'eth1' }, 30);
  expect([br.index.count, eth.index.count]).toEqual([14, 0]);
  expect(eth.live).toBe(true);

  // five records, the fifth cut in the middle: four are indexed, the fifth waits
  const fifth = ethRecords[4]!;
  appendFileSync(ethFile, concatBytes([...ethRecords.slice(0, 4), fifth.subarray(0, 20)]));
  expect(
    await until(
      () => eth.index.count,
      (n) => n === 4,
    ),
  ).toBe(4);
  appendFileSync(ethFile, concatBytes([fifth.subarray(20), ...ethRecords.slice(5)]));
  expect(
    await until(
      () => eth.index.count,
      (n) => n === 16,
    ),
  ).toBe(16);

  // the API sees all of it, pages re-read by offset from the growing file
  const page = await (await fetch(`${server.url}api/captures/${eth.id}/packets?offset=10`)).json();
  expect(page.total).toBe(16);
  expect(page.rows.map((r: { n: number }) => r.n)).toEqual([11, 12, 13, 14, 15, 16]);
  // the node's one pass took the new packets; once the capture pauses (two quiet polls) the
  // correlator decides what its window still held, as time going on would
  type Session = { nodes: { name: string; underlay: unknown; analysis: { matched: number; underlayOnly: number; overlayOnly: number } }[] };
  const kvm1 = (x: Session): Session['nodes'][number] => x.nodes.find((n) => n.name === 'kvm1')!;
  const s = await until(
    async () => (await (await fetch(`${server.url}api/session`)).json()) as Session,
    (x) => kvm1(x).analysis.matched === 13,
  );
  const k1 = kvm1(s);
  expect(k1.underlay).toMatchObject({ packets: 16, tunnelled: 14, live: true });
  expect([k1.analysis.matched, k1.analysis.underlayOnly, k1.analysis.overlayOnly]).toEqual([13, 1, 2]);
  const d = await (await fetch(`${server.url}api/captures/${br.id}/packets/1`)).json();
  expect(d.match.n).toBe(1);

  expect(
    await until(
      () => events.filter((e) => e === 'event: update').length,
      (n) => n >= 3,
    ),
  ).toBeGreaterThanOrEqual(3);
  ac.abort();

  store.unfollow(eth.id);
  appendFileSync(ethFile, ethRecords[0]!);
  await new Promise((r) => setTimeout(r, 120));
  expect(eth.index.count).toBe(16);
  expect(eth.live).toBe(false);
});
