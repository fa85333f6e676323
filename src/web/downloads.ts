/**
 * Downloads made by streaming a capture once: the decoded packets as NDJSON, and the inner-only
 * capture.
 *
 * The inner-only capture: every tunnelled frame of a capture, decapsulated (the Ethernet frame
 * after the VXLAN/GENEVE/GPE header), written as a classic pcap with the outer packet's
 * timestamp — what the bridge would have seen, openable in Wireshark or tcpdump.
 */
import { PcapWriter } from '../decode/file/writer.js';
import { packets } from '../decode/file/read.js';
import { packetToJsonLine } from '../decode/format/json.js';
import { decodePacket } from '../decode/packet.js';
import type { DecoderRegistry } from '../decode/registry.js';
import type { DecodedPacket } from '../decode/types.js';

/** The inner Ethernet frame of a tunnelled packet (bounded by the outer UDP length), or undefined. */
export function innerFrame(p: DecodedPacket): Uint8Array | undefined {
  const data = p.raw.data;
  let udpEnd = data.length;
  for (const l of p.layers) {
    if (l.type === 'udp' && l.depth === 0 && l.udpLength >= 8) udpEnd = Math.min(data.length, l.offset + l.udpLength);
    if (l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe') {
      const start = l.offset + l.length;
      if (l.type !== 'vxlan' && !p.layers.some((x) => x.type === 'eth' && x.depth === l.depth + 1)) return undefined;
      return start < udpEnd ? data.subarray(start, udpEnd) : undefined;
    }
  }
  return undefined;
}

/** Where a download goes: a response, which its client may close at any time. */
export interface Sink<T> {
  /** Returns false when the consumer wants us to wait for `drain`. */
  write(data: T): boolean;
  /** Resolves on drain, or when the consumer went away (then `closed` is true). */
  waitDrain(): Promise<void>;
  /** The consumer went away: nothing more is written, the file is closed. */
  readonly closed: boolean;
}

export type InnerSink = Sink<Uint8Array>;
export type TextSink = Sink<string>;

/** Writes, waiting for drain when asked; false when the consumer went away. */
async function put<T>(sink: Sink<T>, data: T): Promise<boolean> {
  if (sink.closed) return false;
  if (!sink.write(data)) await sink.waitDrain();
  return !sink.closed;
}

/** Every packet of `path`, decoded, as `decode --json` prints it (one object a line); stops when the sink closes. */
export async function writePacketsNdjson(path: string, registry: DecoderRegistry, sink: TextSink): Promise<number> {
  let n = 0;
  try {
    for await (const raw of packets(path)) {
      n++;
      // leaving the loop closes the file
      if (!(await put(sink, `${packetToJsonLine(decodePacket(raw, n, { registry }))}\n`))) break;
    }
  } catch (err) {
    if (!(err instanceof Error && 'offset' in err)) throw err;
  }
  return n;
}

const NS_PER_S = 1_000_000_000;
const U32_MAX = 0xffffffff;

/**
 * A timestamp as a pcap record holds it: a sub-second part of a second or more (a µs field of
 * 10⁶ or more in a damaged file) is carried into the seconds. Undefined when the seconds then
 * do not fit 32 bits (after 2106).
 */
export function pcapTimestamp(tsSec: number, tsNsec: number): { tsSec: number; tsNsec: number; carried: boolean } | undefined {
  const carry = Math.floor(tsNsec / NS_PER_S);
  const sec = tsSec + carry;
  if (!Number.isSafeInteger(sec) || sec < 0 || sec > U32_MAX || tsNsec < 0) return undefined;
  return { tsSec: sec, tsNsec: tsNsec - carry * NS_PER_S, carried: carry !== 0 };
}

/** What an inner-only pcap holds, and what it could not. */
export interface InnerPcapResult {
  /** Frames written. */
  written: number;
  /** Frames whose sub-second timestamp field was a second or more, carried into the seconds. */
  normalised: number;
  /** Frames left out: their timestamp does not fit a pcap record. */
  skipped: number;
  /** The consumer went away before the end. */
  closed: boolean;
}

/** Streams the inner-only pcap of `path` to `sink`; stops when the sink closes. */
export async function writeInnerPcap(path: string, registry: DecoderRegistry, sink: InnerSink): Promise<InnerPcapResult> {
  const w = new PcapWriter({ nanosecond: true });
  const result: InnerPcapResult = { written: 0, normalised: 0, skipped: 0, closed: false };
  if (!(await put(sink, w.header()))) return { ...result, closed: true };
  let n = 0;
  try {
    for await (const raw of packets(path)) {
      n++;
      const inner = innerFrame(decodePacket(raw, n, { registry }));
      if (!inner) continue;
      const ts = pcapTimestamp(raw.tsSec, raw.tsNsec);
      if (!ts) {
        result.skipped++;
        continue;
      }
      if (ts.carried) result.normalised++;
      const extra = Math.max(0, raw.len - raw.caplen);
      const record = w.record({ tsSec: ts.tsSec, tsNsec: ts.tsNsec, data: inner, len: Math.min(U32_MAX, inner.length + extra) });
      result.written++;
      if (!(await put(sink, record))) {
        result.closed = true;
        break;
      }
    }
  } catch (err) {
    // a damaged tail: the frames before it are written (the index said so already)
    if (!(err instanceof Error && 'offset' in err)) throw err;
  }
  return result;
}
