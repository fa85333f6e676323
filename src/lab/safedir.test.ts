import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabError } from './errors.js';
import { createNew, ensureSubdir, isOwnSubdir, ownedDir, prepareDir, removeEntry, replaceFile, type SafeDirOptions } from './safedir.js';

const LAB: SafeDirOptions = { what: 'lab folder', option: '--dir', marker: 'lab.json', owner: 'self' };
const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

function refusal(f: () => unknown): LabError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    return err as LabError;
  }
  throw new Error('expected a refusal');
}

describe('safedir', () => {
  let work = '';
  beforeEach(() => {
    // mkdtemp: mode 0700, ours, in /tmp (sticky): a safe place to start from
    work = mkdtempSync(path.join(tmpdir(), 'vxi-safedir-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('replaceFile removes a link in its place and never writes through it', () => {
    const victim = path.join(work, 'victim');
    writeFileSync(victim, 'VICTIM\n');
    const file = path.join(work, 'authorized_keys');
    symlinkSync(victim, file);
    replaceFile(file, 'ssh-ed25519 AAAA lab\n', 0o600);
    expect(readFileSync(victim, 'utf8')).toBe('VICTIM\n');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('ssh-ed25519 AAAA lab\n');
  });

  it('createNew opens with O_EXCL | O_NOFOLLOW: a link or a file in its place is refused, not followed', () => {
    const victim = path.join(work, 'victim');
    writeFileSync(victim, 'VICTIM\n');
    const link = path.join(work, 'sshd_config');
    symlinkSync(victim, link);
    expect(refusal(() => createNew(link, 'Port 22\n', 0o644)).message).toBe(
      `refusing to write ${link}: something is already there (EEXIST), and nothing is written through a link or over a file`,
    );
    const dangling = path.join(work, 'sshd.log');
    symlinkSync(path.join(work, 'would-be-created'), dangling);
    expect(refusal(() => createNew(dangling, '', 0o600)).message).toContain(`refusing to write ${dangling}`);
    expect(refusal(() => createNew(victim, 'x', 0o600)).message).toContain('(EEXIST)');
    expect(readFileSync(victim, 'utf8')).toBe('VICTIM\n');
    expect(readdirSync(work).sort()).toEqual(['sshd.log', 'sshd_config', 'victim']);
  });

  it('replaceFile rewrites a regular file, and refuses a folder in its place', () => {
    const file = path.join(work, 'known_hosts');
    writeFileSync(file, 'old and longer than the new content\n');
    replaceFile(file, Buffer.from('new\n'), 0o644);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    const dir = path.join(work, 'sshd_config');
    mkdirSync(dir);
    expect(refusal(() => replaceFile(dir, 'x', 0o644)).message).toBe(
      `${dir} is a folder where vxlan-inspect writes a file: remove it and run again`,
    );
    expect(() => removeEntry(path.join(work, 'missing'))).not.toThrow();
  });

  it('prepareDir creates missing folders one by one, inside a sticky world-writable parent too', () => {
    const sticky = path.join(work, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const dir = path.join(sticky, 'a', 'lab');
    expect(prepareDir(dir, LAB)).toBe(dir);
    const st = lstatSync(dir);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o022).toBe(0);
    // again: an empty folder of ours is fine, and so is one holding lab.json
    expect(prepareDir(dir, LAB)).toBe(dir);
    writeFileSync(path.join(dir, 'lab.json'), '{}\n');
    writeFileSync(path.join(dir, 'inventory.yaml'), 'nodes: {}\n');
    expect(prepareDir(dir, LAB)).toBe(dir);
  });

  it('prepareDir refuses a non-empty folder without lab.json, and lab.json that is a link', () => {
    const dir = path.join(work, 'foreign');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'mine\n');
    expect(refusal(() => prepareDir(dir, LAB)).exitCode).toBe(2);
    expect(refusal(() => prepareDir(dir, LAB)).message).toContain(`lab folder ${dir} is not empty and is not a lab (it has no lab.json)`);
    symlinkSync(path.join(work, 'anything'), path.join(dir, 'lab.json'));
    expect(refusal(() => prepareDir(dir, LAB)).message).toContain('it has no lab.json');
    // a recording folder needs no marker
    expect(prepareDir(dir, { what: 'recording folder', option: '--out', owner: 'trusted' })).toBe(dir);
  });

  it('prepareDir refuses a folder or a parent others can write to, and a link', () => {
    const open = path.join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const e1 = refusal(() => prepareDir(open, LAB));
    expect([e1.exitCode, e1.message]).toEqual([
      2,
      `lab folder ${open} is writable by others (mode 0777): remove it, or pick a new --dir and let vxlan-inspect create it`,
    ]);
    const e2 = refusal(() => prepareDir(path.join(open, 'x', 'lab'), LAB));
    expect(e2.message).toContain(
      `cannot use lab folder ${path.join(open, 'x', 'lab')}: ${open} is writable by others (mode 0777) and not sticky`,
    );
    expect(readdirSync(open)).toEqual([]);
    const link = path.join(work, 'link');
    symlinkSync(work, link);
    expect(refusal(() => prepareDir(link, LAB)).message).toContain(`lab folder ${link} is a symbolic link`);
  });

  it('prepareDir returns the path without links when a parent is a link', () => {
    const real = path.join(work, 'real');
    mkdirSync(real);
    symlinkSync(real, path.join(work, 'alias'));
    expect(prepareDir(path.join(work, 'alias', 'lab'), LAB)).toBe(path.join(real, 'lab'));
  });

  it('ensureSubdir refuses a link or a file where a node folder goes', () => {
    const dir = prepareDir(path.join(work, 'lab'), LAB);
    ensureSubdir(path.join(dir, 'kvm1'));
    ensureSubdir(path.join(dir, 'kvm1'));
    expect(isOwnSubdir(path.join(dir, 'kvm1'))).toBe(true);
    symlinkSync(work, path.join(dir, 'kvm2'));
    expect(refusal(() => ensureSubdir(path.join(dir, 'kvm2'))).message).toBe(
      `${path.join(dir, 'kvm2')} is a symbolic link: remove it and run again`,
    );
    expect(isOwnSubdir(path.join(dir, 'kvm2'))).toBe(false);
  });

  it('ownedDir: null when missing, the reason when not ours', () => {
    expect(ownedDir(path.join(work, 'missing'))).toBeNull();
    expect(ownedDir(work)).toEqual({ real: work });
    chmodSync(work, 0o777);
    expect(ownedDir(work)).toEqual({ problem: `${work} is writable by others (mode 0777)` });
  });

  it.skipIf(!isRoot)('prepareDir and ownedDir refuse a folder of another user (root only: chown)', () => {
    const dir = path.join(work, 'nobody');
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, 65534, 65534);
    expect(refusal(() => prepareDir(dir, LAB)).message).toContain(`lab folder ${dir} is owned by uid 65534, not by uid 0 who runs this`);
    expect(refusal(() => prepareDir(dir, { what: 'recording folder', option: '--out', owner: 'trusted' })).message).toContain(
      'owned by uid 65534, not by root or you',
    );
    expect(ownedDir(dir)).toEqual({ problem: `${dir} is owned by uid 65534, not by uid 0 who runs this` });
    const parent = path.join(work, 'nobodys-parent');
    mkdirSync(parent, { mode: 0o755 });
    chownSync(parent, 65534, 65534);
    expect(refusal(() => prepareDir(path.join(parent, 'lab'), LAB)).message).toContain(`${parent} is owned by uid 65534`);
  });
});
