// `correlate` at scale: generates a matching pair of captures (kvm1's eth1 with VXLAN, and its
// vxlan_bridge) of N packets per side, then times `node dist/cli/bin.js correlate` on them:
// wall-clock seconds, user+system CPU seconds and peak RSS (GNU time), once untimed to warm
// the page cache, then --runs times (the best run is kept). Default sizes 0.1M, 1M, 5M.
//
// The traffic is the class's (src/synth/scenario.ts, made larger): vm1 (10.220.220.5) pings
// vm2 (.6) across the overlay at --rate frames/s of capture time (default 20,000), echo requests
// leave kvm1 encapsulated 18 µs after the bridge sees them, replies arrive 13 µs before; 2 frames
// in 100 of each side have no counterpart (a ping that stays on the node, a reply lost after the
// underlay), so the unmatched paths run too. Every frame has its own bytes (sequence, payload). The correlator keeps one
// window (1 s) of frames: memory depends on the rate, not on the length of the capture.
//
// The realistic pair (--realistic N packets per side, default 1,000,000; 0 skips it): the underlay is
// src/synth/realistic.ts (fixed seed: 4 VTEPs, 64 inner MACs, tens of thousands of inner flows of
// TCP, UDP, ICMP, ARP, 802.1Q and IPv6, 60–1434-byte inner frames, 20 % plain underlay traffic); the
// bridge holds every inner frame, 18 µs before the underlay packet when it leaves this node's VTEP
// (192.168.100.11), 13 µs after otherwise, but 1 in 100 (lost after the underlay), and a frame that
// stays on the node for each plain underlay packet, so both sides have N packets. For scale, tcpdump
// (`-nn -r`, output to /dev/null) and, with --tshark, tshark (`-n -r`) read the same two files once.
//
// Then the storm rows (--storm N per side, default 400,000; 0 skips them): N frames 10 µs apart on
// both sides (100,000 frames/s, so the count caps bound the window, not the 1 s of time), as
// distinct frames (the pings above) and as N copies of one frame — a broadcast ARP request
// (eth1 18 µs after the bridge, like the requests above) and a VXLAN packet with nothing after
// its header against empty bridge records. Identical frames must cost what distinct ones do,
// in time and in memory. The page cache is warmed by reading the files once.
//
// Usage: npm run build && node scripts/bench-correlate.mjs [--sizes 100000,1000000,5000000]
//        [--rate 20000] [--realistic 1000000] [--tshark] [--storm 400000] [--runs 1] [--heap MB] [--keep] [--json]
// correlate runs with the node flags of the bin's shebang (as `vxlan-inspect` runs), and with --heap MB
// also --max-old-space-size=MB: when it still finishes, the live
// heap stayed under MB whatever the capture length (RSS alone includes garbage not yet collected).
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const sizes = (opt('--sizes') ?? '100000,1000000,5000000').split(',').filter(Boolean).map(Number);
const storm = Number(opt('--storm') ?? 400_000);
const realisticN = Number(opt('--realistic') ?? 1_000_000);
const withTshark = args.includes('--tshark');
const rate = Number(opt('--rate') ?? 20_000);
const runs = Math.max(1, Number(opt('--runs') ?? 1));
const keep = args.includes('--keep');
const json = args.includes('--json');
const heapMb = opt('--heap') === undefined ? undefined : Number(opt('--heap'));
const { PcapWriter } = await import(join(root, 'dist', 'decode', 'file', 'index.js'));
const f = await import(join(root, 'dist', 'synth', 'frames.js'));
const { CLASS } = await import(join(root, 'dist', 'synth', 'scenario.js'));
const { realisticFrames } = await import(join(root, 'dist', 'synth', 'realistic.js'));
const dir = join('/tmp', `vxi-bench-correlate-${process.pid}`);
const log = (s) => process.stderr.write(`${s}\n`);

const START = 1_764_140_000;
const PAYLOAD = 56;

