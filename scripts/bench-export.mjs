// `export` at scale (issue 15: a 1M + 1M pair in under 5 s on 2 cores): makes (or reuses) one node's
// matching pair of captures from the realistic generator (src/synth/realistic.ts, fixed seed), then
// times, in one run, `stats --json` of the underlay file, `correlate --json` of the pair (the one
// analysis pass export reads its figures from) and `export --json` of the folder: wall seconds, CPU
// seconds (user + system, every thread) and peak RSS (GNU time); each command runs --runs times in
// turn after one untimed run that warms the page cache, and its best wall time is kept with that
// run's CPU and RSS. Then DuckDB counts the export's packet rows per VNI and per VTEP pair and the
// script checks they equal `stats --json` exactly (the test suite checks the same on the bundled
// recording; here it is checked at scale).
//
// The pair: node kvm1 is VTEP 192.168.100.11 of the realistic 4-VTEP overlay.
//  - kvm1-eth1.pcap (underlay): the realistic stream as kvm1's uplink sees it — the plain underlay
//    traffic (SSH, DNS, NTP, pings, ARP, IPv6) and the VXLAN packets to or from 192.168.100.11; the
//    VXLAN packets between the other VTEPs never reach it and are left out.
//  - kvm1-vxlan_bridge.pcap (bridge): the inner frame of each of those VXLAN packets, 18 µs before
//    it when kvm1 sends it (encapsulation), 13 µs after when kvm1 receives it; plus, standing in for
//    traffic between local guests that never leaves the node, the inner frame of every second VXLAN
//    packet between the other VTEPs (same sizes, protocols and flow variety), so both sides have about
//    the same count. The generator stops when the underlay has --packets packets.
// Files are kept under /tmp/vxi-export/pair-N (reused when already made; --fresh remakes them).
//
// Usage: npm run bench:export [-- --packets 1000000] [--runs 3] [--fresh] [--json] [--keep-out] [--generate-only]
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const N = Number(opt('--packets') ?? 1_000_000);
const runs = Math.max(1, Number(opt('--runs') ?? 3));
const fresh = args.includes('--fresh');
const json = args.includes('--json');
const keepOut = args.includes('--keep-out');
const generateOnly = args.includes('--generate-only');
const log = (s) => process.stderr.write(`${s}\n`);
const BASE = '/tmp/vxi-export';
const dir = join(BASE, `pair-${N}`);
const under = join(dir, 'kvm1-eth1.pcap');
const over = join(dir, 'kvm1-vxlan_bridge.pcap');
const outDir = join(BASE, `out-${N}-${process.pid}`);
const LOCAL_VTEP = [192, 168, 100, 11];
/** What the files are made of: a change here remakes them. */
const RECIPE = JSON.stringify({ N, seed: 13, v: 2, encapLeadUs: 18, decapLagUs: 13 });

/** Bytes 26..33 of an Ethernet + IPv4 VXLAN packet: outer source and destination. */
function touchesLocal(data) {
  const at = (o) => LOCAL_VTEP.every((b, i) => data[o + i] === b);
  return at(26) ? 'encap' : at(30) ? 'decap' : undefined;
}

/** The inner frame of a realistic VXLAN packet (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8). */
const innerOf = (data) => data.subarray(50);

