/**
 * `lab record`: tcpdump on eth1 and vxlan_bridge of both nodes (inside their namespaces,
 * as the class does) while `lab traffic` runs; each tcpdump is stopped by its pid with
 * SIGINT so it flushes and closes its file.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from './errors.js';
import { prepareDir, replaceFile } from './safedir.js';
import { netnsExec, run, sleep, startBackground, type Background } from './run.js';
import { labTraffic, type TrafficSummary } from './traffic.js';
import { DEFAULT_PREFIX, NODES, OVERLAY, checkPrefix, netnsName, type NodeName } from './topology.js';

export interface RecordOptions {
  prefix?: string;
  /** Directory for kvm1-eth1.pcap, kvm1-vxlan_bridge.pcap, kvm2-eth1.pcap, kvm2-vxlan_bridge.pcap. */
  outDir: string;
  durationSec: number;
}

export interface RecordedFile {
  node: NodeName;
  iface: string;
  path: string;
  bytes: number;
  /** tcpdump's own "N packets captured" count. */
  packets: number | null;
}

export interface RecordResult {
  files: RecordedFile[];
  traffic: TrafficSummary;
}

export const RECORD_INTERFACES: readonly string[] = [OVERLAY.underlay, OVERLAY.bridge];

export function recordFileName(node: NodeName, iface: string): string {
  return `${node}-${iface}.pcap`;
}

export async function labRecord(opts: RecordOptions): Promise<RecordResult> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  for (const n of NODES) {
    const ns = netnsName(prefix, n.name);
    const r = await run(['ip', '-n', ns, 'link', 'show', 'dev', OVERLAY.bridge], { timeoutMs: 5000 });
    if (r.code !== 0) {
      throw new LabError(
        `lab record: ${ns} has no ${OVERLAY.bridge}: it records a provisioned lab (\`vxlan-inspect lab up --provisioned --prefix ${prefix}\`)`,
      );
    }
  }
  // tcpdump -w opens its file by name as root, following links: the folder must be one no one
  // else can change, and each file is made here first (a link in its place removed, not followed)
  const outDir = prepareDir(opts.outDir, { what: 'recording folder', option: '--out', owner: 'trusted' });
  for (const n of NODES) for (const iface of RECORD_INTERFACES) replaceFile(path.join(outDir, recordFileName(n.name, iface)), '', 0o644);

  const captures: { node: NodeName; iface: string; path: string; proc: Background }[] = [];
  let traffic: TrafficSummary;
  try {
    for (const n of NODES) {
      for (const iface of RECORD_INTERFACES) {
        const file = path.join(outDir, recordFileName(n.name, iface));
        // -Z root: keep root after opening the interface, so the file can be written wherever --out points
        const proc = startBackground(netnsExec(netnsName(prefix, n.name), ['tcpdump', '-n', '-i', iface, '-w', file, '-U', '-Z', 'root']));
        captures.push({ node: n.name, iface, path: file, proc });
      }
    }
    await Promise.all(captures.map((c) => c.proc.waitFor('listening on', 5000)));
    await sleep(300);
    traffic = await labTraffic({ prefix, durationSec: opts.durationSec });
    await sleep(500);
  } finally {
    await Promise.all(captures.map((c) => c.proc.stop('SIGINT', 3000)));
  }
  const files = captures.map((c): RecordedFile => {
    const m = /(\d+) packets? captured/.exec(c.proc.stderr());
    let bytes = 0;
    try {
      bytes = statSync(c.path).size;
    } catch {
      throw new LabError(`tcpdump on ${c.node} ${c.iface} wrote no file ${c.path}: ${c.proc.stderr().trim()}`);
    }
    return { node: c.node, iface: c.iface, path: c.path, bytes, packets: m?.[1] ? Number(m[1]) : null };
  });
  return { files, traffic };
}
