/**
 * The mutation fuzzer, CI size: 3,000 seeded mutants of the fixture captures go through the
 * reader (in chunks), the layer walk, both output formats and the correlator. 0 crashes, 0
 * hangs (no case over 1 s of CPU time three times in a row: CPU time, so another process's
 * load cannot fail it; the p99 is 10–20 ms of CPU on a loaded machine), bounded memory. `npm run fuzz` runs the
 * nightly size (100,000) with a watchdog for real hangs. Plus tests of the engine itself:
 * deterministic, aimed at the length fields, and able to see a crash when there is one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DecoderRegistry, PcapWriter, PcapngWriter, createRegistry } from '../src/decode/index.js';
import { captureStructure, loadSeeds, makeCase, minimise, mutate, Rng, runCase, runFuzz, type Seed } from '../src/fuzz/index.js';
import * as f from '../src/synth/frames.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const seeds = loadSeeds(['synth', 'format', 'lab', 'public', 'malformed'].map((d) => join(FIXTURES, d)));

describe('mutation fuzzer (CI size)', () => {
  it('3,000 seeded cases: no crash, no hang, bounded memory', async () => {
    const report = await runFuzz({ seeds, cases: 3000, seed: 20261126, slowMs: 1000 });
    const explain = [...report.crashes, ...report.hangs].map(
      (c) =>
        `case ${c.caseIndex} (${c.seedName}: ${c.ops.join('; ')}): ${c.outcome.crash?.where ?? 'slow'} ${c.outcome.crash?.message ?? `${c.outcome.ms} ms`}`,
    );
    expect(explain).toEqual([]);
    expect(report.cases).toBe(3000);
    // the mutants do reach the interesting outcomes, not only "bad magic"
    expect(report.damagedFiles).toBeGreaterThan(300);
    expect(report.malformedFrames).toBeGreaterThan(100);
    expect(report.packets).toBeGreaterThan(10_000);
    expect(report.slowest?.ms ?? 0).toBeLessThan(1000);
    expect(report.peakRssMb).toBeLessThan(1024);
    console.log(
      `fuzz: ${report.cases} cases in ${(report.elapsedMs / 1000).toFixed(1)} s, ` +
        `p50 ${report.p50Ms.toFixed(2)} ms, p99 ${report.p99Ms.toFixed(2)} ms, ` +
        `slowest ${report.slowest?.ms.toFixed(1)} ms (case ${report.slowest?.caseIndex}), ` +
        `peak RSS ${report.peakRssMb.toFixed(0)} MiB`,
    );
  }, 120_000);
});

describe('the engine', () => {
  it('loads every fixture capture as a seed, with its units and length fields', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(90);
    const pcap = seeds.find((s) => s.name === 'synth/class-kvm1-eth1.pcap') as Seed;
    expect(pcap.structure.format).toBe('pcap');
    expect(pcap.structure.units[0]).toEqual({ offset: 0, length: 24, kind: 'pcap-header' });
    const names = new Set(pcap.structure.fields.map((x) => x.name));
    for (const n of ['pcap caplen', 'pcap original length', 'ipv4 total length', 'udp length']) expect(names).toContain(n);
    const ng = seeds.find((s) => s.name === 'format/two-sections.pcapng') as Seed;
    expect(ng.structure.units.every((u) => u.kind === 'pcapng-block')).toBe(true);
    expect(new Set(ng.structure.fields.map((x) => x.name))).toContain('pcapng EPB caplen');
  });

  it('finds the length fields at their offsets', () => {
    const frame = f.vxlanPacket(
      f.ethernet('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0806, f.arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2')),
    );
    const file = new PcapWriter().file([{ tsSec: 1, tsNsec: 0, data: frame }]);
    const s = captureStructure(file);
    const at = (name: string): number | undefined => s.fields.find((x) => x.name === name)?.offset;
    expect(at('pcap caplen')).toBe(24 + 8);
    expect(at('ipv4 total length')).toBe(40 + 14 + 2);
    expect(at('udp length')).toBe(40 + 14 + 20 + 4);
    expect(s.fields.filter((x) => x.name === 'arp hlen').map((x) => x.offset)).toEqual([40 + 50 + 14 + 4]);
  });

  it('is deterministic: the same seed and case index give the same mutant', () => {
    for (const i of [0, 1, 17, 2999]) {
      const a = makeCase(seeds, 7, i);
      const b = makeCase(seeds, 7, i);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
      expect(a.ops).toEqual(b.ops);
    }
    expect(Buffer.from(makeCase(seeds, 7, 1).bytes).equals(Buffer.from(makeCase(seeds, 8, 1).bytes))).toBe(false);
  });

  it('never changes the seed, and logs what it did', () => {
    const seed = seeds[0] as Seed;
    const copy = seed.bytes.slice();
    const rng = new Rng(1);
    const kinds = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const m = mutate(rng, seed, seeds);
      expect(m.ops.length).toBeGreaterThan(0);
      for (const op of m.ops) kinds.add(op.split(' ')[0] as string);
    }
    expect(Buffer.from(seed.bytes).equals(Buffer.from(copy))).toBe(true);
    for (const k of ['flip', 'set', 'truncate', 'duplicate', 'insert', 'zero', 'pcap']) expect(kinds).toContain(k);
  });

  it('sees a crash when a decoder throws, and minimises the input that causes it', async () => {
    // A decoder that throws on one byte value stands in for a bug.
    const registry: DecoderRegistry = createRegistry().register('ethertype', 0x0800, {
      name: 'ipv4',
      decode(input) {
        if (input.data[input.offset + 9] === 0x2a) throw new TypeError('boom');
        return { ok: true, nextOffset: input.offset };
      },
    });
    const frame = f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 0x2a }, new Uint8Array(40)),
    );
    const file = new PcapngWriter().file([
      { tsSec: 1, tsNsec: 0, data: new Uint8Array(60) },
      { tsSec: 2, tsNsec: 0, data: frame },
    ]);
    const o = await runCase(file, { registry });
    expect(o.crash).toMatchObject({ where: 'decode', message: 'TypeError: boom' });
    expect(o.packets).toBe(0);
    const small = await minimise(file, async (b) => (await runCase(b, { registry })).crash?.message === 'TypeError: boom');
    expect(small.length).toBeLessThan(file.length);
    expect((await runCase(small, { registry })).crash?.message).toBe('TypeError: boom');
  });
});

describe.skipIf(!existsSync(join(import.meta.dirname, '..', 'dist', 'fuzz', 'index.js')))(
  'scripts/fuzz.mjs (run `npm run build` first)',
  () => {
    it('its watchdog catches a case that never ends, saves it, and goes on with the next', () => {
      const out = mkdtempSync(join(tmpdir(), 'vxt-fuzz-'));
      try {
        const r = spawnSync(
          process.execPath,
          [
            join(import.meta.dirname, '..', 'scripts', 'fuzz.mjs'),
            '--cases',
            '60',
            '--seed',
            '5',
            '--hang-s',
            '1',
            '--selftest-hang',
            '20',
            '--out',
            out,
            '--json',
          ],
          { encoding: 'utf8', timeout: 60_000 },
        );
        expect(r.status).toBe(1);
        const summary = JSON.parse(r.stdout) as {
          cases: number;
          crashes: number;
          hangs: number;
          findings: { caseIndex: number; where: string; file: string }[];
        };
        expect(summary).toMatchObject({ cases: 60, crashes: 0, hangs: 1 });
        expect(summary.findings).toEqual([expect.objectContaining({ caseIndex: 20, where: 'hang' })]);
        expect(existsSync(summary.findings[0]?.file ?? '')).toBe(true);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 60_000);
  },
);
