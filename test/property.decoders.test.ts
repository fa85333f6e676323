/**
 * Property tests (fast-check) for every layer decoder in src/decode/layers and for
 * decodePacket with every link type the registry knows (and unknown ones): any bytes decode
 * without throwing and with work bounded by the bytes given (counted in reads, not timed); what
 * a decoder reports lies inside the bytes it was given; the layer walk's results stay inside the frame and within its depth and layer limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  DEFAULT_MAX_LAYERS,
  DEFAULT_MAX_TUNNEL_DEPTH,
  LINKTYPE,
  type LayerDecoder,
  type LayerInput,
  type RawPacket,
} from '../src/decode/index.js';
import { END_IN_LATER_FRAGMENTS } from '../src/decode/layer.js';
import { arp } from '../src/decode/layers/arp.js';
import { ethernet } from '../src/decode/layers/ethernet.js';
import { geneve } from '../src/decode/layers/geneve.js';
import { icmp } from '../src/decode/layers/icmp.js';
import { icmpv6 } from '../src/decode/layers/icmpv6.js';
import { ipv4 } from '../src/decode/layers/ipv4.js';
import { ipv6 } from '../src/decode/layers/ipv6.js';
import { loopbackLoop, loopbackNull, rawFixed, rawIp } from '../src/decode/layers/loopback.js';
import { sll, sll2 } from '../src/decode/layers/sll.js';
import { tcp } from '../src/decode/layers/tcp.js';
import { udp } from '../src/decode/layers/udp.js';
import { VLAN_TPIDS, vlanDecoder } from '../src/decode/layers/vlan.js';
import { vxlanGpe } from '../src/decode/layers/vxlan-gpe.js';
import { vxlan } from '../src/decode/layers/vxlan.js';
import { packetProblem } from '../src/fuzz/invariants.js';
import * as f from '../src/synth/frames.js';
import { countingReads } from './helpers/reads.js';

const DECODERS: [string, LayerDecoder][] = [
  ['arp', arp],
  ['ethernet', ethernet],
  ['geneve', geneve],
  ['icmp', icmp],
  ['icmpv6', icmpv6],
  ['ipv4', ipv4],
  ['ipv6', ipv6],
  ['loopback (NULL)', loopbackNull],
  ['loopback (LOOP)', loopbackLoop],
  ['raw IP', rawIp],
  ['raw IPv4', rawFixed(0x0800)],
  ['raw IPv6', rawFixed(0x86dd)],
  ['sll', sll],
  ['sll2', sll2],
  ['tcp', tcp],
  ['udp', udp],
  ...VLAN_TPIDS.map((t): [string, LayerDecoder] => [`vlan 0x${t.toString(16)}`, vlanDecoder(t)]),
  ['vxlan-gpe', vxlanGpe],
  ['vxlan', vxlan],
];

const LINK_TYPES = [...Object.values(LINKTYPE), 12];

/**
 * "Quickly", as a count rather than a clock (a loaded machine breaks a clock): the DataView reads
 * one call makes grow with the captured bytes it was given (each byte read at most about twice,
 * plus a few fixed fields), never with what a length field or the wire length claims (up to 70,000
 * here). Today's decoders stay under one read per byte.
 */
const readBudget = (capturedBytes: number): number => 16 + 2 * capturedBytes;

/** A decoder's input: any bytes, any offset inside them, a captured end and a wire end after it. */
const inputArb = fc
  .record({
    data: fc.uint8Array({ maxLength: 300 }),
    offsetPick: fc.nat(),
    capPick: fc.nat(),
    wireExtra: fc.oneof(fc.constant(0), fc.nat({ max: 70_000 }), fc.constant(-1)),
    depth: fc.nat({ max: 8 }),
  })
  .map(({ data, offsetPick, capPick, wireExtra, depth }): LayerInput => {
    const capEnd = capPick % (data.length + 1);
    const offset = offsetPick % (capEnd + 1);
    const wireEnd = wireExtra < 0 ? END_IN_LATER_FRAGMENTS : capEnd + wireExtra;
    return { data, view: new DataView(data.buffer, data.byteOffset, data.byteLength), offset, capEnd, wireEnd, depth };
  });

it('the read counter counts every DataView read, and puts the reads back as they were', () => {
  const view = new DataView(new ArrayBuffer(16));
  const getUint8 = DataView.prototype.getUint8;
  expect(countingReads(() => view.getUint8(0) + view.getUint16(1) + view.getUint32(3) + Number(view.getBigUint64(7))).reads).toBe(4);
  expect(
    countingReads(() => ethernet.decode({ data: new Uint8Array(14), view, offset: 0, capEnd: 14, wireEnd: 14, depth: 0 })).reads,
  ).toBeGreaterThan(0);
  expect(DataView.prototype.getUint8).toBe(getUint8);
});

