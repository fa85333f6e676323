/**
 * `lab traffic`: the classroom mix between the guests, small and deterministic. Every step
 * has a time limit and every process it starts is stopped before it returns.
 *
 * Crosses the overlay (vm1 ↔ vm2): ARP, ping, a 1400-byte ping (fits the 1450 MTU), a
 * 3000-byte ping (fragmented), a 32 KiB TCP transfer, 4 UDP datagrams echoed, IPv6 neighbour
 * discovery and a link-local ping6. Stays local (guest → its node's vxlan_bridge): ping .201/.202.
 */
import { LabError } from './errors.js';
import { netnsExec, run, sleep, startBackground, type Background, type RunResult } from './run.js';
import { DEFAULT_PREFIX, GUEST_IF, GUESTS, addressOnly, checkPrefix, guestSpec, netnsName, nodeSpec, type LabRole } from './topology.js';
import { existingLabNamespaces } from './build.js';

export interface TrafficStep {
  name: string;
  from: LabRole;
  to: string;
  /** Whether the traffic leaves the node through vxlan10. */
  overlay: boolean;
  ok: boolean;
  /** What the tool said (ping's summary line, bytes transferred) or why it failed. */
  detail: string;
  ms: number;
}

export interface TrafficSummary {
  prefix: string;
  durationSec: number;
  elapsedMs: number;
  steps: TrafficStep[];
  /** Extra vm1 → vm2 pings sent after the mix to fill the duration. */
  fillerPings: number;
  ok: boolean;
}

export const TCP_PORT = 5001;
export const UDP_PORT = 5002;
export const TCP_BYTES = 32 * 1024;
export const UDP_DATAGRAMS = 4;
export const UDP_SIZE = 512;

const TCP_SERVER = `const net=require('net');const [host,port,expect]=process.argv.slice(1);let got=0;
const srv=net.createServer(s=>{s.on('data',d=>{got+=d.length;if(got>=+expect)s.end('ok '+got+'\\n')});
s.on('close',()=>{srv.close();console.log('received '+got)});s.on('error',()=>{})});
srv.listen(+port,host,()=>console.log('listening'));setTimeout(()=>process.exit(3),15000).unref();`;

// The clients give up after 5 s (TCP) and 3 s (UDP): on a working overlay they finish in milliseconds;
// on a broken one (`lab break`) the traffic waits these out, step after step.
const TCP_CLIENT = `const net=require('net');const [host,port,n]=process.argv.slice(1);const buf=Buffer.alloc(+n);for(let i=0;i<buf.length;i++)buf[i]=i%251;
let r='';const s=net.connect(+port,host,()=>s.write(buf));s.on('data',d=>r+=d);s.on('end',()=>{console.log(r.trim());s.end()});
s.on('error',e=>{console.error(e.message);process.exit(1)});setTimeout(()=>{console.error('timeout');process.exit(2)},5000).unref();`;

const UDP_SERVER = `const d=require('dgram').createSocket('udp4');const [host,port,count]=process.argv.slice(1);let n=0;
d.on('message',(m,r)=>d.send(m,r.port,r.address,()=>{if(++n>=+count){console.log('echoed '+n);d.close()}}));
d.bind(+port,host,()=>console.log('listening'));setTimeout(()=>process.exit(3),15000).unref();`;

const UDP_CLIENT = `const d=require('dgram').createSocket('udp4');const [host,port,count,size]=process.argv.slice(1);let i=0;
const send=()=>d.send(Buffer.alloc(+size,65+i),+port,host);d.on('message',()=>{if(++i<+count)send();else{console.log('echoed '+i);d.close()}});
d.bind(0,send);setTimeout(()=>{console.error('timeout after '+i+' echoes');process.exit(2)},3000).unref();`;

function pingSummary(r: RunResult): string {
  const line = r.stdout.split('\n').find((l) => l.includes('packets transmitted'));
  return line?.trim() ?? (r.stderr.trim() || `exit ${r.code}`);
}

