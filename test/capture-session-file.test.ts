/**
 * `OUT/session.json` when it cannot be written (a full disk, a folder in its way): the temporary
 * `session.json.tmp-PID` is removed, the failure is an error of the capture (ok: false, exit 1
 * in the CLI) that names the file, and the closing report no longer says "session: …/session.json"
 * as if it were there. A file or symlink already under the temporary name is never written through.
 *
 * The end of a capture runs for real (CaptureHandle with no streams: nothing is sent anywhere);
 * the full-disk case uses a 4 KiB tmpfs, so it needs root (skipped with the reason otherwise).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureHandle } from '../src/capture/capture.js';
import { summaryText } from '../src/capture/format.js';
import { SESSION_FILE, writeSessionJson, type SessionJson } from '../src/capture/session-file.js';
import { BUILTIN_INVENTORY_YAML, BUILTIN_SOURCE, parseInventory } from '../src/remote/inventory.js';

const work = mkdtempSync(path.join(tmpdir(), 'vxi-session-file-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
});

const SESSION: SessionJson = {
  tool: 'vxlan-inspect capture',
  version: 1,
  localHost: 'here',
  startedAt: '2025-01-01T00:00:00.000Z',
  stoppedAt: '2025-01-01T00:00:01.000Z',
  durationSec: 1,
  reason: 'stopped',
  filter: null,
  vxlanPorts: [4789],
  nodes: [],
  errors: [],
};

/** What is in a folder, but the session file's temporary name shows up as such. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(`${SESSION_FILE}.tmp-`));
}

/** A capture that ends at once (no streams) and writes its session.json into `out`. */
async function endCapture(out: string): Promise<Awaited<CaptureHandle['done']>> {
  const inventory = parseInventory(BUILTIN_INVENTORY_YAML, BUILTIN_SOURCE);
  const h = new CaptureHandle(out, { inventory, nodes: [], outDir: out }, [4789], undefined);
  h.attach([]);
  h.run();
  return h.done;
}

/** root can mount a 4 KiB tmpfs; null when it can, else why not. */
function cannotMount(): string | null {
  if (process.getuid?.() !== 0) return 'not root (mounts a tmpfs)';
  return spawnSync('mount', ['--version']).status === 0 ? null : 'no mount command';
}

describe('writeSessionJson', () => {
  it('writes the file and leaves no temporary file', () => {
    const dir = mkdtempSync(path.join(work, 'ok-'));
    const file = writeSessionJson(dir, SESSION);
    expect(file).toBe(path.join(dir, SESSION_FILE));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(SESSION);
    expect(leftovers(dir)).toEqual([]);
  });

  it('the rename fails (a folder named session.json is in the way): throws, and the temporary file is gone', () => {
    const dir = mkdtempSync(path.join(work, 'rename-'));
    mkdirSync(path.join(dir, SESSION_FILE));
    writeFileSync(path.join(dir, SESSION_FILE, 'x'), 'keep');
    expect(() => writeSessionJson(dir, SESSION)).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(leftovers(dir)).toEqual([]);
    expect(readFileSync(path.join(dir, SESSION_FILE, 'x'), 'utf8')).toBe('keep');
  });

  it('a symlink already under the temporary name is replaced, not written through', () => {
    const dir = mkdtempSync(path.join(work, 'symlink-'));
    const target = path.join(work, 'not-yours.txt');
    writeFileSync(target, 'untouched');
    symlinkSync(target, path.join(dir, `${SESSION_FILE}.tmp-${process.pid}`));
    writeSessionJson(dir, SESSION);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(leftovers(dir)).toEqual([]);
    expect(JSON.parse(readFileSync(path.join(dir, SESSION_FILE), 'utf8'))).toEqual(SESSION);
  });

  const why = cannotMount();
  it.skipIf(why !== null)(
    `a full disk (a full 4 KiB tmpfs): ENOSPC is thrown, nothing is left behind${why ? ` (skipped: ${why})` : ''}`,
    () => {
      const mnt = mkdtempSync(path.join(work, 'full-'));
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', mnt], { encoding: 'utf8' });
      expect(m.status, m.stderr).toBe(0);
      mounts.push(mnt);
      // fill it
      expect(() => writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(64 * 1024))).toThrow(/ENOSPC/);
      expect(() => writeSessionJson(mnt, SESSION)).toThrow(/ENOSPC/);
      expect(leftovers(mnt)).toEqual([]);
      expect(existsSync(path.join(mnt, SESSION_FILE))).toBe(false);
    },
  );
});

describe('the end of a capture when session.json cannot be written', () => {
  it('ok: false, the error names the file, the report says it was not written, no temporary file', async () => {
    const out = mkdtempSync(path.join(work, 'capture-'));
    mkdirSync(path.join(out, SESSION_FILE));
    writeFileSync(path.join(out, SESSION_FILE, 'x'), 'in the way');
    const s = await endCapture(out);
    const file = path.join(out, SESSION_FILE);
    expect(s.ok).toBe(false);
    expect(s.sessionError).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(s.errors).toEqual([`cannot write ${file}: ${s.sessionError}`]);
    expect(leftovers(out)).toEqual([]);
    const text = summaryText(s);
    expect(text).not.toContain(`session: ${file}\n`);
    expect(text).toContain(`session: not written (${file}: ${s.sessionError})\n`);
    expect(text).toMatch(/^capture FAILED: /m);
  });

  it('written: ok, and the report names it', async () => {
    const out = mkdtempSync(path.join(work, 'capture-ok-'));
    const s = await endCapture(out);
    expect(s.ok).toBe(true);
    expect(s.sessionError).toBeUndefined();
    expect(summaryText(s)).toContain(`session: ${path.join(out, SESSION_FILE)}\n`);
  });
});
