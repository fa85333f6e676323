/**
 * Growable typed-array columns: the capture index keeps a few numbers per packet in these
 * (a few dozen bytes per packet, no object per packet), doubling capacity as it goes.
 */
type TypedArray = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;
type TypedArrayCtor<T extends TypedArray> = { new (length: number): T };

export class Column<T extends TypedArray> {
  private data: T;
  length = 0;

  constructor(private readonly ctor: TypedArrayCtor<T>, capacity = 1024) {
    this.data = new ctor(capacity);
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new this.ctor(this.data.length * 2);
      grown.set(this.data as never);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }

  /** Overwrites the value at `i` (< length). */
  set(i: number, v: number): void {
    if (i >= 0 && i < this.length) this.data[i] = v;
  }

  /** The values so far, without copying (valid until the next push that grows the column). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }

  /** The values, in an array of exactly `length` (copied once, so the spare capacity is freed). */
  done(): T {
    const out = new this.ctor(this.length);
    out.set(this.data.subarray(0, this.length) as never);
    return out;
  }
}
