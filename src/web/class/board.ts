/**
 * The class dashboard's server side, in one object the app mounts (routes/class.ts): the class
 * inventory, the background checker (monitor.ts), the event streams (sse.ts) every check result
 * is pushed to, and the groups' own pages (views.ts). It turns the class check's types
 * (src/class/types.ts) into the API's (class-types.ts) here, and only here.
 */
import { shortName } from '../../class/render.js';
import type { ClassInventory, GroupCheck } from '../../class/types.js';
import type { ClassBoardResponse, ClassColumn, ClassEvents, ClassGroupRow, GroupCheckView } from '../class-types.js';
import { ClassMonitor, type GroupState, type MonitorOptions } from './monitor.js';
import { SseClients, type SseOptions } from './sse.js';
import { GroupViews, type GroupViewOptions } from './views.js';

export interface ClassBoardOptions extends MonitorOptions, Omit<GroupViewOptions, 'source'> {
  sse?: SseOptions;
}

function checkView(g: GroupCheck): GroupCheckView {
  const v: GroupCheckView = { status: g.status, checkedAt: g.checkedAt, durationMs: g.durationMs, cells: g.cells };
  if (g.error !== undefined) v.error = g.error;
  return v;
}

function rowOf(s: GroupState): ClassGroupRow {
  return {
    group: s.group.name,
    nodes: Object.entries(s.group.inventory.nodes).map(([name, n]) => ({ name, host: n.host })),
    checking: s.checking,
    last: s.latest ? checkView(s.latest) : null,
    vnis: s.vnis,
  };
}

export class ClassBoard {
  readonly monitor: ClassMonitor;
  readonly events: SseClients;
  readonly views: GroupViews;
  private readonly unsubscribe: () => void;

  constructor(
    readonly cls: ClassInventory,
    readonly opts: ClassBoardOptions,
  ) {
    this.monitor = new ClassMonitor(cls, opts);
    this.events = new SseClients(opts.sse);
    this.views = new GroupViews({ ...opts, source: cls.source });
    this.unsubscribe = this.monitor.on((e) => {
      const now = new Date().toISOString();
      if (e.kind === 'checking') {
        const ev: ClassEvents['checking'] = { group: e.group, now };
        this.events.send('checking', ev);
      } else {
        const ev: ClassEvents['group'] = { row: this.row(e.group), columns: this.columns(), now };
        this.events.send('group', ev);
      }
    });
  }

  /** Starts the background checks. */
  start(): void {
    this.monitor.start();
  }

  columns(): ClassColumn[] {
    return this.monitor.columns().map((name) => ({ name, short: shortName(name) }));
  }

  row(name: string): ClassGroupRow {
    const s = this.monitor.groups().find((g) => g.group.name === name);
    if (!s) throw new RangeError(`no group ${name}`);
    return rowOf(s);
  }

  snapshot(): ClassBoardResponse {
    return {
      source: this.cls.source,
      refreshSec: this.opts.refreshMs / 1000,
      parallel: this.opts.parallel,
      now: new Date().toISOString(),
      columns: this.columns(),
      groups: this.monitor.groups().map(rowOf),
    };
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.monitor.stop();
    this.events.close();
    await this.views.close();
  }
}
