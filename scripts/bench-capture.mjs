// Capture of a fast stream: a provisioned namespace lab, iperf3 at its top rate from vm1 to vm2
// (server in vm2's namespace, client in vm1's, so every byte crosses kvm1's vxlan_bridge and
// eth1 as VXLAN), and `vxlan-inspect capture kvm1 --duration 10s` from the frontend namespace.
// Reports, per stream, the packets and bytes the tool wrote per second over its capture window,
// and tcpdump's own counters (captured, received by filter, dropped by kernel); and iperf3's
// rate alone and while captured. The lab is torn down at the end, also on failure.
//
// Root only (namespaces). Network safety: iperf3 and the CLI run inside the lab's namespaces
// (`ip netns exec PREFIX…`), checked to exist first; nothing is sent from this namespace.
// Usage: node scripts/bench-capture.mjs [--duration SEC] [--json] [--write-doc]
// --write-doc puts the table into docs/load.md (between its <!-- bench-capture --> markers).
// Needs `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, replaceDocSection } from './doc-figures.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const duration = Number(opt('--duration', '10'));
const asJson = args.includes('--json');
const writeDoc = args.includes('--write-doc');
const BIN = join(root, 'dist', 'cli', 'bin.js');
const log = (s) => {
  if (!asJson) process.stderr.write(`${s}\n`);
};
function replaceSection(name, text) {
  const problem = replaceDocSection(join(root, 'docs', 'load.md'), name, text);
  if (problem) fail(problem);
}
function fail(msg) {
  process.stderr.write(`bench-capture: ${msg}\n`);
  process.exitCode = 1;
  throw new Error(msg);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('bench-capture: needs root (it builds network namespaces)\n');
  process.exit(2);
}
if (!existsSync(BIN)) {
  process.stderr.write(`bench-capture: ${BIN} is missing: run \`npm run build\` first\n`);
  process.exit(2);
}
for (const tool of ['iperf3', 'tcpdump', 'ip']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    process.stderr.write(`bench-capture: ${tool} is not installed (apt install ${tool === 'ip' ? 'iproute2' : tool})\n`);
    process.exit(2);
  }
}

const { labUp, labDown } = await import(join(root, 'dist', 'lab', 'index.js'));
const prefix = `vxb${randomBytes(2).toString('hex').slice(0, 3)}-`;
const work = mkdtempSync(join(tmpdir(), 'vxi-bench-capture-'));
const ns = (role) => `${prefix}${role}`;
const VM2 = '10.220.220.6';

function namespaces() {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}
/** A process inside a lab namespace (refused unless the namespace exists). */
function inNs(role, argv) {
  const name = ns(role);
  if (!namespaces().includes(name)) fail(`namespace ${name} does not exist: refusing to send anything`);
  const child = spawn('ip', ['netns', 'exec', name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return { child, done, out: () => out, err: () => err };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, ms) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
function tcpdumpsIn(role) {
  const pids = spawnSync('ip', ['netns', 'pids', ns(role)], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'tcpdump';
    } catch {
      return false;
    }
  });
}

