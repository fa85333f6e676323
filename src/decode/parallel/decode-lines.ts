/**
 * `decode`'s per-packet work, shared by the one-thread path and the worker threads: the
 * `--vni` filter and the line format.
 */
import type { DecodedPacket } from '../types.js';
import type { ByteWriter } from '../format/bytes.js';
import { writePacketJson } from '../format/json.js';
import { textLineWriter, writePacketText } from '../format/text.js';
import type { BatchResult } from './pool.js';

export interface DecodeLinesTask {
  format: 'text' | 'json';
  vxlanPorts: number[];
  /** Only packets carried in this VNI (any tunnel level). */
  vni?: number;
  /** Send the end offset of every line (the caller cuts at `-c N`). */
  lineEnds: boolean;
  /** Text: names of the interface indexes of SLL2 records (`eth1 Out`, not `ifindex 3 Out`), as [ifindex, name] pairs. */
  ifNames?: [number, string][];
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

/** Writes one packet's line (without the newline); text names SLL2 interface indexes with `ifNames`. */
export function lineWriter(
  format: DecodeLinesTask['format'],
  ifNames?: ReadonlyMap<number, string>,
): (w: ByteWriter, p: DecodedPacket) => void {
  if (format === 'json') return writePacketJson;
  return ifNames && ifNames.size > 0 ? textLineWriter({ ifNames }) : writePacketText;
}
