/**
 * Standard output that says when it fails. Every command writes through `io.stdout`; `main`
 * watches it (OutputGuard) from the start, and once the command is done waits until what it
 * wrote has been taken and checks for a failed write: a full disk (`> /dev/full`), an I/O
 * error, a closed stream is exit 1 with one line naming it, never a silent exit 0 with
 * truncated output. A reader that went away (EPIPE: `| head`) is not a failure.
 *
 * `decode` hands over its lines already encoded (LineWriter), in blocks of about a megabyte
 * (a million lines without a million writes), and waits when the stream says it is full, so a
 * slow reader (`| less`, `| sleep`) keeps memory bounded; a failed write ends that wait with
 * the error instead of waiting for a 'drain' that never comes.
 */
import { getSystemErrorMap } from 'node:util';
import { VxiError } from '../errors.js';

/** A write to standard output (or another output stream) failed: exit 1. */
export class OutputError extends VxiError {
  /** The system error code (ENOSPC, EIO, EPIPE…), when there is one. */
  readonly errno: string | undefined;

  constructor(what: string, cause: unknown) {
    super('VXI_IO', `cannot write to ${what}: ${describeWriteError(cause)}`, { cause, exitCode: 1 });
    const code = (cause as { code?: unknown } | undefined)?.code;
    this.errno = typeof code === 'string' ? code : undefined;
  }

  /** The reader went away (`| head`): not worth a message, like tcpdump and cat. */
  get brokenPipe(): boolean {
    return this.errno === 'EPIPE';
  }
}

/** `ENOSPC (no space left on device)` from a Node system error; its message otherwise. */
export function describeWriteError(err: unknown): string {
  const e = err as Partial<NodeJS.ErrnoException> | undefined;
  if (typeof e?.errno === 'number') {
    const known = getSystemErrorMap().get(e.errno);
    if (known) return `${known[0]} (${known[1]})`;
  }
  if (typeof e?.code === 'string' && typeof e.message === 'string')
    return e.message.startsWith(e.code) ? e.message : `${e.code} (${e.message})`;
  return err instanceof Error ? err.message : String(err);
}

/** What a Writable may tell about itself (NodeJS.WritableStream does not declare these). */
interface WritableState {
  destroyed?: boolean;
  writableEnded?: boolean;
  writableLength?: number;
}

const guards = new WeakMap<NodeJS.WritableStream, OutputGuard>();

/** The one guard of `stream` (made, and listening for errors, on first use). */
export function watchOutput(stream: NodeJS.WritableStream, what = 'standard output'): OutputGuard {
  let g = guards.get(stream);
  if (g === undefined) {
    g = new OutputGuard(stream, what);
    guards.set(stream, g);
  }
  return g;
}

/** Remembers the first failed write of a stream and tells whoever waits on it. */
export class OutputGuard {
  private failure: OutputError | undefined;
  private readonly waiters = new Set<(err: OutputError) => void>();

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly what: string,
  ) {
    stream.on('error', (err: unknown) => this.fail(err));
    stream.on('close', () => {
      // closed under us without an error (destroyed): later writes cannot go anywhere
      if (this.waiters.size > 0) this.fail(Object.assign(new Error(`${what} was closed`), { code: 'ERR_STREAM_DESTROYED' }));
    });
  }

  /** The first failed write, if any. */
  get error(): OutputError | undefined {
    return this.failure;
  }

  /** Throws the failure, if a write failed. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Calls `fn` once when a write fails (at once if one already has); returns how to stop listening. */
  onFailure(fn: (err: OutputError) => void): () => void {
    if (this.failure) {
      fn(this.failure);
      return () => undefined;
    }
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof OutputError ? err : new OutputError(this.what, err);
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const w of waiting) w(this.failure);
  }

  /**
   * Resolves once everything written so far has been taken by the stream (an empty write's
   * callback runs after every earlier write); throws the OutputError when a write failed.
   */
  async settled(): Promise<void> {
    const s = this.stream as NodeJS.WritableStream & WritableState;
    if (!this.failure && !s.destroyed && !s.writableEnded) {
      await new Promise<void>((resolve) => {
        const stop = this.onFailure(() => resolve());
        s.write(new Uint8Array(0), (err?: Error | null) => {
          stop();
          if (err) this.fail(err);
          resolve();
        });
      });
    }
    // an error event is emitted on the next tick after the write that failed
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.check();
  }
}

/**
 * Output that respects back-pressure and fails loudly. Bytes are whole lines; `bytes` returns a
 * promise when the caller should wait before producing more (the stream is full), which
 * rejects with the OutputError if a write fails meanwhile; it throws at once if one already did.
 */
export class LineWriter {
  private pending: Promise<void> | undefined;
  private readonly guard: OutputGuard;

  constructor(private readonly out: NodeJS.WritableStream) {
    this.guard = watchOutput(out);
  }

  /**
   * Writes bytes that are whole lines. The bytes must not be modified until `written` is
   * called (the stream is done with them; it is called on failure too).
   */
  bytes(chunk: Uint8Array, written?: () => void): Promise<void> | undefined {
    if (this.guard.error) {
      written?.();
      throw this.guard.error;
    }
    if (chunk.length === 0) {
      written?.();
      return this.pending;
    }
    if (!this.out.write(chunk, written && (() => written())) && this.pending === undefined) {
      const wait = new Promise<void>((resolve, reject) => {
        const done = (): void => {
          this.pending = undefined;
          this.out.removeListener('drain', onDrain);
          stop();
        };
        const onDrain = (): void => {
          done();
          resolve();
        };
        const stop = this.guard.onFailure((err) => {
          done();
          reject(err);
        });
        this.out.once('drain', onDrain);
      });
      // whoever waits gets the rejection; nobody waiting is not an unhandled rejection
      wait.catch(() => undefined);
      if (this.guard.error === undefined) this.pending = wait;
      return wait;
    }
    return this.pending;
  }

  /** Resolves when everything written so far has been taken by the stream; throws if a write failed. */
  async flush(): Promise<void> {
    if (this.pending) await this.pending;
    this.guard.check();
  }
}