/** The two files for n frames per side (counting the lost and local ones on their own side). */
async function generate(n, frameRate = rate) {
  mkdirSync(dir, { recursive: true });
  const under = join(dir, `eth1-${n}.pcap`);
  const over = join(dir, `vxlan_bridge-${n}.pcap`);
  const { vm1, vm2, kvm1, kvm2 } = CLASS;
  // templates: the frames are rewritten in place (sequence number, payload), lengths never change
  const req = f.ethernet(
    vm2.mac,
    vm1.mac,
    0x0800,
    f.ipv4({ src: vm1.ip, dst: vm2.ip, proto: 1 }, f.icmpEcho(8, 0x1c2b, 0, new Uint8Array(PAYLOAD))),
  );
  const rep = f.ethernet(
    vm1.mac,
    vm2.mac,
    0x0800,
    f.ipv4({ src: vm2.ip, dst: vm1.ip, proto: 1 }, f.icmpEcho(0, 0x1c2b, 0, new Uint8Array(PAYLOAD))),
  );
  const local = f.ethernet(
    kvm1.bridgeMac,
    vm1.mac,
    0x0800,
    f.ipv4({ src: vm1.ip, dst: kvm1.bridge, proto: 1 }, f.icmpEcho(8, 0x2d3c, 0, new Uint8Array(PAYLOAD))),
  );
  const encap = (inner, from) => {
    const [a, b] = from === 'kvm1' ? [kvm1, kvm2] : [kvm2, kvm1];
    return f.vxlanPacket(inner, {
      outerSrcMac: a.mac,
      outerDstMac: b.mac,
      outerSrc: a.underlay,
      outerDst: b.underlay,
      srcPort: 49152,
      dstPort: 4789,
      vni: CLASS.vni,
    });
  };
  const w = new PcapWriter();
  const uOut = createWriteStream(under);
  const oOut = createWriteStream(over);
  uOut.write(w.header());
  oOut.write(w.header());
  let uBatch = [];
  let oBatch = [];
  const flush = async (force) => {
    if (uBatch.length >= 4096 || force) {
      if (!uOut.write(Buffer.concat(uBatch))) await new Promise((r) => uOut.once('drain', r));
      uBatch = [];
    }
    if (oBatch.length >= 4096 || force) {
      if (!oOut.write(Buffer.concat(oBatch))) await new Promise((r) => oOut.once('drain', r));
      oBatch = [];
    }
  };
  const ts = (us) => ({ tsSec: START + Math.floor(us / 1e6), tsNsec: Math.round(us % 1e6) * 1000 });
  const stamp = (frame, i) => {
    // ICMP sequence (bytes 40-41) and the first payload bytes make every frame unique
    frame[40] = (i >>> 8) & 0xff;
    frame[41] = i & 0xff;
    new DataView(frame.buffer, frame.byteOffset).setUint32(42, i);
    return frame;
  };
  const interval = 1e6 / frameRate;
  for (let i = 0; i < n; i++) {
    const t = 1000 + i * interval;
    const kind = i % 100 === 50 ? 'local' : i % 100 === 99 ? 'lost' : i % 2 === 0 ? 'req' : 'rep';
    if (kind === 'local') {
      oBatch.push(w.record({ ...ts(t), data: stamp(local, i) }));
      uBatch.push(w.record({ ...ts(t + 5), data: encap(stamp(req, i + 0x40000000), 'kvm1') })); // keeps the sides the same length
    } else if (kind === 'lost') {
      uBatch.push(w.record({ ...ts(t), data: encap(stamp(rep, i), 'kvm2') }));
      oBatch.push(w.record({ ...ts(t + 5), data: stamp(local, i + 0x40000000) }));
    } else if (kind === 'req') {
      const inner = stamp(req, i);
      oBatch.push(w.record({ ...ts(t), data: inner }));
      uBatch.push(w.record({ ...ts(t + 18), data: encap(inner, 'kvm1') }));
    } else {
      const inner = stamp(rep, i);
      uBatch.push(w.record({ ...ts(t), data: encap(inner, 'kvm2') }));
      oBatch.push(w.record({ ...ts(t + 13), data: inner }));
    }
    await flush(false);
  }
  await flush(true);
  await Promise.all([new Promise((r) => uOut.end(r)), new Promise((r) => oOut.end(r))]);
  return { under, over };
}

