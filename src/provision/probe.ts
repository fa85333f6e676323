/**
 * The `check --probe` evidence: a short tcpdump on the node's underlay while a ping crosses the
 * overlay, proving that packets leave on UDP PORT with the right VNI.
 *
 * The capture comes back as `tcpdump -w -` (classic pcap) and is read with the project's own
 * decoder (src/decode): outer UDP on PORT, VXLAN with the I flag, its VNI.
 */
import { decodeCapture } from '../decode/decode-capture.js';
import type { UdpLayer, VxlanLayer } from '../decode/types.js';
import type { RemoteSession } from '../remote/connection.js';
import { firstLine } from '../remote/exec.js';
import type { NodeConfig } from '../remote/inventory.js';

export interface VxlanSeen {
  packets: number;
  /** VXLAN packets (UDP to/from PORT, I flag set) by VNI. */
  vnis: Map<number, number>;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Counts VXLAN packets on `port` by VNI in a capture (`tcpdump -w -` output), with the project's decoder. */
export async function vxlanPacketsInCapture(bytes: Uint8Array, port: number): Promise<VxlanSeen> {
  const seen: VxlanSeen = { packets: 0, vnis: new Map() };
  if (bytes.length === 0) return seen;
  await decodeCapture(
    once(bytes),
    (p) => {
      seen.packets++;
      const udp = p.layers.find((l): l is UdpLayer => l.type === 'udp' && l.depth === 0);
      const vx = p.layers.find((l): l is VxlanLayer => l.type === 'vxlan' && l.depth === 0);
      if (!udp || !vx || (udp.dstPort !== port && udp.srcPort !== port) || (vx.flags & 0x08) === 0) return;
      seen.vnis.set(vx.vni, (seen.vnis.get(vx.vni) ?? 0) + 1);
    },
    { vxlanPorts: [port] },
  );
  return seen;
}

export interface ProbeOutcome {
  ok: boolean;
  detail: string;
}

/** Captures a few packets on the underlay while pinging `target` (a peer's bridge address) through the overlay. */
export async function probeOverlay(session: RemoteSession, node: NodeConfig, target: string): Promise<ProbeOutcome> {
  const { underlay, port, vni } = node.overlay;
  // tcpdump itself under sudo (a NOPASSWD rule for tcpdump matches; one for `timeout` would be one
  // for anything): it ends after 6 packets, or is stopped by its PID below
  const proc = await session.spawn(['tcpdump', '-c', '6', '-n', '-U', '-s', '128', '-w', '-', '-i', underlay, `udp port ${port}`], {
    sudo: true,
    reportPid: true,
  });
  const chunks: Buffer[] = [];
  proc.stdout.on('data', (d: Buffer) => chunks.push(d));
  let err = '';
  const listening = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 5000);
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(t);
        resolve(true);
      }
    });
    void proc.exit.then(() => {
      clearTimeout(t);
      resolve(false);
    });
  });
  if (!(await listening)) {
    const pid = await Promise.race([proc.pid, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
    if (pid) await session.kill(pid, 'TERM').catch(() => undefined); // sudo passes TERM on to tcpdump; KILL would end only sudo
    proc.close();
    return { ok: false, detail: `tcpdump on ${underlay} did not start: ${firstLine(err) || 'no output'}` };
  }
  await session.run(['ping', '-c', '3', '-i', '0.2', '-W', '1', target], { timeoutMs: 10_000 });
  const done = await Promise.race([proc.exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1500))]);
  if (!done) {
    const pid = await proc.pid;
    if (pid) await session.kill(pid, 'INT').catch(() => undefined);
    await Promise.race([proc.exit, new Promise((r) => setTimeout(r, 2000))]);
    proc.close();
  }
  const seen = await vxlanPacketsInCapture(Buffer.concat(chunks), port);
  const total = [...seen.vnis.values()].reduce((a, b) => a + b, 0);
  if (total === 0) {
    return {
      ok: false,
      detail: `no VXLAN packet on ${underlay} UDP ${port} while pinging ${target} through the overlay (${seen.packets} packets captured)`,
    };
  }
  const vnis = [...seen.vnis.keys()].sort((a, b) => a - b);
  if (vnis.length !== 1 || vnis[0] !== vni) {
    return { ok: false, detail: `VXLAN packets on ${underlay} UDP ${port} carry VNI ${vnis.join(', ')}, the inventory says ${vni}` };
  }
  return { ok: true, detail: `${total} VXLAN packets on ${underlay} UDP ${port}, all VNI ${vni}, while pinging ${target}` };
}
