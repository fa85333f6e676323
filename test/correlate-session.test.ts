/**
 * `correlate` and the session.json beside its underlay capture: a file that is not a session
 * (`null`, `{"nodes":[null]}`, …) is a usage error naming the file and what to do, not "Cannot
 * read properties of null"; and a session.json the command picked up by itself is named in its
 * output (text header, `sessionFile` in --json), so its clock offset never comes from nowhere.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter } from '../src/decode/file/index.js';
import { readSessionOffsets } from '../src/correlate/session.js';
import { encap, ping } from '../src/correlate/synth.js';
import { runCli as run } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vxi-correlate-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000;
const frame = ping(1);

/** A folder with kvm1-eth1.pcap, kvm2-vxlan_bridge.pcap (kvm2's clock 2 s ahead) and the given session.json text. */
function folder(session: string | undefined): { u: string; o: string; session: string } {
  const sub = mkdtempSync(join(dir, 'f-'));
  const u = join(sub, 'kvm1-eth1.pcap');
  const o = join(sub, 'kvm2-vxlan_bridge.pcap');
  writeFileSync(u, new PcapWriter().file([{ tsSec: T0 + 10, tsNsec: 40_000, data: encap(frame) }]));
  writeFileSync(o, new PcapWriter().file([{ tsSec: T0 + 12, tsNsec: 0, data: frame }]));
  const file = join(sub, 'session.json');
  if (session !== undefined) writeFileSync(file, session);
  return { u, o, session: file };
}

describe('a session.json that is not a session file', () => {
  it.each([
    ['null', /is not a session file: it must hold a JSON object with a "nodes" list \(as capture writes it\), not null$/],
    ['[]', /is not a session file: .*, not a list$/],
    ['42', /is not a session file: .*, not 42$/],
    ['{"nodes":[null]}', /: nodes\[0\] must be an object \(name, underlay, overlay, clockOffsetUs\), not null$/],
    ['{"nodes":[{"name":"kvm1"},"kvm2"]}', /: nodes\[1\] must be an object .*, not "kvm2"$/],
    ['{"nodes":{"kvm1":{}}}', /: "nodes" must be a list of nodes, not an object$/],
  ])('%s: readSessionOffsets says so, naming the file (usage error)', async (text, message) => {
    const f = folder(text);
    const err = await readSessionOffsets(f.session, f.u, f.o).then(
      () => undefined,
      (e: unknown) => e as { code?: string; exitCode?: number; message?: string },
    );
    expect(err).toMatchObject({ code: 'VXI_USAGE', exitCode: 2 });
    expect(err?.message?.startsWith(f.session)).toBe(true);
    expect(err?.message).toMatch(message);
  });

  it.each(['null', '{"nodes":[null]}'])(
    '%s beside the underlay: correlate exits 2 with one line naming it and how to do without it',
    async (text) => {
      const f = folder(text);
      const r = await run(['correlate', f.u, f.o]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2); // one line
      expect(r.stderr).toContain(`vxlan-inspect: ${f.session}`);
      expect(r.stderr).toContain(
        '(the session.json beside the underlay capture: name another with --session FILE, or give --clock-offset 0 to read none)',
      );
      expect(r.stderr).not.toMatch(/Cannot read properties|unexpected error/);
      // --clock-offset reads no session file at all
      expect(await run(['correlate', f.u, f.o, '--clock-offset', '0'])).toMatchObject({ code: 0, stderr: '' });
    },
  );

  it('named with --session: the same message, without the hint about a file found beside the capture', async () => {
    const f = folder(undefined);
    const named = join(dir, 'named-session.json');
    writeFileSync(named, 'null');
    const r = await run(['correlate', f.u, f.o, '--session', named]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^vxlan-inspect: ${named.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a session file: .*, not null\\n$`),
    );
  });
});

describe('the session.json correlate used is named in its output', () => {
  const good = JSON.stringify({
    nodes: [
      { name: 'kvm1', clockOffsetUs: 0 },
      { name: 'kvm2', clockOffsetUs: 2_000_000 },
    ],
  });

  it('found beside the underlay: a "session" line in the text header, sessionFile in --json', async () => {
    const f = folder(good);
    const text = await run(['correlate', f.u, f.o]);
    expect(text.code, text.stderr).toBe(0);
    const head = text.stdout.split('\n').slice(0, 4);
    expect(head[2]).toBe(`session   ${f.session} (beside the underlay capture; --session FILE or --clock-offset US to choose otherwise)`);
    expect(head[3]).toBe('          window ±1000 ms, overlay clock offset -2000000 µs (from the session file)');
    const json = JSON.parse((await run(['correlate', f.u, f.o, '--json'])).stdout) as {
      sessionFile?: string;
      matched: number;
      overlayClockOffsetUs: number;
    };
    expect(json).toMatchObject({ sessionFile: f.session, matched: 1, overlayClockOffsetUs: -2_000_000 });
  });

  it('named with --session: named too; none used (no file, or --clock-offset): no session line, no sessionFile', async () => {
    const f = folder(undefined);
    const named = join(dir, 'good-session.json');
    writeFileSync(named, good);
    const text = await run(['correlate', f.u, f.o, '--session', named]);
    expect(text.stdout.split('\n')[2]).toBe(`session   ${named}`);
    const none = await run(['correlate', f.u, f.o]);
    expect(none.stdout).not.toMatch(/^session/m);
    expect((JSON.parse((await run(['correlate', f.u, f.o, '--json'])).stdout) as { sessionFile?: string }).sessionFile).toBeUndefined();
    const beside = folder(good);
    const forced = JSON.parse((await run(['correlate', beside.u, beside.o, '--json', '--clock-offset', '0'])).stdout) as {
      sessionFile?: string;
      matched: number;
    };
    expect(forced).toMatchObject({ matched: 0 });
    expect(forced.sessionFile).toBeUndefined();
  });
});
