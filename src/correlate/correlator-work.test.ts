/**
 * Identical frames (a broadcast storm, retransmissions, keepalives) cost what distinct ones do:
 * the work the correlator reports (byte comparisons, index steps) grows linearly with the
 * number of packets, and the frames it holds stay under its caps, whatever the timestamps.
 * No wall-clock time is asserted: the counters are the measure.
 *
 * Sizes: the bounds are per packet (at most 4 comparisons, 8 steps, MAX_SAME_KEY candidates), so a
 * quadratic walk breaks them from a few hundred packets on; the runs are 20,000 packets below the
 * caps and, to cross them, ABOVE_CAP = 2 × MAX_IN_FLIGHT + 10,000 packets 5 µs apart: 0.55 s of
 * traffic, all inside the 1 s window, so only the cap can bound what is held (with 10 µs gaps the
 * window alone held 100,000 frames, which is the cap itself; 200,000 packets took ~2 s a run).
 */
import { describe, expect, it } from 'vitest';
import { Correlator, MAX_IN_FLIGHT, MAX_SAME_KEY } from './correlator.js';
import { arpWhoHas, decoded, encap, KVM1, KVM2, KVM3, ping } from './synth.js';
import type { DecodedPacket } from '../decode/types.js';
import type { CorrelateOptions, CorrelationReport } from './types.js';

const T0 = 1_700_000_000_000_000; // µs
/** More bridge frames than the correlator may hold (2 × MAX_IN_FLIGHT), fewer than 1 s of them at 5 µs. */
const ABOVE_CAP = 2 * MAX_IN_FLIGHT + 10_000;
/** Gap between copies in the runs above the caps: the whole run fits in the default 1 s window. */
const CAP_GAP_US = 5;

/** The same decoded packet as packet `n` at `tsUs` (decoding once keeps 400k packets cheap). */
function at(p: DecodedPacket, n: number, tsUs: number): DecodedPacket {
  const sec = Math.floor(tsUs / 1e6);
  return { ...p, n, raw: { ...p.raw, tsSec: sec, tsNsec: Math.round((tsUs - sec * 1e6) * 1000) } };
}

interface Run {
  report: CorrelationReport;
  work: ReturnType<Correlator['work']>;
  /** Matches whose underlay and bridge packet numbers differ (copies paired out of order). */
  crossed: number;
}

/**
 * N bridge frames `bridge(i)` at T0 + i·gapUs and, for each, its underlay copies (`underlay(i)`,
 * one per VTEP) lagUs later; fed as a capture pair would be, in time order per side.
 */
function run(
  n: number,
  gapUs: number,
  lagUs: number,
  bridge: (i: number) => DecodedPacket,
  underlay: (i: number) => DecodedPacket[],
  opts: CorrelateOptions = {},
): Run {
  let crossed = 0;
  let copies = 1;
  // in order: bridge copy k goes with underlay packets (k - 1)·copies + 1 … k·copies
  const inOrder = (u: number, o: number): boolean => Math.floor((u - 1) / copies) === o - 1;
  const c = new Correlator({ ...opts, maxListed: 100, onMatch: (m) => void (inOrder(m.underlay.n, m.overlay.n) || crossed++) });
  let un = 0;
  for (let i = 0; i < n; i++) {
    const t = T0 + i * gapUs;
    c.addOverlay(at(bridge(i), i + 1, t));
    const us = underlay(i);
    copies = us.length;
    for (const u of us) c.addUnderlay(at(u, ++un, t + lagUs));
  }
  const report = c.finish();
  return { report, work: c.work(), crossed };
}

function expectLinearAndBounded(r: Run, packets: number): void {
  expect(r.work.comparisons).toBeLessThanOrEqual(4 * packets);
  expect(r.work.steps).toBeLessThanOrEqual(8 * packets);
  expect(r.work.peakUnderlay).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  expect(r.work.peakOverlay).toBeLessThanOrEqual(2 * MAX_IN_FLIGHT);
}

const arp = arpWhoHas();
const arpO = decoded(arp, 1, T0);
const arpU = decoded(encap(arp), 1, T0);
const arpU3 = decoded(encap(arp, { outerDst: KVM3 }), 1, T0);

