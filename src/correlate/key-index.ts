/**
 * The correlator's index: frame key → the classes of frames with that key, oldest first. An
 * open-addressing table (linear probing, deletion by backward shift) over the keys as doubles;
 * a key with one class holds it directly, a second class makes a bucket. Most keys only ever
 * have one class (distinct frames): then the index costs no object besides the class, and no
 * Map entry keyed by a boxed double.
 */

export interface Classed {
  readonly key: number;
  dead: boolean;
}

/**
 * The classes of one key, oldest first: classes[0, count); dead ones are dropped from the end at
 * once and compacted away. The array never shrinks (count says where it ends): a key of thousands
 * of classes (frames that differ only after the hashed bytes) grew and trimmed it by turns, each
 * growth a new array that reached the old generation (14 MB per million frames).
 */
export interface Bucket<C extends Classed> {
  classes: (C | undefined)[];
  count: number;
  dead: number;
}

/** Dead classes in a bucket before it is compacted (and at least as many as live ones). */
const COMPACT_AFTER = 8;

export class KeyIndex<C extends Classed> {
  /** Keys held. */
  size = 0;
  private keys = new Float64Array(1024);
  private used = new Uint8Array(1024);
  /** A key's only class, or undefined when it has a bucket. */
  private one: (C | undefined)[] = new Array<C | undefined>(1024).fill(undefined);
  private many: (Bucket<C> | undefined)[] = new Array<Bucket<C> | undefined>(1024).fill(undefined);
  private mask = 1023;
  /**
   * Buckets of keys that left, reused (their arrays emptied): a bucket lives as long as its key,
   * about a window, long enough to reach the old generation and die there. Never more than were
   * in use at once.
   */
  private readonly freeBuckets: Bucket<C>[] = [];

  /** Steps of compaction (classes moved), for the correlator's work count. */
  compactSteps = 0;

  /** Called for each dead class as the index lets go of it (its slot, the end of its bucket, a compaction): nothing here refers to it any more. */
  onFree: ((c: C) => void) | undefined = undefined;

  private static slotOf(key: number, mask: number): number {
    return ((key >>> 0) ^ Math.imul((key / 4294967296) | 0, 0x9e3779b1)) & mask;
  }

  /** The slot of `key`, or -1. */
  find(key: number): number {
    const mask = this.mask;
    for (let s = KeyIndex.slotOf(key, mask); ; s = (s + 1) & mask) {
      if (this.used[s] === 0) return -1;
      if (this.keys[s] === key) return s;
    }
  }

  /** The only class at `slot` (undefined when there is a bucket). */
  single(slot: number): C | undefined {
    return this.one[slot];
  }

  /** The bucket at `slot` (undefined when there is one class). */
  bucket(slot: number): Bucket<C> | undefined {
    return this.many[slot];
  }

  /** A new class of its key, the newest. */
  add(c: C): void {
    const key = c.key;
    let s = this.find(key);
    if (s < 0) {
      if ((this.size + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
      const mask = this.mask;
      for (s = KeyIndex.slotOf(key, mask); this.used[s] !== 0; s = (s + 1) & mask);
      this.used[s] = 1;
      this.keys[s] = key;
      this.one[s] = c;
      this.size += 1;
      return;
    }
    const b = this.many[s];
    if (b !== undefined) {
      if (b.count < b.classes.length) b.classes[b.count] = c;
      else b.classes.push(c);
      b.count += 1;
    } else {
      const fresh = this.freeBuckets.pop();
      if (fresh === undefined) this.many[s] = { classes: [this.one[s] as C, c], count: 2, dead: 0 };
      else {
        const cs = fresh.classes;
        if (cs.length >= 2) {
          cs[0] = this.one[s];
          cs[1] = c;
        } else cs.push(this.one[s], c);
        fresh.count = 2;
        this.many[s] = fresh;
      }
      this.one[s] = undefined;
    }
  }

  /** A class lost its last member: it leaves its key (at once from the end, else by compaction). */
  drop(c: C): void {
    c.dead = true;
    const s = this.find(c.key);
    if (s < 0) return;
    const bucket = this.many[s];
    const free = this.onFree;
    if (bucket === undefined) {
      if (this.one[s] === c) {
        this.remove(s);
        free?.(c);
      }
      return;
    }
    const cs = bucket.classes;
    bucket.dead += 1;
    while (bucket.count > 0 && (cs[bucket.count - 1] as C).dead) {
      const gone = cs[--bucket.count] as C;
      cs[bucket.count] = undefined;
      bucket.dead -= 1;
      free?.(gone);
    }
    if (bucket.count === 0) this.remove(s);
    else if (bucket.dead >= COMPACT_AFTER && bucket.dead * 2 >= bucket.count) {
      // in place, keeping the order
      const count = bucket.count;
      this.compactSteps += count;
      let kept = 0;
      for (let k = 0; k < count; k++) {
        const x = cs[k] as C;
        if (!x.dead) cs[kept++] = x;
        else free?.(x);
      }
      for (let k = kept; k < count; k++) cs[k] = undefined;
      bucket.count = kept;
      bucket.dead = 0;
    }
  }

  private remove(s: number): void {
    const mask = this.mask;
    const b = this.many[s];
    if (b !== undefined) {
      // empty already (a bucket leaves with its last class): its array is kept for the next key
      b.dead = 0;
      this.freeBuckets.push(b);
    }
    this.used[s] = 0;
    this.one[s] = undefined;
    this.many[s] = undefined;
    this.size -= 1;
    // backward shift: entries after the hole that probed past it move into it
    let hole = s;
    for (let t = (s + 1) & mask; this.used[t] !== 0; t = (t + 1) & mask) {
      const home = KeyIndex.slotOf(this.keys[t] as number, mask);
      // t may move to the hole when its home is not in (hole, t] (cyclically)
      if (hole <= t ? home > hole && home <= t : home > hole || home <= t) continue;
      this.used[hole] = 1;
      this.keys[hole] = this.keys[t] as number;
      this.one[hole] = this.one[t];
      this.many[hole] = this.many[t];
      this.used[t] = 0;
      this.one[t] = undefined;
      this.many[t] = undefined;
      hole = t;
    }
  }

  private resize(slots: number): void {
    const keys = this.keys;
    const used = this.used;
    const one = this.one;
    const many = this.many;
    this.keys = new Float64Array(slots);
    this.used = new Uint8Array(slots);
    this.one = new Array<C | undefined>(slots).fill(undefined);
    this.many = new Array<Bucket<C> | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (let s = 0; s < used.length; s++) {
      if (used[s] === 0) continue;
      let t = KeyIndex.slotOf(keys[s] as number, this.mask);
      while (this.used[t] !== 0) t = (t + 1) & this.mask;
      this.used[t] = 1;
      this.keys[t] = keys[s] as number;
      this.one[t] = one[s];
      this.many[t] = many[s];
    }
  }
}
