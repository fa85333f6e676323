/**
 * The dashboard's checker: every group of the class checked again and again, in the background,
 * one group at a time per task (src/class/check.ts `checkGroup`, the very check `check --class`
 * runs), with at most `parallel` SSH sessions in flight (a group weighs its overlay nodes, as in
 * `check --class`). Each group is checked again `refreshMs` after its previous check ended, so a
 * slow group delays only itself; `checkGroup` has its own deadline, past which the group is an
 * error row and its room is given back, so one group never stalls the others. A manual "check
 * now" puts a group first in line.
 *
 * Memory is bounded by the class: per group, the latest check and the traffic reading before it.
 */
import { checkGroup, columnsOf, type GroupCheckOptions } from '../../class/check.js';
import type { ClassGroup, ClassInventory, GroupCheck } from '../../class/types.js';
import type { ConnectOptions } from '../../remote/connection.js';
import { overlayMembers } from '../../remote/inventory.js';
import type { VniRateView } from '../class-types.js';
import { vniRates, type TrafficReading } from './rates.js';

/** How one group is checked: `checkGroup`; the scheduling tests give their own. */
export type CheckOne = (group: ClassGroup, opts: GroupCheckOptions) => Promise<GroupCheck>;

export interface MonitorOptions {
  /** From the end of a group's check to the start of its next one. */
  refreshMs: number;
  /** SSH sessions in flight at most (≥ 1). */
  parallel: number;
  connect?: ConnectOptions;
  /** Per group check (checkGroup's default, 60 s, when absent). */
  deadlineMs?: number;
  check?: CheckOne;
}

export type MonitorEvent = { kind: 'checking'; group: string } | { kind: 'checked'; group: string };

/** What the board shows of one group. */
export interface GroupState {
  group: ClassGroup;
  checking: boolean;
  latest: GroupCheck | null;
  vnis: VniRateView[];
}

interface Slot extends GroupState {
  weight: number;
  reading: TrafficReading | null;
  running: AbortController | null;
  /** When the next check is due (ms since the epoch). */
  dueAt: number;
  /** Asked for by hand: ahead of the groups that are merely due. */
  manual: boolean;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ClassMonitor {
  private readonly slots: Slot[];
  private readonly byName = new Map<string, Slot>();
  private readonly listeners = new Set<(e: MonitorEvent) => void>();
  private readonly work = new Set<Promise<void>>();
  private readonly check: CheckOne;
  private inFlight = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** The most sessions that were in flight at once. */
  peak = 0;

  constructor(
    readonly cls: ClassInventory,
    readonly opts: MonitorOptions,
  ) {
    if (!Number.isInteger(opts.parallel) || opts.parallel < 1)
      throw new RangeError(`parallel must be a whole number ≥ 1, not ${opts.parallel}`);
    if (!(opts.refreshMs > 0)) throw new RangeError(`refreshMs must be above 0, not ${opts.refreshMs}`);
    this.check = opts.check ?? checkGroup;
    this.slots = cls.groups.map((group) => ({
      group,
      // a group heavier than the bound runs alone, as in runBounded
      weight: Math.min(Math.max(1, overlayMembers(group.inventory).length), opts.parallel),
      checking: false,
      latest: null,
      vnis: [],
      reading: null,
      running: null,
      dueAt: 0,
      manual: false,
    }));
    for (const s of this.slots) this.byName.set(s.group.name, s);
  }

  /** Starts checking: every group is due now, in the class file's order. */
  start(): void {
    this.pump();
  }

  on(listener: (e: MonitorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Checks the group as soon as there is room (first in line); `running` when a check of it runs already. */
  checkNow(name: string): 'started' | 'queued' | 'running' {
    const s = this.byName.get(name);
    if (!s) throw new RangeError(`no group ${name}`);
    if (s.running) return 'running';
    s.dueAt = 0;
    s.manual = true;
    this.pump();
    return s.running ? 'started' : 'queued';
  }

  /** The groups in file order. */
  groups(): readonly GroupState[] {
    return this.slots;
  }

  /** Check names in the order the checks run, from the groups checked so far (check --class's columns). */
  columns(): string[] {
    return columnsOf(this.slots.flatMap((s) => (s.latest ? [s.latest] : [])));
  }

  /** SSH sessions in flight now (by the groups' weights). */
  get sessionsInFlight(): number {
    return this.inFlight;
  }

  /** Stops scheduling, cancels the checks that run (their connections close), waits for them (5 s at most). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.slots) s.running?.abort(new Error('the dashboard is stopping'));
    const all = Promise.allSettled([...this.work]);
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all, new Promise((r) => (t = setTimeout(r, 5000)))]);
    clearTimeout(t);
    this.listeners.clear();
  }

  private emit(e: MonitorEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a listener's failure is its own (a client that went away): the checks go on
      }
    }
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    const due = this.slots
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => !s.running && s.dueAt <= now)
      .sort((a, b) => Number(b.s.manual) - Number(a.s.manual) || a.s.dueAt - b.s.dueAt || a.i - b.i);
    for (const { s } of due) {
      // in line: the first due group waits for room even when a lighter one behind it would fit
      if (this.inFlight + s.weight > this.opts.parallel) break;
      this.run(s);
    }
    this.arm();
  }

  /** Wakes up when the next group not running is due. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const next = Math.min(...this.slots.filter((s) => !s.running).map((s) => s.dueAt));
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - Date.now()));
    this.timer.unref?.();
  }

  private run(s: Slot): void {
    const ctl = new AbortController();
    s.running = ctl;
    s.checking = true;
    s.manual = false;
    this.inFlight += s.weight;
    this.peak = Math.max(this.peak, this.inFlight);
    this.emit({ kind: 'checking', group: s.group.name });
    const started = new Date();
    const opts: GroupCheckOptions = {
      signal: ctl.signal,
      ...(this.opts.connect ? { connect: this.opts.connect } : {}),
      ...(this.opts.deadlineMs !== undefined ? { deadlineMs: this.opts.deadlineMs } : {}),
    };
    const p = (async (): Promise<GroupCheck> => this.check(s.group, opts))()
      .catch(
        (err: unknown): GroupCheck => ({
          group: s.group.name,
          status: 'error',
          checkedAt: started.toISOString(),
          durationMs: Date.now() - started.getTime(),
          cells: {},
          checks: [],
          traffic: [],
          error: `the check could not run: ${message(err)}`,
        }),
      )
      .then((row) => {
        s.running = null;
        s.checking = false;
        this.inFlight -= s.weight;
        if (this.stopped) return;
        this.record(s, row);
        s.dueAt = Date.now() + this.opts.refreshMs;
        this.emit({ kind: 'checked', group: s.group.name });
        this.pump();
      });
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }

  private record(s: Slot, row: GroupCheck): void {
    s.latest = row;
    // a check that could not read the counters keeps the previous reading: the next rate spans both intervals
    if (row.traffic.length === 0) {
      s.vnis = [];
      return;
    }
    const reading: TrafficReading = { atMs: Date.parse(row.checkedAt) + row.durationMs, traffic: row.traffic };
    s.vnis = vniRates(reading, s.reading);
    s.reading = reading;
  }
}
