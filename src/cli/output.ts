/**
 * Output that respects back-pressure: `decode` hands over its lines already encoded, in
 * blocks of about a megabyte (a million lines without a million writes), and waits when
 * the stream says it is full, so a slow reader (`| less`, `| sleep`) keeps memory bounded.
 */
export class LineWriter {
  private pending: Promise<void> | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /**
   * Writes bytes that are whole lines. Returns a promise when the caller should wait before
   * producing more (the stream is full). The bytes must not be modified until `written` is
   * called (the stream is done with them).
   */
  bytes(chunk: Uint8Array, written?: () => void): Promise<void> | undefined {
    if (chunk.length === 0) {
      written?.();
      return this.pending;
    }
    if (!this.out.write(chunk, written && (() => written())) && this.pending === undefined) {
      this.pending = new Promise((resolve) =>
        this.out.once('drain', () => {
          this.pending = undefined;
          resolve();
        }),
      );
    }
    return this.pending;
  }

  /** Resolves when everything written so far has been taken by the stream. */
  flush(): Promise<void> | undefined {
    return this.pending;
  }
}
