/**
 * Reading and decoding together: the library call behind `decode`, `stats` and the web
 * view's indexer. Streams the source (constant memory) and hands each decoded packet on.
 */
import type { DecodedPacket } from './types.js';
import { decodePacket, type DecodeOptions } from './packet.js';
import { createRegistry } from './registry.js';
import { CaptureParser, type CaptureSource, type ReadSummary } from './file/index.js';
import { chunksOf, destroyOnAbort } from './file/read.js';

export interface DecodeCaptureOptions extends DecodeOptions {
  /** Extra UDP ports decoded as VXLAN (besides 4789 and 8472). Ignored when `registry` is given. */
  vxlanPorts?: readonly number[];
  /** Aborting stops decoding (also while waiting for input from a stream): rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Called after each chunk of input (up to 256 KiB) has been decoded. When it returns a
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
  let stopped = false;
  const drain = (): boolean => {
    for (let raw = parser.next(); raw !== undefined; raw = parser.next()) {
      if (onPacket(decodePacket(raw, ++n, decodeOptions)) === false) return false;
    }
    return true;
  };
  const chunks = chunksOf(source);
  // Aborting ends a read that waits for input (a pipe where nothing comes): a Ctrl-C is not held up by it
  const release = destroyOnAbort(source, signal);
  try {
    for await (const chunk of chunks) {
      signal?.throwIfAborted();
      parser.push(chunk);
      if (!drain()) {
        stopped = true;
        break;
      }
      if (parser.error !== undefined) break;
      const wait = afterChunk?.();
      if (wait) await wait;
    }
    if (!stopped && parser.error === undefined) {
      parser.end();
      drain();
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    release();
    await chunks.return(undefined);
  }
  const summary: ReadSummary = {
    format: parser.format,
    packets: parser.packetCount,
    bytesRead: parser.bytesIn,
    interfaces: parser.interfaces,
    warnings: parser.warnings,
  };
  if (parser.error !== undefined) summary.error = parser.error;
  return summary;
}
