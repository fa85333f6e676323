// Copies the browser assets the web view serves next to the compiled server, so
// `dist/` is self-contained: the page works with no internet (chart.js is served locally).
// The page's scripts are compiled into it afterwards (tsc -p tsconfig.client.json →
// dist/web/public/client/). Files are overwritten in place, never the folder removed: a test
// or a server of another checkout step may be serving it while this runs.
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web', 'public');
mkdirSync(out, { recursive: true });
// the page's scripts before they were TypeScript (src/web/client/): not served any more
for (const old of ['app.js', 'layers.js']) rmSync(join(out, old), { force: true });
if (existsSync(join(root, 'src', 'web', 'public'))) {
  cpSync(join(root, 'src', 'web', 'public'), out, { recursive: true });
}
const require = createRequire(import.meta.url);
try {
  const chartDist = dirname(require.resolve('chart.js')); // .../chart.js/dist/chart.cjs
  mkdirSync(join(out, 'vendor'), { recursive: true });
  cpSync(join(chartDist, 'chart.umd.js'), join(out, 'vendor', 'chart.umd.js'));
} catch (err) {
  console.error(`copy-assets: chart.js not found (${err.message}); run npm install`);
  process.exit(1);
}

// the command's entry point is run as a program (`npx vxlan-inspect` in this folder runs
// package.json's bin directly, not through a link npm made executable): tsc writes it 0644
const bin = join(root, 'dist', 'cli', 'bin.js');
if (existsSync(bin)) chmodSync(bin, 0o755);