export async function labTraffic(opts: { prefix?: string; durationSec: number }): Promise<TrafficSummary> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const ns = (role: LabRole): string => netnsName(prefix, role);
  const present = await existingLabNamespaces(prefix);
  for (const role of ['kvm1', 'kvm2', 'vm1', 'vm2'] as const) {
    if (!present.includes(ns(role)))
      throw new LabError(
        `lab traffic: namespace ${ns(role)} does not exist: run \`vxlan-inspect lab up --provisioned --prefix ${prefix}\``,
      );
  }
  const start = Date.now();
  const steps: TrafficStep[] = [];
  const vm1 = guestSpec('vm1');
  const vm2 = guestSpec('vm2');
  const vm2Addr = addressOnly(vm2.address);

  const step = async (
    name: string,
    from: LabRole,
    to: string,
    overlay: boolean,
    body: () => Promise<{ ok: boolean; detail: string }>,
  ): Promise<void> => {
    const t0 = Date.now();
    let res: { ok: boolean; detail: string };
    try {
      res = await body();
    } catch (err) {
      res = { ok: false, detail: (err as Error).message };
    }
    steps.push({ name, from, to, overlay, ok: res.ok, detail: res.detail, ms: Date.now() - t0 });
  };
  const ping = async (from: LabRole, address: string, args: string[]): Promise<{ ok: boolean; detail: string }> => {
    const r = await run(netnsExec(ns(from), ['ping', '-n', '-q', '-W', '2', ...args, address]), { timeoutMs: 10_000 });
    return { ok: r.code === 0, detail: pingSummary(r) };
  };

  // empty neighbour caches so the first packets show ARP and IPv6 neighbour discovery
  for (const role of ['vm1', 'vm2', 'kvm1', 'kvm2'] as const)
    await run(['ip', '-n', ns(role), 'neigh', 'flush', 'all'], { timeoutMs: 5000 });

  await step('arp + ping', 'vm1', 'vm2', true, () => ping('vm1', vm2Addr, ['-c', '3', '-i', '0.2']));
  await step('ping 1400 bytes', 'vm1', 'vm2', true, () => ping('vm1', vm2Addr, ['-c', '2', '-i', '0.2', '-s', '1372', '-M', 'do']));
  await step('ping 3000 bytes (fragmented)', 'vm1', 'vm2', true, () =>
    ping('vm1', vm2Addr, ['-c', '2', '-i', '0.2', '-s', '2972', '-M', 'dont']),
  );

  const servers: Background[] = [];
  try {
    await step(`tcp ${TCP_BYTES} bytes to :${TCP_PORT}`, 'vm1', 'vm2', true, async () => {
      const srv = startBackground(netnsExec(ns('vm2'), [process.execPath, '-e', TCP_SERVER, vm2Addr, String(TCP_PORT), String(TCP_BYTES)]));
      servers.push(srv);
      await srv.waitFor('listening', 5000);
      const r = await run(netnsExec(ns('vm1'), [process.execPath, '-e', TCP_CLIENT, vm2Addr, String(TCP_PORT), String(TCP_BYTES)]), {
        timeoutMs: 12_000,
      });
      // the server says what it received once the client is done; a client that failed leaves nothing to wait for
      if (r.code === 0) await Promise.race([srv.exited, sleep(2000)]);
      const ok = r.code === 0 && r.stdout.trim() === `ok ${TCP_BYTES}`;
      return {
        ok,
        detail: ok ? `sent ${TCP_BYTES} bytes, server said '${r.stdout.trim()}'` : r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`,
      };
    });
    await step(`udp ${UDP_DATAGRAMS}×${UDP_SIZE} bytes echoed on :${UDP_PORT}`, 'vm1', 'vm2', true, async () => {
      const srv = startBackground(
        netnsExec(ns('vm2'), [process.execPath, '-e', UDP_SERVER, vm2Addr, String(UDP_PORT), String(UDP_DATAGRAMS)]),
      );
      servers.push(srv);
      await srv.waitFor('listening', 5000);
      const r = await run(
        netnsExec(ns('vm1'), [process.execPath, '-e', UDP_CLIENT, vm2Addr, String(UDP_PORT), String(UDP_DATAGRAMS), String(UDP_SIZE)]),
        { timeoutMs: 8000 },
      );
      if (r.code === 0) await Promise.race([srv.exited, sleep(2000)]);
      const ok = r.code === 0 && r.stdout.trim() === `echoed ${UDP_DATAGRAMS}`;
      return { ok, detail: ok ? r.stdout.trim() : r.stderr.trim() || `exit ${r.code}` };
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop('SIGTERM', 1000)));
  }

  await step('ipv6 neighbour discovery + link-local ping6', 'vm1', 'vm2', true, async () => {
    const r = await run(['ip', '-n', ns('vm2'), '-6', '-o', 'addr', 'show', 'dev', GUEST_IF, 'scope', 'link'], { timeoutMs: 5000 });
    const ll = /inet6 (fe80::[0-9a-f:]+)\//.exec(r.stdout)?.[1];
    if (!ll) return { ok: false, detail: `no link-local IPv6 address on ${ns('vm2')} ${GUEST_IF}` };
    return ping('vm1', `${ll}%${GUEST_IF}`, ['-6', '-c', '2', '-i', '0.2']);
  });

  for (const g of GUESTS) {
    const bridge = addressOnly(nodeSpec(g.node).bridgeAddress);
    await step('ping local bridge (stays on the node)', g.name, `${g.node} ${bridge}`, false, () =>
      ping(g.name, bridge, ['-c', '2', '-i', '0.2']),
    );
  }

  // fill the rest of the duration with a slow vm1 → vm2 ping
  let fillerPings = 0;
  while (Date.now() - start + 600 < opts.durationSec * 1000) {
    await run(netnsExec(ns(vm1.name), ['ping', '-n', '-q', '-c', '1', '-W', '1', vm2Addr]), { timeoutMs: 3000 });
    fillerPings++;
    await sleep(400);
  }
  return { prefix, durationSec: opts.durationSec, elapsedMs: Date.now() - start, steps, fillerPings, ok: steps.every((s) => s.ok) };
}
