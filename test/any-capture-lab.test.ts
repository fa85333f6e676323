/**
 * Issue 11's proof on the kernel's own captures: on the lab's kvm1, while `lab traffic` runs,
 * four recordings of the same moment —
 *   (a) `tcpdump -i eth1` + `tcpdump -i vxlan_bridge` (the class's pair),
 *   (b) `tcpdump -i any` (Linux cooked v2, link type 276, one file holding both sides),
 *   (c) `dumpcap -i eth1 -i vxlan_bridge` (one pcapng, one interface block each) —
 * correlated, give the same matched / underlay-only / encapsulated / decapsulated counts, and
 * those of the pair are tshark's own (byte-identical inner frames, one to one, per direction:
 * how fixtures/lab/expected.json was made). Then `capture kvm1 --iface any` alone: session.json
 * names the node's interface indexes, `decode --session` prints `eth1 Out`, and `correlate`
 * names its sides.
 *
 * Same window for every file: the captures start and stop at slightly different instants, so
 * every file is cut (editcap -A/-B) at the same two instants, each chosen in a quiet second
 * before and after the traffic (the middle of the longest gap between packets of all files
 * there): no pair of sightings of one frame straddles a cut, and the counts must be equal,
 * with no tolerance. Only the times of one packet differ between files, by a few µs (each
 * packet socket stamps it itself): matches are compared by time within 200 µs. Stopping: SIGINT
 * 2.5 s after the last barrier, longer than libpcap's 1 s block timeout (without it, the last
 * second of a `-i any` capture was sometimes still in the kernel's ring and never written).
 *
 * Network safety: the captures run inside kvm1's namespace (`ip netns exec vxa-kvm1 …`), the
 * `capture` CLI inside the frontend's, each after checking that the namespace exists; this
 * process sends nothing to a lab address. Root only; skipped with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labPreflight, labTraffic, labUp, netnsExec, type LabHandle } from '../src/lab/index.js';
import { canRunNetns, namespaces, uniquePrefix } from './helpers/netns.js';
import { captureRecords } from './helpers/pcap.js';
import { runCli } from './helpers/cli.js';

const can = canRunNetns();
const tools = ['tshark', 'dumpcap', 'editcap', 'tcpdump'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const why = !can.ok ? can.reason : tools.length ? `${tools.join(', ')} not installed (apt install tshark tcpdump)` : '';
const suite = why ? describe.skip : describe;
if (why) describe.skip(`-i any and multi-interface captures in the lab (skipped: ${why})`, () => it('skipped', () => {}));

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
// a prefix of this run's own: two test runs at once (or a helper's lab) never meet
const PREFIX = uniquePrefix();
const KVM1 = `${PREFIX}kvm1`;
const TSHARK_OPTS = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE'];

function mustHaveNetns(ns: string): void {
  if (!namespaces().includes(ns)) throw new Error(`namespace ${ns} does not exist: refusing to run anything`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Recorder {
  name: string;
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A capture program inside kvm1's namespace. */
function record(name: string, argv: string[]): Recorder {
  mustHaveNetns(KVM1);
  const cmd = netnsExec(KVM1, argv);
  const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('close', (code, signal) => r({ code, signal })),
  );
  return { name, child, stderr: () => err, exit };
}

/**
 * tcpdump on one interface of kvm1 into `file`. -s 4096: in immediate mode libpcap's ring has one
 * slot per snapshot length, so the default 262144 leaves 128 slots in 32 MiB; the lab's veths send
 * no TSO/GSO super-frames (checksum offload off), so a TCP burst seen on every interface by `-i any`
 * overflowed them (68 of 552 dropped on a loaded machine). No lab frame is over 1,600 bytes: nothing is cut.
 */
function tcpdumpRecord(name: string, iface: string, file: string): Recorder {
  return record(name, ['tcpdump', '-n', '-U', '--immediate-mode', '-B', '32768', '-s', '4096', '-Z', 'root', '-i', iface, '-w', file]);
}

/** Every record's time, in seconds. */
function times(file: string): number[] {
  return captureRecords(file, { whole: true }).map((r) => r.tsSec + r.tsNsec / 1e9);
}