describe.each(DECODERS)('layer decoder %s (any bytes)', (_name, decoder) => {
  it('never throws, and what it reports lies inside the captured bytes', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { value: out, reads } = countingReads(() => decoder.decode(input));
        expect(reads).toBeLessThanOrEqual(readBudget(input.capEnd - input.offset));
        if (!out.ok) {
          expect(['truncated', 'malformed']).toContain(out.kind);
          expect(out.offset).toBeGreaterThanOrEqual(input.offset);
          expect(out.offset).toBeLessThanOrEqual(input.data.length);
          expect(out.message.length).toBeGreaterThan(0);
          return;
        }
        expect(out.nextOffset).toBeGreaterThanOrEqual(input.offset);
        if (out.layer) {
          expect(out.layer.offset).toBe(input.offset);
          expect(out.layer.depth).toBe(input.depth);
          expect(out.layer.offset + out.layer.length).toBeLessThanOrEqual(input.capEnd);
          expect(out.nextOffset).toBe(out.layer.offset + out.layer.length);
        }
        if (out.capEnd !== undefined) expect(out.capEnd).toBeLessThanOrEqual(input.capEnd);
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- whole frames: random headers that chain (right type fields), so the walk goes deep ----

const be16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const bytes = (n: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n });
const u16 = fc.integer({ min: 0, max: 0xffff });
const ethertypeArb = fc.oneof(fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x9100, 0x9200, 0x6558, 0x05dc), u16);
const ipProtoArb = fc.oneof(fc.constantFrom(1, 4, 6, 17, 41, 58, 0, 43, 44, 51, 60, 59), fc.integer({ min: 0, max: 255 }));
const udpPortArb = fc.oneof(fc.constantFrom(4789, 8472, 6081, 4790), u16);
const lengthArb = fc.oneof(fc.constantFrom(0, 1, 7, 8, 20, 40, 0xffff), u16);

const headerArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(bytes(12), ethertypeArb).map(([a, t]) => [...a, ...be16(t)]), // Ethernet
  fc.tuple(u16, ethertypeArb).map(([tci, t]) => [...be16(tci), ...be16(t)]), // VLAN tag
  fc
    .tuple(
      fc.constantFrom(0x45, 0x46, 0x4f, 0x44, 0x55),
      fc.integer({ min: 0, max: 255 }),
      lengthArb,
      fc.constantFrom(0, 0x2000, 0x4000, 0x2001, 0x0001),
      ipProtoArb,
      bytes(10),
      bytes(40),
    )
    .map(([vihl, tos, len, frag, proto, rest, opts]) => [
      vihl,
      tos,
      ...be16(len),
      0,
      1,
      ...be16(frag),
      64,
      proto,
      ...rest,
      ...opts.slice(0, ((vihl & 15) - 5) * 4 > 0 ? ((vihl & 15) - 5) * 4 : 0),
    ]), // IPv4
  fc.tuple(lengthArb, ipProtoArb, bytes(32)).map(([len, nh, addrs]) => [0x60, 0, 0, 0, ...be16(len), nh, 64, ...addrs]), // IPv6
  // IPv6 extension header
  fc.tuple(ipProtoArb, fc.integer({ min: 0, max: 3 }), bytes(30)).map(([nh, units, rest]) => [nh, units, ...rest.slice(0, 6 + units * 8)]),
  fc.tuple(u16, udpPortArb, lengthArb).map(([s, d, len]) => [...be16(s), ...be16(d), ...be16(len), 0, 0]), // UDP
  fc.tuple(bytes(12), fc.integer({ min: 0, max: 15 }), bytes(7)).map(([a, off, rest]) => [...a, off << 4, ...rest]), // TCP
  fc
    .tuple(fc.constantFrom(0x08, 0x00, 0x88, 0xff), bytes(3), fc.integer({ min: 0, max: 0xffffff }))
    .map(([fl, r, vni]) => [fl, ...r, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff, 0]), // VXLAN
  fc
    .tuple(
      fc.integer({ min: 0, max: 0x3f }),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x6558, 0x0800, 0x86dd, 0x1234),
      bytes(4),
      bytes(24),
    )
    .map(([optWords, b1, proto, vni, opts]) => [optWords, b1, ...be16(proto), ...vni, ...opts]), // GENEVE
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(1, 2, 3, 4, 5), bytes(4)).map(([fl, np, vni]) => [fl, 0, 0, np, ...vni]), // VXLAN-GPE
  fc
    .tuple(fc.constantFrom(1, 6), fc.constantFrom(4, 16, 0, 255), bytes(20))
    .map(([hlen, plen, rest]) => [0, 1, 8, 0, hlen, plen, 0, 1, ...rest]), // ARP
  bytes(8), // anything (ICMP, ICMPv6, loopback, SLL bits)
);

const frameArb = fc
  .tuple(fc.array(headerArb, { maxLength: 24 }), fc.uint8Array({ maxLength: 64 }))
  .map(([hs, tail]) => Uint8Array.from([...hs.flat(), ...tail]));
const anyFrameArb = fc.oneof(frameArb, fc.uint8Array({ maxLength: 400 }));

function raw(data: Uint8Array, linkType: number, len: number): RawPacket {
  return { tsSec: 0, tsNsec: 0, tsDigits: 6, caplen: data.length, len, linkType, fileOffset: 0, data };
}

