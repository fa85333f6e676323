/** Worker thread for `decode`: decodes each batch and writes its lines (decode-lines.ts). */
import { workerData } from 'node:worker_threads';
import { decodePacket, type DecodeOptions } from '../packet.js';
import { createRegistry } from '../registry.js';
import { ByteWriter } from '../format/bytes.js';
import { forEachPacket } from './batch.js';
import { hasVni, lineWriter, type DecodeLinesResult, type DecodeLinesTask } from './decode-lines.js';
import { serveBatches } from './worker-loop.js';
import type { BatchResult } from './pool.js';

const task = workerData as DecodeLinesTask;
const options: DecodeOptions = { registry: createRegistry({ vxlanPorts: task.vxlanPorts }) };
const writeLine = lineWriter(task.format, task.ifNames ? new Map(task.ifNames) : undefined);
const vni = task.vni;
/** Output buffer size to start with: a little more than the last batch needed (fewer regrowths). */
let sizeHint = 1 << 20;

serveBatches<Omit<DecodeLinesResult, keyof BatchResult>>((batch, spare) => {
  const w = new ByteWriter(sizeHint, spare && spare.byteLength >= sizeHint ? new Uint8Array(spare) : undefined);
  const ends: number[] | undefined = task.lineEnds ? [] : undefined;
  let lines = 0;
  forEachPacket(batch, (raw, n) => {
    const p = decodePacket(raw, n, options);
    if (vni !== undefined && !hasVni(p, vni)) return;
    writeLine(w, p);
    w.byte(0x0a);
    ends?.push(w.pos);
    lines++;
  });
  const output = w.take();
  sizeHint = Math.max(1 << 16, Math.ceil(output.length * 1.25));
  const transfer = [output.buffer as ArrayBuffer];
  if (!ends) return { result: { output, lines }, transfer };
  const lineEnds = Uint32Array.from(ends);
  transfer.push(lineEnds.buffer);
  return { result: { output, lines, lineEnds }, transfer };
});
