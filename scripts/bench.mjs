// npm run bench: times `stats`, `decode --json` and `decode` against `tcpdump -nn -r`, `tshark`
// and a bare record walk in Node, in the same run, on two captures of N packets (default 1,000,000):
//  - friendly: the class's ARP and pings plus a TCP bulk flow (VNIs 10 and 20), repeated, so
//    every table stays tiny;
//  - realistic: src/synth/realistic.ts (fixed seed): 4 VTEPs, 64 inner MACs, tens of thousands
//    of inner flows (TCP, UDP, ICMP, ARP, 802.1Q-tagged and IPv6 inner frames, 60–1434 bytes),
//    20 % plain underlay traffic.
// The bare walk (`node scripts/bench.mjs --walk FILE`) reads every record into one reused buffer
// and takes the VNI and the inner IP addresses of each VXLAN packet, allocating nothing per packet:
// what reading the file costs in Node, the floor for any command of ours.
//
// Honesty: every command's output goes to /dev/null; each file is read once before timing (page
// cache warm); then `--runs` rounds (default 5) run every command once in turn (interleaved, so a
// burst of load elsewhere hits them alike), and each command's best wall-clock run is kept with
// its user+system CPU seconds; peak RSS is the largest of its runs (GNU time). tshark, twenty
// times slower, runs once per file. Date, machine, tool versions and the load average before and
// after are printed; other work on the machine inflates wall times, CPU seconds are steadier.
//
// Usage: node scripts/bench.mjs [--quick] [--packets N] [--runs R] [--files friendly,realistic]
//        [--only word,word] [--no-tshark] [--fresh] [--profile]
//        node scripts/bench.mjs --ab OTHER_DIST FILE [--phases decode,json,text,stats,collect] [--rounds N] (see compareBuilds)
//   --quick      100,000 packets, 3 rounds (a smoke run; the README's table is from the full run)
//   --only       the commands whose label contains one of the words (tcpdump, the yardstick, always runs)
//   --fresh      regenerate the captures (they are cached in $TMPDIR/vxi-bench, keyed by size and generator)
//   --profile    also profile `stats --json` and `decode --json` on each file (node --cpu-prof, one thread) and print
//                their top functions by self time
import { createHash } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

if (args[0] === '--walk') {
  walk(args[1]);
  process.exit(0);
}
if (args[0] === '--ab') {
  await compareBuilds(args[1], args[2], args.slice(3));
  process.exit(0);
}

/**
 * Two builds side by side in one process (`--ab OTHER_DIST FILE [--phases decode,json,text,stats,collect] [--rounds N]`):
 * OTHER_DIST (a copy of an earlier dist/, next to a node_modules link and package.json) and this checkout's dist/,
 * each phase run over the same packets held in memory, alternately, best and median CPU ms of each. Load from
 * other work hits both alike, so a change of 10 % shows where the wall times of `npm run bench` move by 30 %.
 * Phases: decodePacket alone; decodePacket + the JSON or text line writer; StatsCollector.addRaw; `collect`: the
 * whole of `stats` on one thread (collectStats: reading FILE from the page cache and counting, whatever way each
 * build reads it). Keep FILE small (100,000 packets) for the others: every packet stays in memory; `collect` keeps
 * none (a 1M-packet FILE is fine, and `--phases collect` does not load the others' packets).
 */
