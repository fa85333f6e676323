/**
 * A batch of packets on its way to a worker thread: the captured bytes of a few thousand
 * records copied back to back into one transferable ArrayBuffer, with a side table of the
 * numbers each RawPacket carries. Copying costs far less than decoding, and the buffers are
 * handed back and reused, so memory stays at (batches in flight) x (batch size).
 */
import type { RawPacket } from '../types.js';

/** Per packet in `meta`: tsSec, tsNsec, tsDigits, caplen, len, linkType, interfaceId (-1: none), fileOffset, bytes of data. */
export const META_FIELDS = 9;

export interface PacketBatch {
  /** 0-based batch number: results are put back in this order. */
  seq: number;
  /** `n` (1-based position in the input) of the first packet. */
  firstN: number;
  count: number;
  /** The packets' captured bytes, back to back (packet i starts where packet i-1 ended). */
  bytes: ArrayBuffer;
  meta: Float64Array;
  /** pcapng `if_name` per packet, only when some packet of the batch has one. */
  names?: (string | undefined)[];
}

/** Fills one batch at a time on the reading thread. */
export class BatchBuilder {
  private bytes: Uint8Array;
  private meta: Float64Array;
  private names: (string | undefined)[] | undefined;
  private used = 0;
  private count = 0;
  private firstN = 1;
  private seq = 0;

  constructor(
    private readonly maxPackets: number,
    private readonly maxBytes: number,
    /** Buffers handed back by the workers, reused before new ones are allocated. */
    private readonly spare: { bytes: ArrayBuffer[]; meta: Float64Array[] } = { bytes: [], meta: [] },
  ) {
    this.bytes = this.newBytes();
    this.meta = this.newMeta();
  }

  get size(): number {
    return this.count;
  }

  /** Copies a packet in; false (nothing copied) when the batch is full: take() it and add again. */
  add(raw: RawPacket, n: number): boolean {
    const data = raw.data;
    if (this.count === this.maxPackets || (this.count > 0 && this.used + data.length > this.bytes.length)) return false;
    if (this.count === 0) {
      this.firstN = n;
      if (data.length > this.bytes.length) this.bytes = new Uint8Array(data.length);
    }
    this.bytes.set(data, this.used);
    this.used += data.length;
    const m = this.meta;
    const at = this.count * META_FIELDS;
    m[at] = raw.tsSec;
    m[at + 1] = raw.tsNsec;
    m[at + 2] = raw.tsDigits;
    m[at + 3] = raw.caplen;
    m[at + 4] = raw.len;
    m[at + 5] = raw.linkType;
    m[at + 6] = raw.interfaceId ?? -1;
    m[at + 7] = raw.fileOffset;
    m[at + 8] = data.length;
    if (raw.interfaceName !== undefined) (this.names ??= [])[this.count] = raw.interfaceName;
    this.count++;
    return true;
  }

  /** The batch so far (the builder starts a new one), or undefined when it is empty. */
  take(): PacketBatch | undefined {
    if (this.count === 0) return undefined;
    const batch: PacketBatch = { seq: this.seq++, firstN: this.firstN, count: this.count, bytes: this.bytes.buffer as ArrayBuffer, meta: this.meta };
    if (this.names) batch.names = this.names;
    this.bytes = this.newBytes();
    this.meta = this.newMeta();
    this.names = undefined;
    this.used = 0;
    this.count = 0;
    return batch;
  }

  private newBytes(): Uint8Array {
    for (let b = this.spare.bytes.pop(); b !== undefined; b = this.spare.bytes.pop()) if (b.byteLength >= this.maxBytes) return new Uint8Array(b);
    return new Uint8Array(this.maxBytes);
  }

  private newMeta(): Float64Array {
    const m = this.spare.meta.pop();
    return m && m.length >= this.maxPackets * META_FIELDS ? m : new Float64Array(this.maxPackets * META_FIELDS);
  }
}

/** Calls `fn` for each packet of a batch (a view into its buffer) with its `n`, on the worker side. */
export function forEachPacket(batch: PacketBatch, fn: (raw: RawPacket, n: number) => void): void {
  const { meta, names } = batch;
  let start = 0;
  for (let i = 0; i < batch.count; i++) {
    const at = i * META_FIELDS;
    const length = meta[at + 8] as number;
    const ifId = meta[at + 6] as number;
    fn({
      tsSec: meta[at] as number,
      tsNsec: meta[at + 1] as number,
      tsDigits: meta[at + 2] as number,
      caplen: meta[at + 3] as number,
      len: meta[at + 4] as number,
      linkType: meta[at + 5] as number,
      interfaceId: ifId < 0 ? undefined : ifId,
      interfaceName: names?.[i],
      fileOffset: meta[at + 7] as number,
      data: new Uint8Array(batch.bytes, start, length),
    }, batch.firstN + i);
    start += length;
  }
}
