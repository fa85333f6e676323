/**
 * A group's own page, opened from the dashboard: the single-overlay web view (createApp, through
 * startServer) of the group's inventory, with live capture of its nodes from the page as
 * `serve --inventory` gives it, and the dashboard's token. Each group's page listens on a port of
 * its own on the dashboard's address, started the first time the group is opened and kept until
 * the dashboard stops: the page's scripts call /api/… at the root of their server, so one server
 * per group is what lets them run unchanged.
 *
 * The captures go over SSH from this process, as the dashboard's checks do: whatever reaches
 * the nodes for the checks reaches them for the capture.
 */
import { inProcessCaptureStarter } from '../live.js';
import { startServer, type RunningServer } from '../server.js';
import type { ClassGroup } from '../../class/types.js';

export interface GroupViewOptions {
  /** The dashboard's listening address: the groups' pages listen there too. */
  host: string;
  token: string;
  acceptNew?: boolean;
  /** Where live captures go (default a temporary folder per group page). */
  outRoot?: string;
  vxlanPorts?: number[];
  /** What the page's banner says about where it comes from. */
  source: string;
}

export class GroupViews {
  private readonly servers = new Map<string, Promise<RunningServer>>();
  private closed = false;

  constructor(private readonly opts: GroupViewOptions) {}

  /** The group's page server, started once; a start that failed is tried again next time. */
  open(group: ClassGroup): Promise<RunningServer> {
    if (this.closed) return Promise.reject(new Error('the dashboard is stopping'));
    let p = this.servers.get(group.name);
    if (!p) {
      const inv = group.inventory;
      p = startServer(undefined, {
        host: this.opts.host,
        port: 0,
        token: this.opts.token,
        ...(this.opts.vxlanPorts ? { vxlanPorts: this.opts.vxlanPorts } : {}),
        startCapture: inProcessCaptureStarter({
          inventory: inv,
          acceptNew: Boolean(this.opts.acceptNew),
          ...(this.opts.outRoot ? { outRoot: this.opts.outRoot } : {}),
        }),
        liveNodes: Object.keys(inv.nodes),
        banner: `group ${group.name} of the class ${this.opts.source}: Live captures its nodes (${Object.keys(inv.nodes).join(', ')})`,
      });
      this.servers.set(group.name, p);
      p.catch(() => this.servers.delete(group.name));
    }
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => null))?.close().catch(() => undefined)));
  }
}
