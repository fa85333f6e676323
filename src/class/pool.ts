/**
 * The SSH connections of one group's task: a SessionPool that counts its sessions on the class's
 * gauge (every session from the moment it starts connecting until it is closed) and opens no new
 * one once its task is abandoned (deadline, cancel). Node names repeat across groups (every group
 * has a kvm1), so each group has its own pool.
 */
import { VxiError } from '../errors.js';
import { SessionPool, type ConnectOptions, type RemoteSession } from '../remote/connection.js';
import type { NodeConfig } from '../remote/inventory.js';

/** SSH sessions open (or opening) across the class, and the most there ever were at once. */
export class SessionGauge {
  open = 0;
  peak = 0;

  enter(): void {
    this.open++;
    this.peak = Math.max(this.peak, this.open);
  }

  leave(): void {
    this.open--;
  }
}

export class GroupPool extends SessionPool {
  private readonly counted = new Set<string>();

  constructor(
    opts: ConnectOptions,
    private readonly gauge: SessionGauge | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly group: string,
  ) {
    super(opts);
    signal?.addEventListener('abort', () => void this.closeAll(), { once: true });
  }

  override get(node: NodeConfig): Promise<RemoteSession> {
    if (this.signal?.aborted) {
      return Promise.reject(
        new VxiError(
          'VXI_SSH',
          `${node.name} (${node.host}) of group ${this.group}: not connected, the group's check was abandoned (deadline or cancel)`,
        ),
      );
    }
    const p = super.get(node);
    if (this.gauge && !this.counted.has(node.name)) {
      const gauge = this.gauge;
      this.counted.add(node.name);
      gauge.enter();
      const leave = (): void => {
        this.counted.delete(node.name);
        gauge.leave();
      };
      p.then((s) => (s.isOpen ? s.once('close', leave) : leave()), leave);
    }
    return p;
  }
}
