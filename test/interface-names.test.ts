/**
 * The names of a `tcpdump -i any` capture's interface indexes: `capture` records each node's
 * links (`ip -j link show`) in session.json as `ifindexNames`; `correlate` and `decode --session`
 * read them back (src/correlate/session.ts), and `decode` prints `eth1 Out` where it printed
 * `ifindex 3 Out`, on one thread and on worker threads.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ifindexNamesOf, sessionJson, writeSessionJson } from '../src/capture/session-file.js';
import { parseLinkIndexes } from '../src/capture/node.js';
import type { CaptureRunSummary, StreamSummary } from '../src/capture/types.js';
import { readSessionIfindexNames, readSessionOffsets } from '../src/correlate/session.js';
import { runCli } from './helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const ANY = path.join(ROOT, 'fixtures/synth/class-kvm1-any.pcap');
const work = mkdtempSync(path.join(tmpdir(), 'vxi-ifnames-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function stream(iface: string, file: string): StreamSummary {
  return {
    node: 'kvm1',
    iface,
    role: 'other',
    file,
    filter: 'not tcp port 22',
    command: `tcpdump -U -n -w - -i ${iface}`,
    remotePid: 42,
    startedAt: '2025-01-01T00:00:00.000Z',
    listeningAt: '2025-01-01T00:00:00.100Z',
    stopRequestedAt: '2025-01-01T00:00:01.000Z',
    stoppedAt: '2025-01-01T00:00:01.100Z',
    end: 'stopped',
    packets: 10,
    bytes: 1000,
    fileBytes: 1024,
    vxlanPackets: 10,
    vnis: [10],
    tcpdump: { captured: 10, receivedByFilter: 10, droppedByKernel: 0, droppedByInterface: null },
    exit: { code: 0, signal: null },
    droppedTailBytes: 0,
  };
}

function summary(dir: string, ifindexNames?: { ifindex: number; name: string }[]): CaptureRunSummary {
  return {
    ok: true,
    outDir: dir,
    sessionFile: path.join(dir, 'session.json'),
    startedAt: '2025-01-01T00:00:00.000Z',
    stoppedAt: '2025-01-01T00:00:01.000Z',
    durationSec: 1,
    reason: 'duration',
    filter: null,
    nodes: [
      {
        node: 'kvm1',
        host: '10.3.1.156',
        sshPort: 22,
        user: 'root',
        sudo: false,
        ssh: null,
        exclusionFilter: 'not tcp port 22',
        tcpdumpVersion: '4.99.3',
        libpcapVersion: '1.10.3',
        clock: null,
        ...(ifindexNames ? { ifindexNames } : {}),
        streams: [stream('any', path.join(dir, 'kvm1-any.pcap'))],
      },
    ],
    errors: [],
  };
}

/** A capture folder: class-kvm1-any.pcap as kvm1-any.pcap, and the session.json capture writes. */
function folder(ifindexNames?: { ifindex: number; name: string }[]): { dir: string; pcap: string; session: string } {
  const dir = mkdtempSync(path.join(work, 'cap-'));
  const pcap = path.join(dir, 'kvm1-any.pcap');
  copyFileSync(ANY, pcap);
  const session = writeSessionJson(dir, sessionJson(summary(dir, ifindexNames), [4789]));
  return { dir, pcap, session };
}

const LINKS = [
  { ifindex: 1, name: 'lo' },
  { ifindex: 3, name: 'eth1' },
  { ifindex: 4, name: 'vxlan_bridge' },
  { ifindex: 5, name: 'vxlan10' },
];

