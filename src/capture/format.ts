/** Text for people: the live status line of a stream, a progress bar, the closing summary. */
import { formatDuration } from './duration.js';
import type { StreamStats } from './live-stats.js';
import type { CaptureRunSummary } from './types.js';

/** 1536 → `1.5 KB` (powers of 1024, like tcpdump's and ls -h's habits). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i] ?? 'TB'}`;
}

/** `[#######.............]  35%`. */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** How far a stream is: by --duration, or by -c N (whichever is further along). */
export function progressOf(s: StreamStats, durationSec?: number): number | undefined {
  const parts: number[] = [];
  if (durationSec !== undefined) parts.push(s.elapsedSec / durationSec);
  if (s.count !== undefined) parts.push(s.packets / s.count);
  return parts.length === 0 ? undefined : Math.max(...parts);
}

/**
 * `kvm1 eth1          1234 pkts  456.7 KB   120.0 pkt/s  vxlan 800  VNI 10  [####....]  40%`;
 * `width` pads the stream's name so the columns of several streams line up.
 */
export function statusLine(s: StreamStats, opts: { nameWidth?: number; durationSec?: number } = {}): string {
  const name = `${s.node} ${s.iface}`.padEnd(opts.nameWidth ?? 0);
  const vnis = s.vnis.length === 0 ? 'VNI -' : `VNI ${s.vnis.slice(0, 5).join(',')}${s.vnis.length > 5 ? `,…(${s.vnis.length})` : ''}`;
  let line =
    `${name}  ${String(s.packets).padStart(7)} ` +
    `pkts  ${formatBytes(s.bytes).padStart(9)}  ${s.packetsPerSec.toFixed(1).padStart(8)} pkt/s  ` +
    `vxlan ${String(s.vxlanPackets).padStart(6)}  ${vnis}`;
  const p = progressOf(s, opts.durationSec);
  if (p !== undefined) line += `  ${progressBar(p)}`;
  else line += `  ${formatDuration(s.elapsedSec)}`;
  return line;
}

const REASON_TEXT: Record<CaptureRunSummary['reason'], string> = {
  duration: '--duration',
  count: '--count (every interface reached it)',
  stopped: 'request (Ctrl-C / stop())',
  error: 'an error',
};

/** The closing report: one block per stream with tcpdump's counters, then the files. */
export function summaryText(s: CaptureRunSummary): string {
  const lines: string[] = [];
  for (const n of s.nodes) {
    const clock = n.clock
      ? `clock offset ${(n.clock.offsetUs / 1000).toFixed(3)} ms (rtt ${(n.clock.rttUs / 1000).toFixed(3)} ms)`
      : 'clock offset unknown';
    lines.push(`${n.node} (${n.host}): tcpdump ${n.tcpdumpVersion}, ${clock}, excluded: ${n.exclusionFilter}`);
    for (const st of n.streams) {
      const t = st.tcpdump;
      const counters = t
        ? `tcpdump: ${t.captured ?? '?'} captured, ${t.receivedByFilter ?? '?'} received by filter, ${t.droppedByKernel ?? '?'} dropped by kernel`
        : 'tcpdump counters: not received';
      const vx = st.vxlanPackets > 0 ? `, ${st.vxlanPackets} VXLAN (VNI ${st.vnis.join(',')})` : '';
      lines.push(
        `  ${st.iface}: ${st.packets} packets, ${formatBytes(st.bytes)}${vx} ` +
          `-> ${st.file ?? '(no file)'}; ${counters}${st.end === 'stopped' || st.end === 'count' ? '' : ` [${st.end}]`}`,
      );
    }
  }
  lines.push(s.sessionError === undefined ? `session: ${s.sessionFile}` : `session: not written (${s.sessionFile}: ${s.sessionError})`);
  lines.push(
    `capture ${s.ok ? 'done' : 'FAILED'}: ${s.nodes.reduce((a, n) => a + n.streams.length, 0)} ` +
      `stream(s), ${formatDuration(s.durationSec)}, stopped by ${REASON_TEXT[s.reason]}`,
  );
  return `${lines.join('\n')}\n`;
}