async function compareBuilds(otherDist, file, rest) {
  const restOpt = (name) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined);
  const phases = (restOpt('--phases') ?? 'decode,json,text,stats').split(',');
  const rounds = Number(restOpt('--rounds') ?? 12);
  const builds = [];
  for (const dist of [otherDist, join(root, 'dist')]) {
    const m = async (path) => import(join(dist, path));
    builds.push({
      dist,
      readCapture: (await m('decode/file/index.js')).readCapture,
      decodePacket: (await m('decode/packet.js')).decodePacket,
      createRegistry: (await m('decode/registry.js')).createRegistry,
      writePacketJson: (await m('decode/format/json.js')).writePacketJson,
      writePacketText: (await m('decode/format/text.js')).writePacketText,
      ByteWriter: (await m('decode/format/bytes.js')).ByteWriter,
      StatsCollector: (await m('stats/stats.js')).StatsCollector,
      collectStats: (await m('stats/parallel.js')).collectStats,
    });
  }
  const raws = [];
  if (phases.some((p) => p !== 'collect')) await builds[1].readCapture(file, (r) => void raws.push(r));
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let sink = 0;
  const run = async (b, phase) => {
    const opts = { registry: b.createRegistry() };
    if (phase === 'collect') sink += (await b.collectStats(file, { workers: 0 })).summary.packets;
    else if (phase === 'decode') for (let i = 0; i < raws.length; i++) sink += b.decodePacket(raws[i], i + 1, opts).layers.length;
    else if (phase === 'stats') {
      const c = new b.StatsCollector();
      for (let i = 0; i < raws.length; i++) c.addRaw(raws[i], i + 1);
      sink += c.fastPackets;
    } else {
      const write = phase === 'json' ? b.writePacketJson : b.writePacketText;
      const w = new b.ByteWriter(1 << 21);
      for (let i = 0; i < raws.length; i++) {
        write(w, b.decodePacket(raws[i], i + 1, opts));
        w.byte(10);
        if (w.pos > 1 << 20) {
          sink += w.pos;
          w.reset();
        }
      }
    }
  };
  console.log(
    `${raws.length.toLocaleString('en-US')} packets of ${file} held, ${rounds} alternating rounds, load ${loadavg()[0].toFixed(2)}`,
  );
  for (const phase of phases) {
    const times = builds.map(() => []);
    for (let r = 0; r < rounds; r++)
      for (const [i, b] of builds.entries()) {
        const t = cpuMs();
        await run(b, phase);
        times[i].push(cpuMs() - t);
      }
    builds.forEach((b, i) => {
      const t = times[i].sort((x, y) => x - y);
      console.log(`  ${phase.padEnd(6)} ${b.dist}: best ${t[0].toFixed(0)} ms, median ${t[t.length >> 1].toFixed(0)} ms`);
    });
  }
  if (sink === 0) console.log('(nothing counted: is FILE empty?)');
}

/**
 * The bare record walk: classic pcap (either byte order), Ethernet. Reads 4 MiB at a time into
 * one buffer; a record cut by the buffer's end is moved to its start. Per VXLAN packet (UDP to
 * 4789/8472) it reads the VNI and, when the inner frame is IPv4 or IPv6, the inner addresses'
 * first words, folded into a checksum printed at the end (so nothing is optimised away).
 */
function walk(file) {
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fd = openSync(file, 'r');
  let have = readSync(fd, buf, 0, buf.length, null);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (at) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  let pos = 24;
  let packets = 0;
  let vxlan = 0;
  let sum = 0;
  for (;;) {
    if (have - pos < 16 || have - pos < 16 + u32(pos + 8)) {
      buf.copyWithin(0, pos, have);
      have -= pos;
      pos = 0;
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      have += n;
      continue;
    }
    const caplen = u32(pos + 8);
    const d = pos + 16;
    pos = d + caplen;
    packets++;
    // Ethernet / IPv4 / UDP 4789 or 8472 / VXLAN / Ethernet / IPv4 or IPv6
    if (caplen < 14 + 20 + 8 + 8 + 14 || buf[d + 12] !== 0x08 || buf[d + 13] !== 0x00 || buf[d + 23] !== 17) continue;
    const u = d + 14 + (buf[d + 14] & 0x0f) * 4;
    const port = (buf[u + 2] << 8) | buf[u + 3];
    if (port !== 4789 && port !== 8472) continue;
    vxlan++;
    const vni = (buf[u + 12] << 16) | (buf[u + 13] << 8) | buf[u + 14];
    const inner = u + 16;
    const et = (buf[inner + 12] << 8) | buf[inner + 13];
    let ips = 0;
    if (et === 0x0800 && inner + 34 <= pos) ips = buf.readInt32BE(inner + 26) ^ buf.readInt32BE(inner + 30);
    else if (et === 0x86dd && inner + 54 <= pos) ips = buf.readInt32BE(inner + 22) ^ buf.readInt32BE(inner + 38);
    sum = (sum + vni + ips) | 0;
  }
  closeSync(fd);
  process.stdout.write(`${packets} packets, ${vxlan} VXLAN, checksum ${sum >>> 0}\n`);
}

const quick = args.includes('--quick');
const count = Number(opt('--packets') || 0) || (quick ? 100_000 : 1_000_000);
const runs = Math.max(1, Number(opt('--runs') || 0) || (quick ? 3 : 5));
const fileKinds = (opt('--files') ?? 'friendly,realistic').split(',').filter(Boolean);
const only = opt('--only')?.split(',').filter(Boolean);
const withTshark = !args.includes('--no-tshark');
const fresh = args.includes('--fresh');
const profile = args.includes('--profile');
const wanted = (label) => only === undefined || label.startsWith('tcpdump') || only.some((w) => label.includes(w));

