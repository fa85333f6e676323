import { describe, expect, it } from 'vitest';
import { runBounded, type BoundedTask, type TaskOutcome } from './run.js';

/** A task whose end the test decides, and that says when it started. */
function controlled(
  key: string,
  weight = 1,
): BoundedTask<string> & { started: Promise<void>; finish: () => void; fail: (e: Error) => void; signal: () => AbortSignal | undefined } {
  let onStart: () => void = () => undefined;
  const started = new Promise<void>((r) => (onStart = r));
  let finish: () => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  let sig: AbortSignal | undefined;
  return {
    key,
    weight,
    started,
    finish: () => finish(),
    fail: (e) => fail(e),
    signal: () => sig,
    run: (signal) => {
      sig = signal;
      onStart();
      return new Promise<string>((resolve, reject) => {
        finish = () => resolve(`${key} done`);
        fail = reject;
      });
    },
  };
}

const never = (key: string, weight = 1): BoundedTask<string> & { signal: () => AbortSignal | undefined } => {
  let sig: AbortSignal | undefined;
  return {
    key,
    weight,
    signal: () => sig,
    run: (signal) => {
      sig = signal;
      return new Promise<string>(() => undefined);
    },
  };
};

describe('runBounded', () => {
  it('a hanging task does not stall the others: they all finish while it still hangs', async () => {
    const hang = never('hang');
    const others = ['a', 'b', 'c', 'd'].map((k) => controlled(k));
    const settled: string[] = [];
    const cancel = new AbortController();
    let allOthers: () => void = () => undefined;
    const othersDone = new Promise<void>((r) => (allOthers = r));
    const run = runBounded<string>([hang, ...others], {
      parallel: 2,
      deadlineMs: 600_000,
      signal: cancel.signal,
      onSettled: (o: TaskOutcome<unknown>) => {
        settled.push(o.key);
        if (['a', 'b', 'c', 'd'].every((k) => settled.includes(k))) allOthers();
      },
    });
    // with 2 slots and one taken by the hang, the others go one at a time through the other slot
    for (const t of others) {
      await t.started;
      t.finish();
    }
    await othersDone;
    expect(settled).toEqual(['a', 'b', 'c', 'd']);
    expect(hang.signal()?.aborted).toBe(false);
    cancel.abort();
    const r = await run;
    expect(hang.signal()?.aborted).toBe(true);
    expect(r.outcomes.map((o) => [o.key, o.ok])).toEqual([
      ['hang', false],
      ['a', true],
      ['b', true],
      ['c', true],
      ['d', true],
    ]);
    expect(r.outcomes[0]).toMatchObject({ ok: false, reason: 'cancelled' });
    expect(r.peakInFlight).toBe(2);
    expect(r.inFlight).toBe(0);
  });

  it('a task past its deadline becomes an error outcome, its signal fires and its room is given back', async () => {
    const hang = never('hang');
    const after = controlled('after');
    const run = runBounded<string>([hang, after], { parallel: 1, deadlineMs: 20 });
    await after.started; // only starts once the hang's room is given back
    expect(hang.signal()?.aborted).toBe(true);
    after.finish();
    const r = await run;
    expect(r.outcomes[0]).toMatchObject({ key: 'hang', ok: false, reason: 'deadline' });
    expect(r.outcomes[0]?.ok === false && r.outcomes[0].error).toMatch(/deadline/);
    expect(r.outcomes[1]).toMatchObject({ key: 'after', ok: true, value: 'after done' });
  });

  it('a failing task is an outcome with its message; a throwing one too', async () => {
    const bad = controlled('bad');
    const throws: BoundedTask<string> = {
      key: 'throws',
      run: () => {
        throw new Error('sync boom');
      },
    };
    const run = runBounded<string>([bad, throws], { parallel: 4, deadlineMs: 600_000 });
    await bad.started;
    bad.fail(new Error('kvm2 (10.3.3.174): connection refused'));
    const r = await run;
    expect(r.outcomes).toMatchObject([
      { key: 'bad', ok: false, reason: 'failed', error: 'kvm2 (10.3.3.174): connection refused' },
      { key: 'throws', ok: false, reason: 'failed', error: 'sync boom' },
    ]);
  });

  it('never has more weight in flight than parallel; a task heavier than parallel runs alone', async () => {
    const tasks = Array.from({ length: 9 }, (_, i) => controlled(`g${i}`, 2));
    const heavy = controlled('heavy', 5);
    const all = [...tasks.slice(0, 4), heavy, ...tasks.slice(4)];
    let maxSeen = 0;
    let live = 0;
    const wrapped: BoundedTask<string>[] = all.map((t) => ({
      key: t.key,
      weight: t.weight ?? 1,
      run: async (signal) => {
        live += Math.min(t.weight ?? 1, 4);
        maxSeen = Math.max(maxSeen, live);
        try {
          return await t.run(signal);
        } finally {
          live -= Math.min(t.weight ?? 1, 4);
        }
      },
    }));
    const run = runBounded(wrapped, { parallel: 4, deadlineMs: 600_000 });
    for (const t of all) {
      await t.started;
      t.finish();
    }
    const r = await run;
    expect(r.outcomes.every((o) => o.ok)).toBe(true);
    expect(r.peakInFlight).toBe(4);
    expect(maxSeen).toBeLessThanOrEqual(4);
  });

  it('cancelled before start: every task is a cancelled outcome', async () => {
    const c = new AbortController();
    c.abort();
    const r = await runBounded([controlled('a'), controlled('b')], { parallel: 1, deadlineMs: 1000, signal: c.signal });
    expect(r.outcomes.map((o) => o.ok === false && o.reason)).toEqual(['cancelled', 'cancelled']);
    expect(r.peakInFlight).toBe(0);
  });
});
