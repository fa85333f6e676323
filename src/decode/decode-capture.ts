/**
 * Reading and decoding together: the library call behind `decode`, `stats` and the web
 * view's indexer. Streams the source (constant memory) and hands each decoded packet on.
 */
import type { DecodedPacket } from './types.js';
import { decodePacket, type DecodeOptions } from './packet.js';
import { createRegistry } from './registry.js';
import { CaptureParser, type CaptureSource, type ReadSummary } from './file/index.js';
import { parseChunks } from './file/read.js';

export interface DecodeCaptureOptions extends DecodeOptions {
  /** Extra UDP ports decoded as VXLAN (besides 4789 and 8472). Ignored when `registry` is given. */
  vxlanPorts?: readonly number[];
  /** Aborting stops decoding (also while waiting for input from a stream): rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Called after each chunk of input (1 MiB from a file) has been decoded. When it returns a
   * promise, reading waits for it: this is how a slow consumer (a pipe to `less`) applies
   * back-pressure without the reader buffering output.
   */
  afterChunk?: () => Promise<void> | undefined;
}

/**
 * Decodes every packet of `source` in order. `onPacket` returning false stops early.
 * Damaged input does not throw: the summary's `error` says what and where, after every
 * packet before the fault was delivered. I/O failures throw VxiError VXI_IO.
 */
export async function decodeCapture(
  source: CaptureSource,
  onPacket: (packet: DecodedPacket) => void | boolean,
  options: DecodeCaptureOptions = {},
): Promise<ReadSummary> {
  const decodeOptions: DecodeOptions = {
    registry: options.registry ?? createRegistry({ vxlanPorts: options.vxlanPorts ?? [] }),
  };
  if (options.maxTunnelDepth !== undefined) decodeOptions.maxTunnelDepth = options.maxTunnelDepth;
  if (options.maxLayers !== undefined) decodeOptions.maxLayers = options.maxLayers;
  const { signal, afterChunk } = options;
  const parser = new CaptureParser();
  let n = 0;
  reading: for await (const chunk of parseChunks(parser, source, { signal })) {
    for (let raw = parser.next(); raw !== undefined; raw = parser.next()) {
      if (onPacket(decodePacket(raw, ++n, decodeOptions)) === false) break reading;
    }
    if (chunk === undefined || parser.error !== undefined || afterChunk === undefined) continue;
    const wait = afterChunk();
    if (wait) await wait;
  }
  return parser.summary();
}
