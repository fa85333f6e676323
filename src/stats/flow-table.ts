/**
 * Flows as numbers: an open-addressing hash table (linear probing) over fixed-size keys of
 * 32-bit words, entries stored in typed arrays in order of first appearance. No string and no
 * object per flow; memory grows with the flows tracked (by doubling) up to the cap.
 */

/** Words per key: kind|code, VNI, ports, protocol, address A (4 words), address B (4 words). */
export const KEY_WORDS = 12;

/** Entries room is made for at first (doubled as flows come): a batch's collector on a counting thread holds few. */
const INITIAL_ENTRIES = 64;

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

/** Words per entry record: the key, then its packets and bytes as two float64 (words 12-15). */
const RECORD_WORDS = 16;
/** Float64 index of an entry's packets within its record (its bytes follow). */
const PACKETS_AT = KEY_WORDS / 2;

/**
 * Each entry is one 64-byte record (a cache line): its key and its packet and byte counts
 * side by side. On realistic traffic (tens of thousands of flows, drawn at random) a packet's
 * lookup misses the cache; with the key and the counts in separate arrays it missed three
 * times (slot, key, counts), with records twice (slot, record).
 */
export class FlowTable {
  /** Entries tracked. */
  size = 0;
  private words = new Int32Array(INITIAL_ENTRIES * RECORD_WORDS);
  private nums = new Float64Array(this.words.buffer);
  hashes = new Int32Array(INITIAL_ENTRIES);
  /** A label detail fixed by the flow's first packet (see stats.ts). */
  labels = new Int32Array(INITIAL_ENTRIES);
  /** Slot s: entry index + 1 at 2s (0: empty), the entry's hash at 2s + 1 (no second memory access to rule it out). */
  private slots = new Int32Array(INITIAL_ENTRIES * 4);
  private mask = INITIAL_ENTRIES * 2 - 1;

  constructor(readonly maxEntries: number) {}

