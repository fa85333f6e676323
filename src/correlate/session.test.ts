import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSessionOffsets } from './session.js';

const dir = mkdtempSync(join(tmpdir(), 'vxi-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function session(json: unknown): string {
  const f = join(dir, `s${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof json === 'string' ? json : JSON.stringify(json));
  return f;
}

describe('readSessionOffsets', () => {
  it('lines the overlay up with the underlay: offsets are how far each node is ahead', async () => {
    const f = session({
      nodes: [
        { name: 'kvm1', underlay: 'a.pcap', overlay: 'b.pcap', clockOffsetUs: 100 },
        { name: 'kvm2', underlay: 'c.pcap', overlay: 'd.pcap', clockOffsetUs: 2_000_100, overlayClockOffsetUs: 7 },
      ],
      vxlanPorts: [4789, 8472, 'x'],
    });
    expect(await readSessionOffsets(f, '/x/a.pcap', '/x/d.pcap')).toEqual({
      overlayClockOffsetUs: 100 - 2_000_100 + 7,
      vxlanPorts: [4789, 8472],
      underlayNode: 'kvm1',
      overlayNode: 'kvm2',
    });
    expect(await readSessionOffsets(f, 'a.pcap', 'b.pcap')).toMatchObject({ overlayClockOffsetUs: 0 });
    // not listed: the node from the <node>-<iface>.pcap name
    expect(await readSessionOffsets(f, 'kvm2-eth1.pcap', 'kvm1-vxlan_bridge.pcap')).toMatchObject({
      overlayClockOffsetUs: 2_000_000,
      underlayNode: 'kvm2',
      overlayNode: 'kvm1',
    });
    expect(await readSessionOffsets(f, 'x.pcap', 'y.pcap')).toEqual({ overlayClockOffsetUs: 0, vxlanPorts: [4789, 8472] });
  });

  it('says what is wrong with a bad session file', async () => {
    await expect(readSessionOffsets(session('{ nope'), 'a', 'b')).rejects.toMatchObject({
      code: 'VXI_USAGE',
      message: expect.stringContaining('is not valid JSON'),
    });
    await expect(
      readSessionOffsets(session({ nodes: [{ name: 'kvm1', clockOffsetUs: '5' }] }), 'kvm1-eth1.pcap', 'b'),
    ).rejects.toMatchObject({ code: 'VXI_USAGE', message: expect.stringContaining('clockOffsetUs must be a number of microseconds') });
    await expect(readSessionOffsets(join(dir, 'none.json'), 'a', 'b')).rejects.toMatchObject({ code: 'VXI_IO', exitCode: 2 });
  });
});
