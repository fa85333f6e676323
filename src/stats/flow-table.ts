/**
 * Flows as numbers: an open-addressing hash table (linear probing) over fixed-size keys of
 * 32-bit words, entries stored in typed arrays in order of first appearance. No string and no
 * object per flow; memory grows with the flows tracked (by doubling) up to the cap.
 */

/** Words per key: kind|code, VNI, ports, protocol, address A (4 words), address B (4 words). */
export const KEY_WORDS = 12;

const INITIAL_ENTRIES = 1024;

/** A hash of a key's 12 words (unrolled: this runs once per packet). */
export function hashKey(k: Int32Array): number {
  const m = 0x85ebca6b;
  let h = Math.imul(0x9e3779b9 ^ (k[0] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[1] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[2] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[3] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[4] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[5] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[6] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[7] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[8] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[9] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[10] as number), m);
  h = Math.imul(h ^ (h >>> 13) ^ (k[11] as number), m);
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export class FlowTable {
  /** Entries tracked. */
  size = 0;
  keys = new Int32Array(INITIAL_ENTRIES * KEY_WORDS);
  hashes = new Int32Array(INITIAL_ENTRIES);
  /** A label detail fixed by the flow's first packet (see stats.ts). */
  labels = new Int32Array(INITIAL_ENTRIES);
  /** Packets and bytes of entry e at 2e and 2e + 1 (one cache line for both). */
  counts = new Float64Array(INITIAL_ENTRIES * 2);
  /** Slot s: entry index + 1 at 2s (0: empty), the entry's hash at 2s + 1 (no second memory access to rule it out). */
  private slots = new Int32Array(INITIAL_ENTRIES * 4);
  private mask = INITIAL_ENTRIES * 2 - 1;

  constructor(readonly maxEntries: number) {}

  /** The entry with this key, or -1. */
  find(k: Int32Array, h: number): number {
    const slots = this.slots;
    const keys = this.keys;
    const mask = this.mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = (slots[2 * s] as number) - 1;
      if (e < 0) return -1;
      if (slots[2 * s + 1] !== h) continue;
      const at = e * KEY_WORDS;
      let i = 0;
      while (i < KEY_WORDS && keys[at + i] === k[i]) i++;
      if (i === KEY_WORDS) return e;
    }
  }

  /** Adds a new entry (the key must not be in the table); -1 when the table is full. */
  insert(k: Int32Array, h: number, label: number, packets: number, bytes: number): number {
    if (this.size >= this.maxEntries) return -1;
    if (this.size === this.hashes.length) this.growEntries();
    if ((this.size + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const e = this.size++;
    this.keys.set(k, e * KEY_WORDS);
    this.hashes[e] = h;
    this.labels[e] = label;
    this.counts[2 * e] = packets;
    this.counts[2 * e + 1] = bytes;
    this.place(this.slots, this.mask, e, h);
    return e;
  }

  private growEntries(): void {
    const n = Math.min(this.hashes.length * 2, Math.max(this.maxEntries, INITIAL_ENTRIES));
    const keys = new Int32Array(n * KEY_WORDS);
    keys.set(this.keys);
    this.keys = keys;
    this.hashes = grown(this.hashes, new Int32Array(n));
    this.labels = grown(this.labels, new Int32Array(n));
    this.counts = grown(this.counts, new Float64Array(n * 2));
  }

  private rehash(slotCount: number): void {
    const slots = new Int32Array(slotCount * 2);
    const mask = slotCount - 1;
    for (let e = 0; e < this.size; e++) this.place(slots, mask, e, this.hashes[e] as number);
    this.slots = slots;
    this.mask = mask;
  }

  private place(slots: Int32Array, mask: number, e: number, h: number): void {
    let s = h & mask;
    while (slots[2 * s] !== 0) s = (s + 1) & mask;
    slots[2 * s] = e + 1;
    slots[2 * s + 1] = h;
  }
}

function grown<T extends Int32Array | Float64Array>(old: T, fresh: T): T {
  fresh.set(old as never);
  return fresh;
}

/**
 * Flows of one counting thread across the batches it counts (the `stats` workers): each flow
 * gets an id the first time this thread sees it, so a batch's counts travel as (id, packets,
 * bytes) and the collector merging them adds by array index instead of looking every flow up
 * again. Only the keys of flows new to the dictionary travel (in order of first appearance),
 * with the id of the first: a collector maps the ids of each source to its own entries.
 * A dictionary's batches must all be merged, in order, into the same collector.
 * When the dictionary is full, further new flows travel by key (`overflow`).
 */
export class FlowDictionary {
  private static sources = 0;
  /** Which dictionary (unique in the process: thread id and a counter). */
  readonly source: number;
  private readonly table: FlowTable;
  /** Batch number in which each entry was last touched. */
  private mark: Int32Array = new Int32Array(1024);
  private batch = 1;
  private touched: Int32Array = new Int32Array(1024);
  private touchedCount = 0;
  private firstNew = 0;
  private overflow: FlowTable | undefined;

  constructor(threadId: number, maxEntries: number, private readonly overflowMax: number) {
    this.source = threadId * 0x10000 + FlowDictionary.sources++;
    this.table = new FlowTable(maxEntries);
  }

  /** Counts a packet of `len` bytes for the flow `k` (hash `h`); `label` is kept from its first packet. */
  add(k: Int32Array, h: number, label: number, len: number): void {
    const t = this.table;
    let e = t.find(k, h);
    if (e < 0) {
      e = t.insert(k, h, label, 0, 0);
      if (e < 0) {
        this.addOverflow(k, h, label, len);
        return;
      }
    }
    if (e >= this.mark.length) this.mark = grownInt32(this.mark, e + 1);
    const counts = t.counts;
    if (this.mark[e] !== this.batch) {
      this.mark[e] = this.batch;
      counts[2 * e] = 0;
      counts[2 * e + 1] = 0;
      if (this.touchedCount === this.touched.length) this.touched = grownInt32(this.touched, this.touchedCount + 1);
      this.touched[this.touchedCount++] = e;
    }
    counts[2 * e] = (counts[2 * e] as number) + 1;
    counts[2 * e + 1] = (counts[2 * e + 1] as number) + len;
  }

  private addOverflow(k: Int32Array, h: number, label: number, len: number): void {
    const o = (this.overflow ??= new FlowTable(this.overflowMax));
    const e = o.find(k, h);
    if (e >= 0) {
      o.counts[2 * e] = (o.counts[2 * e] as number) + 1;
      o.counts[2 * e + 1] = (o.counts[2 * e + 1] as number) + len;
    } else o.insert(k, h, label, 1, len); // beyond both caps: the merging collector's cap is full too
  }

  /** The batch's flows (see DictionaryBatch), and a new batch begins. */
  take(): { dictionary: DictionaryBatch; overflow: FlowTable | undefined } {
    const t = this.table;
    const n = this.touchedCount;
    const ids = this.touched.slice(0, n);
    const counts = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const e = ids[i] as number;
      counts[2 * i] = t.counts[2 * e] as number;
      counts[2 * i + 1] = t.counts[2 * e + 1] as number;
    }
    const dictionary: DictionaryBatch = {
      source: this.source,
      firstId: this.firstNew,
      newKeys: t.keys.slice(this.firstNew * KEY_WORDS, t.size * KEY_WORDS),
      newLabels: t.labels.slice(this.firstNew, t.size),
      ids,
      counts,
    };
    const overflow = this.overflow;
    this.overflow = undefined;
    this.firstNew = t.size;
    this.touchedCount = 0;
    this.batch++;
    return { dictionary, overflow };
  }
}

/** One batch of a FlowDictionary: the flows new to it (ids firstId, firstId + 1, …), then every flow the batch touched with its packets and bytes in the batch. */
export interface DictionaryBatch {
  source: number;
  firstId: number;
  newKeys: Int32Array;
  newLabels: Int32Array;
  ids: Int32Array;
  /** Packets and bytes of ids[i] at 2i and 2i + 1. */
  counts: Float64Array;
}

function grownInt32(a: Int32Array, least: number): Int32Array {
  const b = new Int32Array(Math.max(least, a.length * 2));
  b.set(a);
  return b;
}
