/** Live numbers from a real lab recording, and how they are printed. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../decode/file/parser.js';
import { decodePacket } from '../decode/packet.js';
import { formatBytes, progressBar, statusLine, summaryText } from './format.js';
import { LiveStats } from './live-stats.js';
import type { CaptureRunSummary } from './types.js';

function statsOf(file: string): LiveStats {
  const p = new CaptureParser();
  p.push(readFileSync(fileURLToPath(new URL(`../../fixtures/lab/${file}`, import.meta.url))));
  p.end();
  const s = new LiveStats('kvm1', file.includes('eth1') ? 'eth1' : 'vxlan_bridge', 0);
  let n = 0;
  for (let r = p.next(); r; r = p.next()) s.add(decodePacket(r, ++n));
  return s;
}

describe('live stats', () => {
  it('counts packets, bytes, VXLAN packets and VNIs (independently counted in fixtures/lab/expected.json)', () => {
    type Expected = { files: { file: string; packets: number; vxlan: { packets: number; vnis: Record<string, number> } }[] };
    const expected = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../fixtures/lab/expected.json', import.meta.url)), 'utf8'),
    ) as Expected;
    const want = (f: string): Expected['files'][number] | undefined => expected.files.find((e) => e.file === f);
    const eth1 = statsOf('kvm1-eth1.pcap');
    const bridge = statsOf('kvm1-vxlan_bridge.pcap');
    expect(eth1.packets).toBe(want('kvm1-eth1.pcap')?.packets);
    expect(eth1.vxlanPackets).toBe(want('kvm1-eth1.pcap')?.vxlan.packets);
    expect([...eth1.vnis].map(String)).toEqual(Object.keys(want('kvm1-eth1.pcap')?.vxlan.vnis ?? {}));
    expect(bridge.packets).toBe(want('kvm1-vxlan_bridge.pcap')?.packets);
    expect(bridge.vxlanPackets).toBe(0);
    expect(bridge.vnis.size).toBe(0);
    const snap = eth1.snapshot(67905, 2000);
    expect(snap).toMatchObject({
      node: 'kvm1',
      iface: 'eth1',
      packets: 107,
      vxlanPackets: eth1.vxlanPackets,
      vnis: [10],
      elapsedSec: 2,
      fileBytes: 67905,
    });
    expect(snap.packetsPerSec).toBe(53.5);
    expect(eth1.snapshot(67905, 3000).packetsPerSec).toBe(0); // nothing new in the last second
  });

  it('prints a status line with a progress bar', () => {
    const line = statusLine(statsOf('kvm1-eth1.pcap').snapshot(67905, 1500), { nameWidth: 17, durationSec: 3 });
    // biome-ignore lint/complexity/noAdjacentSpacesInRegex: the line's two-space gaps, written as printed
    expect(line).toMatch(/^kvm1 eth1 {10}\s+107 pkts\s+[\d.]+ KB\s+71\.3 pkt\/s  vxlan\s+\d+  VNI 10  \[##########\.{10}\]  50%$/);
    expect(progressBar(0)).toBe('[....................]   0%');
    expect(progressBar(2)).toBe('[####################] 100%');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB');
  });

  it('prints the summary with tcpdump counters and what went wrong', () => {
    const s: CaptureRunSummary = {
      ok: false,
      outDir: '/o',
      sessionFile: '/o/session.json',
      startedAt: '',
      stoppedAt: '',
      durationSec: 4.2,
      reason: 'error',
      filter: null,
      errors: ['kvm1 (10.3.1.156) eth1: the SSH connection was lost mid-capture'],
      nodes: [
        {
          node: 'kvm1',
          host: '10.3.1.156',
          sshPort: 22,
          user: 'root',
          sudo: false,
          ssh: null,
          exclusionFilter: 'not tcp port 22',
          tcpdumpVersion: '4.99.3',
          libpcapVersion: null,
          clock: { offsetUs: 430, rttUs: 1228, samples: 7, remoteDigits: 9 },
          streams: [
            {
              node: 'kvm1',
              iface: 'eth1',
              role: 'underlay',
              file: '/o/kvm1-eth1.pcap',
              filter: 'not tcp port 22',
              command: '',
              remotePid: 9,
              startedAt: '',
              listeningAt: null,
              stopRequestedAt: null,
              stoppedAt: '',
              end: 'connection-lost',
              packets: 28,
              bytes: 7782,
              fileBytes: 8000,
              vxlanPackets: 28,
              vnis: [10],
              tcpdump: null,
              exit: { code: null, signal: null },
              droppedTailBytes: 0,
            },
          ],
        },
      ],
    };
    expect(summaryText(s)).toBe(
      'kvm1 (10.3.1.156): tcpdump 4.99.3, clock offset 0.430 ms (rtt 1.228 ms), excluded: not tcp port 22\n' +
        '  eth1: 28 packets, 7.6 KB, 28 VXLAN (VNI 10) -> /o/kvm1-eth1.pcap; tcpdump counters: not received [connection-lost]\n' +
        'session: /o/session.json\n' +
        'capture FAILED: 1 stream(s), 4.2s, stopped by an error\n',
    );
  });
});
