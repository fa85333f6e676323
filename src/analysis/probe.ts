/**
 * A quick look at the start of a capture file: the interfaces its header declares (what the
 * pairing rules need) and, for a file whose name says nothing of its side, how much of its
 * first traffic is tunnelled. Reads at most PROBE_BYTES.
 */
import { open } from 'node:fs/promises';
import { CaptureParser } from '../decode/file/parser.js';
import type { CaptureFormatError } from '../errors.js';
import { decodePacket } from '../decode/packet.js';
import type { DecoderRegistry } from '../decode/registry.js';
import type { FileShape } from './sides.js';

export const PROBE_BYTES = 1024 * 1024;
const PROBE_PACKETS = 2000;

export interface ProbedFile extends FileShape {
  /** Packets looked at, and of those tunnelled (VXLAN, GENEVE, VXLAN-GPE at depth 0). */
  packets: number;
  tunnelled: number;
  /** The file is damaged or not a capture at all (nothing of it is usable when at byte 0 with no packet). */
  error?: CaptureFormatError;
}

export async function probeCapture(path: string, name: string, registry?: DecoderRegistry): Promise<ProbedFile> {
  const parser = new CaptureParser();
  const fh = await open(path, 'r');
  let packets = 0;
  let tunnelled = 0;
  try {
    const buf = new Uint8Array(PROBE_BYTES);
    let got = 0;
    while (got < buf.length) {
      const r = await fh.read(buf, got, buf.length - got, got);
      if (r.bytesRead === 0) break;
      got += r.bytesRead;
    }
    parser.push(buf.subarray(0, got));
    if (got < buf.length) parser.end();
    for (let raw = parser.next(); raw !== undefined && packets < PROBE_PACKETS; raw = parser.next()) {
      packets += 1;
      const p = decodePacket(raw, packets, registry ? { registry } : {});
      if (p.layers.some((l) => l.depth === 0 && (l.type === 'vxlan' || l.type === 'geneve' || l.type === 'vxlan-gpe'))) tunnelled += 1;
    }
  } finally {
    await fh.close();
  }
  const out: ProbedFile = { path, name, interfaces: [...parser.interfaces], packets, tunnelled };
  if (parser.error) out.error = parser.error;
  return out;
}