/** Writes the pair; returns the counts. Bridge records are put in time order through a small buffer. */
async function generate() {
  mkdirSync(dir, { recursive: true });
  const { realisticFrames } = await import(join(root, 'dist', 'synth', 'realistic.js'));
  const { PcapWriter } = await import(join(root, 'dist', 'decode', 'file', 'index.js'));
  const w = new PcapWriter({ snaplen: 262144 });
  const uOut = createWriteStream(under);
  const oOut = createWriteStream(over);
  const write = async (out, batch) => {
    if (batch.length && !out.write(Buffer.concat(batch))) await once(out, 'drain');
  };
  let uBatch = [w.header()];
  let oBatch = [w.header()];
  // bridge frames waiting for their time: at most 18 µs apart from the underlay's clock
  let pending = [];
  const toUs = (fr) => fr.tsSec * 1e6 + fr.tsNsec / 1000;
  const rec = (us, data) => ({ us, data });
  const emit = (beforeUs) => {
    pending.sort((a, b) => a.us - b.us);
    let k = 0;
    for (; k < pending.length && pending[k].us < beforeUs; k++) {
      const p = pending[k];
      oBatch.push(w.record({ tsSec: Math.floor(p.us / 1e6), tsNsec: (p.us % 1e6) * 1000, data: p.data }));
    }
    pending = pending.slice(k);
  };
  let u = 0;
  let o = 0;
  let vxlan = 0;
  let others = 0;
  for (const fr of realisticFrames({ packets: 4 * N, seed: 13 })) {
    if (u >= N) break;
    const us = toUs(fr);
    const tunnelled = fr.data.length > 50 && fr.data[23] === 17 && fr.data[36] === 0x12 && fr.data[37] === 0xb5;
    if (!tunnelled) {
      uBatch.push(w.record(fr));
      u++;
    } else {
      const dir = touchesLocal(fr.data);
      if (dir) {
        uBatch.push(w.record(fr));
        u++;
        vxlan++;
        pending.push(rec(dir === 'encap' ? us - 18 : us + 13, innerOf(fr.data)));
        o++;
      } else if (others++ % 2 === 0) {
        pending.push(rec(us, innerOf(fr.data)));
        o++;
      }
    }
    if (uBatch.length >= 4096) {
      emit(us - 100);
      await write(uOut, uBatch);
      await write(oOut, oBatch);
      uBatch = [];
      oBatch = [];
    }
  }
  emit(Infinity);
  await write(uOut, uBatch);
  await write(oOut, oBatch);
  uOut.end();
  oOut.end();
  await Promise.all([once(uOut, 'finish'), once(oOut, 'finish')]);
  writeFileSync(join(dir, 'recipe.json'), RECIPE);
  return { underlay: u, bridge: o, vxlan };
}

