/**
 * The provision/check/teardown command lines, in process (main(argv)), for what is decided before
 * any connection: usage and inventory errors (exit 2). The inventory names only 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxi-provcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = path.join(dir, 'good.yaml');
writeFileSync(
  good,
  `defaults: { identityFile: ${dir}/none, knownHosts: ${dir}/kh }
nodes:
  kvm1: { host: 127.0.0.1, port: 1, bridgeAddress: 10.220.220.201/24 }
  frontend: { host: 127.0.0.1, port: 1 }
`,
);
const bad = path.join(dir, 'bad.yaml');
writeFileSync(bad, 'overlay: { vni: 10 }\nnodes:\n  kvm1: { host: 127.0.0.1, bridgeAddress: 10.220.220.201 }\n');

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        f(chunk.toString());
        cb();
      },
    });
  const code = await main(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

describe('provision / check / teardown command lines', () => {
  it('are registered with their options', async () => {
    const r = await run(['provision', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--dry-run[\s\S]*--multicast <group>[\s\S]*--inventory <file>[\s\S]*--accept-new/);
    expect((await run(['check', '--help'])).stdout).toMatch(/--json[\s\S]*--probe/);
    expect((await run(['teardown', '--help'])).stdout).toMatch(/--dry-run/);
  });

  it('exit 2 for an invalid inventory, naming the file, the key and the problem', async () => {
    const r = await run(['provision', 'kvm1', '--inventory', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `vxlan-inspect: invalid inventory ${bad}: nodes.kvm1.bridgeAddress: ` +
        `"10.220.220.201" is not an IPv4 address with a prefix length (e.g. 10.220.220.201/24)\n`,
    );
  });

  it('exit 2 for unknown nodes, non-members, bad options, missing nodes', async () => {
    expect(await run(['check', 'kvm9', '--inventory', good])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/no node "kvm9" in the inventory .*\(nodes: kvm1, frontend\)/),
    });
    expect(await run(['provision', 'frontend', '--inventory', good])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/node frontend has no bridgeAddress/),
    });
    expect(await run(['provision', 'kvm1', '--multicast', '10.1.1.1', '--inventory', good])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--multicast "10\.1\.1\.1" is not a multicast address/),
    });
    expect(await run(['teardown', 'kvm1', '--connect-timeout', 'soon', '--inventory', good])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--connect-timeout must be a number/),
    });
    expect((await run(['provision'])).code).toBe(2);
    expect(await run(['provision', 'kvm1', '--inventory', path.join(dir, 'missing.yaml')])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/cannot read inventory/),
    });
  });

  it('check reports an unreachable node as a failed ssh check (exit 1), with node, host and what to do', async () => {
    const agent = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK; // no agent, no identity file: refused before any packet
    let r: { code: number; stdout: string; stderr: string };
    try {
      r = await run(['check', 'kvm1', '--json', '--inventory', good]);
    } finally {
      if (agent !== undefined) process.env.SSH_AUTH_SOCK = agent;
    }
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: false,
      checks: [
        {
          node: 'kvm1',
          name: 'ssh',
          status: 'fail',
          detail: expect.stringMatching(/^kvm1 \(127\.0\.0\.1:1\): no credentials: .*create a key/),
        },
      ],
    });
    expect(r.stderr).toBe('vxlan-inspect: check failed: kvm1 ssh\n');
  });
});
