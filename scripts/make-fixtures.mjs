// Writes fixtures/synth/: the captures built by src/synth/fixtures.ts (run `npm run build` first),
// their README, and the expected `decode` output of each (text and NDJSON) as golden files.
// Run it again only when a change to the generator or the decoder is meant: review the diff.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { fixtureFiles } = await import(join(root, 'dist', 'synth', 'fixtures.js'));
const out = join(root, 'fixtures', 'synth');
mkdirSync(out, { recursive: true });
const readme = [
  '# Synthetic fixtures',
  '',
  'Made byte by byte by `scripts/make-fixtures.mjs` from `src/synth/fixtures.ts` (every value explained there).',
  '`NAME.decode.txt` and `NAME.decode.ndjson` are the expected `vxlan-inspect decode` outputs (golden files, reviewed by hand).',
  '',
];
for (const fx of fixtureFiles()) {
  const file = join(out, fx.name);
  writeFileSync(file, fx.bytes);
  for (const [ext, args] of [
    ['txt', []],
    ['ndjson', ['--json']],
  ]) {
    const rel = join('fixtures', 'synth', fx.name);
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'bin.js'), 'decode', ...args, rel], { encoding: 'utf8', cwd: root });
    if (r.status !== fx.exitCode) throw new Error(`${fx.name}: decode exited ${r.status}, expected ${fx.exitCode}: ${r.stderr}`);
    writeFileSync(`${file}.decode.${ext}`, r.stdout + (r.stderr ? `# stderr: ${r.stderr}` : ''));
  }
  readme.push(`- \`${fx.name}\` (${fx.bytes.length} bytes): ${fx.about}`);
}
writeFileSync(join(out, 'README.md'), readme.join('\n') + '\n');
console.log(`wrote ${fixtureFiles().length} fixtures to ${out}`);
