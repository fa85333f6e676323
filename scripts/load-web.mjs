// The web server under load, from another process on loopback.
//
// 1. Writes a capture pair of N packets each (default 1,000,000): kvm1-eth1.pcap (VXLAN VNI 10,
//    ICMP inside) and kvm1-vxlan_bridge.pcap (the same inner frames), with PcapWriter.
// 2. Starts `vxlan-inspect serve DIR --port 0` as a child process on 127.0.0.1 and waits for it
//    to index both files; one first request makes it correlate them (timed apart: "warm-up").
// 3. Runs the load: C concurrent clients (default 50) for D seconds (default 20), each asking
//    `GET /api/captures/:id/packets?offset=RANDOM&limit=100` of either capture, every 10th
//    request with `filter=vni=10` (the filtered list is cached per capture). With wrk
//    (/usr/bin/wrk, Debian's package; a Lua script picks the pages) or, with --generator node
//    or when wrk is missing, a Node client in a separate process (fetch, keep-alive).
// 4. Prints requests/s, p50/p99/max latency, errors, and the server's memory: VmRSS after the
//    warm-up and its peak (VmHWM) at the end, from /proc/PID/status; the server's CPU seconds
//    under load (/proc/PID/stat) and the load average.
// Before the load (unless --no-index / --no-paint, or --max-p99-ms: the CI gate times the load alone):
//  - indexing: the store opened in a fresh process (the server's own CaptureStore.open: one pass,
//    index and analysis) on the 1M underlay capture alone, then on the pair: wall and CPU
//    seconds, peak RSS (VmHWM);
//  - first paint: chromium (playwright-core, /usr/bin/chromium) opens the page of the fresh
//    server: the browser's first contentful paint, and the overview drawn (cards and charts:
//    the client's data-ready mark), both from the start of navigation.
//
// Usage: node scripts/load-web.mjs [--packets N] [--clients C] [--duration SEC] [--threads T]
//          [--generator wrk|node] [--json] [--write-doc] [--max-p99-ms MS] [--no-index]
//          [--no-paint] [--profile DIR]
// --profile DIR: the server runs with --cpu-prof, its profile written into DIR when it stops.
// --write-doc puts the table, with machine and date, into docs/load.md (between its
// <!-- load-web --> markers). --max-p99-ms makes it exit 1 when p99 is above MS or any request
// failed (the vitest test uses this). Needs `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, replaceDocSection } from './doc-figures.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

// ---- indexing, timed in a process of its own: the store the server opens ----
if (args[0] === '--index-worker') {
  const { CaptureStore, sessionFromDir } = await import(join(root, 'dist', 'web', 'index.js'));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const store = await CaptureStore.open(sessionFromDir(args[1]));
  const wallSec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const packets = store.captures().reduce((a, c) => a + c.index.count, 0);
  const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
  process.stdout.write(
    JSON.stringify({
      wallSec,
      cpuSec: (cpu.user + cpu.system) / 1e6,
      packets,
      captures: store.captures().length,
      problems: store.problems,
      hwmMiB: hwm,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    }),
  );
  process.exit(0);
}

// ---- the Node load generator (this same file, in its own process) ----
if (args[0] === '--worker') {
  const cfg = JSON.parse(args[1]);
  await worker(cfg);
  process.exit(0);
}

const packets = Number(opt('--packets', '1000000'));
const clients = Number(opt('--clients', '50'));
const duration = Number(opt('--duration', '20'));
const threads = Number(opt('--threads', '2'));
const asJson = args.includes('--json');
const writeDoc = args.includes('--write-doc');
const maxP99 = opt('--max-p99-ms') === undefined ? undefined : Number(opt('--max-p99-ms'));
// the CI gate (--max-p99-ms) checks the load alone: indexing and first paint are for the benchmark
const timeIndex = !args.includes('--no-index') && maxP99 === undefined;
const timePaint = !args.includes('--no-paint') && maxP99 === undefined;
const profileDir = opt('--profile');
const WRK = '/usr/bin/wrk';
const generator = opt('--generator', existsSync(WRK) ? 'wrk' : 'node');
const BIN = join(root, 'dist', 'cli', 'bin.js');
if (!existsSync(BIN)) fail(`${BIN} is missing: run \`npm run build\` first`);

