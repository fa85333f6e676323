// Capture of a fast stream: a provisioned namespace lab, iperf3 at its top rate from vm1 to vm2
// (server in vm2's namespace, client in vm1's, so every byte crosses kvm1's vxlan_bridge and
// eth1 as VXLAN), and `vxlan-inspect capture kvm1 --duration 10s` from the frontend namespace.
// Reports, per stream, the packets and bytes the tool wrote per second over its capture window,
// and tcpdump's own counters (captured, received by filter, dropped by kernel); and iperf3's
// rate alone and while captured. The lab is torn down at the end, also on failure.
//
// Then the comparison with OpenSSH (issue 13), --rounds times in turn (a burst of load elsewhere
// hits them alike), eth1 alone, the same iperf3 load, the same remote `tcpdump -U -n -w - -i eth1 --
// FILTER` (the tool's own command line and self-exclusion filter, from its summary):
//  - `vxlan-inspect capture kvm1 --iface eth1`;
//  - OpenSSH's client, `ssh -i KEY -o UserKnownHostsFile=… root@NODE 'timeout -s INT D tcpdump …' > FILE`
//    with its default cipher, and again with `-c aes128-gcm@openssh.com`;
//  - the tool's SSH transport alone (src/remote/connection.ts + exec.ts, this script in
//    --transport-probe mode): the same remote command, chunks written to the file as they come, no
//    parsing: what the connection can carry, apart from the tool's pcap sink and live decoding.
// Per run: file bytes per second over the window from tcpdump's "listening on" to the end, the
// packets in the file (counted), tcpdump's counters. "lost by the tool" is tcpdump's captured count
// minus the packets in the file.
//
// Root only (namespaces). Network safety: iperf3 and the CLI run inside the lab's namespaces
// (`ip netns exec PREFIX…`), checked to exist first; nothing is sent from this namespace.
// Usage: node scripts/bench-capture.mjs [--duration SEC] [--rounds N] [--prefix vxb…-] [--json] [--write-doc]
// --write-doc puts the table into docs/load.md (between its <!-- bench-capture --> markers).
// Needs `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, replaceDocSection } from './doc-figures.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const duration = Number(opt('--duration', '10'));
const rounds = Math.max(1, Number(opt('--rounds', '2')));
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
/**
 * --transport-probe HOST KEY KNOWN_HOSTS ARGV_JSON OUT: one RemoteSession (the tool's connection
 * code), ARGV run on its own channel, stdout written to OUT as it comes; prints one JSON line.
 * Runs inside the lab's frontend namespace (the parent starts it there).
 */
if (args[0] === '--transport-probe') {
  const [, host, identityFile, knownHosts, argvJson, out] = args;
  const { RemoteSession } = await import(join(root, 'dist', 'remote', 'connection.js'));
  const session = await RemoteSession.connect(
    { name: 'kvm1', host, sshPort: 22, user: 'root', identityFile, knownHosts, sudo: false },
    { agent: false },
  );
  // which cipher ssh2 negotiated: read from its decipher object (no public API says it)
  const decipher = session.client?._protocol?._decipher?.constructor?.name ?? null;
  const proc = await session.spawn(JSON.parse(argvJson));
  const file = createWriteStream(out);
  const t0 = performance.now();
  let bytes = 0;
  let listeningMs = null;
  let stderr = '';
  proc.stdout.on('data', (d) => {
    bytes += d.length;
    file.write(d);
  });
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    if (listeningMs === null && /listening on/.test(stderr)) {
      listeningMs = performance.now() - t0;
      process.stderr.write('listening on (probe)\n');
    }
  });
  const exit = await proc.exit;
  const endMs = performance.now() - t0;
  await new Promise((r) => file.end(r));
  await session.close();
  process.stdout.write(`${JSON.stringify({ bytes, listeningMs, endMs, exit, stderr, decipher })}\n`);
  process.exit(0);
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
const prefix = opt('--prefix', `vxb${randomBytes(2).toString('hex').slice(0, 3)}-`);
const work = mkdtempSync(join(tmpdir(), 'vxi-bench-capture-'));
const ns = (role) => `${prefix}${role}`;
const VM2 = '10.220.220.6';

