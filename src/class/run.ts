/**
 * A bounded runner for work over many nodes: at most `parallel` SSH sessions in flight, each task
 * weighing the sessions it opens (a group of two nodes weighs 2), tasks started in order as room
 * frees up. Every task has its own deadline: one that fails or hangs becomes an error outcome and
 * gives its room back (its AbortSignal fires so it can close its connections), and the others
 * go on. An outer signal cancels what has not finished.
 *
 *   const r = await runBounded(groups.map((g) => ({ key: g.name, weight: 2, run: (signal) => checkOne(g, signal) })),
 *                              { parallel: 8, deadlineMs: 30_000 });
 *   r.outcomes  // one per task, in task order;  r.peakInFlight ≤ 8
 */

export interface BoundedTask<T> {
  /** Names the task in outcomes and messages (a group name). */
  key: string;
  /** SSH sessions the task holds at once (default 1); a task heavier than `parallel` runs alone. */
  weight?: number;
  /** The work; `signal` fires at the deadline or on cancel: close connections, stop waiting. */
  run: (signal: AbortSignal) => Promise<T>;
}

export type TaskOutcome<T> =
  | { key: string; ok: true; value: T; startedAt: Date; ms: number }
  | { key: string; ok: false; error: string; reason: 'failed' | 'deadline' | 'cancelled'; startedAt: Date | null; ms: number };

export interface RunnerOptions {
  /** Sessions in flight at most (≥ 1). */
  parallel: number;
  /** Per task, from its start. */
  deadlineMs: number;
  /** Cancels every task not finished yet. */
  signal?: AbortSignal;
  /** Called as each task settles (for progress and the dashboard's per-group refresh). */
  onSettled?: (outcome: TaskOutcome<unknown>) => void;
}

/** What the runner counted while it ran. */
export interface RunnerCounts {
  /** Weight in flight now. */
  inFlight: number;
  /** The most weight that was ever in flight at once. */
  peakInFlight: number;
}

export interface RunResult<T> extends RunnerCounts {
  outcomes: TaskOutcome<T>[];
}

/** Default bound on SSH sessions in flight: enough to check 15 groups in a few waves on 2 cores. */
export const DEFAULT_PARALLEL = 8;
export const MAX_PARALLEL = 256;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs the tasks with at most `parallel` weight in flight; never rejects (failures are outcomes). */
export async function runBounded<T>(tasks: readonly BoundedTask<T>[], opts: RunnerOptions): Promise<RunResult<T>> {
  if (!Number.isInteger(opts.parallel) || opts.parallel < 1)
    throw new RangeError(`parallel must be a whole number ≥ 1, not ${opts.parallel}`);
  const counts: RunnerCounts = { inFlight: 0, peakInFlight: 0 };
  const outcomes: (TaskOutcome<T> | undefined)[] = tasks.map(() => undefined);
  let next = 0;
  let running = 0;

  return new Promise<RunResult<T>>((resolveAll) => {
    const settle = (i: number, o: TaskOutcome<T>): void => {
      if (outcomes[i] !== undefined) return;
      outcomes[i] = o;
      opts.onSettled?.(o as TaskOutcome<unknown>);
    };
    const finishIfDone = (): void => {
      if (running === 0 && next >= tasks.length) {
        opts.signal?.removeEventListener('abort', onAbort);
        resolveAll({ ...counts, outcomes: outcomes as TaskOutcome<T>[] });
      }
    };
    const onAbort = (): void => {
      // nothing more starts; the running ones see their signal fire (chained below)
      for (; next < tasks.length; next++) {
        const t = tasks[next] as BoundedTask<T>;
        settle(next, { key: t.key, ok: false, error: 'cancelled before it started', reason: 'cancelled', startedAt: null, ms: 0 });
      }
      finishIfDone();
    };

    const start = (i: number, t: BoundedTask<T>, weight: number): void => {
      running++;
      counts.inFlight += weight;
      counts.peakInFlight = Math.max(counts.peakInFlight, counts.inFlight);
      const startedAt = new Date();
      const ctl = new AbortController();
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', cancel);
        running--;
        counts.inFlight -= weight;
        pump();
        finishIfDone();
      };
      const ms = (): number => Date.now() - startedAt.getTime();
      const timer = setTimeout(() => {
        settle(i, {
          key: t.key,
          ok: false,
          error: `no answer within ${opts.deadlineMs / 1000} s (deadline): abandoned, its connections closed`,
          reason: 'deadline',
          startedAt,
          ms: ms(),
        });
        ctl.abort(new Error('deadline'));
        release();
      }, opts.deadlineMs);
      const cancel = (): void => {
        settle(i, { key: t.key, ok: false, error: 'cancelled', reason: 'cancelled', startedAt, ms: ms() });
        ctl.abort(new Error('cancelled'));
        release();
      };
      opts.signal?.addEventListener('abort', cancel, { once: true });
      let work: Promise<T>;
      try {
        work = t.run(ctl.signal);
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        (value) => {
          settle(i, { key: t.key, ok: true, value, startedAt, ms: ms() });
          release();
        },
        (err: unknown) => {
          settle(i, { key: t.key, ok: false, error: message(err), reason: 'failed', startedAt, ms: ms() });
          release();
        },
      );
    };

    const pump = (): void => {
      while (next < tasks.length && !opts.signal?.aborted) {
        const t = tasks[next] as BoundedTask<T>;
        const weight = Math.min(Math.max(1, Math.floor(t.weight ?? 1)), opts.parallel);
        // in order: the next task waits for room even when a lighter one behind it would fit
        if (counts.inFlight + weight > opts.parallel) return;
        const i = next++;
        start(i, t, weight);
      }
    };

    if (opts.signal?.aborted) onAbort();
    else {
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      pump();
      finishIfDone();
    }
  });
}