const dist = join(root, 'dist');
const { PcapWriter } = await import(join(dist, 'decode', 'file', 'index.js'));
const { classScenario } = await import(join(dist, 'synth', 'scenario.js'));
const frames = await import(join(dist, 'synth', 'frames.js'));
const { writeRealisticPcap } = await import(join(dist, 'synth', 'realistic.js'));

const cacheDir = join(tmpdir(), 'vxi-bench');
mkdirSync(cacheDir, { recursive: true });

/** The generator's code, hashed: a cached capture is reused only when made by the same code. */
function generatorHash(kind) {
  const files = kind === 'friendly' ? ['scenario.js', 'frames.js'] : ['realistic.js', 'frames.js'];
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(dist, 'synth', f)));
  if (kind === 'friendly') h.update(readFileSync(fileURLToPath(import.meta.url)));
  return h.digest('hex').slice(0, 10);
}

async function writeFriendly(path) {
  // The class mix (ARP, pings) plus a TCP bulk flow, all in VXLAN VNI 10 and 20, repeated.
  const sc = classScenario({ pings: 8, localPings: 0 });
  const tcp = frames.vxlanPacket(
    frames.ethernet(
      '36:0f:4a:00:00:06',
      '36:0f:4a:00:00:05',
      0x0800,
      frames.ipv4(
        { src: '10.220.220.5', dst: '10.220.220.6', proto: 6 },
        frames.tcp({ srcPort: 40000, dstPort: 5201, flags: 0x18, seq: 1 }, new Uint8Array(1398)),
      ),
    ),
    { vni: 20 },
  );
  const templates = [...sc.underlay.map((f) => f.data), tcp, tcp];
  const w = new PcapWriter({ snaplen: 262144 });
  const out = createWriteStream(path);
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

async function capture(kind) {
  const path = join(cacheDir, `${kind}-${count}-${generatorHash(kind)}.pcap`);
  if (fresh || !existsSync(path)) {
    for (const old of readdirSync(cacheDir)) if (old.startsWith(`${kind}-${count}-`)) rmSync(join(cacheDir, old), { force: true });
    process.stderr.write(`generating the ${kind} capture (${count.toLocaleString('en-US')} packets)…\n`);
    const tmp = `${path}.part`;
    if (kind === 'friendly') await writeFriendly(tmp);
    else await writeRealisticPcap(tmp, { packets: count });
    renameSync(tmp, path);
    spawnSync('sync'); // the new file's pages written back now, not during the timings
  } else process.stderr.write(`reusing ${path}\n`);
  return path;
}

function have(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function version(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? '';
}

function once(label, argv, env = {}) {
  const cmd = `${argv.map((a) => `'${a}'`).join(' ')} > /dev/null`;
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', cmd], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, ...env },
  });
  const lastLine = r.stderr.trim().split('\n').at(-1) ?? '';
  const [secs, user, sys, kb] = lastLine.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return { secs, cpu: user + sys, mb: kb / 1024 };
}

const bin = join(root, 'dist', 'cli', 'bin.js');
const self = fileURLToPath(import.meta.url);

function commands(file) {
  const list = [
    { label: 'bare record walk (node)', argv: ['node', self, '--walk', file] },
    { label: 'vxlan-inspect stats --json', argv: ['node', bin, 'stats', '--json', file] },
    { label: 'vxlan-inspect decode --json', argv: ['node', bin, 'decode', '--json', file] },
    { label: 'vxlan-inspect decode', argv: ['node', bin, 'decode', file] },
  ];
  if (have('tcpdump')) list.push({ label: 'tcpdump -nn -r', argv: ['tcpdump', '-nn', '-r', file] });
  return list.filter((c) => wanted(c.label));
}

