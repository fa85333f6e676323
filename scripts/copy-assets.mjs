// Copies the browser assets the web view serves next to the compiled server, so
// `dist/` is self-contained: the page works with no internet (chart.js is served locally).
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web', 'public');
mkdirSync(out, { recursive: true });
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
