// Peak memory of every command that reads capture files (issue 13: every command under 200 MB peak
// RSS whatever the file size), on a large capture: two nodes of the realistic overlay
// (src/synth/realistic.ts, fixed seed 13), kvm1 = VTEP 192.168.100.11 and kvm2 = VTEP
// 192.168.100.12, each with an underlay file (the plain underlay traffic and the VXLAN packets to or
// from its VTEP) and a bridge file (the inner frame of each of those, 18 µs before the packet when
// the node encapsulates it, 13 µs after when it decapsulates it; plus, standing in for traffic
// between local guests that never leaves the node, the inner frame of every second VXLAN packet
// between two other VTEPs, as bench-export does, so both sides are about as large). Generation stops
// when kvm1's underlay holds --packets packets (default 1,000,000): a 1M + 1M pair per node. The
// files are kept under /tmp/vxi-mem/pair-N and reused (--fresh remakes them).
//
// Commands, each its own process, one after the other, output to /dev/null:
//   decode, decode --json, stats --json        kvm1's underlay file
//   correlate --json, export                   kvm1's pair (a folder of kvm1's two files)
//   path --json                                both nodes (four files)
//   serve                                      kvm1's pair: indexing, then GET /api/session and one
//                                              page of each capture; peak RSS = VmHWM of the server
// Peak RSS is GNU time's "Maximum resident set size" (the largest of the process and its children:
// export's DuckDB threads are in the process) or, for serve, /proc/PID/status VmHWM. The limit is
// 200 MB (10^6 bytes × 200, as the issue says MB; MiB are given too).
//
// Usage: npm run bench:memory [-- --packets 1000000] [--only decode,stats…] [--fresh] [--json] [--keep-out]
// Needs `npm run build` first (bench:memory does it).
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { machineLine } from './doc-figures.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const N = Number(opt('--packets') ?? 1_000_000);
const only = opt('--only')?.split(',');
const fresh = args.includes('--fresh');
const asJson = args.includes('--json');
const keepOut = args.includes('--keep-out');
const LIMIT_MB = 200;
const BIN = join(root, 'dist', 'cli', 'bin.js');
const BASE = '/tmp/vxi-mem';
const dir = join(BASE, `pair-${N}`);
const kvm1Dir = join(dir, 'kvm1');
const bothDir = join(dir, 'both');
const log = (s) => process.stderr.write(`${s}\n`);
function fail(msg) {
  process.stderr.write(`bench-memory: ${msg}\n`);
  process.exit(1);
}
if (!existsSync(BIN)) fail(`${BIN} is missing: run \`npm run build\` first`);
if (!existsSync('/usr/bin/time')) fail('/usr/bin/time (GNU time) is missing: apt install time');

/** What the files are made of: a change here remakes them. */
const RECIPE = JSON.stringify({ N, seed: 13, v: 2, vteps: [11, 12], localEvery: 2, encapLeadUs: 18, decapLagUs: 13 });
const NODES = [
  { name: 'kvm1', vtep: [192, 168, 100, 11] },
  { name: 'kvm2', vtep: [192, 168, 100, 12] },
];

/** Whether `data` (Ethernet + IPv4 + UDP 4789 + VXLAN, as realistic.ts writes it) is sent ('encap') or received ('decap') by `vtep`. */
function side(data, vtep) {
  const at = (o) => vtep.every((b, i) => data[o + i] === b);
  return at(26) ? 'encap' : at(30) ? 'decap' : undefined;
}
const isVxlan = (data) =>
  data.length >= 50 && data[12] === 0x08 && data[13] === 0x00 && data[23] === 17 && ((data[36] << 8) | data[37]) === 4789;

