// Shared by the scripts that write their figures into docs/: the machine they ran on, and
// replacing one `<!-- NAME -->` … `<!-- /NAME -->` section of a doc.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

/** "2 × AMD EPYC, 24 GiB, Debian GNU/Linux 12 (bookworm), Linux 6.x, Node 20.x[, tcpdump version …]" */
export function machineLine({ withTcpdump = false } = {}) {
  const cpu = cpus();
  const os = existsSync('/etc/os-release')
    ? /^PRETTY_NAME="?([^"\n]+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]
    : process.platform;
  const line =
    `${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${os}, ` +
    `Linux ${release()}, Node ${process.versions.node}`;
  if (!withTcpdump) return line;
  return `${line}, ${spawnSync('tcpdump', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}`;
}

/** Replaces the text between `<!-- NAME -->` and `<!-- /NAME -->` in `file`; the error message when they are missing. */
export function replaceDocSection(file, name, text) {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const a = doc.indexOf(open);
  const b = doc.indexOf(close);
  if (a < 0 || b < a) return `${file} has no ${open} … ${close} section`;
  writeFileSync(file, `${doc.slice(0, a + open.length)}\n${text}\n${doc.slice(b)}`);
  return undefined;
}
