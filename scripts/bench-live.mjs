// A live session's cost over time (issue 11: "live is incremental"). The web server follows a
// node's two capture files as they grow, as during `serve` + a live capture: every simulated
// second, one second of class traffic (the lab recording's kvm1 eth1 and vxlan_bridge packets,
// repeated with shifted timestamps) is appended to both files, the store reads what was
// appended, and the page asks for the node's figures (as the open page does on each update).
// For each simulated minute the script prints the server's CPU time: when nothing is read or
// decoded twice, it stays flat (linear total); an engine that re-read the files on every growth
// would grow minute after minute (quadratic total).
//
// Usage: npm run build && node scripts/bench-live.mjs [--minutes 30] [--rate 1] [--json]
//   --rate: how many copies of the lab's 2.4 s of traffic make one simulated second (default 1:
//   ~45 packets/s per side; 10 gives ~450/s).
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const minutes = Number(opt('--minutes') ?? 30);
const rate = Math.max(1, Number(opt('--rate') ?? 1));
const json = args.includes('--json');

const { CaptureParser, PcapWriter } = await import(join(root, 'dist', 'decode', 'file', 'index.js'));
const { CaptureStore } = await import(join(root, 'dist', 'web', 'store.js'));

function records(file) {
  const p = new CaptureParser();
  p.push(new Uint8Array(readFileSync(file)));
  p.end();
  const out = [];
  for (let r = p.next(); r; r = p.next()) out.push(r);
  return out;
}

const lab = join(root, 'fixtures', 'lab');
const src = { underlay: records(join(lab, 'kvm1-eth1.pcap')), overlay: records(join(lab, 'kvm1-vxlan_bridge.pcap')) };
const t0 = Math.min(src.underlay[0].tsSec * 1e6 + src.underlay[0].tsNsec / 1e3, src.overlay[0].tsSec * 1e6 + src.overlay[0].tsNsec / 1e3);
const spanUs = 2_500_000; // the recording lasts 2.4 s: one copy every 2.5 s of capture time
const w = new PcapWriter();
const dir = mkdtempSync(join(tmpdir(), 'vxi-bench-live-'));
const files = { underlay: join(dir, 'kvm1-eth1.pcap'), overlay: join(dir, 'kvm1-vxlan_bridge.pcap') };
for (const f of Object.values(files)) writeFileSync(f, w.header());

/** Copy k of a side's packets, shifted by k × spanUs, as pcap records. */
function copy(side, k) {
  const parts = [];
  for (const r of src[side]) {
    const us = r.tsSec * 1e6 + r.tsNsec / 1e3 - t0 + k * spanUs + 1_800_000_000_000_000;
    parts.push(w.record({ tsSec: Math.floor(us / 1e6), tsNsec: Math.round(us % 1e6) * 1000, data: r.data, len: r.len }));
  }
  return Buffer.concat(parts);
}

const store = await CaptureStore.open(undefined, {});
const u = await store.follow({ path: files.underlay, name: 'kvm1-eth1.pcap', node: 'kvm1', role: 'underlay', iface: 'eth1' }, 5);
const o = await store.follow(
  { path: files.overlay, name: 'kvm1-vxlan_bridge.pcap', node: 'kvm1', role: 'overlay', iface: 'vxlan_bridge' },
  5,
);
const perCopy = { underlay: src.underlay.length, overlay: src.overlay.length };
const copiesPerSecond = rate / 2.5;

const rows = [];
let copies = 0;
let owed = 0;
for (let m = 0; m < minutes; m++) {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let s = 0; s < 60; s++) {
    owed += copiesPerSecond;
    while (owed >= 1) {
      appendFileSync(files.underlay, copy('underlay', copies));
      appendFileSync(files.overlay, copy('overlay', copies));
      copies += 1;
      owed -= 1;
    }
    // the server reads what was appended (its poll), then the page asks for the figures
    const want = copies * perCopy.underlay;
    const wantO = copies * perCopy.overlay;
    const deadline = Date.now() + 30_000;
    while ((u.index.count < want || o.index.count < wantO) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    await store.analyze('kvm1');
  }
  const cpu = process.cpuUsage(cpu0);
  rows.push({
    minute: m + 1,
    packets: u.index.count + o.index.count,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: Math.round(performance.now() - wall0),
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
  if (!json) {
    const r = rows[rows.length - 1];
    console.log(
      `minute ${String(r.minute).padStart(3)}  ${String(r.packets).padStart(9)} packets so far  CPU ${String(r.cpuMs).padStart(6)} ms  RSS ${r.rssMb} MB`,
    );
  }
}
await store.settle(u.id);
await store.settle(o.id);
const a = store.node('kvm1').analysis;
const first = rows.slice(0, 3).reduce((x, r) => x + r.cpuMs, 0) / Math.min(3, rows.length);
const last = rows.slice(-3).reduce((x, r) => x + r.cpuMs, 0) / Math.min(3, rows.length);
const summary = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  load: loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
  minutes,
  packetsPerSecondPerSide: Math.round(copiesPerSecond * perCopy.underlay),
  totalPackets: rows.at(-1)?.packets ?? 0,
  cpuMsFirstMinutes: Math.round(first),
  cpuMsLastMinutes: Math.round(last),
  growth: first ? Math.round((last / first) * 100) / 100 : null,
  matched: a?.matched ?? 0,
  rows,
};
store.close();
rmSync(dir, { recursive: true, force: true });
if (json) console.log(JSON.stringify(summary));
else
  console.log(
    `\n${minutes} simulated minutes, ${summary.totalPackets} packets ` +
      `(${summary.packetsPerSecondPerSide}/s a side), ${summary.matched} matched: ` +
      `CPU per minute ${summary.cpuMsFirstMinutes} ms at the start, ${summary.cpuMsLastMinutes} ms at the ` +
      `end (× ${summary.growth}); ${summary.date}, load ${summary.load}, ${summary.cpus} CPUs`,
  );
