/** Buffered line output that respects back-pressure: a million lines without a million writes. */
export class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  private pending: Promise<void> | undefined;

  constructor(private readonly out: NodeJS.WritableStream, private readonly flushAt = 64 * 1024) {}

  /** Queues one line; returns a promise only when the caller should wait (stream is full). */
  line(text: string): Promise<void> | undefined {
    this.buffer.push(text);
    this.size += text.length + 1;
    if (this.size >= this.flushAt) return this.flush();
    return undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.buffer.length === 0) return this.pending;
    const chunk = this.buffer.join('\n') + '\n';
    this.buffer = [];
    this.size = 0;
    const ok = this.out.write(chunk);
    if (ok) return undefined;
    this.pending = new Promise((resolve) => this.out.once('drain', () => resolve()));
    return this.pending;
  }
}