function namespaces() {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
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
/** Like inNs, with the process's stdout going straight to `file`. */
function inNsTo(role, argv, file) {
  const name = ns(role);
  if (!namespaces().includes(name)) fail(`namespace ${name} does not exist: refusing to send anything`);
  const fd = openSync(file, 'w');
  const child = spawn('ip', ['netns', 'exec', name, ...argv], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, err })));
  return { child, done, err: () => err };
}
/**
 * A pcap file's records (walking the record headers): how many, the bytes of a cut last record,
 * and the time from the first record to the last, in seconds. That span is each client's window
 * (the same measure for all: tcpdump blocks on its pipe when the stream is slower than the
 * traffic, so the records' times follow the delivery; process start and teardown are left out).
 */
function pcapWalk(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(24);
    if (readSync(fd, head, 0, 24, 0) < 24) return { records: 0, tailBytes: 0, spanSec: 0 };
    const magicLe = head.readUInt32LE(0);
    const le = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
    const magic = le ? magicLe : head.readUInt32BE(0);
    const fraction = magic === 0xa1b23c4d ? 1e9 : 1e6;
    const u32 = (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const size = statSync(file).size;
    const rec = Buffer.alloc(16);
    let records = 0;
    let first = null;
    let last = null;
    let off = 24;
    for (; off + 16 <= size; records++) {
      readSync(fd, rec, 0, 16, off);
      const caplen = u32(rec, 8);
      if (off + 16 + caplen > size) break; // a cut last record is not a packet
      last = u32(rec, 0) + u32(rec, 4) / fraction;
      first ??= last;
      off += 16 + caplen;
    }
    return { records, tailBytes: size - off, spanSec: first === null ? 0 : last - first };
  } finally {
    closeSync(fd);
  }
}
/** tcpdump's closing counters from its stderr. */
function tcpdumpCounters(text) {
  const grab = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  return {
    captured: grab(/^(\d+) packets? captured$/m),
    receivedByFilter: grab(/^(\d+) packets? received by filter$/m),
    droppedByKernel: grab(/^(\d+) packets? dropped by kernel$/m),
  };
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
  const pids = spawnSync('ip', ['netns', 'pids', ns(role)], { encoding: 'utf8' })
    .stdout.split(/\s+/)
    .filter(Boolean);
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
  const listening = () =>
    spawnSync('ip', ['netns', 'exec', ns('vm2'), 'ss', '-Hltn', 'sport = :5201'], { encoding: 'utf8' }).stdout.trim() !== '';
  await waitFor('the iperf3 server', () => listening() || server.child.exitCode !== null, 10_000);
  if (server.child.exitCode !== null) fail(`iperf3 -s ended: ${server.err() || server.out()}`);
  const client = inNs('vm1', ['iperf3', '-c', VM2, '-t', String(sec), '-J']);
  const r = await client.done;
  await Promise.race([server.done, sleep(3000)]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  if (r.code !== 0) fail(`iperf3 failed (exit ${r.code}): ${r.err || r.out}`);
  const j = JSON.parse(r.out);
  return {
    bitsPerSec: j.end.sum_received.bits_per_second,
    retransmits: j.end.sum_sent.retransmits ?? null,
    bytes: j.end.sum_received.bytes,
  };
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
    const streamsWanted = extra.includes('--iface') ? 1 : 2;
    const walks = new Map();
    const out = join(work, `capture-${tag}`);
    const cap = inNs('frontend', [
      process.execPath,
      BIN,
      'capture',
      'kvm1',
      '--inventory',
      h.inventoryPath,
      '--out',
      out,
      '--duration',
      `${duration}s`,
      '--json',
      ...extra,
    ]);
    // iperf3 starts once the tcpdumps listen, and runs a second longer than the capture
    await waitFor('the tcpdumps on kvm1', () => tcpdumpsIn('kvm1').length === streamsWanted || cap.child.exitCode !== null, 30_000);
    let iperfRun;
    if (cap.child.exitCode === null) {
      await sleep(300);
      iperfRun = await iperf(duration + 1);
    }
    const c = await cap.done;
    if (!c.out.trim()) fail(`capture printed no summary (exit ${c.code}): ${c.err}`);
    if (!iperfRun) fail(`capture ended before its tcpdumps listened (exit ${c.code}): ${c.err}`);
    // the files' record times give the window (pcapWalk), measured alike for every client
    for (const st of JSON.parse(c.out).nodes.flatMap((n) => n.streams)) if (st.file) walks.set(`${st.node} ${st.iface}`, pcapWalk(st.file));
    rmSync(out, { recursive: true, force: true });
    const summary = JSON.parse(c.out);
    const streams = summary.nodes
      .flatMap((n) => n.streams)
      .map((s) => {
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
          filter: s.filter,
          tailBytes: s.droppedTailBytes,
          walk: walks.get(`${s.node} ${s.iface}`) ?? null,
          error: s.error ?? null,
        };
      });
    return { exit: c.code, iperf: iperfRun, streams };
  }
  const whole = await capturedRun('whole', []);
  const short = await capturedRun('snaplen', ['--snaplen', '128']);

  // the tool against OpenSSH's client: eth1 alone, the same remote tcpdump, the same load, in turn
  const kvm1 = h.nodes.find((n) => n.name === 'kvm1');
  const key = join(h.dir, 'id_ed25519');
  const knownHosts = join(h.dir, 'known_hosts');
  const shq = (a) => `'${a.replaceAll("'", `'\\''`)}'`;
  /** One run of `how` ('openssh', 'openssh-gcm', 'transport') with remote `argv`; per-run figures. */
  async function remoteRun(round, how, argv) {
    log(`bench-capture: round ${round}, ${how}: ${argv.join(' ')}…`);
    const file = join(work, `${how}.pcap`);
    let p;
    if (how.startsWith('openssh')) {
      const ssh = ['ssh', '-F', '/dev/null', '-v', ...(how === 'openssh-gcm' ? ['-c', 'aes128-gcm@openssh.com'] : [])];
      ssh.push(
        '-i',
        key,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'IdentityAgent=none',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
      );
      p = inNsTo('frontend', [...ssh, `root@${kvm1.host}`, argv.map(shq).join(' ')], file);
    } else {
      p = inNs('frontend', [
        process.execPath,
        fileURLToPath(import.meta.url),
        '--transport-probe',
        kvm1.host,
        key,
        knownHosts,
        JSON.stringify(argv),
        file,
      ]);
    }
    let heardAt = 0;
    await waitFor(
      `${how}: tcpdump on kvm1`,
      () => (tcpdumpsIn('kvm1').length === 1 && /listening on/.test(p.err() + (p.out?.() ?? ''))) || p.child.exitCode !== null,
      30_000,
    );
    heardAt = performance.now();
    await sleep(300);
    const iperfRun = p.child.exitCode === null ? await iperf(duration + 1) : null;
    const r = await p.done;
    const doneAt = performance.now();
    if (r.code !== 0) fail(`${how} failed (exit ${r.code}): ${r.err.trim().split('\n').slice(-4).join(' / ')}`);
    let windowSec = (doneAt - heardAt) / 1000;
    let cipher = /server->client cipher: (\S+)/.exec(r.err)?.[1] ?? null;
    let stderr = r.err;
    if (how === 'transport') {
      const j = JSON.parse(r.out.trim().split('\n').pop());
      windowSec = (j.endMs - j.listeningMs) / 1000;
      cipher = j.decipher;
      stderr = j.stderr;
    }
    const fileBytes = statSync(file).size;
    const w = pcapWalk(file);
    rmSync(file, { force: true });
    const t = tcpdumpCounters(stderr);
    return {
      round,
      how,
      cipher,
      processSec: windowSec,
      windowSec: w.spanSec,
      fileBytes,
      bytesPerSec: fileBytes / w.spanSec,
      packets: w.records,
      tailBytes: w.tailBytes,
      ...t,
      lost: t.captured === null ? null : t.captured - w.records,
      iperfBitsPerSec: iperfRun?.bitsPerSec ?? null,
    };
  }
  const versus = [];
  let toolCipher = null;
  for (let round = 1; round <= rounds; round++) {
    const runs = ['tool', 'openssh', 'openssh-gcm', 'transport'];
    // each round starts one further along: no client always runs first (or last) in a round
    for (let k = 0; k < runs.length; k++) {
      const how = runs[(k + round - 1) % runs.length];
      if (how === 'tool') {
        const t = await capturedRun(`eth1-${round}`, ['--iface', 'eth1']);
        const s0 = t.streams[0];
        if (!s0.walk || s0.walk.records !== s0.packets)
          fail(`the tool's file holds ${s0.walk?.records ?? 'no'} records, its summary says ${s0.packets}`);
        versus.push({
          round,
          how,
          cipher: null,
          processSec: s0.windowSec,
          windowSec: s0.walk.spanSec,
          fileBytes: s0.fileBytes,
          bytesPerSec: s0.fileBytes / s0.walk.spanSec,
          packets: s0.packets,
          tailBytes: s0.tailBytes,
          captured: s0.captured,
          receivedByFilter: s0.receivedByFilter,
          droppedByKernel: s0.droppedByKernel,
          lost: s0.captured === null ? null : s0.captured - s0.packets,
          iperfBitsPerSec: t.iperf.bitsPerSec,
          filter: s0.filter,
        });
        continue;
      }
      const filter = versus.find((v) => v.how === 'tool')?.filter ?? whole.streams[0].filter;
      const run = await remoteRun(round, how, [
        'timeout',
        '--preserve-status',
        '-s',
        'INT',
        String(duration),
        'tcpdump',
        '-U',
        '-n',
        '-w',
        '-',
        '-i',
        'eth1',
        '--',
        filter,
      ]);
      if (how === 'transport') toolCipher = run.cipher;
      versus.push(run);
    }
  }
  for (const v of versus) if (v.how === 'tool') v.cipher = toolCipher;
  // the baseline: tcpdump on the node itself writing to /dev/null (no SSH, no decoding), same load
  log('bench-capture: baseline, tcpdump -w /dev/null on kvm1 itself with the same iperf3 load…');
  const local = ['eth1', 'vxlan_bridge'].map((iface) => ({
    iface,
    p: inNs('kvm1', ['timeout', '--preserve-status', '-s', 'INT', String(duration), 'tcpdump', '-i', iface, '-n', '-w', '/dev/null']),
  }));
  await waitFor('both local tcpdumps', () => local.every((l) => /listening on/.test(l.p.err())), 10_000);
  const duringLocal = await iperf(duration + 1);
  const baseline = [];
  for (const l of local) {
    const e = (await l.p.done).err;
    const grab = (re) => Number(re.exec(e)?.[1] ?? NaN);
    baseline.push({
      stream: `kvm1 ${l.iface} (tcpdump -w /dev/null on the node)`,
      captured: grab(/^(\d+) packets? captured$/m),
      receivedByFilter: grab(/^(\d+) packets? received by filter$/m),
      droppedByKernel: grab(/^(\d+) packets? dropped by kernel$/m),
    });
  }
  result = {
    baseline,
    iperfDuringBaseline: duringLocal,
    date: new Date().toISOString(),
    machine: machineLine({ withTcpdump: true }),
    loadAvg: loadavg()[0],
    durationSec: duration,
    captureExit: Math.max(whole.exit ?? 1, short.exit ?? 1),
    iperfAlone: alone,
    iperfDuring: whole.iperf,
    iperfDuringSnaplen: short.iperf,
    streams: [...whole.streams, ...short.streams],
    versus,
    rounds,
  };
} finally {
  await labDown({ prefix, dir: join(work, 'lab') }).catch((e) => process.stderr.write(`bench-capture: lab down failed: ${e.message}\n`));
  rmSync(work, { recursive: true, force: true });
}

