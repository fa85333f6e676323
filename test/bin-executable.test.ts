/**
 * The quick start runs `npx vxlan-inspect demo` in the checkout: npm runs package.json's bin
 * (dist/cli/bin.js) as a program, so the build must leave it executable (tsc writes it 0644;
 * scripts/copy-assets.mjs sets the mode). A fresh clone answered "Permission denied" before.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

describe("the command's entry point after the build", () => {
  it('is the bin of package.json, executable, and runs as a program', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const bin = path.join(ROOT, pkg.bin['vxlan-inspect'] ?? '');
    expect(statSync(bin).mode & 0o111, `${bin} is not executable`).toBe(0o111);
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