const log = (s) => {
  if (!asJson) process.stderr.write(`${s}\n`);
};
function replaceSection(name, text) {
  const problem = replaceDocSection(join(root, 'docs', 'load.md'), name, text);
  if (problem) fail(problem);
}
function fail(msg) {
  process.stderr.write(`load-web: ${msg}\n`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'vxi-load-'));
let server;
const cleanup = () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- 1. the capture pair ----
const { PcapWriter } = await import(join(root, 'dist', 'decode', 'file', 'writer.js'));
const { ethernet, icmpEcho, ipv4, vxlanPacket } = await import(join(root, 'dist', 'synth', 'frames.js'));

/** N records of `data` (inner frame at `innerAt`), each with its own ICMP id/seq; ts in µs steps. */
function writePcap(file, data, innerAt, tsShiftUs) {
  const w = new PcapWriter();
  const fd = openSync(file, 'w');
  writeSync(fd, w.header());
  const rec = 16 + data.length;
  const per = 10_000;
  const batch = Buffer.alloc(rec * per);
  const icmp = innerAt + 14 + 20;
  for (let i = 0; i < packets; i += per) {
    const n = Math.min(per, packets - i);
    for (let k = 0; k < n; k++) {
      const j = i + k;
      const at = k * rec;
      batch.writeUInt32LE(1_764_140_000 + Math.floor(j / per), at);
      batch.writeUInt32LE((j % per) * 100 + tsShiftUs, at + 4);
      batch.writeUInt32LE(data.length, at + 8);
      batch.writeUInt32LE(data.length, at + 12);
      batch.set(data, at + 16);
      batch.writeUInt16BE((j >>> 16) & 0xffff, at + 16 + icmp + 4); // ICMP id
      batch.writeUInt16BE(j & 0xffff, at + 16 + icmp + 6); // ICMP sequence
    }
    writeSync(fd, batch, 0, n * rec);
  }
  closeSync(fd);
}

let t = Date.now();
const inner = ethernet(
  '52:54:00:aa:00:12',
  '52:54:00:aa:00:11',
  0x0800,
  ipv4({ src: '10.220.220.5', dst: '10.220.220.6', proto: 1 }, icmpEcho(8, 0, 0, new Uint8Array(56))),
);
const outer = vxlanPacket(inner, { vni: 10 });
writePcap(join(dir, 'kvm1-vxlan_bridge.pcap'), inner, 0, 10);
writePcap(join(dir, 'kvm1-eth1.pcap'), outer, outer.length - inner.length, 30);
const writeSec = (Date.now() - t) / 1000;
log(`load-web: wrote 2 × ${packets.toLocaleString('en')} packets in ${writeSec.toFixed(1)} s (${dir})`);

// ---- indexing: the underlay alone, then the pair, each in a fresh process ----
const indexing = {};
if (timeIndex) {
  const alone = join(dir, 'alone');
  mkdirSync(alone);
  linkSync(join(dir, 'kvm1-eth1.pcap'), join(alone, 'kvm1-eth1.pcap'));
  for (const [label, d] of [
    ['one', alone],
    ['pair', dir],
  ]) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--index-worker', d], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) fail(`indexing ${d} failed: ${r.stderr}`);
    indexing[label] = JSON.parse(r.stdout);
    const x = indexing[label];
    log(
      `load-web: indexed ${x.packets.toLocaleString('en')} packets (${x.captures} capture(s)) ` +
        `in ${x.wallSec.toFixed(2)} s, ${x.cpuSec.toFixed(2)} CPU s, peak RSS ${x.hwmMiB.toFixed(0)} MiB`,
    );
  }
  rmSync(alone, { recursive: true, force: true });
}