const c = cpus();
const started = new Date();
const loadBefore = loadavg();
console.log(
  `npm run bench, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${c.length} ` +
    `× ${c[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `node ${process.version}, ${have('tcpdump') ? version(['tcpdump', '--version']) : 'no tcpdump'}, ` +
    `${have('tshark') ? version(['tshark', '--version']).replace(/ \(Git.*$/, '') : 'no tshark'}`,
);
console.log(
  `load average before: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; each command: ` +
    `output to /dev/null, page cache warm, best of ${runs} interleaved ` +
    `rounds${withTshark ? ' (tshark: one run)' : ''}`,
);

const tables = [];
for (const kind of fileKinds) {
  const file = await capture(kind);
  const size = statSync(file).size;
  const list = commands(file);
  // Warm the page cache (and count the packets) with the walk itself.
  const warm = spawnSync('node', [self, '--walk', file], { encoding: 'utf8' }).stdout.trim();
  const packets = Number(warm.split(' ')[0]);
  process.stderr.write(`${kind}: ${warm}\n`);
  const best = new Map();
  for (let r = 0; r < runs; r++) {
    for (const cmd of list) {
      const t = once(cmd.label, cmd.argv);
      const b = best.get(cmd.label);
      if (!b) best.set(cmd.label, { ...t });
      else {
        b.mb = Math.max(b.mb, t.mb);
        if (t.secs < b.secs) Object.assign(b, { secs: t.secs, cpu: t.cpu });
      }
    }
    process.stderr.write(`  ${kind}: round ${r + 1}/${runs} done\n`);
  }
  const rows = list.map((cmd) => ({ label: cmd.label, ...best.get(cmd.label) }));
  if (withTshark && have('tshark') && only === undefined) {
    rows.push({
      label: 'tshark -n -r -T fields -e vxlan.vni (one run)',
      ...once('tshark', ['tshark', '-n', '-r', file, '-T', 'fields', '-e', 'vxlan.vni']),
    });
  }
  tables.push({ kind, file, size, packets, rows });
  if (profile) {
    for (const command of [
      ['stats', '--json'],
      ['decode', '--json'],
    ]) {
      const dir = join(cacheDir, `profile-${kind}-${command[0]}-${process.pid}`);
      spawnSync('node', ['--cpu-prof', `--cpu-prof-dir=${dir}`, bin, ...command, file], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, VXI_THREADS: '0' },
      });
      printProfile(kind, command.join(' '), dir);
    }
  }
}

const loadAfter = loadavg();
const ratio = (base, x) => (base >= x ? `${(base / x).toFixed(2)}× faster` : `${(x / base).toFixed(2)}× slower`);
for (const t of tables) {
  const tcpdump = t.rows.find((r) => r.label.startsWith('tcpdump'));
  const walkRow = t.rows.find((r) => r.label.startsWith('bare'));
  console.log('');
  console.log(`**${t.kind}** (${t.file.split('/').at(-1)}): ${t.packets.toLocaleString('en-US')} packets, ${(t.size / 1e6).toFixed(1)} MB`);
  console.log('');
  console.log('| command | wall s | CPU s (user+sys) | peak RSS MB | packets/s | vs `tcpdump -nn -r` (wall) | vs bare walk (wall) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of t.rows) {
    const vsTcpdump = !tcpdump || r === tcpdump ? '—' : ratio(tcpdump.secs, r.secs);
    const vsWalk = !walkRow || r === walkRow ? '—' : `${(r.secs / walkRow.secs).toFixed(2)}×`;
    console.log(
      `| \`${r.label}\` | ${r.secs.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.mb.toFixed(0)} ` +
        `| ${Math.round(t.packets / r.secs).toLocaleString('en-US')} | ${vsTcpdump} | ${vsWalk} |`,
    );
  }
  const stats = t.rows.find((r) => r.label.includes('stats'));
  const json = t.rows.find((r) => r.label.includes('decode --json'));
  const text = t.rows.find((r) => r.label === 'vxlan-inspect decode');
  const verdicts = [];
  const check = (what, ok) => verdicts.push(`${what}: ${ok ? 'met' : 'NOT met'}`);
  if (stats && tcpdump)
    check(`stats ≥ 5× faster than tcpdump (${(tcpdump.secs / stats.secs).toFixed(2)}×)`, tcpdump.secs / stats.secs >= 5);
  if (stats && walkRow)
    check(`stats within 3× of the bare walk (${(stats.secs / walkRow.secs).toFixed(2)}×)`, stats.secs / walkRow.secs <= 3);
  if (json && tcpdump)
    check(`decode --json ≥ 2× faster than tcpdump (${(tcpdump.secs / json.secs).toFixed(2)}×)`, tcpdump.secs / json.secs >= 2);
  if (text && tcpdump) check(`decode ≥ 3× faster than tcpdump (${(tcpdump.secs / text.secs).toFixed(2)}×)`, tcpdump.secs / text.secs >= 3);
  if (verdicts.length) console.log(`\ntargets (wall clock): ${verdicts.join('; ')}`);
}
console.log(
  `\nload average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (${Math.round((Date.now() - started.getTime()) / 1000)} s in all)`,
);

function printProfile(kind, command, dir) {
  const f = readdirSync(dir).find((n) => n.endsWith('.cpuprofile'));
  if (!f) return;
  const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfTime = new Map();
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const where = n.callFrame.url ? `${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    selfTime.set(key, (selfTime.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
  console.log(`\nCPU profile of \`${command}\` on the ${kind} capture, one thread (${dir}), self time:`);
  for (const [k, us] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`  ${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  rmSync(dir, { recursive: true, force: true });
}
