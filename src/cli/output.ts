/**
 * Buffered line output that respects back-pressure: a million lines without a million
 * writes. Lines are encoded straight into a reusable-size Buffer (a fresh one per flush,
 * since the stream may still hold the previous one), which costs far less than handing
 * the stream large strings to convert.
 */
export class LineWriter {
  private buffer: Buffer;
  private used = 0;
  private pending: Promise<void> | undefined;

  constructor(private readonly out: NodeJS.WritableStream, private readonly flushAt = 1024 * 1024) {
    this.buffer = Buffer.allocUnsafe(flushAt);
  }

  /** Queues one line; returns a promise only when the caller should wait (the stream is full). */
  line(text: string): Promise<void> | undefined {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8; +1 for the newline.
    if (this.used + text.length * 3 + 1 > this.buffer.length) {
      const wait = this.flush();
      if (text.length * 3 + 1 > this.buffer.length) this.buffer = Buffer.allocUnsafe(text.length * 3 + 1);
      if (wait) {
        this.used += this.buffer.write(text, this.used, 'utf8');
        this.buffer[this.used++] = 0x0a;
        return wait;
      }
    }
    this.used += this.buffer.write(text, this.used, 'utf8');
    this.buffer[this.used++] = 0x0a;
    return undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.used === 0) return this.pending;
    const chunk = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(this.flushAt);
    this.used = 0;
    const ok = this.out.write(chunk);
    if (ok) return undefined;
    this.pending = new Promise((resolve) => this.out.once('drain', () => resolve()));
    return this.pending;
  }
}