// ---- 2. the server ----
t = Date.now();
const nodeFlags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
server = spawn(process.execPath, [...nodeFlags, BIN, 'serve', dir, '--port', '0', '--host', '127.0.0.1'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverOut = '';
server.stdout.setEncoding('utf8').on('data', (s) => (serverOut += s));
server.stderr.setEncoding('utf8').on('data', (s) => (serverOut += s));
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`the server did not start within 300 s: ${serverOut}`)), 300_000);
  const check = () => {
    const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(serverOut);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  };
  server.stdout.on('data', check);
  server.on('exit', (code) => reject(new Error(`the server exited (${code}): ${serverOut}`)));
}).catch((e) => fail(e.message));
const startSec = (Date.now() - t) / 1000;
const paint = timePaint ? await firstPaint(base) : undefined;
if (paint)
  log(`load-web: first paint ${paint.fcpMs.toFixed(0)} ms, overview drawn ${paint.overviewMs.toFixed(0)} ms after navigation (chromium)`);
// GET /api/session correlates the pair: the first one pays for it
t = Date.now();
const session = await (await fetch(`${base}api/session`)).json();
const ids = session.captures.map((c) => c.id);
if (ids.length !== 2) fail(`expected 2 captures, the server has ${ids.length}: ${serverOut}`);
for (const id of ids) {
  const r = await fetch(`${base}api/captures/${id}/packets?offset=0&limit=100`);
  if (!r.ok) fail(`warm-up request failed: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}
const warmSec = (Date.now() - t) / 1000;
const mem = () => {
  const s = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
};
const before = mem();
log(
  `load-web: server up in ${startSec.toFixed(1)} s (indexing), ` +
    `first /api/session in ${warmSec.toFixed(1)} s (correlation); RSS ${before.rssMiB.toFixed(0)} MiB`,
);

// ---- 3. the load ----
const loadBefore = loadavg()[0];
/** The server's CPU seconds so far (utime + stime of /proc/PID/stat). */
const cpuSec = () => {
  const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // clock ticks: 100 per second on Linux
};
const cpuBefore = cpuSec();
const paths = { ids, packets, filterEvery: 10, filter: 'vni=10' };
log(`load-web: ${clients} clients for ${duration} s with ${generator}…`);
let peakRss = before.rssMiB;
const loadStart = Date.now();
/** Peak RSS in each quarter of the run: flat when memory is bounded, rising when it leaks. */
const quarters = [0, 0, 0, 0];
const sampler = setInterval(() => {
  try {
    const rss = mem().rssMiB;
    peakRss = Math.max(peakRss, rss);
    const q = Math.min(3, Math.floor(((Date.now() - loadStart) / 1000 / duration) * 4));
    quarters[q] = Math.max(quarters[q] ?? 0, rss);
  } catch {
    /* the server is gone: reported below */
  }
}, 200);
const result = generator === 'wrk' ? await runWrk(base, paths) : await runNode(base, paths);
clearInterval(sampler);
const after = mem();
if (server.exitCode !== null) fail(`the server died under load: ${serverOut}`);
const serverCpuSec = cpuSec() - cpuBefore;
const loadAfter = loadavg()[0];

const row = {
  date: new Date().toISOString(),
  generator,
  packets,
  captures: 2,
  clients,
  durationSec: result.durationSec,
  requests: result.requests,
  rps: result.requests / result.durationSec,
  p50ms: result.p50ms,
  p99ms: result.p99ms,
  maxms: result.maxms,
  errors: result.errors,
  errorDetail: result.errorDetail,
  startSec,
  warmSec,
  rssAfterWarmMiB: before.rssMiB,
  /** Sampled every 200 ms while the load ran. */
  peakRssUnderLoadMiB: Math.max(peakRss, after.rssMiB),
  peakRssByQuarterMiB: quarters.map((q) => Math.round(q)),
  /** The process's lifetime peak (indexing included). */
  vmHwmMiB: after.hwmMiB,
  loadAvgBefore: loadBefore,
  loadAvgAfter: loadAfter,
  /** The server's CPU seconds while the load ran. */
  serverCpuSec,
  indexing,
  paint: paint ?? null,
  machine: machineLine(),
};

// ---- 4. the report ----
const table = [
  '| packets (×2 captures) | clients | s | requests | req/s | p50 ms | p99 ms | max ms | errors | ' +
    'server RSS after warm-up | peak RSS under load | VmHWM (lifetime) | start / first session s |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  `| ${packets.toLocaleString('en')} | ${clients} | ${row.durationSec.toFixed(0)} ` +
    `| ${row.requests.toLocaleString('en')} | ${row.rps.toFixed(0)} | ${row.p50ms.toFixed(1)} ` +
    `| ${row.p99ms.toFixed(1)} | ${row.maxms.toFixed(0)} | ${row.errors} ` +
    `| ${row.rssAfterWarmMiB.toFixed(0)} MiB | ${row.peakRssUnderLoadMiB.toFixed(0)} MiB ` +
    `| ${row.vmHwmMiB.toFixed(0)} MiB | ${startSec.toFixed(1)} / ${warmSec.toFixed(1)} |`,
].join('\n');
const mib = (x) => `${x.toFixed(0)} MiB`;
const indexTable = timeIndex
  ? [
      '| captures | packets | indexed + analysed, wall s | CPU s | peak RSS (VmHWM) |',
      '|---|---:|---:|---:|---:|',
      `| 1 (the underlay) | ${indexing.one.packets.toLocaleString('en')} ` +
        `| ${indexing.one.wallSec.toFixed(2)} | ${indexing.one.cpuSec.toFixed(2)} ` +
        `| ${mib(indexing.one.hwmMiB)} |`,
      `| 2 (the pair, correlated) | ${indexing.pair.packets.toLocaleString('en')} ` +
        `| ${indexing.pair.wallSec.toFixed(2)} | ${indexing.pair.cpuSec.toFixed(2)} ` +
        `| ${mib(indexing.pair.hwmMiB)} |`,
    ].join('\n')
  : '';
const extra = [
  `server CPU under load: ${serverCpuSec.toFixed(1)} s in ${row.durationSec.toFixed(0)} s ` +
    `(${((serverCpuSec / row.durationSec) * 100).toFixed(0)} % of a core); ` +
    `load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
  paint
    ? `first paint in chromium: ${paint.fcpMs.toFixed(0)} ms (first contentful paint), overview drawn ` +
      `(cards and charts) ${paint.overviewMs.toFixed(0)} ms after navigation`
    : '',
]
  .filter(Boolean)
  .join('\n');
if (asJson) process.stdout.write(`${JSON.stringify(row)}\n`);
else
  process.stdout.write(
    `${indexTable ? `${indexTable}\n\n` : ''}${table}\n\n${extra}\npeak RSS by ` +
      `quarter: ${row.peakRssByQuarterMiB.join(', ')} MiB\n${row.machine}, ${row.date}, ` +
      `generator ${generator}${row.errors ? `; errors: ${JSON.stringify(row.errorDetail)}` : ''}\n`,
  );

if (writeDoc) {
  const section = [
    `Run: \`node scripts/load-web.mjs --packets ${packets} --clients ${clients} --duration ${duration} ` +
      `--write-doc\` (${generator}, ${row.date.slice(0, 16).replace('T', ' ')} UTC)`,
    `Machine: ${row.machine}; load average ${loadBefore.toFixed(1)} when the load ` +
      `started, ${loadAfter.toFixed(1)} at its end (other work on the machine counts)`,
    '',
    ...(indexTable ? [indexTable, ''] : []),
    table,
    '',
    extra,
    '',
    `Peak RSS in each quarter of the run: ${row.peakRssByQuarterMiB.join(', ')} MiB.`,
  ].join('\n');
  replaceSection('load-web', section);
  log('load-web: docs/load.md updated');
}

if (maxP99 !== undefined && (row.errors > 0 || row.p99ms > maxP99 || row.requests === 0)) {
  process.stderr.write(
    `load-web: FAILED: ${row.errors} errors, p99 ${row.p99ms.toFixed(1)} ms (limit ${maxP99} ms), ${row.requests} requests\n`,
  );
  process.exitCode = 1;
}
server.kill('SIGTERM');
await new Promise((r) => {
  const timer = setTimeout(() => (server.kill('SIGKILL'), r()), 5000);
  server.on('exit', () => (clearTimeout(timer), r()));
  if (server.exitCode !== null) r();
});

// ---------------------------------------------------------------------------------------------

/** Chromium opens the page: first contentful paint, and the overview drawn (the client's data-ready mark). */
async function firstPaint(url) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    log('load-web: playwright-core is missing: no first-paint measurement');
    return undefined;
  }
  const CHROMIUM = '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) {
    log(`load-web: ${CHROMIUM} is missing: no first-paint measurement`);
    return undefined;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    // the moment the client marks the page ready, not when the poll below notices it
    await page.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (document.body?.dataset.ready === '1') {
          window.vxiReadyMs = performance.now();
          obs.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120_000 });
    return await page.evaluate(() => ({
      fcpMs: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
      overviewMs: window.vxiReadyMs ?? performance.now(),
    }));
  } finally {
    await browser.close();
  }
}

