/**
 * `vxlan-inspect capture` usage errors through main(), in-process. Every case fails before any
 * connection; the inventory names only 127.0.0.1 (a closed port) so that even a bug could not
 * send a packet anywhere else.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-capture-cli-'));
const inventory = path.join(dir, 'inventory.yaml');
writeFileSync(
  inventory,
  'defaults: { identityFile: /nonexistent/key, knownHosts: /nonexistent/known_hosts }\nnodes:\n  local: { host: 127.0.0.1, port: 9 }\n',
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(['capture', '--inventory', inventory, '--out', path.join(dir, 'out'), ...args], { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('capture: usage errors (exit 2, nothing sent)', () => {
  it.each([
    [['local', '--duration', 'ten'], /--duration must be a time like 10s, 500ms, 2m or 1h, not "ten"/],
    [['local', '--count', '0'], /--count must be between 1 and/],
    [['local', '--snaplen', '300000'], /--snaplen must be between 0 and 262144/],
    [['local', '--filter', '-w /tmp/x'], /--filter must not start with "-"/],
    [['local', '--filter', 'udp) or (tcp'], /--filter has unbalanced parentheses/],
    [['local', '--iface', 'eth1;reboot'], /--iface "eth1;reboot" may only contain/],
    [['local', '--iface', 'averyveryverylongname'], /Linux allows at most 15/],
    [['local', '--tcpdump', 'tcpdump; id'], /--tcpdump must be a program name or path/],
    [['local', 'local'], /node local is named twice/],
    [['kvm9'], /no node "kvm9" in the inventory/],
    // Object.prototype members are not nodes: once they reached 127.0.0.1:22 with no host (issue 16)
    [['constructor', '--iface', 'lo'], /no node "constructor" in the inventory/],
    [['__proto__', '--iface', 'lo'], /no node "__proto__" in the inventory/],
    [['toString'], /no node "toString" in the inventory/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('needs at least one node', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument 'nodes'/);
  });

  it('lists its options in --help', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const o of [
      '--iface',
      '--out',
      '--duration',
      '--count',
      '--snaplen',
      '--filter',
      '--json',
      '--tcpdump',
      '--inventory',
      '--accept-new',
    ])
      expect(r.stdout).toContain(o);
  });
});