/** The middle of the longest gap between packets (of all files) inside [from, to]: a cut no frame's two sightings straddle. */
function quietCut(all: number[], from: number, to: number): number {
  const inside = [from, ...all.filter((t) => t > from && t < to), to].sort((a, b) => a - b);
  let best = { gap: -1, at: (from + to) / 2 };
  for (let i = 1; i < inside.length; i++) {
    const gap = (inside[i] as number) - (inside[i - 1] as number);
    if (gap > best.gap) best = { gap, at: ((inside[i] as number) + (inside[i - 1] as number)) / 2 };
  }
  return best.at;
}

/** The records of `file` in [from, to), written by editcap (pcap stays pcap, pcapng stays pcapng). */
function cut(file: string, from: number, to: number): string {
  const out = file.replace(/(\.pcapng|\.pcap)$/, '.cut$1');
  const fmt = file.endsWith('.pcapng') ? 'pcapng' : 'pcap';
  const r = spawnSync('editcap', ['-F', fmt, '-A', from.toFixed(6), '-B', to.toFixed(6), file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`editcap ${file}: ${r.stderr}`);
  return out;
}

function tshark(file: string, args: string[]): string {
  const r = spawnSync('tshark', ['-n', ...TSHARK_OPTS, '-r', file, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tshark -r ${file}: ${r.stderr}`);
  return r.stdout;
}

function fieldRows(file: string, fields: string[], filter: string): string[][] {
  return tshark(file, ['-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f]), '-Y', filter])
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** Raw bytes of every frame (hex), from tshark's JSON with -x; only those passing `filter`. */
function rawFrames(file: string, filter?: string): string[] {
  const pkts = JSON.parse(tshark(file, ['-T', 'json', '-x', ...(filter ? ['-Y', filter] : [])]) || '[]') as {
    _source: { layers: { frame_raw: [string] } };
  }[];
  return pkts.map((p) => p._source.layers.frame_raw[0]);
}

interface Reference {
  vxlan: number;
  out: number;
  in: number;
  matchedOut: number;
  matchedIn: number;
}

/**
 * tshark's count: the VXLAN packets on the underlay per direction (outer source = the local
 * VTEP: leaving), and how many of their inner frames have a byte-identical frame on the bridge
 * side, one to one (as fixtures/lab/make-expected.mjs does). `inner` cuts the compared bytes
 * from the inner frame's hex, `bridge` gives the bridge side's frames as comparable hex.
 */
function reference(vxlanRows: string[][], local: string, bridge: string[], inner: (hex: string) => string): Reference {
  const pool = new Map<string, number>();
  for (const f of bridge) pool.set(f, (pool.get(f) ?? 0) + 1);
  const ref: Reference = { vxlan: 0, out: 0, in: 0, matchedOut: 0, matchedIn: 0 };
  for (const [src, payload] of vxlanRows) {
    const outer = (src ?? '').split(',')[0];
    const leaving = outer === local;
    ref.vxlan++;
    if (leaving) ref.out++;
    else ref.in++;
    const key = inner(((payload ?? '').split(',')[0] ?? '').slice(16)); // after the 8-byte VXLAN header
    const k = pool.get(key) ?? 0;
    if (k > 0) {
      pool.set(key, k - 1);
      if (leaving) ref.matchedOut++;
      else ref.matchedIn++;
    }
  }
  return ref;
}

interface Correlation {
  sides?: string;
  underlayVxlan: number;
  matched: number;
  underlayOnly: number;
  overlayOnly: number;
  encap: number;
  decap: number;
  localVtep?: string;
  reasons: { underlay: Record<string, number>; overlay: Record<string, number> };
  matches: { direction: string; vtepSrc: string; vtepDst: string; frameLen: number; underlay: { tsUs: number } }[];
}

/**
 * The matches of two correlations are the same: each match's underlay packet time, direction and
 * inner length. Times within 200 µs: each packet socket (tcpdump, the other
 * tcpdump, dumpcap) stamps a packet itself when the kernel hands it over, so the three files
 * give one packet times a few µs apart (seen: 1-2 µs; dumpcap writes ns, tcpdump µs).
 */
function expectSameMatches(a: Correlation, b: Correlation): void {
  const list = (c: Correlation): { ts: number; what: string }[] =>
    c.matches.map((m) => ({ ts: m.underlay.tsUs, what: `${m.direction} ${m.frameLen}` })).sort((x, y) => x.ts - y.ts);
  const la = list(a);
  const lb = list(b);
  expect(la.length).toBe(lb.length);
  // each of a's matches pairs with one of b's: same direction and length, times within 200 µs
  // (two packets a µs apart may come in either order in two files)
  const used = new Set<number>();
  const alone = la.filter((m) => {
    const i = lb.findIndex((o, k) => !used.has(k) && o.what === m.what && Math.abs(o.ts - m.ts) <= 200);
    if (i < 0) return true;
    used.add(i);
    return false;
  });
  expect(alone).toEqual([]);
}

async function correlate(args: string[]): Promise<Correlation> {
  const r = await runCli(['correlate', ...args, '--json', '--matches']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Correlation;
}

const counts = (c: Correlation): Record<string, number> => ({
  vxlan: c.underlayVxlan,
  matched: c.matched,
  underlayOnly: c.underlayOnly,
  encap: c.encap,
  decap: c.decap,
});

/** kvm1's links by index, as its kernel says (`ip -n NS -j link show`: a local netlink query, no packet sent). */
function links(): { ifindex: number; name: string }[] {
  const j = JSON.parse(spawnSync('ip', ['-n', KVM1, '-j', 'link', 'show'], { encoding: 'utf8' }).stdout) as {
    ifindex: number;
    ifname: string;
  }[];
  return j.map((l) => ({ ifindex: l.ifindex, name: l.ifname })).sort((a, b) => a.ifindex - b.ifindex);
}

function underlayAddress(): string {
  const j = JSON.parse(spawnSync('ip', ['-n', KVM1, '-j', '-4', 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' }).stdout) as {
    addr_info: { local: string }[];
  }[];
  return j[0]?.addr_info[0]?.local ?? '';
}

/** The link type in a classic pcap's file header (either byte order). */
function pcapLinkType(file: string): number {
  const b = readFileSync(file);
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  return le ? b.readUInt32LE(20) : b.readUInt32BE(20);
}

suite('-i any and multi-interface captures in the lab', () => {
  let work = '';
  let h: LabHandle;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-any-lab-'));
    expect(await labPreflight()).toBeNull();
    h = await labUp({ prefix: PREFIX, dir: path.join(work, 'lab'), provisioned: true });
  });

  afterAll(async () => {
    await labDown({ prefix: PREFIX, dir: work ? path.join(work, 'lab') : undefined });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('tcpdump -i any (SLL2) and dumpcap -i eth1 -i vxlan_bridge, correlated within the one file, equal the eth1 + vxlan_bridge pair and tshark', async () => {
    const f = (n: string): string => path.join(work, n);
    // the snapshot length and ring size of the three tcpdumps: see tcpdumpRecord
    const recs = [
      tcpdumpRecord('eth1', 'eth1', f('eth1.pcap')),
      tcpdumpRecord('bridge', 'vxlan_bridge', f('bridge.pcap')),
      tcpdumpRecord('any', 'any', f('any.pcap')),
      record('dumpcap', ['dumpcap', '-B', '32', '-i', 'eth1', '-i', 'vxlan_bridge', '-w', f('both.pcapng')]),
    ];
    let startBarrier = 0;
    let stopBarrier = 0;
    try {
      // start barrier: every capture listening, then a quiet second
      await waitFor('every capture to listen', () => recs.every((r) => /listening on |Capturing on /.test(r.stderr())), 15_000);
      await sleep(1000);
      startBarrier = Date.now() / 1000;
      const traffic = await labTraffic({ prefix: PREFIX, durationSec: 3 });
      expect(traffic.steps.filter((s) => !s.ok)).toEqual([]);
      // stop barrier: a quiet second after the traffic, before any capture stops; then more
      // than libpcap's 1 s block timeout (TPACKET_V3: the kernel hands a block over when it is
      // full or 1 s old; dumpcap has no immediate mode), so what was seen before the barrier
      // has reached every program when SIGINT arrives
      await sleep(1000);
      stopBarrier = Date.now() / 1000;
      await sleep(2500);
    } finally {
      for (const r of recs) r.child.kill('SIGINT');
    }
    for (const r of recs) {
      const e = await Promise.race([r.exit, sleep(10_000).then(() => ({ code: -1, signal: null }))]);
      expect(e, `${r.name}: ${r.stderr()}`).toEqual({ code: 0, signal: null });
    }
    // nothing lost by the kernel (the ring of each program: 32 MiB, for the GSO frames of the TCP transfer)
    for (const r of recs.slice(0, 3)) expect(r.stderr(), r.name).toMatch(/^0 packets dropped by kernel$/m);
    expect(recs[3]?.stderr()).not.toMatch(/received\/dropped on interface '[^']+': \d+\/[1-9]/);
    // flushed and closed: tcpdump's own count is what is in the file, dumpcap's too
    for (const [r, file] of [
      [recs[0], 'eth1.pcap'],
      [recs[1], 'bridge.pcap'],
      [recs[2], 'any.pcap'],
    ] as const) {
      expect(captureRecords(f(file), { whole: true }).length).toBe(Number(/(\d+) packets? captured/.exec(r?.stderr() ?? '')?.[1]));
    }
    expect(captureRecords(f('both.pcapng'), { whole: true }).length).toBe(
      Number(/Packets captured: (\d+)/.exec(recs[3]?.stderr() ?? '')?.[1]),
    );
    expect(pcapLinkType(f('any.pcap'))).toBe(276); // LINKTYPE_LINUX_SLL2
    expect(pcapLinkType(f('eth1.pcap'))).toBe(1);

    // one window for every file
    const all = ['eth1.pcap', 'bridge.pcap', 'any.pcap', 'both.pcapng'].flatMap((n) => times(f(n)));
    const from = quietCut(all, startBarrier - 0.9, startBarrier);
    const to = quietCut(all, stopBarrier - 0.9, stopBarrier);
    const [eth1, bridge, any, both] = ['eth1.pcap', 'bridge.pcap', 'any.pcap', 'both.pcapng'].map((n) => cut(f(n), from, to)) as [
      string,
      string,
      string,
      string,
    ];

    // tshark's reference, from the pair
    const local = underlayAddress();
    expect(local).toMatch(/^10\.3\.1\./);
    const ref = reference(fieldRows(eth1, ['ip.src', 'udp.payload'], 'vxlan'), local, rawFrames(bridge), (hex) => hex);
    expect(ref.out).toBeGreaterThan(20);
    expect(ref.in).toBeGreaterThan(20);

    const pair = await correlate([eth1, bridge, '--clock-offset', '0']);
    expect(counts(pair)).toEqual({
      vxlan: ref.vxlan,
      matched: ref.matchedOut + ref.matchedIn,
      underlayOnly: ref.vxlan - ref.matchedOut - ref.matchedIn,
      encap: ref.matchedOut,
      decap: ref.matchedIn,
    });
    expect(pair.localVtep).toBe(local);

    // one pcapng, one interface block each
    const multi = await correlate([both, '--clock-offset', '0']);
    expect(multi.sides).toBe('one file, split by interface: underlay eth1, bridge vxlan_bridge');
    expect(counts(multi)).toEqual(counts(pair));
    expect(multi.overlayOnly).toBe(pair.overlayOnly);
    expect(multi.reasons).toEqual(pair.reasons);
    expectSameMatches(multi, pair);

    // tcpdump -i any: the interfaces by index only; the bridge here is promiscuous (the pair's
    // capture on vxlan_bridge), so it sees what `tcpdump -i vxlan_bridge` sees
    const idx = new Map(links().map((l) => [l.name, l.ifindex]));
    const cooked = await correlate([any, '--clock-offset', '0']);
    expect(cooked.sides).toMatch(new RegExp(`^split by interface from the traffic: underlay ifindex ${idx.get('eth1')} `));
    expect(cooked.sides).toContain(`not the VXLAN device ifindex ${idx.get('vxlan10')}`);
    expect(counts(cooked)).toEqual(counts(pair));
    expectSameMatches(cooked, pair);
    // the reasons of what is not matched may be worded apart (a cooked bridge side is compared
    // from the network layer on, without MAC addresses), their number may not
    expect(Object.values(cooked.reasons.underlay).reduce((a, b) => a + b, 0)).toBe(pair.underlayOnly);
  });

  it('capture kvm1 --iface any: session.json names the interface indexes; decode --session and correlate print the names', async () => {
    mustHaveNetns(h.frontendNetns);
    const out = path.join(work, 'capture-any');
    const argv = netnsExec(h.frontendNetns, [
      process.execPath,
      BIN,
      'capture',
      '--inventory',
      h.inventoryPath,
      'kvm1',
      '--iface',
      'any',
      '--out',
      out,
      '--duration',
      '6',
    ]);
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.resume();
    const done = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      await waitFor('the capture to start', () => / for 6\.0s\n/.test(stderr) || child.exitCode !== null, 30_000);
      const traffic = await labTraffic({ prefix: PREFIX, durationSec: 2 });
      expect(traffic.ok).toBe(true);
      expect(await done, stderr).toBe(0);
    } finally {
      clearTimeout(killer);
    }
    const file = path.join(out, 'kvm1-any.pcap');
    expect(pcapLinkType(file)).toBe(276);

    // the node's links, by index, as its kernel lists them
    const session = JSON.parse(readFileSync(path.join(out, 'session.json'), 'utf8')) as {
      nodes: { name: string; ifindexNames?: { ifindex: number; name: string }[] }[];
    };
    const kernel = links();
    expect(session.nodes[0]?.ifindexNames).toEqual(kernel);
    const idx = new Map(kernel.map((l) => [l.name, l.ifindex]));

    // decode: `eth1 Out` / `eth1 In`, as tcpdump -i any prints them
    const plain = await runCli(['decode', file, '-c', '50']);
    expect(plain.stdout).toContain(`ifindex ${idx.get('eth1')} Out `);
    const named = await runCli(['decode', file, '--session', path.join(out, 'session.json')]);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stderr).toBe('');
    expect(named.stdout).not.toMatch(/ ifindex \d+ /);
    expect(named.stdout).toMatch(/^\d+ \S+ eth1 Out \S+ > \S+:4789 VXLAN vni 10 \| /m);
    expect(named.stdout).toMatch(/^\d+ \S+ eth1 In \S+ > \S+:4789 VXLAN vni 10 \| /m);
    expect(named.stdout).toMatch(/^\d+ \S+ vm1 (In|Out) /m);

    // correlate: the session.json beside it names the sides. Alone, `any` leaves the bridge
    // unpromiscuous: it sees only the host's own frames, so the side is the guest's port vm1
    const c = await runCli(['correlate', file, '--json', '--matches']);
    expect(c.code, c.stderr).toBe(0);
    const r = JSON.parse(c.stdout) as Correlation & { sessionFile?: string };
    expect(r.sessionFile).toBe(path.join(out, 'session.json'));
    expect(r.sides).toMatch(
      new RegExp(
        /^split by interface from the traffic: underlay eth1 \(\d+ VXLAN packets .*\), /.source +
          /bridge side vm1 \(\d+ of its frames carried in them\); not the VXLAN device vxlan10, which carries them all$/.source,
      ),
    );
    const text = await runCli(['correlate', file]);
    expect(text.stdout).toContain(`${file} [eth1]`);
    expect(text.stdout).toContain(`${file} [vm1]`);

    // tshark's count on the same file: eth1's VXLAN packets per direction, their inner frames
    // compared from the EtherType on (a cooked record has no Ethernet header) with vm1's records
    const local = underlayAddress();
    const rows = fieldRows(file, ['ip.src', 'udp.payload'], `sll.ifindex == ${idx.get('eth1')} && vxlan`);
    // SLL2: protocol, then 16 bytes, then the frame's payload
    const port = rawFrames(file, `sll.ifindex == ${idx.get('vm1')}`).map((hex) => hex.slice(0, 4) + hex.slice(40));
    const ref = reference(rows, local, port, (hex) => hex.slice(24)); // inner Ethernet: from its EtherType
    expect(counts(r)).toEqual({
      vxlan: ref.vxlan,
      matched: ref.matchedOut + ref.matchedIn,
      underlayOnly: ref.vxlan - ref.matchedOut - ref.matchedIn,
      encap: ref.matchedOut,
      decap: ref.matchedIn,
    });
    expect(r.matched).toBeGreaterThan(20);
    // what is not matched is the VXLAN device's own traffic (it never crosses the bridge), a
    // repeat of an identical frame, or a packet at an end of the capture (this file is not cut)
    for (const code of Object.keys(r.reasons.underlay)) expect(['from-vxlan-device', 'duplicate', 'outside-window']).toContain(code);
  });
});