const r = result;
const rows = [
  '| stream | packets written | window s | packets/s | bytes/s (wire) ' +
    '| file bytes/s | tcpdump captured | received by filter | dropped by kernel | written / captured |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...r.streams.map(
    (s) =>
      `| ${s.stream} | ${s.packets.toLocaleString('en')} | ${s.windowSec.toFixed(1)} ` +
      `| ${Math.round(s.pps).toLocaleString('en')} | ${mb(s.bytesPerSec)} MB/s | ${mb(s.fileBytesPerSec)} ` +
      `MB/s | ${s.captured?.toLocaleString('en') ?? '—'} ` +
      `| ${s.receivedByFilter?.toLocaleString('en') ?? '—'} ` +
      `| ${s.droppedByKernel?.toLocaleString('en') ?? '—'} ` +
      `| ${s.captured ? `${((100 * s.packets) / s.captured).toFixed(1)} %` : '—'} |`,
  ),
  ...r.baseline.map(
    (b) =>
      `| ${b.stream} | — | ${duration.toFixed(1)} ` +
      `| ${Math.round(b.captured / duration).toLocaleString('en')} | — | — ` +
      `| ${b.captured.toLocaleString('en')} | ${b.receivedByFilter.toLocaleString('en')} ` +
      `| ${b.droppedByKernel.toLocaleString('en')} | — |`,
  ),
];
const iperfLine =
  `iperf3 vm1 → vm2 (TCP, one stream): ${(r.iperfAlone.bitsPerSec / 1e9).toFixed(2)} Gbit/s ` +
  `alone, ${(r.iperfDuring.bitsPerSec / 1e9).toFixed(2)} Gbit/s while captured ` +
  `(${r.iperfDuring.retransmits ?? '?'} ` +
  `retransmits), ${(r.iperfDuringSnaplen.bitsPerSec / 1e9).toFixed(2)} Gbit/s while captured with ` +
  `--snaplen 128, ${(r.iperfDuringBaseline.bitsPerSec / 1e9).toFixed(2)} Gbit/s during the baseline; ` +
  `capture exit ${r.captureExit}`;
