/**
 * The read-bounds property: a layer decoder reads nothing at or past its input's `capEnd` (the
 * contract in src/decode/layer.ts). `need()` decides truncated/malformed from `capEnd`, so a read
 * that drifts past what a decoder checked is a read of bytes the capture or an outer length field
 * excluded: padding, the next layer's bytes, or nothing at all.
 *
 * How: every decoder the registry hands out is wrapped so that it sees a DataView that ends at
 * `capEnd` (any read past it throws RangeError) and bytes whose indexes and subarrays past `capEnd`
 * throw. Production decoding is untouched — the wrapping is a registry subclass, which the decode
 * functions and the fuzz harness already accept — so the hot path costs nothing.
 *
 * Driven by every capture of the corpus (fixtures/, and ../shared/captures when present) and by the
 * fuzzer's mutants of them (src/fuzz), through the same harness the fuzzer runs. Each case also runs
 * unchecked: the outcome must be identical (the check only watches).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  DecoderRegistry,
  decodePacket,
  readCapture,
  type LayerDecoder,
  type LayerInput,
  type RawPacket,
} from '../src/decode/index.js';
import type { DispatchTable } from '../src/decode/layer.js';
import { ethernet } from '../src/decode/layers/ethernet.js';
import { loadSeeds, makeCase, runCase, type CaseOutcome } from '../src/fuzz/index.js';
import * as f from '../src/synth/frames.js';

class ReadPastCapEnd extends RangeError {}

/** `data`, except that reading an index at or past `capEnd`, or a subarray/slice ending past it, throws. */
function boundedBytes(data: Uint8Array, capEnd: number, layer: string): Uint8Array {
  const fail = (what: string): never => {
    throw new ReadPastCapEnd(`${layer}: ${what} past capEnd ${capEnd}`);
  };
  const end = (b: number | undefined): number =>
    b === undefined ? data.length : b < 0 ? Math.max(0, data.length + b) : Math.min(b, data.length);
  return new Proxy(data, {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) >= capEnd) fail(`byte ${key} read`);
      if (key === 'subarray' || key === 'slice') {
        return (a?: number, b?: number): Uint8Array => {
          if (end(b) > capEnd && end(b) > end(a)) fail(`${key}(${a}, ${b})`);
          return target[key](a, b);
        };
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A decoder that sees only the bytes before its `capEnd`. */
function bounded(d: LayerDecoder): LayerDecoder {
  return {
    name: d.name,
    decode(input: LayerInput) {
      const { data, capEnd } = input;
      const view = new DataView(data.buffer, data.byteOffset, capEnd);
      return d.decode({ ...input, data: boundedBytes(data, capEnd, d.name), view });
    },
  };
}

/** The standard tables, each decoder bounded (wrapped once each, when first looked up). */
class BoundedRegistry extends DecoderRegistry {
  private readonly wrapped = new Map<LayerDecoder, LayerDecoder>();
  constructor(private readonly inner: DecoderRegistry) {
    super();
  }

  override lookup(table: DispatchTable, key: number): LayerDecoder | undefined {
    const d = this.inner.lookup(table, key);
    if (d === undefined) return undefined;
    let w = this.wrapped.get(d);
    if (w === undefined) this.wrapped.set(d, (w = bounded(d)));
    return w;
  }
}

const bounds = new BoundedRegistry(createRegistry());
const plain = createRegistry();

/** The outcome without its timing: what both runs must agree on. */
const verdict = (o: CaseOutcome): Omit<CaseOutcome, 'ms'> => {
  const { ms: _ms, ...rest } = o;
  return rest;
};

const ROOT = join(import.meta.dirname, '..');
const CORPUS_DIRS = [join(ROOT, 'fixtures'), join(ROOT, '..', 'shared', 'captures')].filter((d) => existsSync(d));
const CAPTURE_FILE = /\.(pcap|pcapng|cap)$/;
/** Packets of each corpus file cut at every length, */
const PACKETS_PER_FILE = 4;
/** up to this length: past every header a frame of the corpus stacks (VXLAN in IPv6 with inner IPv6 and TCP options is under 200 bytes). */
const CUT_UP_TO = 256;

function corpusFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (CAPTURE_FILE.test(name)) out.push(p);
    }
  };
  CORPUS_DIRS.forEach(walk);
  return out;
}