  /** The entry with the key at word `kAt` of `k`, or -1. */
  find(k: Int32Array, h: number, kAt = 0): number {
    const slots = this.slots;
    const words = this.words;
    const mask = this.mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = (slots[2 * s] as number) - 1;
      if (e < 0) return -1;
      if (slots[2 * s + 1] !== h) continue;
      const at = e * RECORD_WORDS;
      let i = 0;
      while (i < KEY_WORDS && words[at + i] === k[kAt + i]) i++;
      if (i === KEY_WORDS) return e;
    }
  }

  /**
   * Reads the slot a lookup of hash `h` starts at, and nothing else; touchRecord(what it returned)
   * reads the record that slot names. Done for a batch of keys before their lookups (all slots,
   * then all records), the cache misses of the batch overlap instead of coming one after the
   * other (see StatsCollector.flushFlows).
   */
  touch(h: number): number {
    return this.slots[2 * (h & this.mask)] as number;
  }

  /** The second half of touch(): the record a slot names (what touch returned). */
  touchRecord(slot: number): number {
    return slot === 0 ? 0 : (this.words[(slot - 1) * RECORD_WORDS] as number);
  }

  /** Adds a new entry (the key must not be in the table); -1 when the table is full. */
  insert(k: Int32Array, h: number, label: number, packets: number, bytes: number, kAt = 0): number {
    if (this.size >= this.maxEntries) return -1;
    if (this.size === this.hashes.length) this.growEntries();
    if ((this.size + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const e = this.size++;
    const words = this.words;
    for (let i = 0, at = e * RECORD_WORDS; i < KEY_WORDS; i++) words[at + i] = k[kAt + i] as number;
    this.hashes[e] = h;
    this.labels[e] = label;
    this.nums[e * 8 + PACKETS_AT] = packets;
    this.nums[e * 8 + PACKETS_AT + 1] = bytes;
    this.place(this.slots, this.mask, e, h);
    return e;
  }

  /**
   * Counts `packets` and `bytes` for the flow whose key is at word `kAt` of `k` (added when new);
   * -1 when it is new and the table is full, else its entry.
   */
  count(k: Int32Array, h: number, label: number, packets: number, bytes: number, kAt = 0): number {
    const e = this.find(k, h, kAt);
    if (e < 0) return this.insert(k, h, label, packets, bytes, kAt);
    const nums = this.nums;
    const at = e * 8 + PACKETS_AT;
    nums[at] = (nums[at] as number) + packets;
    nums[at + 1] = (nums[at + 1] as number) + bytes;
    return e;
  }

  /** Adds to entry e's counts. */
  add(e: number, packets: number, bytes: number): void {
    const nums = this.nums;
    const at = e * 8 + PACKETS_AT;
    nums[at] = (nums[at] as number) + packets;
    nums[at + 1] = (nums[at + 1] as number) + bytes;
  }

  /** Sets entry e's counts. */
  setCounts(e: number, packets: number, bytes: number): void {
    this.nums[e * 8 + PACKETS_AT] = packets;
    this.nums[e * 8 + PACKETS_AT + 1] = bytes;
  }

  packetsOf(e: number): number {
    return this.nums[e * 8 + PACKETS_AT] as number;
  }

  bytesOf(e: number): number {
    return this.nums[e * 8 + PACKETS_AT + 1] as number;
  }

  /** Word i (0..KEY_WORDS-1) of entry e's key. */
  keyWord(e: number, i: number): number {
    return this.words[e * RECORD_WORDS + i] as number;
  }

  /** Entry e's key (a view: valid until the table grows). */
  keyOf(e: number): Int32Array {
    return this.words.subarray(e * RECORD_WORDS, e * RECORD_WORDS + KEY_WORDS);
  }

  /** The keys of entries [from, to), KEY_WORDS each, back to back (a copy). */
  keysOf(from: number, to: number): Int32Array {
    const out = new Int32Array((to - from) * KEY_WORDS);
    const words = this.words;
    for (let e = from, o = 0; e < to; e++) for (let i = 0, at = e * RECORD_WORDS; i < KEY_WORDS; i++) out[o++] = words[at + i] as number;
    return out;
  }

  /** Packets and bytes of entries [from, to) at 2i and 2i + 1 (a copy). */
  countsOf(from: number, to: number): Float64Array {
    const out = new Float64Array((to - from) * 2);
    for (let e = from; e < to; e++) {
      out[2 * (e - from)] = this.packetsOf(e);
      out[2 * (e - from) + 1] = this.bytesOf(e);
    }
    return out;
  }

  private growEntries(): void {
    const n = Math.min(this.hashes.length * 2, Math.max(this.maxEntries, INITIAL_ENTRIES));
    const words = new Int32Array(n * RECORD_WORDS);
    words.set(this.words);
    this.words = words;
    this.nums = new Float64Array(words.buffer);
    this.hashes = grown(this.hashes, new Int32Array(n));
    this.labels = grown(this.labels, new Int32Array(n));
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

  constructor(
    threadId: number,
    maxEntries: number,
    private readonly overflowMax: number,
  ) {
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
    if (this.mark[e] !== this.batch) {
      this.mark[e] = this.batch;
      t.setCounts(e, 0, 0);
      if (this.touchedCount === this.touched.length) this.touched = grownInt32(this.touched, this.touchedCount + 1);
      this.touched[this.touchedCount++] = e;
    }
    t.add(e, 1, len);
  }

  private addOverflow(k: Int32Array, h: number, label: number, len: number): void {
    const o = (this.overflow ??= new FlowTable(this.overflowMax));
    o.count(k, h, label, 1, len); // beyond both caps (-1): the merging collector's cap is full too
  }

  /** The batch's flows (see DictionaryBatch), and a new batch begins. */
  take(): { dictionary: DictionaryBatch; overflow: FlowTable | undefined } {
    const t = this.table;
    const n = this.touchedCount;
    const ids = this.touched.slice(0, n);
    const counts = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const e = ids[i] as number;
      counts[2 * i] = t.packetsOf(e);
      counts[2 * i + 1] = t.bytesOf(e);
    }
    const dictionary: DictionaryBatch = {
      source: this.source,
      firstId: this.firstNew,
      newKeys: t.keysOf(this.firstNew, t.size),
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

/**
 * One batch of a FlowDictionary: the flows new to it (ids firstId, firstId + 1, …), then every
 * flow the batch touched with its packets and bytes in the batch.
 */
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
