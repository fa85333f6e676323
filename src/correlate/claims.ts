/**
 * Claims of bridge frames by underlay packets (a match decided, emitted when the bridge frame
 * leaves the window), as numbers in typed arrays with a free list: no object per match while it
 * waits. A claim copies what the match needs of its underlay packet, which may leave the
 * window before the bridge frame does.
 */
export class ClaimPool {
  uN = new Float64Array(1024);
  uTs = new Float64Array(1024);
  vni = new Int32Array(1024);
  frameLen = new Int32Array(1024);
  /** Captured length of the underlay's compared bytes (a snaplen cut when it differs from the bridge frame's). */
  uLen = new Int32Array(1024);
  /** compareAt's packed result. */
  cmp = new Float64Array(1024);
  /** Next claim of the same bridge frame, -1 at the end; next free slot when free. */
  next = new Int32Array(1024);
  pair: string[] = new Array<string>(1024).fill('');
  vtepSrc: string[] = new Array<string>(1024).fill('');
  vtepDst: string[] = new Array<string>(1024).fill('');
  private free = -1;
  private used = 0;

  alloc(): number {
    if (this.free >= 0) {
      const c = this.free;
      this.free = this.next[c] as number;
      return c;
    }
    if (this.used === this.uN.length) this.grow();
    return this.used++;
  }

  release(c: number): void {
    this.next[c] = this.free;
    this.free = c;
  }

  private grow(): void {
    const n = this.uN.length * 2;
    const f64 = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const str = (a: string[]): string[] => a.concat(new Array<string>(n - a.length).fill(''));
    this.uN = f64(this.uN);
    this.uTs = f64(this.uTs);
    this.vni = i32(this.vni);
    this.frameLen = i32(this.frameLen);
    this.uLen = i32(this.uLen);
    this.cmp = f64(this.cmp);
    this.next = i32(this.next);
    this.pair = str(this.pair);
    this.vtepSrc = str(this.vtepSrc);
    this.vtepDst = str(this.vtepDst);
  }
}
