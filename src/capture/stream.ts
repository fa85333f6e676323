/**
 * One remote tcpdump on its own exec channel of the node's SSH connection: started, streamed
 * into a local pcap (PcapFileSink) while each packet's headers are read for the live numbers
 * (the stats fast decoder; the full decode only for a packet listener, or a packet the fast
 * decoder leaves to it), and stopped by its own PID (`kill -s INT PID`, then TERM, then KILL) so
 * that it prints its counters.
 */
import type { Readable } from 'node:stream';
import { VxiError } from '../errors.js';
import type { DecoderRegistry } from '../decode/registry.js';
import type { DecodedPacket } from '../decode/types.js';
import type { RemoteProcess } from '../remote/exec.js';
import type { RemoteSession } from '../remote/connection.js';
import { LiveCounter, LiveStats, type StreamStats } from './live-stats.js';
import { PcapFileSink } from './pcap-sink.js';
import { isListening, parseTcpdumpCounters, tcpdumpArgv, tcpdumpFailure, type StreamWhere } from './tcpdump.js';
import type { StreamEnd, StreamRole, StreamSummary } from './types.js';

export interface StreamSpec {
  iface: string;
  role: StreamRole;
  file: string;
  filter: string;
  snaplen?: number;
  count?: number;
  program: string;
  registry: DecoderRegistry;
  /** How long tcpdump may take to say "listening on", ms (default 15 s). */
  startTimeoutMs?: number;
  /**
   * Whether anyone listens for decoded packets now (asked per packet); without it every packet
   * is fully decoded for `onPacket`. With it, packets nobody asked for are only counted.
   */
  wantsPackets?: () => boolean;
}

const STDERR_KEEP = 64 * 1024;

/** Resolves when a readable has ended (or after 1 s: a channel torn down may never say so). */
function readEnd(r: Readable): Promise<void> {
  if (r.readableEnded || r.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 1000);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    r.once('end', done);
    r.once('close', done);
    r.once('error', done);
  });
}

/**
 * How long a stop waits before it kills tcpdump: tcpdump's buffer timeout (1000 ms, after which
 * the kernel hands over a block that is not full) and a margin for tcpdump to write it out.
 */
export const HANDOVER_MS = 1250;

function delay(ms: number): Promise<'timeout'> {
  return new Promise((r) => setTimeout(() => r('timeout'), ms));
}

