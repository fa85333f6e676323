/**
 * The mutation engine: from a valid capture (a seed file) to a damaged one, with a log of what
 * was done. Operators: bit flips, byte sets, truncations, length fields set to 0, 0xFFFFFFFF
 * and odd values at the offsets where the pcap/pcapng/IP/UDP lengths live, and block splicing
 * (a unit duplicated, dropped, swapped, or taken from another seed file).
 */
import type { Rng } from './rng.js';
import type { CaptureStructure, CaptureUnit, LengthField } from './structure.js';
import { concatBytes } from '../decode/file/writer.js';

/** A seed file with its structure (computed once). */
export interface Seed {
  name: string;
  bytes: Uint8Array;
  structure: CaptureStructure;
}

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, in order: enough to explain a finding. */
  ops: string[];
}

export type MutationKind = 'bitflip' | 'byteset' | 'truncate' | 'field' | 'splice' | 'insert' | 'zero';

export const MUTATION_KINDS: readonly MutationKind[] = ['bitflip', 'byteset', 'truncate', 'field', 'splice', 'insert', 'zero'];

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x08, 0x45, 0x60, 0x11];

/** Values a length field is set to: the edges, odd values, and the readers' own limits. */
function interestingValue(rng: Rng, f: LengthField, current: number): number {
  const max = f.size === 4 ? 0xffffffff : f.size === 2 ? 0xffff : 0xff;
  const choices = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    11,
    12,
    13,
    19,
    20,
    39,
    40,
    max,
    max - 1,
    max >>> 1,
    (max >>> 1) + 1,
    current + 1,
    current - 1,
    current + 4,
    current - 4,
    current * 2,
    current >>> 1,
  ];
  if (f.size === 4) choices.push(262_144, 262_145, 16 * 1024 * 1024, 16 * 1024 * 1024 + 4, 0x7fffffff, 0x80000000);
  const v = rng.pick(choices);
  return ((v % (max + 1)) + (max + 1)) % (max + 1);
}

function readField(b: Uint8Array, f: LengthField): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (f.size === 1) return dv.getUint8(f.offset);
  if (f.size === 2) return dv.getUint16(f.offset, f.littleEndian);
  return dv.getUint32(f.offset, f.littleEndian);
}

function writeField(b: Uint8Array, f: LengthField, v: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (f.size === 1) dv.setUint8(f.offset, v);
  else if (f.size === 2) dv.setUint16(f.offset, v, f.littleEndian);
  else dv.setUint32(f.offset, v, f.littleEndian);
}

/** Units after the file header (records and blocks), the ones worth splicing. */
function bodyUnits(s: CaptureStructure): CaptureUnit[] {
  return s.units.filter((u, i) => u.kind !== 'pcap-header' && !(u.kind === 'pcapng-block' && i === 0));
}