async function generate() {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(kvm1Dir, { recursive: true });
  mkdirSync(bothDir, { recursive: true });
  const { realisticFrames } = await import(join(root, 'dist', 'synth', 'realistic.js'));
  const { PcapWriter } = await import(join(root, 'dist', 'decode', 'file', 'index.js'));
  const w = new PcapWriter({ snaplen: 262144 });
  // one writer per file; the folder of both nodes holds the files, kvm1's folder hard links to two of them
  const files = NODES.map((n) => ({
    node: n,
    elsewhere: 0,
    under: { out: createWriteStream(join(bothDir, `${n.name}-eth1.pcap`)), batch: [w.header()], n: 0 },
    over: { out: createWriteStream(join(bothDir, `${n.name}-vxlan_bridge.pcap`)), batch: [w.header()], n: 0, pending: [] },
  }));
  const flush = async (f, force) => {
    if (f.batch.length < 2048 && !force) return;
    if (!f.out.write(Buffer.concat(f.batch))) await once(f.out, 'drain');
    f.batch = [];
  };
  const record = (us, data) => w.record({ tsSec: Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000, data });
  /** Bridge frames wait for their time (up to 18 µs ahead of the underlay's clock), then go out in order. */
  const emitBridge = (over, beforeUs) => {
    over.pending.sort((a, b) => a.us - b.us);
    let k = 0;
    for (; k < over.pending.length && over.pending[k].us < beforeUs; k++) {
      over.batch.push(record(over.pending[k].us, over.pending[k].data));
      over.n++;
    }
    over.pending = over.pending.slice(k);
  };
  const kvm1 = files[0];
  for (const fr of realisticFrames({ packets: N * 4 })) {
    if (kvm1.under.n >= N) break;
    const us = fr.tsSec * 1e6 + Math.round(fr.tsNsec / 1000);
    const vx = isVxlan(fr.data);
    for (const f of files) {
      const s = vx ? side(fr.data, f.node.vtep) : undefined;
      if (vx && !s) {
        // VXLAN between two other VTEPs never reaches this node: every second one stands in for local guest traffic
        if (f.elsewhere++ % 2 === 0) f.over.pending.push({ us, data: fr.data.subarray(50) });
        continue;
      }
      f.under.batch.push(record(us, fr.data));
      f.under.n++;
      if (s) f.over.pending.push({ us: s === 'encap' ? us - 18 : us + 13, data: fr.data.subarray(50) });
      emitBridge(f.over, us - 20);
      await flush(f.under, false);
      await flush(f.over, false);
    }
  }
  for (const f of files) {
    emitBridge(f.over, Infinity);
    await flush(f.under, true);
    await flush(f.over, true);
    f.under.out.end();
    f.over.out.end();
    await Promise.all([once(f.under.out, 'finish'), once(f.over.out, 'finish')]);
  }
  for (const name of ['kvm1-eth1.pcap', 'kvm1-vxlan_bridge.pcap']) {
    const r = spawnSync('ln', [join(bothDir, name), join(kvm1Dir, name)]);
    if (r.status !== 0) fail(`ln ${name}: ${r.stderr}`);
  }
  const counts = Object.fromEntries(
    files.flatMap((f) => [
      [`${f.node.name}-eth1.pcap`, f.under.n],
      [`${f.node.name}-vxlan_bridge.pcap`, f.over.n],
    ]),
  );
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify({ recipe: JSON.parse(RECIPE), counts }, null, 1));
  return counts;
}

