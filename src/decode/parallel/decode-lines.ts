/**
 * `decode`'s per-packet work, shared by the one-thread path and the worker threads: the
 * `--vni` filter and the line format.
 */
import type { DecodedPacket } from '../types.js';
import type { ByteWriter } from '../format/bytes.js';
import { writePacketJson } from '../format/json.js';
import { writePacketText } from '../format/text.js';
import type { BatchResult } from './pool.js';

export interface DecodeLinesTask {
  format: 'text' | 'json';
  vxlanPorts: number[];
  /** Only packets carried in this VNI (any tunnel level). */
  vni?: number;
  /** Send the end offset of every line (the caller cuts at `-c N`). */
  lineEnds: boolean;
}

export interface DecodeLinesResult extends BatchResult {
  /** The batch's lines, each ending with "\n". */
  output: Uint8Array;
  lines: number;
  lineEnds?: Uint32Array;
}

/** The compiled worker script (absent when running from the TypeScript sources). */
export const DECODE_WORKER = new URL('./decode-worker.js', import.meta.url);

export function hasVni(p: DecodedPacket, vni: number): boolean {
  for (const l of p.layers) if ((l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe') && l.vni === vni) return true;
  return false;
}

/** Writes one packet's line (without the newline). */
export function lineWriter(format: DecodeLinesTask['format']): (w: ByteWriter, p: DecodedPacket) => void {
  return format === 'json' ? writePacketJson : writePacketText;
}