/** One operator applied to `b` (which may be replaced: returns the new bytes). */
function applyOne(rng: Rng, b: Uint8Array, seed: Seed, others: readonly Seed[], kind: MutationKind, ops: string[]): Uint8Array {
  const len = b.length;
  switch (kind) {
    case 'bitflip': {
      if (len === 0) return b;
      const n = rng.between(1, 8);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const bit = rng.below(len * 8);
        b[bit >>> 3] = (b[bit >>> 3] as number) ^ (1 << (bit & 7));
        at.push(bit);
      }
      ops.push(`flip bit(s) ${at.map((x) => `${x >>> 3}.${x & 7}`).join(',')}`);
      return b;
    }
    case 'byteset': {
      if (len === 0) return b;
      const at = rng.below(len);
      const n = Math.min(len - at, rng.between(1, 4));
      const v = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
      b.fill(v, at, at + n);
      ops.push(`set ${n} byte(s) at ${at} to 0x${v.toString(16)}`);
      return b;
    }
    case 'truncate': {
      // at a unit boundary +-3 half of the time (cut headers), anywhere otherwise
      const units = seed.structure.units;
      let at: number;
      if (units.length > 0 && rng.chance(0.5)) {
        const u = rng.pick(units);
        at = Math.max(0, Math.min(len, u.offset + rng.between(-3, 20)));
      } else at = rng.below(len + 1);
      ops.push(`truncate to ${at} bytes`);
      return b.slice(0, at);
    }
    case 'field': {
      const fields = seed.structure.fields.filter((f) => f.offset + f.size <= len);
      if (fields.length === 0) return applyOne(rng, b, seed, others, 'byteset', ops);
      const f = rng.pick(fields);
      const old = readField(b, f);
      const v = interestingValue(rng, f, old);
      writeField(b, f, v);
      ops.push(`${f.name} at ${f.offset}: ${old} -> ${v}`);
      return b;
    }
    case 'splice': {
      const units = bodyUnits(seed.structure).filter((u) => u.offset + u.length <= len);
      if (units.length === 0) return applyOne(rng, b, seed, others, 'truncate', ops);
      const u = rng.pick(units);
      const what = rng.below(4);
      if (what === 0) {
        ops.push(`duplicate unit at ${u.offset} (${u.length} bytes)`);
        return concatBytes([
          b.subarray(0, u.offset + u.length),
          b.subarray(u.offset, u.offset + u.length),
          b.subarray(u.offset + u.length),
        ]);
      }
      if (what === 1) {
        ops.push(`drop unit at ${u.offset} (${u.length} bytes)`);
        return concatBytes([b.subarray(0, u.offset), b.subarray(u.offset + u.length)]);
      }
      if (what === 2) {
        const v = rng.pick(units);
        if (v === u) return b;
        const [x, y] = u.offset < v.offset ? [u, v] : [v, u];
        ops.push(`swap units at ${x.offset} and ${y.offset}`);
        return concatBytes([
          b.subarray(0, x.offset),
          b.subarray(y.offset, y.offset + y.length),
          b.subarray(x.offset + x.length, y.offset),
          b.subarray(x.offset, x.offset + x.length),
          b.subarray(y.offset + y.length),
        ]);
      }
      // a unit from another seed (its own byte order, link type and interface numbering)
      const other = others.length > 0 ? rng.pick(others) : seed;
      const ou = bodyUnits(other.structure);
      if (ou.length === 0) return b;
      const w = rng.pick(ou);
      ops.push(`insert unit ${w.offset}+${w.length} of ${other.name} at ${u.offset}`);
      return concatBytes([b.subarray(0, u.offset), other.bytes.subarray(w.offset, w.offset + w.length), b.subarray(u.offset)]);
    }
    case 'insert': {
      const at = rng.below(len + 1);
      const n = rng.between(1, 16);
      const ins = new Uint8Array(n);
      for (let i = 0; i < n; i++) ins[i] = rng.below(256);
      ops.push(`insert ${n} random byte(s) at ${at}`);
      return concatBytes([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 'zero': {
      if (len === 0) return b;
      const at = rng.below(len);
      const n = Math.min(len - at, rng.between(1, 64));
      b.fill(0, at, at + n);
      ops.push(`zero ${n} byte(s) at ${at}`);
      return b;
    }
  }
}

/** 1 to 4 mutations of `seed` (a copy: the seed is never changed). */
export function mutate(rng: Rng, seed: Seed, others: readonly Seed[] = []): Mutant {
  const ops: string[] = [];
  let b: Uint8Array = seed.bytes.slice();
  const n = rng.chance(0.6) ? 1 : rng.between(2, 4);
  for (let i = 0; i < n; i++) {
    // length fields are where the interesting bugs are: half of all operations aim at them
    const kind: MutationKind = rng.chance(0.45) ? 'field' : rng.pick(MUTATION_KINDS);
    b = applyOne(rng, b, seed, others, kind, ops);
  }
  return { bytes: b, ops };
}