describe('read bounds: the checked view', () => {
  it('throws on a read past capEnd, and is transparent before it', () => {
    const frame = f.ethernet('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800, new Uint8Array(20));
    const input = (capEnd: number): LayerInput => ({
      data: frame,
      view: new DataView(frame.buffer, frame.byteOffset, frame.length),
      offset: 0,
      capEnd,
      wireEnd: frame.length,
      depth: 0,
    });
    expect(bounded(ethernet).decode(input(frame.length))).toEqual(ethernet.decode(input(frame.length)));
    // a decoder that checks 14 bytes and reads a 15th: caught by the view, and by the bytes
    const drifting = (read: (i: LayerInput) => number): LayerDecoder => ({
      name: 'drift',
      decode: (i) => ({ ok: true, nextOffset: read(i) }),
    });
    expect(() => bounded(drifting((i) => i.view.getUint8(14))).decode(input(14))).toThrow(RangeError);
    expect(() => bounded(drifting((i) => i.data[14] ?? 0)).decode(input(14))).toThrow(/byte 14 read past capEnd 14/);
    expect(() => bounded(drifting((i) => i.data.subarray(10, 16).length)).decode(input(14))).toThrow(/subarray\(10, 16\) past capEnd 14/);
    expect(bounded(drifting((i) => i.view.getUint8(13) + i.data.subarray(0, 14).length)).decode(input(14))).toEqual({
      ok: true,
      nextOffset: 14,
    });
  });

  it('decodes through the registry subclass: a frame decodes the same checked or not', () => {
    const frame = f.vxlanPacket(
      f.ethernet(
        '02:00:00:00:00:02',
        '02:00:00:00:00:01',
        0x0800,
        f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1)),
      ),
      { vni: 10 },
    );
    const raw = { tsSec: 0, tsNsec: 0, tsDigits: 6, caplen: frame.length, len: frame.length, linkType: 1, fileOffset: 0, data: frame };
    const checked = decodePacket(raw, 1, { registry: bounds });
    expect(checked.layers.map((l) => l.type)).toEqual(['eth', 'ipv4', 'udp', 'vxlan', 'eth', 'ipv4', 'icmp']);
    expect(checked).toEqual(decodePacket(raw, 1, { registry: plain }));
  });
});

describe('read bounds: no decoder reads past capEnd', () => {
  const files = corpusFiles();

  it('the corpus is there', () => {
    expect(files.length).toBeGreaterThanOrEqual(90);
  });

  it('on every capture of the corpus (fixtures/ and ../shared/captures)', async () => {
    const found: string[] = [];
    let packets = 0;
    for (const file of files) {
      const bytes = new Uint8Array(readFileSync(file));
      const checked = await runCase(bytes, { registry: bounds, correlate: false });
      if (checked.crash) found.push(`${file}: ${checked.crash.message}`);
      else expect(verdict(checked), file).toEqual(verdict(await runCase(bytes, { registry: plain, correlate: false })));
      packets += checked.packets;
    }
    expect(found).toEqual([]);
    expect(packets).toBeGreaterThan(3_000);
  }, 120_000);

  it('on the first packets of every capture of the corpus, cut at every length (each header boundary is hit exactly)', async () => {
    // a decoder whose read drifts one byte past its need() check fails only when the capture ends
    // exactly there: a snaplen at every byte reaches that case for every header the corpus holds
    const found = new Set<string>();
    const seen = new Set<string>();
    let cuts = 0;
    for (const file of files) {
      const sample: RawPacket[] = [];
      const summary = await readCapture(file, (p) => {
        sample.push({ ...p, data: p.data.slice() });
        return sample.length < PACKETS_PER_FILE;
      });
      if (summary.format === undefined) continue;
      for (const raw of sample) {
        const head = Buffer.from(raw.data.subarray(0, CUT_UP_TO)).toString('latin1');
        if (seen.has(`${raw.linkType} ${head}`)) continue; // the same headers in another file
        seen.add(`${raw.linkType} ${head}`);
        for (let k = 0; k <= Math.min(raw.data.length, CUT_UP_TO); k++) {
          const cut: RawPacket = { ...raw, data: raw.data.subarray(0, k), caplen: k };
          cuts++;
          try {
            const checked = decodePacket(cut, 1, { registry: bounds });
            if (!isDeepStrictEqual(checked, decodePacket(cut, 1, { registry: plain })))
              found.add(`${file} @${raw.fileOffset} cut to ${k}: decodes differently when checked`);
          } catch (err) {
            found.add(`${file} @${raw.fileOffset} cut to ${k}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    }
    expect([...found]).toEqual([]);
    expect(cuts).toBeGreaterThan(15_000);
  }, 120_000);

  it("on 1,500 of the fuzzer's mutants of the fixture captures", async () => {
    const seeds = loadSeeds(['synth', 'format', 'lab', 'public', 'malformed'].map((d) => join(ROOT, 'fixtures', d)));
    const found: string[] = [];
    let malformed = 0;
    for (let i = 0; i < 1500; i++) {
      const c = makeCase(seeds, 20261201, i);
      const checked = await runCase(c.bytes, { registry: bounds, chunkSizes: c.chunkSizes, correlate: false });
      if (checked.crash) found.push(`case ${i} (${c.seedName}: ${c.ops.join('; ')}): ${checked.crash.message}`);
      else
        expect(verdict(checked), `case ${i}`).toEqual(
          verdict(await runCase(c.bytes, { registry: plain, chunkSizes: c.chunkSizes, correlate: false })),
        );
      malformed += checked.malformedFrames;
    }
    expect(found).toEqual([]);
    // the mutants reach the decoders' error paths, where a drifting read would hide
    expect(malformed).toBeGreaterThan(50);
  }, 120_000);
});