/** n copies of one frame on each side, 10 µs apart: the bridge's at t, eth1's (in VXLAN) at t + lagUs. */
async function generateIdentical(n, name, inner, outer, lagUs) {
  mkdirSync(dir, { recursive: true });
  const under = join(dir, `eth1-${name}-${n}.pcap`);
  const over = join(dir, `vxlan_bridge-${name}-${n}.pcap`);
  const w = new PcapWriter();
  const uOut = createWriteStream(under);
  const oOut = createWriteStream(over);
  uOut.write(w.header());
  oOut.write(w.header());
  const ts = (us) => ({ tsSec: START + Math.floor(us / 1e6), tsNsec: Math.round(us % 1e6) * 1000 });
  for (let i = 0; i < n; i += 4096) {
    const uBatch = [];
    const oBatch = [];
    for (let k = i; k < Math.min(n, i + 4096); k++) {
      const t = 1000 + k * 10;
      oBatch.push(w.record({ ...ts(t), data: inner }));
      uBatch.push(w.record({ ...ts(t + lagUs), data: outer }));
    }
    if (!uOut.write(Buffer.concat(uBatch))) await new Promise((r) => uOut.once('drain', r));
    if (!oOut.write(Buffer.concat(oBatch))) await new Promise((r) => oOut.once('drain', r));
  }
  await Promise.all([new Promise((r) => uOut.end(r)), new Promise((r) => oOut.end(r))]);
  return { under, over };
}

/** The realistic pair: src/synth/realistic.ts on the underlay, its inner frames on this node's bridge (see the header). */
async function generateRealistic(n) {
  mkdirSync(dir, { recursive: true });
  const under = join(dir, `eth1-realistic-${n}.pcap`);
  const over = join(dir, `vxlan_bridge-realistic-${n}.pcap`);
  const w = new PcapWriter({ snaplen: 262144 });
  const uOut = createWriteStream(under);
  const oOut = createWriteStream(over);
  uOut.write(w.header());
  oOut.write(w.header());
  const { vm1, kvm1 } = CLASS;
  const local = f.ethernet(
    kvm1.bridgeMac,
    vm1.mac,
    0x0800,
    f.ipv4({ src: vm1.ip, dst: kvm1.bridge, proto: 1 }, f.icmpEcho(8, 0x2d3c, 0, new Uint8Array(56))),
  );
  const LOCAL_VTEP = ((192 << 24) | (168 << 16) | (100 << 8) | 11) >>> 0;
  let uBatch = [];
  let oBatch = [];
  let pending = []; // bridge frames not written yet, in time order: {us, data}
  const toTs = (us) => ({ tsSec: Math.floor(us / 1e6), tsNsec: Math.round(us % 1e6) * 1000 });
  const queue = (us, data) => {
    let k = pending.length;
    while (k > 0 && pending[k - 1].us > us) k--;
    pending.splice(k, 0, { us, data });
  };
  let i = 0;
  for (const fr of realisticFrames({ packets: n })) {
    const us = fr.tsSec * 1e6 + fr.tsNsec / 1e3;
    uBatch.push(w.record(fr));
    const d = fr.data;
    // an IPv4 UDP packet to 4789 (realistic.ts writes VXLAN only so): the inner frame follows at 50
    const vxlan = d.length >= 64 && d[12] === 0x08 && d[13] === 0x00 && d[23] === 17 && d[36] === 0x12 && d[37] === 0xb5;
    if (vxlan) {
      const src = ((d[26] << 24) | (d[27] << 16) | (d[28] << 8) | d[29]) >>> 0;
      if (i % 100 !== 99) queue(src === LOCAL_VTEP ? us - 18 : us + 13, d.subarray(50));
    } else {
      const frame = local.slice();
      new DataView(frame.buffer).setUint32(42, i);
      queue(us, frame);
    }
    // nothing later can be earlier than us - 18
    let k = 0;
    while (k < pending.length && pending[k].us < us - 18) {
      oBatch.push(w.record({ ...toTs(pending[k].us), data: pending[k].data }));
      k++;
    }
    if (k) pending = pending.slice(k);
    i++;
    if (uBatch.length >= 4096) {
      if (!uOut.write(Buffer.concat(uBatch))) await new Promise((r) => uOut.once('drain', r));
      uBatch = [];
    }
    if (oBatch.length >= 4096) {
      if (!oOut.write(Buffer.concat(oBatch))) await new Promise((r) => oOut.once('drain', r));
      oBatch = [];
    }
  }
  for (const p of pending) oBatch.push(w.record({ ...toTs(p.us), data: p.data }));
  uOut.write(Buffer.concat(uBatch));
  oOut.write(Buffer.concat(oBatch));
  await Promise.all([new Promise((r) => uOut.end(r)), new Promise((r) => oOut.end(r))]);
  return { under, over };
}

