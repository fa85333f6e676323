/**
 * Writing as root into a folder a user named (`lab up --dir`, `lab record --out`) without being
 * turned against the machine: a folder another user made first, or can change, could hold links
 * (`DIR/authorized_keys -> /root/.ssh/authorized_keys`) that root would write through.
 *
 * - Every folder on the way must be owned by root, by us or by the user who ran sudo (who can
 *   act as root anyway), and be writable by nobody else, unless it has the sticky bit (/tmp):
 *   there others cannot rename or remove what we made.
 * - The folder itself we create (mkdir, one level at a time, never through a link); an existing
 *   one must be a real folder, not a link, that no one else can write to.
 * - Files are created with O_CREAT | O_EXCL | O_NOFOLLOW after removing what has the name, so
 *   a link is removed, never followed.
 */
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { LabError } from './errors.js';

/** The refusals: the user must pick or fix the folder first, so exit 2. */
function refuse(message: string): LabError {
  return new LabError(message, { exitCode: 2 });
}

function euid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : 0;
}

/** root, us, and (when we are root by sudo) the user who ran sudo. */
function trustedOwners(): Set<number> {
  const ids = new Set([0, euid()]);
  const sudo = process.env.SUDO_UID;
  if (euid() === 0 && sudo !== undefined && /^\d+$/.test(sudo)) ids.add(Number(sudo));
  return ids;
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw new LabError(`cannot look at ${p}: ${(err as Error).message}`);
  }
}

const othersCanWrite = (st: Stats): boolean => (st.mode & 0o022) !== 0;
const sticky = (st: Stats): boolean => (st.mode & 0o1000) !== 0;

/** Why a folder we only create into (an ancestor) is unsafe, or null. */
function ancestorProblem(st: Stats): string | null {
  if (!trustedOwners().has(st.uid)) return `is owned by uid ${st.uid}`;
  if (othersCanWrite(st) && !sticky(st)) return `is writable by others (mode ${octal(st.mode)}) and not sticky`;
  return null;
}

/** Why a folder we write into is not ours, or null. `owner: 'self'` wants our own uid; 'trusted' also root and the sudo user. */
function ownFolderProblem(st: Stats, owner: 'self' | 'trusted'): string | null {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a folder';
  if (owner === 'self' && st.uid !== euid()) return `is owned by uid ${st.uid}, not by uid ${euid()} who runs this`;
  if (owner === 'trusted' && !trustedOwners().has(st.uid)) return `is owned by uid ${st.uid}, not by root or you`;
  if (othersCanWrite(st)) return `is writable by others (mode ${octal(st.mode)})`;
  return null;
}

/** Checks every folder from / down to `real` (a path without links) as an ancestor. */
function checkAncestors(real: string, target: string, what: string): void {
  let cur = real;
  for (;;) {
    const problem = ancestorProblem(lstatSync(cur));
    if (problem !== null) {
      throw refuse(
        `cannot use ${what} ${target}: ${cur} ${problem}, so another user could swap what is in it for links: ` +
          'pick a --dir under folders only root or you can write to (a new folder in /tmp is fine)',
      );
    }
    const up = path.dirname(cur);
    if (up === cur) return;
    cur = up;
  }
}

export interface SafeDirOptions {
  /** 'lab folder', 'recording folder': for messages. */
  what: string;
  /** The option that named it, for messages: '--dir', '--out'. */
  option: string;
  /** An existing non-empty folder must hold this file (lab.json) to be written into. */
  marker?: string;
  /** Who must own an existing folder: 'self' (our uid) or 'trusted' (also root and the sudo user). */
  owner: 'self' | 'trusted';
}

/**
 * Creates `dir` (and missing parents) or checks the existing one, as the header says, and
 * returns its absolute path without links, which every later write must use. Throws a
 * LabError with exit code 2 naming the folder, what is wrong and what to do.
 */