function timed(cmd, cmdArgs) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, join(root, 'dist', 'cli', 'bin.js'), cmd, ...cmdArgs], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}): ${r.stderr.slice(-800)}`);
  const [secs, user, sys, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { secs, cpu: Math.round((user + sys) * 100) / 100, mb: Math.round(kb / 1024), stdout: r.stdout };
}

const uptime = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = uptime();
const made = !fresh && existsSync(join(dir, 'recipe.json')) && readFileSync(join(dir, 'recipe.json'), 'utf8') === RECIPE;
if (!made) {
  const g0 = performance.now();
  const c = await generate();
  log(
    `generated ${dir}: underlay ${c.underlay.toLocaleString('en-US')} packets ` +
      `(${c.vxlan.toLocaleString('en-US')} VXLAN), bridge ${c.bridge.toLocaleString('en-US')} frames, ` +
      `in ${((performance.now() - g0) / 1000).toFixed(1)} s`,
  );
} else log(`reusing ${dir}`);
const mib = (statSync(under).size + statSync(over).size) / 2 ** 20;
readFileSync(under);
readFileSync(over); // the page cache, warm
if (generateOnly) process.exit(0);

const commands = {
  stats: ['stats', ['--json', under]],
  correlate: ['correlate', ['--json', under, over]],
  export: ['export', [dir, '--out', outDir, '--json']],
};
const best = {};
try {
  for (const [, [cmd, a]] of Object.entries(commands)) timed(cmd, a); // warm-up, untimed
  for (let k = 0; k < runs; k++) {
    for (const [name, [cmd, a]] of Object.entries(commands)) {
      const r = timed(cmd, a);
      if (!best[name] || r.secs < best[name].secs) best[name] = r;
      log(`  run ${k + 1} ${name}: ${r.secs} s wall, ${r.cpu} s CPU, ${r.mb} MiB peak RSS`);
    }
  }
  // DuckDB's counts over the Parquet against stats --json of the underlay file
  const s = JSON.parse(best.stats.stdout);
  const summary = JSON.parse(best.export.stdout);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const db = await inst.connect();
  const rows = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJson();
  const pq = `'${summary.files.packets}'`;
  const byVni = Object.fromEntries(
    (
      await rows(
        'SELECT vni::VARCHAR AS vni, count(*)::INTEGER AS packets, ' +
          `sum(wire_len)::BIGINT AS bytes FROM ${pq} WHERE side = 'underlay' AND tunnel = 'vxlan' GROUP BY vni`,
      )
    ).map((r) => [r.vni, { packets: r.packets, bytes: Number(r.bytes) }]),
  );
  const pairs = (
    await rows(
      'SELECT outer_src AS src, outer_dst AS dst, vni, count(*)::INTEGER AS packets, ' +
        `sum(wire_len)::BIGINT AS bytes FROM ${pq} WHERE side = 'underlay' AND tunnel IS NOT ` +
        'NULL GROUP BY ALL',
    )
  ).map((r) => ({ src: r.src, dst: r.dst, vni: r.vni, packets: r.packets, bytes: Number(r.bytes) }));
  db.closeSync();
  inst.closeSync();
  const key = (p) => `${p.src}>${p.dst}/${p.vni}`;
  const sortPairs = (xs) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
  const sortObj = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
  const vniEqual = sortObj(byVni) === sortObj(s.vxlan.byVni);
  const pairsEqual = JSON.stringify(sortPairs(pairs)) === JSON.stringify(sortPairs(s.vtepPairs));
  const loadAfter = uptime();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const result = {
    date: new Date().toISOString(),
    machine,
    load: { before: loadBefore, after: loadAfter },
    files: { underlay: summary.nodes[0]?.underlay?.packets, bridge: summary.nodes[0]?.overlay?.packets, mib: Math.round(mib) },
    runs,
    best: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, { secs: v.secs, cpu: v.cpu, mb: v.mb }])),
    exportPhases: summary.seconds,
    packetRows: summary.packetRows,
    flowRows: summary.flowRows,
    correlation: summary.nodes[0]?.correlation,
    equalToStats: { byVni: vniEqual, vtepPairs: pairsEqual },
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const num = (x) => x.toLocaleString('en-US');
    const lines = [
      `\`npm run bench:export\`, ${result.date.slice(0, 16).replace('T', ' ')} UTC, ${machine}; ` +
        `load average ${loadBefore} before, ${loadAfter} after; best of ${runs}.`,
      `Pair: ${num(result.files.underlay)} underlay + ${num(result.files.bridge)} bridge ` +
        `packets, ${result.files.mib} MiB; ${num(result.packetRows)} packet rows, ${num(result.flowRows)} ` +
        `flow rows; matched ${num(result.correlation?.matched ?? 0)}.`,
      '',
      '| command | wall s | CPU s | peak RSS MiB | wall vs `stats --json` |',
      '|---|---:|---:|---:|---:|',
      ...Object.entries(result.best).map(
        ([k, v]) =>
          `| \`${commands[k][0]} ${k === 'export' ? 'DIR --out OUT' : k === 'stats' ? '--json UNDERLAY' : '--json UNDERLAY BRIDGE'}\` ` +
          `| ${v.secs.toFixed(2)} | ${v.cpu.toFixed(2)} | ${v.mb} ` +
          `| ${(v.secs / result.best.stats.secs).toFixed(1)}× |`,
      ),
      '',
      `export's phases (its own clock, best run): pass ${result.exportPhases.analysis} s ` +
        `(${result.exportPhases.analysisCpu} CPU s), DuckDB joins and Parquet ${result.exportPhases.parquet} ` +
        `s (${result.exportPhases.parquetCpu} CPU s).`,
      `DuckDB's counts over packets.parquet equal stats --json: per VNI ${vniEqual ? 'yes' : 'NO'}, per VTEP pair ${pairsEqual ? 'yes' : 'NO'}.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!vniEqual || !pairsEqual) process.exitCode = 1;
} finally {
  if (!keepOut) rmSync(outDir, { recursive: true, force: true });
}
