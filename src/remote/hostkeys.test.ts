import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  fingerprint,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  patternsMatch,
  preferredHostKeyAlgorithms,
  readKnownHosts,
  verifyHostKey,
} from './hostkeys.js';

let dir: string;
/** Public key blobs made by ssh-keygen, and ssh-keygen's own fingerprints of them. */
const keys: Record<string, { blob: Buffer; line: string; fp: string }> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vxi-hostkeys-'));
  for (const [name, type] of [
    ['ed1', 'ed25519'],
    ['ed2', 'ed25519'],
    ['ec', 'ecdsa'],
    ['rsa', 'rsa'],
  ] as const) {
    const f = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', f]);
    const line = readFileSync(`${f}.pub`, 'utf8').trim();
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
    keys[name] = { blob: Buffer.from(line.split(' ')[1] ?? '', 'base64'), line, fp };
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function k(name: string): { blob: Buffer; line: string; fp: string } {
  const v = keys[name];
  if (!v) throw new Error(name);
  return v;
}
function entryLine(hosts: string, name: string): string {
  const [type, b64] = k(name).line.split(' ');
  return `${hosts} ${type} ${b64}`;
}

describe('known_hosts', () => {
  it('computes the same fingerprint and key type as ssh-keygen', () => {
    expect(fingerprint(k('ed1').blob)).toBe(k('ed1').fp);
    expect(fingerprint(k('rsa').blob)).toBe(k('rsa').fp);
    expect(keyTypeOfBlob(k('ed1').blob)).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(k('ec').blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOfBlob(k('rsa').blob)).toBe('ssh-rsa');
  });

  it('names non-22 ports [host]:port', () => {
    expect(knownHostsName('10.3.1.156', 22)).toBe('10.3.1.156');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('matches patterns, wildcards and negation', () => {
    expect(patternsMatch('kvm1,10.3.1.156', '10.3.1.156')).toBe(true);
    expect(patternsMatch('10.3.1.*', '10.3.1.174')).toBe(true);
    expect(patternsMatch('10.3.1.*,!10.3.1.174', '10.3.1.174')).toBe(false);
    expect(patternsMatch('10.3.1.15?', '10.3.1.156')).toBe(true);
    expect(patternsMatch('10.3.1.156', '[10.3.1.156]:2222')).toBe(false);
    expect(patternsMatch('[10.3.1.156]:2222', '[10.3.1.156]:2222')).toBe(true);
    expect(patternsMatch('10x3x1x156', '10.3.1.156')).toBe(false); // dots are literal
  });

  it('verifies known, unknown, changed and revoked keys', () => {
    const text = [
      '# comment',
      entryLine('10.3.1.156', 'ed1'),
      entryLine('[127.0.0.1]:2222', 'ed1'),
      `@revoked * ${k('ec').line.split(' ').slice(0, 2).join(' ')}`,
      '@cert-authority *.lab ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ',
      'garbage',
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(4);
    expect(verifyHostKey(entries, '10.3.1.156', k('ed1').blob)).toEqual({ status: 'known', line: 2 });
    expect(verifyHostKey(entries, '10.3.1.174', k('ed1').blob)).toMatchObject({ status: 'unknown', fingerprint: k('ed1').fp });
    expect(verifyHostKey(entries, '10.3.1.156', k('ed2').blob)).toMatchObject({ status: 'changed', lines: [2], fingerprint: k('ed2').fp });
    // another key type than the one on record: a known host's identity changed (OpenSSH 9.2 refuses
    // it with "REMOTE HOST IDENTIFICATION HAS CHANGED", even with StrictHostKeyChecking=accept-new)
    expect(verifyHostKey(entries, '10.3.1.156', k('rsa').blob)).toMatchObject({
      status: 'changed',
      keyType: 'ssh-rsa',
      lines: [2],
      recordedTypes: ['ssh-ed25519'],
    });
    // both types on record: either key is known
    const both = parseKnownHosts(`${entryLine('10.3.1.156', 'ed1')}\n${entryLine('10.3.1.156', 'rsa')}\n`);
    expect(verifyHostKey(both, '10.3.1.156', k('rsa').blob)).toEqual({ status: 'known', line: 2 });
    expect(verifyHostKey(both, '10.3.1.156', k('ed2').blob)).toMatchObject({
      status: 'changed',
      lines: [1],
      recordedTypes: ['ssh-ed25519'],
    });
    expect(verifyHostKey(entries, '10.3.1.156', k('ec').blob)).toMatchObject({ status: 'revoked', line: 4 });
  });

  it('accepts hashed entries written by ssh-keygen -H', () => {
    const f = join(dir, 'kh-hashed');
    writeFileSync(f, `${entryLine('10.3.1.156', 'ed1')}\n${entryLine('[127.0.0.1]:2222', 'ed2')}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', f], { stdio: 'ignore' });
    const text = readFileSync(f, 'utf8');
    expect(text).toContain('|1|');
    expect(text).not.toContain('10.3.1.156');
    const entries = parseKnownHosts(text);
    expect(verifyHostKey(entries, '10.3.1.156', k('ed1').blob).status).toBe('known');
    expect(verifyHostKey(entries, '[127.0.0.1]:2222', k('ed2').blob).status).toBe('known');
    expect(verifyHostKey(entries, '[127.0.0.1]:2222', k('ed1').blob).status).toBe('changed');
    expect(verifyHostKey(entries, '10.3.1.157', k('ed1').blob).status).toBe('unknown');
  });

  it('appends accepted keys in a form ssh-keygen -F finds', async () => {
    const f = join(dir, 'sub', 'known_hosts');
    await appendKnownHost(f, '[127.0.0.1]:2222', k('ed1').blob);
    await appendKnownHost(f, '10.3.1.174', k('rsa').blob);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', f], { encoding: 'utf8' });
    expect(found).toContain(k('ed1').line.split(' ')[1]);
    const entries = await readKnownHosts(f);
    expect(verifyHostKey(entries, '10.3.1.174', k('rsa').blob).status).toBe('known');
    expect(await readKnownHosts(join(dir, 'missing'))).toEqual([]);
  });

  it('offers the algorithms of known key types first', () => {
    const entries = parseKnownHosts(entryLine('h', 'rsa'));
    expect(preferredHostKeyAlgorithms(entries, 'h').slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferredHostKeyAlgorithms(entries, 'other')[0]).toBe('ssh-ed25519');
  });
});
