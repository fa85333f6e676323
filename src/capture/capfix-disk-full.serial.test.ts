/**
 * PcapFileSink on a disk that fills mid-batch (a 64 KiB tmpfs; root only): the write that fails
 * keeps every whole record that fitted, the file is cut back to them and reads back whole, and
 * the error names the file and ENOSPC.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureParser } from '../decode/file/parser.js';
import { PcapWriter } from '../decode/file/writer.js';
import { FLUSH_BYTES, PcapFileSink } from './pcap-sink.js';

const root = process.getuid?.() === 0;
const dir = mkdtempSync(path.join(tmpdir(), 'vxi-capfix-full-'));
let mounted = false;

afterAll(() => {
  if (mounted) spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!root)('PcapFileSink on a full disk', () => {
  it('keeps the whole records of the batch that did not fit, and says ENOSPC', () => {
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    mounted = true;
    const w = new PcapWriter({ linkType: 1, snaplen: 262_144 });
    // one batch larger than the disk: records of odd sizes, so the cut falls inside one
    const records = Array.from({ length: 120 }, (_, i) => w.record({ tsSec: i, tsNsec: 0, data: new Uint8Array(700 + ((i * 37) % 900)) }));
    const total = records.reduce((a, r) => a + r.length, 0);
    expect(total).toBeGreaterThan(FLUSH_BYTES / 4);
    const file = path.join(dir, 'a.pcap');
    const errors: string[] = [];
    const sink = new PcapFileSink(file, undefined, (e) => errors.push(e.message));
    sink.push(w.header());
    for (const r of records) sink.push(r);
    const res = sink.end();
    expect(errors).toHaveLength(1);
    expect(sink.error?.message).toMatch(new RegExp(`cannot write ${file}: ENOSPC.*the file keeps its ${res.packets} whole packet\\(s\\)`));
    expect(res.packets).toBeGreaterThan(0);
    expect(res.packets).toBeLessThan(records.length);
    expect(statSync(file).size).toBe(res.fileBytes);
    const p = new CaptureParser();
    p.push(readFileSync(file));
    p.end();
    let n = 0;
    while (p.next()) n++;
    expect(p.error).toBeUndefined();
    expect(n).toBe(res.packets);
  });
});
