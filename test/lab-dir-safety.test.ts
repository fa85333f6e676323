/**
 * `lab up --dir DIR` against a DIR someone else made first (issue 16, item 3): links planted in
 * it are never written through, a folder of another user, one others can write to, or a
 * non-empty one that is not a lab is refused (exit 2) before anything is built, and `lab down`
 * and `lab record --out` are held to the same rules.
 *
 * Root only (chown, namespaces, the real `lab up`); skipped with the reason otherwise. Labs use
 * a prefix `vxs…-` of this file's own and are torn down in afterAll, whatever happened. Run it
 * as `flock /tmp/vxi-lab.lock npx vitest run test/lab-dir-safety.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown } from '../src/lab/index.js';
import { runCli } from './helpers/cli.js';
import { canRunNetns } from './helpers/netns.js';

const can = canRunNetns();
const suite = can.ok ? describe : describe.skip;
if (!can.ok) describe.skip(`lab --dir safety (skipped: ${can.reason})`, () => it('skipped', () => {}));

const NOBODY = 65534;

function vxsPrefix(): string {
  return `vxs${randomBytes(2).toString('hex')}-`;
}

function namespacesWith(prefix: string): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

suite('lab --dir: a folder someone else prepared', () => {
  const prefixes: string[] = [];
  let work = '';
  let victims = '';

  /** A file `lab up` must never touch, with its content. */
  function victim(name: string): { file: string; text: string } {
    const file = path.join(victims, name);
    const text = `VICTIM ${name}\n`;
    writeFileSync(file, text, { mode: 0o600 });
    return { file, text };
  }

  function prefix(): string {
    const p = vxsPrefix();
    prefixes.push(p);
    return p;
  }

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-dir-safety-'));
    victims = path.join(work, 'victims');
    mkdirSync(victims);
  });

  afterAll(async () => {
    for (const p of prefixes) await labDown({ prefix: p }).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses a non-empty folder that is not a lab, with links planted in it, and writes through none of them', async () => {
    const p = prefix();
    const keys = victim('authorized_keys');
    const conf = victim('sshd_config');
    const dir = path.join(work, 'planted');
    mkdirSync(path.join(dir, 'kvm1'), { recursive: true });
    symlinkSync(keys.file, path.join(dir, 'authorized_keys'));
    symlinkSync(conf.file, path.join(dir, 'kvm1', 'sshd_config'));

    const r = await runCli(['lab', 'up', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toMatch(/not empty.*lab\.json/);
    expect(readFileSync(keys.file, 'utf8')).toBe(keys.text);
    expect(readFileSync(conf.file, 'utf8')).toBe(conf.text);
    expect(lstatSync(path.join(dir, 'authorized_keys')).isSymbolicLink()).toBe(true);
    expect(lstatSync(path.join(dir, 'kvm1', 'sshd_config')).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['authorized_keys', 'kvm1']);
    expect(namespacesWith(p)).toEqual([]);
  });

  it('refuses an empty folder others can write to', async () => {
    const p = prefix();
    const dir = path.join(work, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = await runCli(['lab', 'up', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toContain('writable by others (mode 0777)');
    expect(readdirSync(dir)).toEqual([]);
    expect(namespacesWith(p)).toEqual([]);
  });

  it('refuses an empty folder owned by another user', async () => {
    const p = prefix();
    const dir = path.join(work, 'nobodys');
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, NOBODY, NOBODY);
    const r = await runCli(['lab', 'up', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toContain(`owned by uid ${NOBODY}`);
    expect(readdirSync(dir)).toEqual([]);
    expect(namespacesWith(p)).toEqual([]);
  });

  it('refuses to create the folder inside a folder others can write to (without the sticky bit)', async () => {
    const p = prefix();
    const open = path.join(work, 'open-parent');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const dir = path.join(open, 'deeper', 'lab');
    const r = await runCli(['lab', 'up', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(open);
    expect(existsSync(path.join(open, 'deeper'))).toBe(false);
    expect(namespacesWith(p)).toEqual([]);
  });

  it('refuses a --dir that is a symbolic link', async () => {
    const p = prefix();
    const real = path.join(work, 'real-target');
    mkdirSync(real);
    const dir = path.join(work, 'link-to-dir');
    symlinkSync(real, dir);
    const r = await runCli(['lab', 'up', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${dir} is a symbolic link`);
    expect(readdirSync(real)).toEqual([]);
  });

  it('over a lab folder of ours with a folder where a file goes: fails half-way, removes what it made, leaves that folder', async () => {
    const p = prefix();
    const dir = path.join(work, 'halfway');
    const inTheWay = path.join(dir, 'kvm1', 'sshd_config');
    mkdirSync(inTheWay, { recursive: true });
    writeFileSync(path.join(dir, 'lab.json'), '{}\n');
    const r = await runCli(['lab', 'up', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(`vxlan-inspect: ${inTheWay} is a folder where vxlan-inspect writes a file: remove it and run again\n`);
    expect(namespacesWith(p)).toEqual([]);
    expect(lstatSync(inTheWay).isDirectory()).toBe(true);
    expect(existsSync(path.join(dir, 'id_ed25519'))).toBe(false);
    expect(existsSync(path.join(dir, 'kvm1', 'ssh_host_ed25519_key'))).toBe(false);
  });

  it('lab down leaves the files of a folder that is not its own alone', async () => {
    const p = prefix();
    const target = path.join(victims, 'etc-ssh');
    mkdirSync(target);
    writeFileSync(path.join(target, 'sshd_config'), 'system sshd config\n');
    writeFileSync(path.join(target, 'ssh_host_ed25519_key'), 'system host key\n');
    const dir = path.join(work, 'down-foreign');
    mkdirSync(dir, { mode: 0o755 });
    symlinkSync(target, path.join(dir, 'kvm1'));
    writeFileSync(path.join(dir, 'lab.json'), '{}\n');
    chownSync(dir, NOBODY, NOBODY);
    const r = await runCli(['lab', 'down', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${dir} is owned by uid ${NOBODY}`);
    expect(readFileSync(path.join(target, 'sshd_config'), 'utf8')).toBe('system sshd config\n');
    expect(readFileSync(path.join(target, 'ssh_host_ed25519_key'), 'utf8')).toBe('system host key\n');
    expect(existsSync(path.join(dir, 'lab.json'))).toBe(true);
  });
});

suite('lab --dir: over a lab folder of ours with links planted in it', () => {
  const p = vxsPrefix();
  let work = '';
  let dir = '';
  const planted = [
    'authorized_keys',
    'known_hosts',
    'inventory.yaml',
    'id_ed25519',
    'id_ed25519.pub',
    'kvm1/sshd_config',
    'kvm1/ssh_host_ed25519_key',
    'kvm1/sshd.log',
    'kvm2/sshd.pid',
  ];
  const victimText = new Map<string, string>();
  const victimFile = (rel: string): string => path.join(work, 'victims', rel.replace('/', '-'));

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vxi-dir-safety-'));
    dir = path.join(work, 'lab');
    mkdirSync(path.join(work, 'victims'));
    for (const n of ['kvm1', 'kvm2']) mkdirSync(path.join(dir, n), { recursive: true });
    writeFileSync(path.join(dir, 'lab.json'), `${JSON.stringify({ prefix: p, provisioned: true, createdAt: '' })}\n`);
    for (const rel of planted) {
      const text = `VICTIM ${rel}\n`;
      writeFileSync(victimFile(rel), text, { mode: 0o600 });
      victimText.set(rel, text);
      symlinkSync(victimFile(rel), path.join(dir, rel));
    }
  });

  afterAll(async () => {
    await labDown({ prefix: p, dir: dir || undefined });
    expect(namespacesWith(p)).toEqual([]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lab up replaces the links with its own files and never writes through them', async () => {
    const r = await runCli(['lab', 'up', '--provisioned', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    for (const rel of planted) {
      expect(readFileSync(victimFile(rel), 'utf8'), rel).toBe(victimText.get(rel));
      const st = lstatSync(path.join(dir, rel));
      expect(st.isFile(), `${rel} is a regular file`).toBe(true);
    }
    expect(readFileSync(path.join(dir, 'kvm1', 'sshd_config'), 'utf8')).toContain('ListenAddress 10.3.1.156');
    expect(readFileSync(path.join(dir, 'authorized_keys'), 'utf8')).toBe(readFileSync(path.join(dir, 'id_ed25519.pub'), 'utf8'));
    expect(lstatSync(path.join(dir, 'id_ed25519')).mode & 0o777).toBe(0o600);
  });

  it('lab record replaces a link planted in --out and refuses an --out of another user', async () => {
    const out = path.join(work, 'rec');
    mkdirSync(out);
    const pcapVictim = path.join(work, 'victims', 'pcap');
    writeFileSync(pcapVictim, 'VICTIM pcap\n');
    symlinkSync(pcapVictim, path.join(out, 'kvm1-eth1.pcap'));
    const r = await runCli(['lab', 'record', '--prefix', p, '--out', out, '--duration', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(pcapVictim, 'utf8')).toBe('VICTIM pcap\n');
    const st = lstatSync(path.join(out, 'kvm1-eth1.pcap'));
    expect(st.isFile()).toBe(true);
    expect(st.size).toBeGreaterThan(24);

    const foreign = path.join(work, 'rec-nobody');
    mkdirSync(foreign, { mode: 0o755 });
    chownSync(foreign, NOBODY, NOBODY);
    const refused = await runCli(['lab', 'record', '--prefix', p, '--out', foreign, '--duration', '1']);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`${foreign} is owned by uid ${NOBODY}`);
    expect(readdirSync(foreign)).toEqual([]);
  });

  it('lab down removes the files and the folder', async () => {
    const r = await runCli(['lab', 'down', '--prefix', p, '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
    for (const rel of planted) expect(readFileSync(victimFile(rel), 'utf8')).toBe(victimText.get(rel));
  });
});