describe('decodePacket (any bytes, every link type)', () => {
  it.each(LINK_TYPES.map((t) => [t]))(
    'link type %i: no throw, layers inside the frame, depth and layer count within the limits',
    (linkType) => {
      fc.assert(
        fc.property(
          anyFrameArb,
          fc.oneof(fc.constant(-1), fc.nat({ max: 70_000 })),
          fc.option(fc.integer({ min: 0, max: 4 })),
          fc.option(fc.integer({ min: 1, max: 70 })),
          (data, lenPick, maxTunnelDepth, maxLayers) => {
            const len = lenPick < 0 ? data.length : lenPick;
            const limits = { ...(maxTunnelDepth === null ? {} : { maxTunnelDepth }), ...(maxLayers === null ? {} : { maxLayers }) };
            const { value: p, reads } = countingReads(() => decodePacket(raw(data, linkType, len), 1, limits));
            expect(reads).toBeLessThanOrEqual(readBudget(data.length));
            expect(packetProblem(p, limits)).toBeUndefined();
            expect(p.layers.length).toBeLessThanOrEqual(limits.maxLayers ?? DEFAULT_MAX_LAYERS);
            for (const l of p.layers) expect(l.depth).toBeLessThanOrEqual(limits.maxTunnelDepth ?? DEFAULT_MAX_TUNNEL_DEPTH);
          },
        ),
        { numRuns: 1500 },
      );
    },
  );

  it('an unknown link type keeps the bytes undecoded, with a warning', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }).filter((t) => !LINK_TYPES.includes(t)),
        fc.uint8Array({ maxLength: 64 }),
        (linkType, data) => {
          const p = decodePacket(raw(data, linkType, data.length), 1);
          expect(p.layers).toEqual([]);
          expect(p.warnings?.[0]).toMatch(/unknown link type/);
        },
      ),
    );
  });
});

describe('limits hold on hostile frames', () => {
  const inner = f.ethernet(
    '02:00:00:00:00:02',
    '02:00:00:00:00:01',
    0x0800,
    f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1)),
  );

  it.each([1, 2, 7, 8, 9, 20])('VXLAN nested %i deep: depth never above the limit (8), an error past it', (levels) => {
    let frame = inner;
    for (let i = 0; i < levels; i++) frame = f.vxlanPacket(frame, { vni: i + 1 });
    const p = decodePacket(raw(frame, 1, frame.length), 1);
    expect(packetProblem(p)).toBeUndefined();
    expect(Math.max(...p.layers.map((l) => l.depth))).toBe(Math.min(levels, DEFAULT_MAX_TUNNEL_DEPTH));
    if (levels > DEFAULT_MAX_TUNNEL_DEPTH) expect(p.error?.message).toBe(`tunnels nested deeper than ${DEFAULT_MAX_TUNNEL_DEPTH}`);
    else expect(p.error).toBeUndefined();
  });

  it('a stack of 100 VLAN tags stops at the layer limit with an error', () => {
    let payload: Uint8Array = f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1));
    for (let i = 0; i < 100; i++) payload = f.vlanTag(i + 1, i === 0 ? 0x0800 : 0x8100, payload);
    const frame = f.ethernet('02:00:00:00:00:02', '02:00:00:00:00:01', 0x8100, payload);
    const p = decodePacket(raw(frame, 1, frame.length), 1);
    expect(p.layers.length).toBe(DEFAULT_MAX_LAYERS);
    expect(p.error?.message).toBe(`more than ${DEFAULT_MAX_LAYERS} layers in one frame`);
    expect(packetProblem(p)).toBeUndefined();
  });

  it('an IPv6 extension-header chain that points at itself stops after 16 headers', () => {
    // 20 destination-options headers, each saying "next: destination options" (60)
    const ext = Array.from({ length: 20 }, () => [60, 0, 1, 4, 0, 0, 0, 0]).flat();
    const frame = f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x86dd,
      f.concat(f.ipv6({ src: '::1', dst: '::2', nextHeader: 60, payloadLength: ext.length }, Uint8Array.from(ext))),
    );
    const p = decodePacket(raw(frame, 1, frame.length), 1);
    expect(p.error).toMatchObject({ layer: 'ipv6', message: 'more than 16 IPv6 extension headers' });
  });

  it('a GENEVE option whose length runs past the options is malformed, not read', () => {
    // options length 1 word, one option claiming 31 words
    const gen = Uint8Array.from([0x01, 0, 0x65, 0x58, 0, 0, 10, 0, 0x01, 0x02, 0x03, 0x1f]);
    const frame = f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, f.udp(1234, 6081, f.concat(gen, inner))),
    );
    const p = decodePacket(raw(frame, 1, frame.length), 1);
    expect(p.error).toMatchObject({ layer: 'geneve', offset: 14 + 20 + 8 + 8 });
    expect(p.error?.message).toMatch(/GENEVE option of 128 bytes runs past the options \(4 left\)/);
  });
});