/** `p`, or 'timeout' after `ms`; the timer is cleared either way (nothing keeps the process alive). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export class CaptureStream {
  readonly node: string;
  readonly label: string;
  private proc: RemoteProcess | undefined;
  private readonly sink: PcapFileSink;
  private readonly stats: LiveStats;
  private stderrText = '';
  private startedAt = new Date();
  private stopRequested = false;
  private listeningAt: Date | null = null;
  private stopRequestedAt: Date | null = null;
  private channelClosedByUs = false;
  private remotePid: number | null = null;
  private summary: StreamSummary | undefined;
  private endedResolve: (s: StreamSummary) => void = () => undefined;
  /** Resolves once the stream is over (stopped, -c reached, connection lost, failed). */
  readonly ended: Promise<StreamSummary>;
  /** Why the SSH connection closed, when it did (set by the node). */
  connectionError: string | undefined;

  constructor(
    private readonly session: RemoteSession,
    readonly spec: StreamSpec,
    private readonly onPacket: (p: DecodedPacket) => void,
  ) {
    this.node = session.node.name;
    this.label = `${session.label} ${spec.iface}`;
    this.stats = new LiveStats(this.node, spec.iface, Date.now(), spec.count);
    const counter = new LiveCounter(this.stats, spec.registry);
    const wanted = spec.wantsPackets ?? ((): boolean => true);
    this.sink = new PcapFileSink(
      spec.file,
      (raw, n) => {
        if (wanted()) this.onPacket(counter.decode(raw, n));
        else counter.count(raw, n);
      },
      // a write that failed (disk full) ends the capture, also when no more data comes (a timed
      // flush); once the current call is done, since the last flush runs inside finish()
      () =>
        queueMicrotask(() => {
          if (!this.summary && !this.stopRequested) void this.stop();
        }),
    );
    this.ended = new Promise((r) => (this.endedResolve = r));
  }

  get argv(): string[] {
    const a: Parameters<typeof tcpdumpArgv>[0] = { program: this.spec.program, iface: this.spec.iface, filter: this.spec.filter };
    if (this.spec.snaplen !== undefined) a.snaplen = this.spec.snaplen;
    if (this.spec.count !== undefined) a.count = this.spec.count;
    return tcpdumpArgv(a);
  }

  get isOver(): boolean {
    return this.summary !== undefined;
  }

  /** Elapsed time in the stats counts from `now` (every stream of a capture shares one start). */
  markStarted(now: number): void {
    this.stats.restartClock(now);
  }

  snapshot(advance = true): StreamStats {
    return this.stats.snapshot(this.sink.bytesWritten, Date.now(), advance);
  }

  private where(): StreamWhere {
    const n = this.session.node;
    return { node: this.session.label, iface: this.spec.iface, user: n.user, sudo: n.sudo, program: this.spec.program };
  }

  /** Starts tcpdump; resolves once it listens, rejects with a clear error when it cannot. */
  async start(): Promise<void> {
    this.startedAt = new Date();
    // watchdog: tcpdump on an idle interface would outlive a lost connection (or a kill -9 of
    // this process) until its next packet; it goes when its channel does
    const proc = await this.session.spawn(this.argv, { sudo: true, reportPid: true, watchdog: true });
    this.proc = proc;
    void proc.pid.then((pid) => (this.remotePid = pid ?? null));
    proc.stdout.on('data', (d: Buffer) => {
      // no copy: ssh2 hands out each channel chunk in memory of its own that it never reuses
      // (a fresh socket read, decrypted in place or into a new buffer), and the sink and
      // 'packet' listeners keep views into it
      this.sink.push(d);
    });
    let listening: () => void = () => undefined;
    const heard = new Promise<'listening'>((r) => (listening = () => r('listening')));
    void heard.then(() => (this.listeningAt = new Date()));
    proc.stderr.on('data', (d: Buffer) => {
      if (this.stderrText.length < STDERR_KEEP) this.stderrText += d.toString('utf8');
      if (isListening(this.stderrText)) listening();
    });
    // finish once both outputs are drained: 'close' can come before the last 'data'
    const drained = proc.exit.then(async (exit) => {
      await Promise.all([readEnd(proc.stdout), readEnd(proc.stderr)]);
      // no exit status: the connection went; give the session a moment to say why
      if (exit.code === null && exit.signal === null && !this.channelClosedByUs) await delay(300);
      this.finish(exit);
    });
    const first = await within(Promise.race([heard, drained.then(() => 'exited' as const)]), this.spec.startTimeoutMs ?? 15_000);
    if (first === 'listening') return;
    if (first === 'timeout') {
      await this.stop();
      throw new VxiError(
        'VXI_CAPTURE',
        `${this.label}: tcpdump did not start listening ` +
          `within ${(this.spec.startTimeoutMs ?? 15_000) / 1000} ` +
          `s${this.stderrText.trim() ? `: ${this.stderrText.trim()}` : ''}`,
      );
    }
    const s = await this.ended;
    throw this.startFailure(s);
  }

  private startFailure(s: StreamSummary): VxiError {
    if (s.end === 'connection-lost') return new VxiError('VXI_SSH', s.error ?? `${this.label}: SSH connection lost`);
    return tcpdumpFailure(this.where(), this.stderrText, s.exit, this.spec.filter);
  }

  /** Stops tcpdump by its PID and waits until the stream is over. Safe to call more than once. */
  async stop(): Promise<StreamSummary> {
    if (this.summary) return this.summary;
    if (this.stopRequested) return this.ended;
    this.stopRequested = true;
    this.stopRequestedAt = new Date();
    const proc = this.proc;
    if (!proc) return this.ended;
    // tcpdump reads the kernel's capture ring a block at a time (libpcap's TPACKET_V3): a block is
    // handed over when full or when tcpdump's 1 s buffer timeout expires, and whatever sits in the
    // current block when tcpdump is killed is lost ("received by filter" above "captured"). So the
    // packets that arrived before this request get one timeout to reach the file before the kill
    // (the capture's window still ends at stopRequestedAt). Not when the file cannot take them.
    if (this.session.isOpen && !this.sink.error) await within(this.ended, HANDOVER_MS);
    const got = await within(proc.pid, 2000);
    const pid = got === 'timeout' ? undefined : got;
    for (const sig of ['INT', 'TERM', 'KILL'] as const) {
      if (this.summary) break;
      if (pid && this.session.isOpen) await this.session.kill(pid, sig).catch(() => undefined);
      else proc.signal(sig);
      if ((await within(this.ended, sig === 'INT' ? 5000 : 2000)) !== 'timeout') break;
    }
    if (!this.summary) {
      this.channelClosedByUs = true;
      proc.close();
      await within(this.ended, 2000);
    }
    if (!this.summary) this.finish({ code: null, signal: null });
    return this.ended;
  }

  private finish(exit: { code: number | null; signal: string | null }): void {
    if (this.summary) return;
    const sink = this.sink.end();
    const snap = this.snapshot(false);
    let end: StreamEnd;
    let error: string | undefined;
    const lost = exit.code === null && exit.signal === null && !this.channelClosedByUs;
    if (this.sink.error) {
      end = 'failed';
      error = `${this.label}: ${this.sink.error.message}`;
    } else if (lost) {
      end = 'connection-lost';
      const why = this.connectionError ?? (this.session.isOpen ? 'the channel closed without an exit status' : 'SSH connection closed');
      error =
        `${this.label}: the SSH connection was lost mid-capture ` +
        `(${why}); ${sink.file ?? 'no file'} keeps the ${sink.packets} whole packet(s) received so far`;
    } else if (this.stopRequested) {
      end = 'stopped';
    } else if (exit.code === 0 && this.spec.count !== undefined && sink.packets >= this.spec.count) {
      end = 'count';
    } else if (exit.code === 0) {
      end = 'failed';
      error = `${this.label}: tcpdump ended on its own (exit 0) after ${sink.packets} packet(s), before it was asked to stop: was it stopped on the node?`;
    } else {
      end = 'failed';
      error = tcpdumpFailure(this.where(), this.stderrText, exit, this.spec.filter).message;
    }
    if (sink.formatError && !error) {
      end = 'failed';
      error = `${this.label}: the stream from tcpdump is not a valid capture: ${sink.formatError.message}`;
    }
    const s: StreamSummary = {
      node: this.node,
      iface: this.spec.iface,
      role: this.spec.role,
      file: sink.file,
      filter: this.spec.filter,
      command: this.proc?.command ?? '',
      remotePid: this.remotePid,
      startedAt: this.startedAt.toISOString(),
      listeningAt: this.listeningAt?.toISOString() ?? null,
      stopRequestedAt: this.stopRequestedAt?.toISOString() ?? null,
      stoppedAt: new Date().toISOString(),
      end,
      packets: sink.packets,
      bytes: snap.bytes,
      fileBytes: sink.fileBytes,
      vxlanPackets: snap.vxlanPackets,
      vnis: snap.vnis,
      tcpdump: parseTcpdumpCounters(this.stderrText),
      exit,
      droppedTailBytes: sink.droppedTailBytes,
    };
    if (error) s.error = error;
    this.summary = s;
    this.endedResolve(s);
  }
}