describe('identical frames: linear work, bounded memory', () => {
  it.each([
    [20_000, 10],
    [ABOVE_CAP, CAP_GAP_US],
  ])(
    '%i copies of one ARP request %i µs apart on both sides (eth1 18 µs after the bridge): all matched, in order',
    (n, gapUs) => {
      const r = run(
        n,
        gapUs,
        18,
        () => arpO,
        () => [arpU],
      );
      expect(r.report).toMatchObject({ matched: n, underlayOnly: 0, overlayOnly: 0, floodedFrames: 0 });
      expect(r.crossed).toBe(0);
      expectLinearAndBounded(r, n);
      if (n > 2 * MAX_IN_FLIGHT) expect(r.work.peakOverlay).toBe(2 * MAX_IN_FLIGHT); // the cap, not the window (the whole run), bounded it
    },
    60_000,
  );

  it.each([20_000, ABOVE_CAP])(
    '%i copies at exactly the same instant on both sides still match, and pair in order',
    (n) => {
      const r = run(
        n,
        0,
        0,
        () => arpO,
        () => [arpU],
      );
      expect(r.report).toMatchObject({ matched: n, underlayOnly: 0, overlayOnly: 0 });
      expect(r.crossed).toBe(0);
      expectLinearAndBounded(r, n);
    },
    60_000,
  );

  it('20000 identical arrivals (eth1 18 µs before the bridge, the local VTEP known: each copy at or after its packet) are all matched, in order', () => {
    const n = 20_000;
    const inbound = decoded(encap(arp, { outerSrc: KVM2, outerDst: KVM1 }), 1, T0);
    const r = run(
      n,
      10,
      -18,
      () => arpO,
      () => [inbound],
      { localVtep: KVM1 },
    );
    expect(r.report).toMatchObject({ matched: n, underlayOnly: 0, overlayOnly: 0, decap: n });
    expect(r.crossed).toBe(0);
    expectLinearAndBounded(r, n);
  });

  it(`${ABOVE_CAP} identical zero-length frames (nothing after the VXLAN header; empty bridge records) cost nothing to compare`, () => {
    const empty = new Uint8Array(0);
    const o = decoded(empty, 1, T0);
    const u = decoded(encap(empty), 1, T0);
    const n = ABOVE_CAP;
    const r = run(
      n,
      CAP_GAP_US,
      18,
      () => o,
      () => [u],
    );
    expect(r.report).toMatchObject({ matched: 0, underlayOnly: n, overlayOnly: n, reasons: { underlay: { 'not-captured': n } } });
    expectLinearAndBounded(r, n);
  }, 60_000);

  it('a flooded storm (each bridge copy sent to two VTEPs) is one flooded frame per copy', () => {
    const n = 20_000;
    const r = run(
      n,
      10,
      18,
      () => arpO,
      () => [arpU, arpU3],
    );
    expect(r.report).toMatchObject({ matched: 2 * n, underlayOnly: 0, overlayOnly: 0, floodedFrames: n });
    expect(r.crossed).toBe(0);
    expectLinearAndBounded(r, 3 * n);
  });

  it('distinct frames that share one key (same length and first bytes) still find their twin among the most recent', () => {
    // 64 frames of one key cycle, so every frame has far more than MAX_SAME_KEY others of its key
    // in the window from the 65th on; comparing with all of them would cost ~n²/2, past the
    // per-frame bound below from n ≈ 130 on. 5,000 (not 20,000: ~115 µs a frame here) keeps a
    // factor of ~40 between the two.
    const n = 5_000;
    const base = ping(1, { size: 200 });
    const frames = Array.from({ length: 64 }, (_, k) => {
      const f = base.slice();
      f[150] = k; // past the hashed prefix: the same key, other bytes
      return { o: decoded(f, 1, T0), u: decoded(encap(f), 1, T0) };
    });
    const r = run(
      n,
      10,
      18,
      (i) => (frames[i % 64] as { o: DecodedPacket }).o,
      (i) => [(frames[i % 64] as { u: DecodedPacket }).u],
    );
    expect(r.report).toMatchObject({ matched: n, underlayOnly: 0, overlayOnly: 0 });
    expect(r.crossed).toBe(0);
    // each frame is compared with a bounded number of others of its key, never with all of them
    expect(r.work.comparisons).toBeLessThanOrEqual((4 * MAX_SAME_KEY + 2) * n);
    expect(r.work.steps).toBeLessThanOrEqual(8 * MAX_SAME_KEY * n);
  });
});
