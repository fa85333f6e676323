/**
 * The correlator's two ways of making a frame agree: from the record's bytes (FrameWriter through
 * the stats fast decoder) and from the full decode (underlayFrame/overlayFrame), field by field,
 * on every capture under fixtures/ (the project's own, the malformed and format corpora, the
 * public captures) and on the realistic generator's traffic, taken as underlay and as bridge,
 * comparing from the Ethernet header and from the network header, with an extra VXLAN port.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readCapture } from '../decode/file/index.js';
import { decodePacket } from '../decode/packet.js';
import { createRegistry } from '../decode/registry.js';
import type { DecodedPacket, RawPacket } from '../decode/types.js';
import { udpPortTable } from '../stats/fast-decode.js';
import { writeRealisticPcap } from '../synth/realistic.js';
import { FrameRing, FrameWriter, type CapturedPacket } from './frame-ring.js';
import type { CompareFrom } from './frame.js';
import { captureFilesUnder } from '../../test/helpers/pcap.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

const captures = captureFilesUnder;

/** The fields of the frame at the ring's tail, as plain data. */
function fields(r: FrameRing, underlay: boolean): Record<string, unknown> {
  const i = (r.tail - 1) & r.mask;
  const at = r.off[i] as number;
  const o: Record<string, unknown> = {
    bytes: [...(r.buf[i] as Uint8Array).subarray(at, at + (r.len[i] as number))],
    frame: [...r.frameBytes(r.tail - 1)],
    n: r.n[i],
    ts: r.ts[i],
    key: r.key[i],
    wireLen: r.wireLen[i],
    frameLen: r.frameLen[i],
    checksumAt: r.checksumAt[i],
    dstMac: r.dstMac[i],
    srcMac: r.srcMac[i],
    groupDst: r.groupDst[i],
  };
  if (underlay)
    Object.assign(o, {
      vni: r.vni[i],
      outerLen: r.outerLen[i],
      outerFragment: r.outerFragment[i],
      pair: r.pair[i],
      vtepSrc: r.vtepSrc[i],
      vtepDst: r.vtepDst[i],
    });
  return o;
}

interface Tally {
  packets: number;
  fast: number;
  frames: number;
  /** The same, the packets taken as underlay only. */
  underlayFast: number;
  underlayFrames: number;
}

/** Every packet of `file` made into a frame both ways, as underlay and as bridge; the first difference fails. */
async function check(file: string, from: CompareFrom, vxlanPorts: number[]): Promise<Tally> {
  const registry = createRegistry({ vxlanPorts });
  const udpPorts = udpPortTable(registry.keysOf('udp', 'vxlan')).ports;
  const tally: Tally = { packets: 0, fast: 0, frames: 0, underlayFast: 0, underlayFrames: 0 };
  let n = 0;
  await readCapture(file, (raw: RawPacket) => {
    n += 1;
    tally.packets += 1;
    const p: DecodedPacket = decodePacket(raw, n, { registry });
    const x: CapturedPacket = { raw, n, p, udpPorts };
    for (const underlay of [true, false]) {
      const byBytes = new FrameRing(2);
      const byLayers = new FrameRing(2);
      const w = new FrameWriter(from);
      const ref = new FrameWriter(from);
      const made = underlay ? w.underlay(byBytes, x) : w.overlay(byBytes, x, 7.5);
      const expected = underlay ? ref.underlayFromDecode(byLayers, p) : ref.overlayFromDecode(byLayers, p, 7.5);
      // expect() only on a difference: it costs more than the frames (20,000 packets checked here)
      if (made !== expected)
        expect(made, `${relative(FIXTURES, file)} #${n} ${underlay ? 'underlay' : 'bridge'}: a frame or not`).toBe(expected);
      if (!made) continue;
      tally.frames += 1;
      tally.fast += w.fast;
      if (underlay) {
        tally.underlayFrames += 1;
        tally.underlayFast += w.fast;
      }
      const got = fields(byBytes, underlay);
      const want = fields(byLayers, underlay);
      if (!isDeepStrictEqual(got, want))
        expect(got, `${relative(FIXTURES, file)} #${n} ${underlay ? 'underlay' : 'bridge'} (${from})`).toEqual(want);
    }
  });
  return tally;
}

let tmp: string;
let realistic: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vxi-frame-ring-'));
  realistic = join(tmp, 'realistic.pcap');
  await writeRealisticPcap(realistic, { packets: 5_000 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('frames from the bytes = frames from the full decode', () => {
  it('on every capture under fixtures/, compared from the Ethernet header and from the network header', async () => {
    const files = captures(FIXTURES);
    expect(files.length).toBeGreaterThan(50);
    let fast = 0;
    let frames = 0;
    for (const file of files) {
      for (const from of ['ethernet', 'network'] as const) {
        const t = await check(file, from, []);
        fast += t.fast;
        frames += t.frames;
      }
    }
    // the fast path is the one taken, not an untested branch
    expect(fast).toBeGreaterThan(frames / 2);
  }, 300_000);

  it('on the realistic traffic (4 VTEPs, IPv4 and IPv6 inner flows, 802.1Q), with an extra VXLAN port', async () => {
    for (const ports of [[], [4790]]) {
      const t = await check(realistic, 'ethernet', ports);
      expect(t.packets).toBe(5_000);
      // its VXLAN packets read from the bytes as underlay (as bridge frames, a tunnel is left to the full decode)
      expect(t.underlayFrames).toBeGreaterThan(3_500);
      expect(t.underlayFast).toBeGreaterThan(0.95 * t.underlayFrames);
    }
  }, 120_000);
});