const HOW = {
  tool: '`vxlan-inspect capture kvm1 --iface eth1`',
  openssh: 'OpenSSH `ssh` (defaults, `-F /dev/null`)',
  'openssh-gcm': 'OpenSSH `ssh -c aes128-gcm@openssh.com`',
  transport: "the tool's SSH transport alone (ssh2, no sink)",
};
const num = (x) => (x === null || x === undefined ? '—' : x.toLocaleString('en'));
const versusRows = [
  '| round | client | cipher | records span s | file MB/s | packets in file | tcpdump captured | ' +
    'received by filter | dropped by kernel | captured − in file | cut last record (bytes) ' +
    '| iperf3 Gbit/s meanwhile |',
  '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...r.versus.map(
    (v) =>
      `| ${v.round} | ${HOW[v.how]} | ${v.cipher ?? '—'} | ${v.windowSec.toFixed(1)} ` +
      `| ${mb(v.bytesPerSec)} | ${num(v.packets)} | ${num(v.captured)} | ${num(v.receivedByFilter)} ` +
      `| ${num(v.droppedByKernel)} | ${num(v.lost)} | ${num(v.tailBytes)} ` +
      `| ${v.iperfBitsPerSec === null ? '—' : (v.iperfBitsPerSec / 1e9).toFixed(2)} |`,
  ),
];
const meanOf = (how, f) => {
  const xs = r.versus.filter((v) => v.how === how).map(f);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
const rate = (how) => meanOf(how, (v) => v.bytesPerSec);
const pktRate = (how) => meanOf(how, (v) => v.packets / v.windowSec);
const verdict = [
  `Mean over ${r.rounds} round(s), file MB/s (packets/s): tool ${mb(rate('tool'))} (${Math.round(pktRate('tool')).toLocaleString('en')}), ` +
    `OpenSSH default ${mb(rate('openssh'))} (${Math.round(pktRate('openssh')).toLocaleString('en')}), ` +
    `OpenSSH aes128-gcm ${mb(rate('openssh-gcm'))} ` +
    `(${Math.round(pktRate('openssh-gcm')).toLocaleString('en')}), ` +
    `ssh2 transport alone ${mb(rate('transport'))} (${Math.round(pktRate('transport')).toLocaleString('en')}).`,
  `Tool / OpenSSH default: ${(rate('tool') / rate('openssh')).toFixed(2)}×; ` +
    `tool / OpenSSH aes128-gcm: ${(rate('tool') / rate('openssh-gcm')).toFixed(2)}×; ` +
    `ssh2 transport / OpenSSH default: ${(rate('transport') / rate('openssh')).toFixed(2)}×. ` +
    // tcpdump's "captured" is at times one above what it wrote (OpenSSH's files too): compare the tool with them
    `tcpdump's captured count − packets in the file, per round: ${['tool', 'openssh', 'openssh-gcm', 'transport']
      .map(
        (how) =>
          `${how} ${r.versus
            .filter((v) => v.how === how)
            .map((v) => num(v.lost))
            .join(', ')}`,
      )
      .join('; ')}.`,
];
const table =
  `${rows.join('\n')}\n\n${iperfLine}\n\nAgainst OpenSSH (eth1 alone, same remote command and filter, ` +
  `same load):\n\n${versusRows.join('\n')}\n\n${verdict.join('\n')}`;
if (asJson) process.stdout.write(`${JSON.stringify(r)}\n`);
else process.stdout.write(`${table}\n\n${r.machine}; load average ${r.loadAvg.toFixed(1)}; ${r.date}\n`);
if (writeDoc) {
  replaceSection(
    'bench-capture',
    [
      `Run: \`node scripts/bench-capture.mjs --duration ${duration} --rounds ${rounds} --write-doc\` (${r.date.slice(0, 16).replace('T', ' ')} UTC)`,
      `Machine: ${r.machine}; load average ${r.loadAvg.toFixed(1)} at the end`,
      '',
      table,
    ].join('\n'),
  );
  log('bench-capture: docs/load.md updated');
}
if (r.captureExit !== 0) process.exitCode = 1;
