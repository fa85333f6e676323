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

export interface InnerSink {
  /** Returns false when the consumer wants us to wait for `drain`. */
  write(bytes: Uint8Array): boolean;
  waitDrain(): Promise<void>;
}

export interface TextSink {
  write(text: string): boolean;
  waitDrain(): Promise<void>;
}

/** Every packet of `path`, decoded, as `decode --json` prints it (one object a line). */
export async function writePacketsNdjson(path: string, registry: DecoderRegistry, sink: TextSink): Promise<number> {
  let n = 0;
  try {
    for await (const raw of packets(path)) {
      n++;
      if (!sink.write(`${packetToJsonLine(decodePacket(raw, n, { registry }))}\n`)) await sink.waitDrain();
    }
  } catch (err) {
    if (!(err instanceof Error && 'offset' in err)) throw err;
  }
  return n;
}

/** Streams the inner-only pcap of `path` to `sink`; resolves with the number of frames written. */
export async function writeInnerPcap(path: string, registry: DecoderRegistry, sink: InnerSink): Promise<number> {
  const w = new PcapWriter({ nanosecond: true });
  if (!sink.write(w.header())) await sink.waitDrain();
  let n = 0;
  let written = 0;
  try {
    for await (const raw of packets(path)) {
      n++;
      const inner = innerFrame(decodePacket(raw, n, { registry }));
      if (!inner) continue;
      const extra = Math.max(0, raw.len - raw.caplen);
      if (!sink.write(w.record({ tsSec: raw.tsSec, tsNsec: raw.tsNsec, data: inner, len: inner.length + extra }))) await sink.waitDrain();
      written++;
    }
  } catch (err) {
    // a damaged tail: the frames before it are written (the index said so already)
    if (!(err instanceof Error && 'offset' in err)) throw err;
  }
  return written;
}
