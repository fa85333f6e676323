/**
 * Counting the bytes a decoder reads, as a bound on its work that does not depend on the
 * machine's speed or load (a wall-clock bound does): every decoder reads through a DataView,
 * so counting DataView reads while a call runs counts the work it does on the bytes.
 */
const GETTERS = [
  'getInt8',
  'getUint8',
  'getInt16',
  'getUint16',
  'getInt32',
  'getUint32',
  'getBigInt64',
  'getBigUint64',
  'getFloat32',
  'getFloat64',
] as const;

/** Runs `fn` and returns what it returned and how many DataView reads it made (of any view). */
export function countingReads<T>(fn: () => T): { value: T; reads: number } {
  const proto = DataView.prototype as unknown as Record<string, (this: DataView, ...args: unknown[]) => unknown>;
  const saved = GETTERS.map((name) => [name, proto[name]!] as const);
  let reads = 0;
  for (const [name, original] of saved) {
    proto[name] = function (this: DataView, ...args: unknown[]): unknown {
      reads++;
      return original.apply(this, args);
    };
  }
  try {
    return { value: fn(), reads };
  } finally {
    for (const [name, original] of saved) proto[name] = original;
  }
}