function luaScript(p) {
  // wrk's Lua: each connection asks for random pages; done() prints one JSON line
  return `
local ids = { ${p.ids.map((i) => `"${i}"`).join(', ')} }
local n = ${p.packets}
local count = 0
math.randomseed(os.time())
request = function()
  count = count + 1
  local id = ids[math.random(#ids)]
  local offset = math.random(0, n - 100)
  local path = "/api/captures/" .. id .. "/packets?limit=100&offset="
  if count % ${p.filterEvery} == 0 then
    path = path .. math.random(0, math.floor(n / 2)) .. "&filter=${encodeURIComponent(p.filter)}"
  else
    path = path .. offset
  end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"p50":%d,"p99":%d,"max":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
`;
}

async function runWrk(url, p) {
  const lua = join(dir, 'pages.lua');
  writeFileSync(lua, luaScript(p));
  const child = spawn(
    WRK,
    ['-t', String(Math.min(threads, clients)), '-c', String(clients), '-d', `${duration}s`, '--timeout', '10s', '-s', lua, url],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (out += s));
  const code = await new Promise((r) => child.on('close', r));
  const m = /WRKJSON (\{.*\})/.exec(out);
  if (code !== 0 || !m) fail(`wrk failed (exit ${code}): ${out}`);
  const j = JSON.parse(m[1]);
  const errorDetail = { connect: j.connect, read: j.read, write: j.write, status: j.status, timeout: j.timeout };
  return {
    requests: j.requests,
    durationSec: j.durationUs / 1e6,
    p50ms: j.p50 / 1000,
    p99ms: j.p99 / 1000,
    maxms: j.max / 1000,
    errors: Object.values(errorDetail).reduce((a, b) => a + b, 0),
    errorDetail,
  };
}

