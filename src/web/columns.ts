/**
 * Growable typed-array columns: the capture index keeps a few numbers per packet in these
 * (a few dozen bytes per packet, no object per packet). The builder keeps each column in a
 * field of its own type and writes it directly: one write site per column stays monomorphic,
 * where a shared `push` over five kinds of typed array was a megamorphic store costing a
 * third of the indexing time.
 */
export type TypedArray = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

/** A column of `capacity` holding the first `length` values of `a` (called when a column is full). */
export function grown<T extends TypedArray>(a: T, length: number, capacity: number): T {
  const out = new (a.constructor as new (n: number) => T)(capacity);
  out.set(a.subarray(0, length) as never);
  return out;
}

/**
 * The first `length` values of a column, for an index that will not grow any more. Spare
 * capacity above an eighth is given back (one copy); below that the column is kept as it is
 * (a view), since copying costs a second column's worth of memory while it runs.
 */
export function settled<T extends TypedArray>(a: T, length: number): T {
  if (a.length - length <= a.length / 8) return a.subarray(0, length) as T;
  return a.slice(0, length) as T;
}