/** iperf3 vm1 → vm2 for `sec` seconds; resolves with its JSON result. */
async function iperf(sec) {
  const server = inNs('vm2', ['iperf3', '-s', '-1', '-B', VM2]);
  // iperf3 does not flush "Server listening" into a pipe: look for its socket instead
  const listening = () => spawnSync('ip', ['netns', 'exec', ns('vm2'), 'ss', '-Hltn', 'sport = :5201'], { encoding: 'utf8' }).stdout.trim() !== '';
  await waitFor('the iperf3 server', () => listening() || server.child.exitCode !== null, 10_000);
  if (server.child.exitCode !== null) fail(`iperf3 -s ended: ${server.err() || server.out()}`);
  const client = inNs('vm1', ['iperf3', '-c', VM2, '-t', String(sec), '-J']);
  const r = await client.done;
  await Promise.race([server.done, sleep(3000)]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  if (r.code !== 0) fail(`iperf3 failed (exit ${r.code}): ${r.err || r.out}`);
  const j = JSON.parse(r.out);
  return { bitsPerSec: j.end.sum_received.bits_per_second, retransmits: j.end.sum_sent.retransmits ?? null, bytes: j.end.sum_received.bytes };
}



const mb = (n) => (n / 1e6).toFixed(1);
let result;
try {
  log(`bench-capture: lab ${prefix} up (provisioned)…`);
  const h = await labUp({ prefix, dir: join(work, 'lab'), provisioned: true });

  log(`bench-capture: iperf3 vm1 → vm2 alone, ${duration} s…`);
  const alone = await iperf(duration);
  log(`  ${(alone.bitsPerSec / 1e9).toFixed(2)} Gbit/s`);

  /** `capture kvm1 --duration D` (plus `extra`) while iperf3 runs; per-stream figures. */
  async function capturedRun(tag, extra) {
    log(`bench-capture: the same while \`capture kvm1 --duration ${duration}s${extra.length ? ` ${extra.join(' ')}` : ''}\` runs…`);
    const out = join(work, `capture-${tag}`);
    const cap = inNs('frontend', [process.execPath, BIN, 'capture', 'kvm1', '--inventory', h.inventoryPath, '--out', out, '--duration', `${duration}s`, '--json', ...extra]);
    // iperf3 starts once both tcpdumps listen, and runs a second longer than the capture
    await waitFor('both tcpdumps on kvm1', () => tcpdumpsIn('kvm1').length === 2 || cap.child.exitCode !== null, 30_000);
    await sleep(300);
    const iperfRun = await iperf(duration + 1);
    const c = await cap.done;
    if (!c.out.trim()) fail(`capture printed no summary (exit ${c.code}): ${c.err}`);
    const summary = JSON.parse(c.out);
    const streams = summary.nodes.flatMap((n) => n.streams).map((s) => {
      const windowSec = (Date.parse(s.stopRequestedAt ?? s.stoppedAt) - Date.parse(s.listeningAt ?? s.startedAt)) / 1000;
      return {
        stream: `${s.node} ${s.iface}${extra.length ? ` (${extra.join(' ')})` : ''}`,
        end: s.end,
        packets: s.packets,
        bytes: s.bytes,
        fileBytes: s.fileBytes,
        windowSec,
        pps: s.packets / windowSec,
        bytesPerSec: s.bytes / windowSec,
        fileBytesPerSec: s.fileBytes / windowSec,
        captured: s.tcpdump?.captured ?? null,
        receivedByFilter: s.tcpdump?.receivedByFilter ?? null,
        droppedByKernel: s.tcpdump?.droppedByKernel ?? null,
        error: s.error ?? null,
      };
    });
    return { exit: c.code, iperf: iperfRun, streams };
  }
  const whole = await capturedRun('whole', []);
  const short = await capturedRun('snaplen', ['--snaplen', '128']);
  // the baseline: tcpdump on the node itself writing to /dev/null (no SSH, no decoding), same load
  log('bench-capture: baseline, tcpdump -w /dev/null on kvm1 itself with the same iperf3 load…');
  const local = ['eth1', 'vxlan_bridge'].map((iface) => ({ iface, p: inNs('kvm1', ['timeout', '-s', 'INT', String(duration), 'tcpdump', '-i', iface, '-n', '-w', '/dev/null']) }));
  await waitFor('both local tcpdumps', () => local.every((l) => /listening on/.test(l.p.err())), 10_000);
  const duringLocal = await iperf(duration + 1);
  const baseline = [];
  for (const l of local) {
    const e = (await l.p.done).err;
    const grab = (re) => Number(re.exec(e)?.[1] ?? NaN);
    baseline.push({ stream: `kvm1 ${l.iface} (tcpdump -w /dev/null on the node)`, captured: grab(/^(\d+) packets? captured$/m), receivedByFilter: grab(/^(\d+) packets? received by filter$/m), droppedByKernel: grab(/^(\d+) packets? dropped by kernel$/m) });
  }
  result = { baseline, iperfDuringBaseline: duringLocal, date: new Date().toISOString(), machine: machineLine({ withTcpdump: true }), loadAvg: loadavg()[0], durationSec: duration, captureExit: Math.max(whole.exit ?? 1, short.exit ?? 1), iperfAlone: alone, iperfDuring: whole.iperf, iperfDuringSnaplen: short.iperf, streams: [...whole.streams, ...short.streams] };
} finally {
  await labDown({ prefix, dir: join(work, 'lab') }).catch((e) => process.stderr.write(`bench-capture: lab down failed: ${e.message}\n`));
  rmSync(work, { recursive: true, force: true });
}

const r = result;
const rows = [
  '| stream | packets written | window s | packets/s | bytes/s (wire) | file bytes/s | tcpdump captured | received by filter | dropped by kernel | written / captured |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...r.streams.map(
    (s) =>
      `| ${s.stream} | ${s.packets.toLocaleString('en')} | ${s.windowSec.toFixed(1)} | ${Math.round(s.pps).toLocaleString('en')} | ${mb(s.bytesPerSec)} MB/s | ${mb(s.fileBytesPerSec)} MB/s | ${s.captured?.toLocaleString('en') ?? '—'} | ${s.receivedByFilter?.toLocaleString('en') ?? '—'} | ${s.droppedByKernel?.toLocaleString('en') ?? '—'} | ${s.captured ? `${((100 * s.packets) / s.captured).toFixed(1)} %` : '—'} |`,
  ),
  ...r.baseline.map(
    (b) =>
      `| ${b.stream} | — | ${duration.toFixed(1)} | ${Math.round(b.captured / duration).toLocaleString('en')} | — | — | ${b.captured.toLocaleString('en')} | ${b.receivedByFilter.toLocaleString('en')} | ${b.droppedByKernel.toLocaleString('en')} | — |`,
  ),
];
const iperfLine = `iperf3 vm1 → vm2 (TCP, one stream): ${(r.iperfAlone.bitsPerSec / 1e9).toFixed(2)} Gbit/s alone, ${(r.iperfDuring.bitsPerSec / 1e9).toFixed(2)} Gbit/s while captured (${r.iperfDuring.retransmits ?? '?'} retransmits), ${(r.iperfDuringSnaplen.bitsPerSec / 1e9).toFixed(2)} Gbit/s while captured with --snaplen 128, ${(r.iperfDuringBaseline.bitsPerSec / 1e9).toFixed(2)} Gbit/s during the baseline; capture exit ${r.captureExit}`;
const table = `${rows.join('\n')}\n\n${iperfLine}`;
if (asJson) process.stdout.write(`${JSON.stringify(r)}\n`);
else process.stdout.write(`${table}\n\n${r.machine}; load average ${r.loadAvg.toFixed(1)}; ${r.date}\n`);
if (writeDoc) {
  replaceSection(
    'bench-capture',
    [`Run: \`node scripts/bench-capture.mjs --duration ${duration} --write-doc\` (${r.date.slice(0, 16).replace('T', ' ')} UTC)`, `Machine: ${r.machine}; load average ${r.loadAvg.toFixed(1)} at the end`, '', table].join('\n'),
  );
  log('bench-capture: docs/load.md updated');
}
if (r.captureExit !== 0) process.exitCode = 1;