async function runNode(url, p) {
  const cfg = { url, clients, duration, ...p };
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--worker', JSON.stringify(cfg)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  const code = await new Promise((r) => child.on('close', r));
  if (code !== 0) fail(`the Node load generator failed (exit ${code}): ${out}`);
  return JSON.parse(out);
}

/** C loops of fetch over keep-alive connections until the time is up; latencies in ms. */
async function worker(cfg) {
  const lat = [];
  const errorDetail = { status: 0, network: 0 };
  const end = Date.now() + cfg.duration * 1000;
  const t0 = Date.now();
  let count = 0;
  const rnd = (n) => Math.floor(Math.random() * n);
  const loop = async () => {
    while (Date.now() < end) {
      count++;
      const id = cfg.ids[rnd(cfg.ids.length)];
      const q =
        count % cfg.filterEvery === 0
          ? `offset=${rnd(Math.floor(cfg.packets / 2))}&filter=${encodeURIComponent(cfg.filter)}`
          : `offset=${rnd(cfg.packets - 100)}`;
      const s = performance.now();
      try {
        const r = await fetch(`${cfg.url}api/captures/${id}/packets?limit=100&${q}`);
        await r.arrayBuffer();
        if (!r.ok) errorDetail.status++;
      } catch {
        errorDetail.network++;
      }
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: cfg.clients }, loop));
  const durationSec = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
  process.stdout.write(
    JSON.stringify({
      requests: lat.length,
      durationSec,
      p50ms: pct(0.5),
      p99ms: pct(0.99),
      maxms: lat[lat.length - 1] ?? 0,
      errors: errorDetail.status + errorDetail.network,
      errorDetail,
    }),
  );
}
