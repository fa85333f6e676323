/**
 * Host key verification against an OpenSSH known_hosts file, as `ssh` does it.
 *
 * Line format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 *   [@marker] hostpatterns keytype base64-key [comment]
 * - hostpatterns: comma-separated; `*` and `?` wildcards; `!pattern` negates; a non-22 port is
 *   written `[host]:port`; a hashed entry is `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`
 *   where host is the same `host` or `[host]:port` text.
 * - `@revoked` keys are refused; `@cert-authority` lines are skipped (no certificate support).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VxiError } from '../errors.js';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** The raw host pattern field. */
  patterns: string;
  keyType: string;
  /** The decoded key blob (the same bytes the server sends). */
  key: Buffer;
  /** 1-based line number in the file. */
  line: number;
}

/** `host` for port 22, else `[host]:port` — the name known_hosts stores. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [patterns, keyType, b64] = fields;
    if (!patterns || !keyType || !b64) continue;
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0) continue;
    const e: KnownHostEntry = { patterns, keyType, key, line: i + 1 };
    if (marker) e.marker = marker;
    out.push(e);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`, 'i');
}

/** True when the entry's host patterns match `name` (`host` or `[host]:port`). */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const parts = patterns.split('|');
    const salt = Buffer.from(parts[2] ?? '', 'base64');
    const hash = parts[3] ?? '';
    if (salt.length === 0 || hash === '') return false;
    return createHmac('sha1', salt).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p === '') continue;
    const negate = p.startsWith('!');
    const pat = negate ? p.slice(1) : p;
    if (globToRegExp(pat).test(name)) {
      if (negate) return false;
      matched = true;
    }
  }
  return matched;
}

/** The key type written inside an SSH public key blob (its first string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) return 'unknown';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of SHA-256 of the blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { status: 'known'; line: number }
  | { status: 'unknown'; fingerprint: string; keyType: string }
  | { status: 'changed'; fingerprint: string; keyType: string; lines: number[]; recordedTypes: string[] }
  | { status: 'revoked'; fingerprint: string; keyType: string; line: number };

/**
 * Compares the key the server presented with the entries for `name`, as OpenSSH's
 * `check_host_key` does. A host with any key on record is a known host: a different key of a
 * recorded type, or a key of a type not on record while another type is, is "changed" (OpenSSH:
 * "REMOTE HOST IDENTIFICATION HAS CHANGED", refused even with `StrictHostKeyChecking=accept-new`).
 * Only a host with no key on record at all is "unknown".
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], name: string, blob: Buffer): HostKeyVerdict {
  const keyType = keyTypeOfBlob(blob);
  const fp = fingerprint(blob);
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && patternsMatch(e.patterns, name));
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) return { status: 'revoked', fingerprint: fp, keyType, line: revoked.line };
  const recorded = mine.filter((e) => e.marker === undefined);
  const exact = recorded.find((e) => e.key.equals(blob));
  if (exact) return { status: 'known', line: exact.line };
  const sameType = recorded.filter((e) => e.keyType === keyType);
  const offending = sameType.length > 0 ? sameType : recorded;
  if (offending.length > 0) {
    return {
      status: 'changed',
      fingerprint: fp,
      keyType,
      lines: offending.map((e) => e.line),
      recordedTypes: [...new Set(offending.map((e) => e.keyType))],
    };
  }
  return { status: 'unknown', fingerprint: fp, keyType };
}

/** Host key algorithms to offer, in order: the types already known for the host first (as OpenSSH does). */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], name: string): string[] {
  const all = [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ];
  const known = new Set(entries.filter((e) => e.marker === undefined && patternsMatch(e.patterns, name)).map((e) => e.keyType));
  const algoOfType = (a: string): string => (a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a);
  const first = all.filter((a) => known.has(algoOfType(a)));
  return [...first, ...all.filter((a) => !first.includes(a))];
}

export async function readKnownHosts(path: string): Promise<KnownHostEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    const why = code === 'EISDIR' ? 'it is a directory, not a known_hosts file' : (err as Error).message;
    throw new VxiError(
      'VXI_HOSTKEY',
      `cannot read known_hosts ${path}: ${why}; set knownHosts in the inventory to a file (e.g. ~/.ssh/known_hosts)`,
      { exitCode: 2, cause: err },
    );
  }
  return parseKnownHosts(text);
}

/** A known_hosts line for `name` (plain, or hashed like `HashKnownHosts yes`). */
export function knownHostsLine(name: string, blob: Buffer, hashed = false): string {
  let hostField = name;
  if (hashed) {
    const salt = randomBytes(20);
    hostField = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${hostField} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;
}

/** Appends a line for the key (accept-new). Creates the file (0600) and its directory (0700). */
export async function appendKnownHost(path: string, name: string, blob: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const st = await stat(path);
    if (st.size > 0) {
      const text = await readFile(path, 'utf8');
      if (!text.endsWith('\n')) prefix = '\n';
    }
  } catch {
    /* new file */
  }
  await appendFile(path, `${prefix}${knownHostsLine(name, blob)}\n`, { mode: 0o600 });
}
