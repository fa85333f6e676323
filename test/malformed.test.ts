/**
 * The malformed-file table, measured: `node dist/cli/bin.js decode FILE` on every crafted file
 * of fixtures/malformed/ (built by src/fuzz/malformed.ts). A damaged file: the packets before
 * the fault are printed, exactly one line on stderr with the fault and its byte offset, exit 1.
 * A valid file with a malformed frame: every packet printed, the frame says what is wrong,
 * nothing on stderr, exit 0. Each run: under 5 s and 200 MiB (GNU time's maximum RSS).
 * Needs the build (`npm run build`). Regenerate the files: VXI_UPDATE_FIXTURES=1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { malformedCases } from '../src/fuzz/malformed.js';
import { CaptureParser, PcapngWriter, PcapWriter } from '../src/decode/index.js';
import * as f from '../src/synth/frames.js';

const ROOT = join(import.meta.dirname, '..');
const DIR = join(ROOT, 'fixtures', 'malformed');
const BIN = join(ROOT, 'dist', 'cli', 'bin.js');
const cases = malformedCases();
const scratch = mkdtempSync(join(tmpdir(), 'vxt-malformed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string[];
  stderr: string;
  ms: number;
  maxRssKb: number;
}

function decode(rel: string, env: Record<string, string> = {}): Run {
  const timeFile = join(scratch, 'time.txt');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, BIN, 'decode', rel], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 40_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, VXI_THREADS: undefined, ...env },
  });
  const ms = performance.now() - t0;
  return {
    status: r.status,
    stdout: r.stdout.split('\n').filter((l) => l.length > 0),
    stderr: r.stderr,
    ms,
    maxRssKb: Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)),
  };
}

describe('fixtures/malformed', () => {
  it('the files on disk are the bytes src/fuzz/malformed.ts builds, each listed in the README', () => {
    const readme = existsSync(join(DIR, 'README.md')) ? readFileSync(join(DIR, 'README.md'), 'utf8') : '';
    for (const c of cases) {
      const path = join(DIR, c.file);
      if (process.env.VXI_UPDATE_FIXTURES === '1') writeFileSync(path, c.bytes);
      expect(Buffer.from(readFileSync(path)).equals(Buffer.from(c.bytes)), c.file).toBe(true);
      expect(readme, c.file).toContain(`\`${c.file}\``);
    }
    expect(new Set(cases.map((c) => c.file)).size).toBe(cases.length);
  });
});

describe.skipIf(!existsSync(BIN))('vxlan-inspect decode on malformed files (run `npm run build` first)', () => {
  it.each(cases.map((c) => [c.file, c]))('%s', (_name, c) => {
    const rel = `fixtures/malformed/${c.file}`;
    const r = decode(rel);
    expect(r.status).toBe(c.exitCode);
    expect(r.stdout).toHaveLength(c.packets);
    r.stdout.forEach((line, i) => expect(line.startsWith(`${i + 1} `)).toBe(true));
    if (c.error) {
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      expect(lines).toHaveLength(1);
      const m = /^vxlan-inspect: (.+?): (.+) \(at byte offset (\d+)\); (\d+) packets? read before it$/.exec(lines[0] as string);
      expect(m, lines[0]).not.toBeNull();
      const [, file, message, offset, before] = m as RegExpExecArray;
      expect(file).toBe(rel);
      expect(message).toMatch(c.error.message);
      expect(Number(offset)).toBe(c.error.offset);
      expect(Number(before)).toBe(c.packets);
    } else {
      expect(r.stderr).toBe('');
      const frame = c.frame as { n: number; says: RegExp; every?: boolean };
      expect(r.stdout[frame.n - 1]).toMatch(frame.says);
      r.stdout.forEach((line, i) => {
        if (frame.every) expect(line).toMatch(frame.says);
        else if (i !== frame.n - 1) expect(line).not.toMatch(/\[malformed|\[unknown|\[\|/);
      });
    }
    expect(r.ms).toBeLessThan(5000);
    expect(r.maxRssKb).toBeLessThan(200 * 1024);
  });
});

describe.skipIf(!existsSync(BIN))('damage in a big file (decoded on worker threads)', () => {
  // Files of 16 MiB and more are decoded in parallel: the packets before the fault and the
  // line on stderr must be exactly those of the single-threaded reader.
  const frame = f.vxlanPacket(
    f.ethernet(
      '02:00:00:00:00:02',
      '02:00:00:00:00:01',
      0x0800,
      f.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, f.icmpEcho(8, 1, 1, new Uint8Array(100))),
    ),
  );
  const packets = Array.from({ length: 100_000 }, (_, i) => ({ tsSec: 1_764_140_000 + i, tsNsec: 0, data: frame }));

  it.each([
    [
      'pcap, huge caplen in record 70,000',
      'mid.pcap',
      70_000,
      (): Uint8Array => {
        const b = new PcapWriter().file(packets);
        new DataView(b.buffer).setUint32(24 + 70_000 * (16 + frame.length) + 8, 0xffffffff, true);
        return b;
      },
    ],
    [
      'pcapng, block length 30 at block 90,000',
      'mid.pcapng',
      90_000,
      (): Uint8Array => {
        const b = new PcapngWriter().file(packets);
        new DataView(b.buffer).setUint32(48 + 90_000 * (32 + ((frame.length + 3) & ~3)) + 4, 30, true);
        return b;
      },
    ],
    ['pcap, last record cut', 'cut.pcap', 99_999, (): Uint8Array => new PcapWriter().file(packets).subarray(0, -30)],
  ])(
    '%s',
    (_name, file, before, make) => {
      const path = join(scratch, file);
      writeFileSync(path, make());
      const one = decode(path, { VXI_THREADS: '0' });
      const many = decode(path, { VXI_THREADS: '2' });
      for (const r of [one, many]) {
        expect(r.status).toBe(1);
        expect(r.stdout).toHaveLength(before);
        expect(r.stderr).toMatch(new RegExp(`\\(at byte offset \\d+\\); ${before} packets read before it\\n$`));
        expect(r.stderr.split('\n')).toHaveLength(2);
      }
      expect(many.stderr).toBe(one.stderr);
      expect(many.stdout.at(-1)).toBe(one.stdout.at(-1));
    },
    60_000,
  );
});

describe('memory stays bounded on hostile interface lists', () => {
  // Every IDB's if_name lives as long as the read: 65,536 IDBs (the limit) with 64 KiB names
  // held 4 GiB before names were cut to 256 bytes (found while measuring: 685 MiB RSS for a
  // 540 MB file of 9,000 such IDBs, 127 MiB after).
  const longNames = (n: number): Uint8Array =>
    new PcapngWriter({ interfaces: Array.from({ length: n }, (_, i) => ({ name: `${i}`.padEnd(65_000, 'x') })) }).file([
      { tsSec: 1, tsNsec: 0, data: new Uint8Array(60) },
    ]);

  it('keeps the first 256 bytes of an if_name, with a warning', () => {
    const p = new CaptureParser();
    p.push(longNames(2));
    p.end();
    expect(p.next()?.interfaceName).toBe('0'.padEnd(256, 'x'));
    expect(p.interfaces.map((i) => i.name?.length)).toEqual([256, 256]);
    expect(p.warnings).toEqual([
      'interface description block at byte offset 28: if_name of 65000 bytes cut to its first 256',
      'interface description block at byte offset 65056: if_name of 65000 bytes cut to its first 256',
    ]);
  });

  it.skipIf(!existsSync(BIN))(
    'decode of a 130 MB file of 2,000 IDBs with 64 KiB names stays under 180 MiB',
    () => {
      const path = join(scratch, 'names.pcapng');
      writeFileSync(path, longNames(2000));
      const r = decode(path);
      expect(r.status).toBe(0);
      expect(r.stdout).toHaveLength(1);
      expect(r.maxRssKb).toBeLessThan(180 * 1024);
    },
    60_000,
  );
});