/** A tool reading both files once, output to /dev/null: wall, CPU seconds and peak RSS (GNU time). */
function tool(argvOf, u, o) {
  let secs = 0;
  let cpu = 0;
  let mb = 0;
  for (const file of [u, o]) {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...argvOf(file)], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 1 << 26,
    });
    const [s, user, sys, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
    secs += s;
    cpu += user + sys;
    mb = Math.max(mb, kb / 1024);
  }
  return { secs, cpu, mb };
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The node flags of the bin's shebang (`#!/usr/bin/env -S node FLAGS`): correlate runs as `vxlan-inspect` does. */
const binFlags = (readFileSync(join(root, 'dist', 'cli', 'bin.js'), 'utf8').split('\n')[0] ?? '')
  .replace(/^#!\S*env\s+(-S\s+)?node\s*/, '')
  .split(/\s+/)
  .filter((a) => a.startsWith('--'));

function once(u, o) {
  const node = [process.execPath, ...binFlags, ...(heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`])];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...node, join(root, 'dist', 'cli', 'bin.js'), 'correlate', '--json', u, o], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`correlate failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  const [secs, user, sys, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  const report = JSON.parse(r.stdout);
  return {
    secs,
    cpu: user + sys,
    mb: kb / 1024,
    matched: report.matched,
    underlayOnly: report.underlayOnly,
    overlayOnly: report.overlayOnly,
  };
}

const rows = [];
const stormRows = [];

/** correlate on a pair (best of --runs after a warm-up run), and the tools reading the same files once. */
function measurePair(input, n, under, over) {
  const mbOnDisk = (statSync(under).size + statSync(over).size) / 2 ** 20;
  once(under, over); // warm the page cache
  let best;
  for (let k = 0; k < runs; k++) {
    const r = once(under, over);
    if (!best || r.secs < best.secs) best = r;
  }
  const row = { input, packetsPerSide: n, fileMiB: Math.round(mbOnDisk), ...best, ppsPerSide: Math.round(n / best.secs), tools: [] };
  if (have('tcpdump'))
    row.tools.push({ label: 'tcpdump -nn -r (each file once)', ...tool((file) => ['tcpdump', '-nn', '-r', file], under, over) });
  if (withTshark && have('tshark'))
    row.tools.push({ label: 'tshark -n -r (each file once)', ...tool((file) => ['tshark', '-n', '-r', file], under, over) });
  rows.push(row);
  log(
    `  ${input}, ${n.toLocaleString('en-US')} per side: ${best.secs} s wall, ${best.cpu.toFixed(2)} s ` +
      `CPU, ${best.mb.toFixed(0)} MiB peak RSS, ${row.ppsPerSide.toLocaleString('en-US')} packets/s per ` +
      `side; matched ${best.matched}, underlay only ${best.underlayOnly}, overlay only ${best.overlayOnly}`,
  );
  for (const t of row.tools) log(`    ${t.label}: ${t.secs.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU, ${t.mb.toFixed(0)} MiB`);
}

const loadBefore = loadavg();
try {
  for (const n of sizes) {
    const g0 = performance.now();
    const { under, over } = await generate(n);
    log(`generated 2 × ${n.toLocaleString('en-US')} friendly packets in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
    measurePair('friendly (pings)', n, under, over);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  if (realisticN > 0) {
    const g0 = performance.now();
    const { under, over } = await generateRealistic(realisticN);
    log(`generated 2 × ${realisticN.toLocaleString('en-US')} realistic packets in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
    measurePair('realistic', realisticN, under, over);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  if (storm > 0) {
    const { vm1, kvm1, kvm2 } = CLASS;
    const arp = f.ethernet('ff:ff:ff:ff:ff:ff', vm1.mac, 0x0806, f.arpRequest(vm1.mac, vm1.ip, '10.220.220.99'));
    const inVxlan = (inner) =>
      f.vxlanPacket(inner, {
        outerSrcMac: kvm1.mac,
        outerDstMac: kvm2.mac,
        outerSrc: kvm1.underlay,
        outerDst: kvm2.underlay,
        srcPort: 49152,
        dstPort: 4789,
        vni: CLASS.vni,
      });
    const empty = new Uint8Array(0);
    const cases = [
      ['distinct frames (the pings above)', () => generate(storm, 100_000)],
      ['one ARP request, identical copies', () => generateIdentical(storm, 'arp', arp, inVxlan(arp), 18)],
      [
        'identical zero-length frames (VXLAN header only; empty bridge records)',
        () => generateIdentical(storm, 'empty', empty, inVxlan(empty), 18),
      ],
    ];
    for (const [input, make] of cases) {
      const { under, over } = await make();
      readFileSync(under);
      readFileSync(over); // warm the page cache
      let best;
      for (let k = 0; k < runs; k++) {
        const r = once(under, over);
        if (!best || r.secs < best.secs) best = r;
      }
      stormRows.push({ input, packetsPerSide: storm, ...best });
      log(
        `  ${input}: ${best.secs} s wall, ${best.cpu.toFixed(2)} s CPU, ${best.mb.toFixed(0)} MiB peak RSS; ` +
          `matched ${best.matched}, underlay only ${best.underlayOnly}, overlay only ${best.overlayOnly}`,
      );
      if (!keep) rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

const loadAfter = loadavg();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`;
const load = `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after`;
if (json) process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), machine, load, rate, rows, stormRows }, null, 2)}\n`);
else {
  const lines =
    rows.length === 0
      ? []
      : [
          '| pair | packets per side | files | wall time | CPU time | packets/s per side | peak RSS | matched | underlay only | overlay only |',
          '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
          ...rows.flatMap((r) => [
            `| ${r.input} | ${r.packetsPerSide.toLocaleString('en-US')} | ${r.fileMiB} MiB ` +
              `| ${r.secs.toFixed(2)} s | ${r.cpu.toFixed(2)} s | ${r.ppsPerSide.toLocaleString('en-US')} ` +
              `| ${r.mb.toFixed(0)} MiB | ${r.matched.toLocaleString('en-US')} ` +
              `| ${r.underlayOnly.toLocaleString('en-US')} | ${r.overlayOnly.toLocaleString('en-US')} |`,
            ...r.tools.map(
              (t) =>
                `| ${r.input}: ${t.label} | ${r.packetsPerSide.toLocaleString('en-US')} | | ${t.secs.toFixed(2)} s ` +
                `| ${t.cpu.toFixed(2)} s | ${Math.round((2 * r.packetsPerSide) / t.secs).toLocaleString('en-US')} ` +
                `(both files) | ${t.mb.toFixed(0)} MiB | | | |`,
            ),
          ]),
          '',
          `\`node${[...binFlags, ...(heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`])].map((a) => ` ${a}`).join('')} dist/cli/bin.js correlate ` +
            `--json eth1.pcap vxlan_bridge.pcap\`, friendly at ${rate.toLocaleString('en-US')} frames/s of ` +
            `capture time, best of ${runs} after a warm-up ` +
            `run; ${machine}; ${load}; ${new Date().toISOString().slice(0, 10)}.`,
        ];
  if (stormRows.length > 0) {
    lines.push(
      ...(lines.length ? [''] : []),
      `| ${storm.toLocaleString('en-US')} frames per side, 10 µs apart | wall time | CPU time | peak RSS | matched | underlay only | overlay only |`,
      '|---|---|---|---|---|---|---|',
      ...stormRows.map(
        (r) =>
          `| ${r.input} | ${r.secs.toFixed(2)} s | ${r.cpu.toFixed(2)} s | ${r.mb.toFixed(0)} MiB ` +
          `| ${r.matched.toLocaleString('en-US')} | ${r.underlayOnly.toLocaleString('en-US')} ` +
          `| ${r.overlayOnly.toLocaleString('en-US')} |`,
      ),
      '',
      `Storm rows: best of ${runs}, page cache warmed by reading the files; ${machine}; ${new Date().toISOString().slice(0, 10)}.`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
