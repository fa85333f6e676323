// npm run bench: makes a VXLAN capture of N packets (default 1,000,000) and times, in the same
// run, our `stats`, `decode --json` and `decode` against `tcpdump -nn -r` and
// `tshark -T fields -e vxlan.vni` (when installed), with peak memory (GNU time's max RSS).
// Usage: node scripts/bench.mjs [--packets N] [--keep]
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const count = Number(args[args.indexOf('--packets') + 1] || 0) || 1_000_000;
const keep = args.includes('--keep');
const { PcapWriter } = await import(join(root, 'dist', 'decode', 'file', 'index.js'));
const { classScenario } = await import(join(root, 'dist', 'synth', 'scenario.js'));
const frames = await import(join(root, 'dist', 'synth', 'frames.js'));

const dir = join('/tmp', `vxi-bench-${process.pid}`);
mkdirSync(dir, { recursive: true });
const file = join(dir, `vxlan-${count}.pcap`);

async function generate() {
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

function time(label, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'sh', '-c', `${argv.map((a) => `'${a}'`).join(' ')} > /dev/null`], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const lastLine = r.stderr.trim().split('\n').at(-1) ?? '';
  const [secs, kb] = lastLine.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return { label, secs, mb: kb / 1024 };
}

console.log(`generating ${count.toLocaleString('en-US')} VXLAN packets…`);
await generate();
const size = statSync(file).size;
console.log(`${file}: ${(size / 1e6).toFixed(1)} MB; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
const bin = join(root, 'dist', 'cli', 'bin.js');
const rows = [];
rows.push(time('vxlan-inspect stats', ['node', bin, 'stats', file]));
rows.push(time('vxlan-inspect decode --json', ['node', bin, 'decode', '--json', file]));
rows.push(time('vxlan-inspect decode', ['node', bin, 'decode', file]));
if (have('tcpdump')) rows.push(time('tcpdump -nn -r', ['tcpdump', '-nn', '-r', file]));
if (have('tshark')) rows.push(time('tshark -T fields -e vxlan.vni', ['tshark', '-n', '-r', file, '-T', 'fields', '-e', 'vxlan.vni']));
const tcpdump = rows.find((r) => r.label.startsWith('tcpdump'));
console.log('');
console.log(`| command | seconds | packets/s | peak RSS (MB) | vs tcpdump -nn -r |`);
console.log(`|---|---:|---:|---:|---:|`);
for (const r of rows) {
  const ratio = tcpdump ? `${(tcpdump.secs / r.secs).toFixed(2)}x ${tcpdump.secs >= r.secs ? 'faster' : 'slower'}` : 'n/a';
  console.log(`| \`${r.label}\` | ${r.secs.toFixed(2)} | ${Math.round(count / r.secs).toLocaleString('en-US')} | ${r.mb.toFixed(0)} | ${r === tcpdump ? '—' : ratio} |`);
}
if (!keep) rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${file}`);