export function prepareDir(dir: string, opts: SafeDirOptions): string {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  let st = lstatOrNull(cur);
  while (st === null) {
    missing.unshift(path.basename(cur));
    const up = path.dirname(cur);
    if (up === cur) throw new LabError(`cannot create ${abs}: no part of it exists`);
    cur = up;
    st = lstatOrNull(cur);
  }
  const fix = `remove it, or pick a new ${opts.option} and let vxlan-inspect create it`;

  if (missing.length === 0) {
    const problem = ownFolderProblem(st, opts.owner);
    if (problem !== null) throw refuse(`${opts.what} ${abs} ${problem}: ${fix}`);
    const parent = realpathSync(path.dirname(abs));
    checkAncestors(parent, abs, opts.what);
    const real = path.join(parent, path.basename(abs));
    if (opts.marker !== undefined && readdirSync(real).length > 0 && lstatOrNull(path.join(real, opts.marker))?.isFile() !== true) {
      throw refuse(`${opts.what} ${abs} is not empty and is not a lab (it has no ${opts.marker}): refusing to write into it; ${fix}`);
    }
    return real;
  }

  if (!st.isDirectory() && !st.isSymbolicLink()) throw refuse(`cannot create ${opts.what} ${abs}: ${cur} is not a folder`);
  let real = realpathSync(cur);
  checkAncestors(real, abs, opts.what);
  for (const name of missing) {
    real = path.join(real, name);
    try {
      mkdirSync(real, { mode: 0o755 });
    } catch (err) {
      if (errno(err) === 'EEXIST')
        throw refuse(`${real} appeared while vxlan-inspect was creating ${opts.what} ${abs}: someone else made it; ${fix}`);
      throw new LabError(`cannot create ${real}: ${(err as Error).message}`);
    }
  }
  return real;
}

/**
 * A folder inside a prepared one (DIR/kvm1): created, or an existing real folder of ours
 * that no one else can write to. Throws a LabError (exit 2) otherwise.
 */
export function ensureSubdir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return;
  } catch (err) {
    if (errno(err) !== 'EEXIST') throw new LabError(`cannot create ${dir}: ${(err as Error).message}`);
  }
  const problem = ownFolderProblem(lstatSync(dir), 'self');
  if (problem !== null) throw refuse(`${dir} ${problem}: remove it and run again`);
}

/** Removes what is at `file` (a link itself, never its target); a folder there is refused. */
export function removeEntry(file: string): void {
  const st = lstatOrNull(file);
  if (st === null) return;
  if (st.isDirectory()) throw new LabError(`${file} is a folder where vxlan-inspect writes a file: remove it and run again`);
  try {
    unlinkSync(file);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw new LabError(`cannot remove ${file} to write it anew: ${(err as Error).message}`);
  }
}

/**
 * Creates `file` with O_CREAT | O_EXCL | O_NOFOLLOW and writes `content`: refused when anything
 * (a link above all) is already there.
 */
export function createNew(file: string, content: string | Uint8Array, mode: number): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (err) {
    const code = errno(err);
    const why =
      code === 'EEXIST' || code === 'ELOOP'
        ? `something is already there (${code}), and nothing is written through a link or over a file`
        : (err as Error).message;
    throw new LabError(`refusing to write ${file}: ${why}`);
  }
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch (err) {
    throw new LabError(`cannot write ${file}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Writes `file` anew: what has the name is removed first (removeEntry: a link itself, not its target), then createNew. */
export function replaceFile(file: string, content: string | Uint8Array, mode: number): void {
  removeEntry(file);
  createNew(file, content, mode);
}

/**
 * Whether `dir` is a folder we may remove lab files from: a real folder of ours that no one
 * else can write to, under folders no one else can change. Returns its path without links,
 * null when it does not exist, or the reason it is not ours.
 */
export function ownedDir(dir: string): { real: string } | { problem: string } | null {
  const abs = path.resolve(dir);
  const st = lstatOrNull(abs);
  if (st === null) return null;
  const problem = ownFolderProblem(st, 'self');
  if (problem !== null) return { problem: `${abs} ${problem}` };
  const parent = realpathSync(path.dirname(abs));
  for (let cur = parent; ; cur = path.dirname(cur)) {
    const p = ancestorProblem(lstatSync(cur));
    if (p !== null) return { problem: `${cur} (above ${abs}) ${p}` };
    if (path.dirname(cur) === cur) break;
  }
  return { real: path.join(parent, path.basename(abs)) };
}

/** Whether `dir` (inside a folder ownedDir accepted) is a real folder of ours that no one else can write to. */
export function isOwnSubdir(dir: string): boolean {
  const st = lstatOrNull(dir);
  return st !== null && ownFolderProblem(st, 'self') === null;
}