describe('session.json ifindexNames', () => {
  it('round-trips: written per node by capture, read back by the capture file it names', async () => {
    const f = folder(LINKS);
    const json = JSON.parse(readFileSync(f.session, 'utf8')) as {
      nodes: { ifindexNames?: unknown; underlay?: string; overlay?: string }[];
    };
    expect(json.nodes[0]?.ifindexNames).toEqual(LINKS);
    // an `any` capture is neither side by name: the readers that pair by underlay/overlay see none
    expect(json.nodes[0]?.underlay).toBeUndefined();
    expect(json.nodes[0]?.overlay).toBeUndefined();
    const r = await readSessionIfindexNames(f.session, f.pcap);
    expect(r.node).toBe('kvm1');
    expect([...(r.names ?? [])]).toEqual(LINKS.map((l) => [l.ifindex, l.name]));
    // by the <node>- prefix too (a copy of the file under another name), and the offsets reader still reads it
    expect((await readSessionIfindexNames(f.session, '/elsewhere/kvm1-any-copy.pcap')).node).toBe('kvm1');
    expect(await readSessionOffsets(f.session, f.pcap, f.pcap)).toMatchObject({ overlayClockOffsetUs: 0, vxlanPorts: [4789] });
  });

  it('is absent in a session.json of an older capture (or when the node could not list its links): no names, no error', async () => {
    const f = folder();
    expect(JSON.parse(readFileSync(f.session, 'utf8')).nodes[0]).not.toHaveProperty('ifindexNames');
    expect(await readSessionIfindexNames(f.session, f.pcap)).toEqual({ node: 'kvm1' });
    expect(await readSessionIfindexNames(f.session, path.join(f.dir, 'kvm2-any.pcap'))).toEqual({});
  });

  it.each([
    ['{"eth1":3}', /"ifindexNames" must be a list of \{"ifindex", "name"\} \(as capture writes it\), not object/],
    ['[3]', /ifindexNames\[0\] must be an object \{"ifindex", "name"\}, not 3/],
    ['[{"ifindex":0,"name":"eth1"}]', /ifindexNames\[0\]\.ifindex must be between 1 and 2147483647, not 0/],
    ['[{"ifindex":"3","name":"eth1"}]', /ifindexNames\[0\]\.ifindex must be a whole number, not "3"/],
    ['[{"ifindex":3,"name":"a name too long!"}]', /ifindexNames\[0\]\.name must be 1 to 15 bytes long \(it is 16\)/],
    ['[{"ifindex":3,"name":"eth1\\u001b[2J"}]', /ifindexNames\[0\]\.name must hold no white space, "\/" or control characters/],
    ['[{"ifindex":3,"name":"eth1"},{"ifindex":3,"name":"eth2"}]', /lists ifindex 3 twice \("eth1" and "eth2"\)/],
  ])('refuses %s, naming the file and the node (usage error)', async (value, message) => {
    const f = folder();
    const j = JSON.parse(readFileSync(f.session, 'utf8')) as { nodes: Record<string, unknown>[] };
    (j.nodes[0] as Record<string, unknown>).ifindexNames = JSON.parse(value);
    writeFileSync(f.session, JSON.stringify(j));
    const err = await readSessionIfindexNames(f.session, f.pcap).then(
      () => undefined,
      (e: unknown) => e as { code?: string; exitCode?: number; message?: string },
    );
    expect(err).toMatchObject({ code: 'VXI_USAGE', exitCode: 2 });
    expect(err?.message).toMatch(new RegExp(`^${f.session.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} node kvm1: `));
    expect(err?.message).toMatch(message);
    expect(() => ifindexNamesOf(JSON.parse(value), 'x')).toThrow(message);
  });

  it('reads the links of `ip -j link show` and `ip -o link show` as the kernel numbers them (this machine)', () => {
    const kernel = readdirSync('/sys/class/net')
      .filter((n) => n !== 'bonding_masters')
      .map((name) => ({ ifindex: Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')), name }))
      .sort((a, b) => a.ifindex - b.ifindex);
    expect(parseLinkIndexes(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }))).toEqual(kernel);
    expect(parseLinkIndexes(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }))).toEqual(kernel);
    expect(parseLinkIndexes('2: eth1@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n')).toEqual([{ ifindex: 2, name: 'eth1' }]);
    expect(parseLinkIndexes('Object "link" is unknown, try "ip help".')).toBeUndefined();
    expect(parseLinkIndexes('[{"ifindex":"2","ifname":"eth1"},{"ifindex":3,"ifname":"eth 1"}]')).toBeUndefined();
    expect(parseLinkIndexes('[{"ifindex":2,"ifname":"eth1"')).toBeUndefined();
  });
});

describe('decode --session: interface names for a tcpdump -i any capture', () => {
  it('prints eth1 In / eth1 Out where it printed ifindex 3, and nothing else changes', async () => {
    const f = folder(LINKS);
    const plain = await runCli(['decode', f.pcap]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^1 \S+ ifindex 3 Out 10\.3\.1\.156:\d+ > 10\.3\.1\.174:4789 VXLAN/);
    const named = await runCli(['decode', f.pcap, '--session', f.session]);
    expect(named).toMatchObject({ code: 0, stderr: '' });
    expect(named.stdout).toBe(plain.stdout.replace(/ ifindex 3 /g, ' eth1 '));
    expect(named.stdout.split('\n').filter(Boolean)).toHaveLength(10);
    expect(named.stdout).toMatch(/^2 \S+ eth1 In 10\.3\.1\.174:\d+ > 10\.3\.1\.156:4789 VXLAN/m);
    // --json keeps the index (its sll layer carries it)
    const json = await runCli(['decode', f.pcap, '--session', f.session, '--json', '-c', '1']);
    expect(JSON.parse(json.stdout).layers[0]).toMatchObject({ type: 'sll', ifindex: 3 });
  });

  it('on worker threads too (the compiled CLI, forced to 2 threads)', () => {
    const f = folder(LINKS);
    const env = { ...process.env, VXI_THREADS: '2', VXI_PARALLEL_MIN_BYTES: '1', VXI_BATCH_PACKETS: '3', TZ: 'UTC' };
    const run = (args: string[]): string => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli/bin.js'), 'decode', f.pcap, ...args], { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    const plain = run([]);
    expect(plain.split('\n').filter(Boolean)).toHaveLength(10);
    expect(run(['--session', f.session])).toBe(plain.replace(/ ifindex 3 /g, ' eth1 '));
    expect(run(['--session', f.session, '-c', '4'])).toBe(
      plain
        .replace(/ ifindex 3 /g, ' eth1 ')
        .split('\n')
        .slice(0, 4)
        .join('\n') + '\n',
    );
  });

  it('says why it cannot name them: the session has no node for the file, or no names for the node', async () => {
    const older = folder();
    const r = await runCli(['decode', older.pcap, '--session', older.session, '-c', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ ifindex 3 Out /);
    expect(r.stderr).toBe(
      `vxlan-inspect: ${older.session} holds no interface names for node kvm1 ` +
        `(recorded by capture since ifindexNames was added): interface indexes are printed as they are\n`,
    );
    const elsewhere = path.join(work, 'other.pcap');
    copyFileSync(ANY, elsewhere);
    const o = await runCli(['decode', elsewhere, '--session', folder(LINKS).session, '-c', '1']);
    expect(o.stdout).toMatch(/ ifindex 3 Out /);
    expect(o.stderr).toMatch(
      /lists no node for .*other\.pcap \(by its file name or a <node>- prefix\): interface indexes are printed as they are\n$/,
    );
  });
});
