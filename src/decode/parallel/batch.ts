/**
 * A batch of packets on its way to a worker thread. The reading thread does not copy the
 * packets: it reads the file into shared 1 MiB chunks (SharedArrayBuffer), finds the records
 * and sends the chunk with a table of where each packet's bytes are and the numbers each
 * RawPacket carries. Only a record that straddles two chunks (the parser copies it once) is
 * copied again, into the batch's small `extra` buffer. Chunks and tables are reused once the
 * workers are done with them, so memory stays at (batches in flight) x (chunk size).
 */
import type { RawPacket } from '../types.js';

/**
 * Per packet in `meta`: tsSec, tsNsec, tsDigits, caplen, len, linkType, interfaceId (-1: none),
 * fileOffset, where its bytes start (>= 0: in `chunk`; -1 - start: in `extra`), bytes of data.
 */
export const META_FIELDS = 11;

export interface PacketBatch {
  /** 0-based batch number: results are put back in this order. */
  seq: number;
  /** `n` (1-based position in the input) of the first packet. */
  firstN: number;
  count: number;
  /** The input chunk most packets' bytes are in (shared, never transferred). */
  chunk: SharedArrayBuffer | undefined;
  /** Bytes of packets that were not in `chunk` (records straddling chunks), back to back. */
  extra: ArrayBuffer | undefined;
  meta: Float64Array;
  /** pcapng `if_name` per packet, only when some packet of the batch has one. */
  names?: (string | undefined)[];
}

const EMPTY = new Uint8Array(0);

/** Fills one batch at a time on the reading thread, from the chunk the parser is reading. */
export class BatchBuilder {
  private meta: Float64Array;
  private names: (string | undefined)[] | undefined;
  private extra: Uint8Array = EMPTY;
  private extraUsed = 0;
  private count = 0;
  private firstN = 1;
  private seq = 0;
  private chunk: SharedArrayBuffer | undefined;
  private usesChunk = false;

  constructor(
    private readonly maxPackets: number,
    /** Tables handed back by the workers, reused before new ones are allocated. */
    private readonly spare: Float64Array[] = [],
  ) {
    this.meta = this.newMeta();
  }

  get size(): number {
    return this.count;
  }

  /** The chunk the packets added from now on may be views into (the one last pushed to the parser); take() the batch before changing it. */
  setChunk(chunk: SharedArrayBuffer | undefined): void {
    this.chunk = chunk;
  }

  /** Records a packet; false (nothing added) when the batch is full: take() it and add again. */
  add(raw: RawPacket, n: number): boolean {
    if (this.count === this.maxPackets) return false;
    const data = raw.data;
    if (this.count === 0) this.firstN = n;
    let where: number;
    if (data.buffer === this.chunk) {
      where = data.byteOffset;
      this.usesChunk = true;
    } else {
      if (this.extraUsed + data.length > this.extra.length) {
        const grown = new Uint8Array(Math.max(this.extra.length * 2, this.extraUsed + data.length, 4096));
        grown.set(this.extra.subarray(0, this.extraUsed));
        this.extra = grown;
      }
      this.extra.set(data, this.extraUsed);
      where = -1 - this.extraUsed;
      this.extraUsed += data.length;
    }
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
    m[at + 8] = where;
    m[at + 9] = data.length;
    m[at + 10] = raw.interfaceCount ?? -1;
    if (raw.interfaceName !== undefined) (this.names ??= [])[this.count] = raw.interfaceName;
    this.count++;
    return true;
  }

  /** The batch so far (the builder starts a new one), or undefined when it is empty. */
  take(): PacketBatch | undefined {
    if (this.count === 0) return undefined;
    const batch: PacketBatch = {
      seq: this.seq++,
      firstN: this.firstN,
      count: this.count,
      chunk: this.usesChunk ? this.chunk : undefined,
      extra: this.extraUsed > 0 ? (this.extra.buffer.slice(0, this.extraUsed) as ArrayBuffer) : undefined,
      meta: this.meta,
    };
    if (this.names) batch.names = this.names;
    this.meta = this.newMeta();
    this.names = undefined;
    this.extraUsed = 0;
    this.count = 0;
    this.usesChunk = false;
    return batch;
  }

  private newMeta(): Float64Array {
    for (let m = this.spare.pop(); m !== undefined; m = this.spare.pop()) if (m.length >= this.maxPackets * META_FIELDS) return m;
    return new Float64Array(this.maxPackets * META_FIELDS);
  }
}

/**
 * Calls `fn` for each packet of a batch with its `n`, on the worker side. The RawPacket is one
 * object refilled for each packet, and its data a view into the batch's chunk, which is reused
 * once the batch is answered: `fn` uses them before it returns and keeps neither.
 */
export function forEachPacket(batch: PacketBatch, fn: (raw: RawPacket, n: number) => void): void {
  const { meta, names, chunk, extra } = batch;
  const raw: RawPacket = {
    tsSec: 0,
    tsNsec: 0,
    tsDigits: 0,
    caplen: 0,
    len: 0,
    linkType: 0,
    interfaceId: undefined,
    interfaceName: undefined,
    fileOffset: 0,
    data: EMPTY,
  };
  for (let i = 0; i < batch.count; i++) {
    const at = i * META_FIELDS;
    const where = meta[at + 8] as number;
    const length = meta[at + 9] as number;
    const ifId = meta[at + 6] as number;
    raw.tsSec = meta[at] as number;
    raw.tsNsec = meta[at + 1] as number;
    raw.tsDigits = meta[at + 2] as number;
    raw.caplen = meta[at + 3] as number;
    raw.len = meta[at + 4] as number;
    raw.linkType = meta[at + 5] as number;
    raw.interfaceId = ifId < 0 ? undefined : ifId;
    raw.interfaceName = names?.[i];
    const ifCount = meta[at + 10] as number;
    raw.interfaceCount = ifCount < 0 ? undefined : ifCount;
    raw.fileOffset = meta[at + 7] as number;
    raw.data =
      where >= 0 ? new Uint8Array(chunk as SharedArrayBuffer, where, length) : new Uint8Array(extra as ArrayBuffer, -1 - where, length);
    fn(raw, batch.firstN + i);
  }
}
