// npm run bench: makes a VXLAN capture of N packets (default 1,000,000) and times, in the same
// run and on the same file, our `stats`, `decode --json` and `decode` against `tcpdump -nn -r`
// and `tshark -T fields -e vxlan.vni` (when installed), all with output to /dev/null.
// Each command runs once untimed (warm page cache, warm disk), then `--runs` times (default 5;
// tshark, twenty times slower, once);
// the best wall-clock run is kept, with its user+system CPU seconds and peak RSS (GNU time).
// Other work on the machine inflates wall-clock time; CPU seconds are the steadier figure.
// Usage: node scripts/bench.mjs [--packets N] [--runs R] [--file existing.pcap] [--keep] [--only stats,tcpdump]
// (--only: the commands whose label contains one of the words; tcpdump is the yardstick, keep it.)
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const count = Number(opt('--packets') || 0) || 1_000_000;
const runs = Math.max(1, Number(opt('--runs') || 0) || 5);
const given = opt('--file');
const keep = args.includes('--keep') || given !== undefined;
const only = opt('--only')?.split(',').filter(Boolean);
const wanted = (label) => only === undefined || only.some((w) => label.includes(w));
const { PcapWriter, readCapture } = await import(join(root, 'dist', 'decode', 'file', 'index.js'));
const { classScenario } = await import(join(root, 'dist', 'synth', 'scenario.js'));
const frames = await import(join(root, 'dist', 'synth', 'frames.js'));

const dir = join('/tmp', `vxi-bench-${process.pid}`);
const file = given ?? join(dir, `vxlan-${count}.pcap`);

async function generate() {
  mkdirSync(dir, { recursive: true });
  // The class mix (ARP, pings) plus a TCP bulk flow, all in VXLAN VNI 10 and 20, repeated.
  const sc = classScenario({ pings: 8, localPings: 0 });
  const tcp = frames.vxlanPacket(frames.ethernet('36:0f:4a:00:00:06', '36:0f:4a:00:00:05', 0x0800, frames.ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 6 }, frames.tcp({ srcPort: 40000, dstPort: 5201, flags: 0x18, seq: 1 }, new Uint8Array(1398)))), { vni: 20 });
  const templates = [...sc.underlay.map((f) => f.data), tcp, tcp];
  const w = new PcapWriter({ snaplen: 262144 });
  const out = createWriteStream(file);
  out.write(w.header());
  let batch = [];
  for (let i = 0; i < count; i++) {
    const data = templates[i % templates.length];
    batch.push(w.record({ tsSec: 1_764_140_000 + Math.floor(i / 100_000), tsNsec: (i % 100_000) * 10_000, data }));
    if (batch.length === 4096) {
      if (!out.write(Buffer.concat(batch))) await new Promise((r) => out.once('drain', r));
      batch = [];
    }
  }
  out.write(Buffer.concat(batch));
  await new Promise((r) => out.end(r));
}

function have(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function once(label, argv) {
  const cmd = `${argv.map((a) => `'${a}'`).join(' ')} > /dev/null`;
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const lastLine = r.stderr.trim().split('\n').at(-1) ?? '';
  const [secs, user, sys, kb] = lastLine.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return { label, secs, cpu: user + sys, user, mb: kb / 1024 };
}

/** One warm-up run, then the best of `runs` (by wall clock); peak RSS is the largest seen. */
function time(label, argv, times = runs) {
  if (!wanted(label)) return undefined;
  once(label, argv);
  let best;
  let mb = 0;
  for (let i = 0; i < times; i++) {
    const r = once(label, argv);
    mb = Math.max(mb, r.mb);
    if (!best || r.secs < best.secs) best = r;
  }
  process.stderr.write(`  ${label}: ${best.secs.toFixed(2)} s\n`);
  return { ...best, mb };
}

if (given === undefined) {
  console.log(`generating ${count.toLocaleString('en-US')} VXLAN packets…`);
  await generate();
  spawnSync('sync'); // the new file's pages written back now, not during the first timings
}
let packets = 0;
await readCapture(file, () => void packets++);
const size = statSync(file).size;
const c = cpus();
console.log(`${new Date().toISOString()}  ${c.length} cores (${c[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg()[0].toFixed(2)}`);
console.log(`${file}: ${packets.toLocaleString('en-US')} packets, ${(size / 1e6).toFixed(1)} MB; each command: 1 warm-up run, best of ${runs}, output to /dev/null`);
const bin = join(root, 'dist', 'cli', 'bin.js');
const rows = [];
rows.push(time('vxlan-inspect stats', ['node', bin, 'stats', file]));
rows.push(time('vxlan-inspect decode --json', ['node', bin, 'decode', '--json', file]));
rows.push(time('vxlan-inspect decode', ['node', bin, 'decode', file]));
if (have('tcpdump')) rows.push(time('tcpdump -nn -r', ['tcpdump', '-nn', '-r', file]));
// tshark takes ~20x longer than the rest: one timed run after the warm-up.
if (have('tshark')) rows.push(time('tshark -T fields -e vxlan.vni', ['tshark', '-n', '-r', file, '-T', 'fields', '-e', 'vxlan.vni'], 1));
const timed = rows.filter((r) => r !== undefined);
const tcpdump = timed.find((r) => r.label.startsWith('tcpdump'));
const ratio = (base, x) => `${(base / x).toFixed(2)}x ${base >= x ? 'faster' : 'slower'}`;
console.log('');
console.log(`| command | seconds | packets/s | CPU s (user+sys) | peak RSS (MB) | vs tcpdump (wall) | vs tcpdump (CPU) |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|`);
for (const r of timed) {
  const self = r === tcpdump;
  console.log(`| \`${r.label}\` | ${r.secs.toFixed(2)} | ${Math.round(packets / r.secs).toLocaleString('en-US')} | ${r.cpu.toFixed(2)} | ${r.mb.toFixed(0)} | ${self || !tcpdump ? '—' : ratio(tcpdump.secs, r.secs)} | ${self || !tcpdump ? '—' : ratio(tcpdump.cpu, r.cpu)} |`);
}
console.log(`\nload average at the end ${loadavg()[0].toFixed(2)} (other work on the machine slows every row; compare the CPU column too)`);
if (!keep) rmSync(dir, { recursive: true, force: true });
else if (given === undefined) console.log(`kept ${file}`);