let counts;
const recipeFile = join(dir, 'recipe.json');
if (!fresh && existsSync(recipeFile) && JSON.stringify(JSON.parse(readFileSync(recipeFile, 'utf8')).recipe) === RECIPE) {
  counts = JSON.parse(readFileSync(recipeFile, 'utf8')).counts;
  log(`bench-memory: reusing ${dir}`);
} else {
  log(`bench-memory: generating ${dir} (${N.toLocaleString('en')} packets on kvm1's underlay)…`);
  const t0 = performance.now();
  counts = await generate();
  log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`);
}
const underlay = join(kvm1Dir, 'kvm1-eth1.pcap');
const sizeOf = (f) => statSync(f).size;

/** One command under GNU time; its peak RSS, wall and CPU seconds. */
function timed(name, argv) {
  log(`bench-memory: ${name}…`);
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, BIN, ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const grab = (re) => Number(re.exec(r.stderr)?.[1] ?? NaN);
  const maxKb = grab(/Maximum resident set size \(kbytes\): (\d+)/);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const wallSec = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const cpuSec = grab(/User time \(seconds\): ([\d.]+)/) + grab(/System time \(seconds\): ([\d.]+)/);
  const exit = grab(/Exit status: (\d+)/);
  const problem =
    exit !== 0
      ? r.stderr
          .split('\n')
          .filter((l) => !/^\t/.test(l) && l.trim())
          .slice(-3)
          .join(' / ')
      : null;
  return { name, peakBytes: maxKb * 1024, wallSec, cpuSec, exit, problem };
}

/** serve the kvm1 pair; after indexing, GET /api/session (correlation) and one page of each capture; VmHWM. */
async function serve() {
  log('bench-memory: serve…');
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve', kvm1Dir, '--port', '0', '--host', '127.0.0.1', '--no-live'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (out += s));
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  try {
    const deadline = Date.now() + 300_000;
    let base;
    while (!(base = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1])) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`serve did not start (exit ${child.exitCode}): ${out.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const indexedSec = (performance.now() - t0) / 1000;
    const afterIndex = kb(status(), 'VmHWM');
    const session = await (await fetch(`${base}api/session`)).json();
    const ids = (session.captures ?? []).map((c) => c.id);
    if (ids.length !== 2) throw new Error(`expected 2 captures, the server has ${ids.length}`);
    for (const id of ids) {
      const r = await fetch(`${base}api/captures/${id}/packets?offset=0&limit=100`);
      if (!r.ok) throw new Error(`page of ${id}: HTTP ${r.status}`);
      await r.arrayBuffer();
    }
    const s = status();
    const usage = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const cpuSec = (Number(usage[11]) + Number(usage[12])) / 100; // utime + stime, clock ticks (100/s on Linux)
    return {
      name: 'serve (index, /api/session, one page of each capture)',
      peakBytes: kb(s, 'VmHWM') * 1024,
      afterIndexBytes: afterIndex * 1024,
      wallSec: (performance.now() - t0) / 1000,
      indexedSec,
      cpuSec,
      exit: 0,
      problem: null,
    };
  } catch (err) {
    return { name: 'serve', peakBytes: NaN, wallSec: NaN, cpuSec: NaN, exit: 1, problem: err.message };
  } finally {
    child.kill('SIGINT');
    await Promise.race([once(child, 'close'), new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const exportOut = join(BASE, `export-${process.pid}`);
const commands = [
  ['decode', () => timed('decode', ['decode', underlay])],
  ['decode-json', () => timed('decode --json', ['decode', '--json', underlay])],
  ['stats', () => timed('stats --json', ['stats', '--json', underlay])],
  [
    'correlate',
    () =>
      timed('correlate --json (kvm1 pair)', [
        'correlate',
        '--json',
        join(kvm1Dir, 'kvm1-eth1.pcap'),
        join(kvm1Dir, 'kvm1-vxlan_bridge.pcap'),
      ]),
  ],
  ['path', () => timed('path --json (kvm1 + kvm2)', ['path', '--json', bothDir])],
  ['export', () => timed('export (kvm1 pair)', ['export', kvm1Dir, '--out', exportOut])],
  ['serve', serve],
];
const rows = [];
try {
  for (const [key, run] of commands) {
    if (only && !only.includes(key)) continue;
    const r = await run();
    rows.push(r);
    log(
      `  ${r.name}: peak RSS ${(r.peakBytes / 1e6).toFixed(0)} MB, ${r.wallSec.toFixed(1)} s ` +
        `wall, ${r.cpuSec.toFixed(1)} CPU s${r.problem ? `; FAILED: ${r.problem}` : ''}`,
    );
  }
} finally {
  if (!keepOut) rmSync(exportOut, { recursive: true, force: true });
}

const result = {
  date: new Date().toISOString(),
  machine: machineLine(),
  loadAvg: loadavg(),
  packets: N,
  files: Object.fromEntries(Object.keys(counts).map((f) => [f, { packets: counts[f], bytes: sizeOf(join(bothDir, f)) }])),
  limitMB: LIMIT_MB,
  rows,
};
if (asJson) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const mb = (b) => (b / 1e6).toFixed(0);
  const lines = [
    '| command | input | peak RSS MB (MiB) | vs 200 MB | wall s | CPU s |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const input = /decode|stats/.test(r.name) ? "kvm1's underlay" : /path/.test(r.name) ? 'kvm1 + kvm2, 4 files' : "kvm1's pair";
      const over = r.peakBytes / 1e6 - LIMIT_MB;
      const verdict = r.problem ? `failed: ${r.problem}` : over > 0 ? `**+${over.toFixed(0)} MB over**` : `${(-over).toFixed(0)} MB under`;
      return (
        `| \`${r.name}\` | ${input} | ${mb(r.peakBytes)} (${(r.peakBytes / 2 ** 20).toFixed(0)}) ` +
        `| ${verdict} | ${r.wallSec.toFixed(1)} | ${r.cpuSec.toFixed(1)} |`
      );
    }),
  ];
  const files = Object.entries(result.files)
    .map(([f, v]) => `${f} ${v.packets.toLocaleString('en')} packets, ${(v.bytes / 1e6).toFixed(0)} MB`)
    .join('; ');
  process.stdout.write(
    `${lines.join('\n')}\n\nFiles: ${files}.\n${result.machine}; ` +
      `load average ${result.loadAvg.map((x) => x.toFixed(1)).join(' ')} at the end; ${result.date}\n`,
  );
}
if (rows.some((r) => r.problem)) process.exitCode = 1;
