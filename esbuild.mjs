// Bundles the extension, the CLI, the worker, the benchmarks and the unit tests with esbuild.
// Type-checking is separate: `tsc --noEmit -p .` (npm run typecheck).
import * as esbuild from 'esbuild';
import { readdirSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native or host-provided modules that must never be bundled. */
const external = ['vscode', 'onnxruntime-node', 'mocha', 'playwright-core'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  logLevel: 'warning',
};

function listTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTests(p));
    else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const builds = [
  { ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: { 'bench-io': 'scripts/bench-io.ts' }, outdir: 'dist' },
  { ...common, entryPoints: listTests('test/unit'), outdir: 'out/test/unit', outbase: 'test/unit' },
  // Extension-host suite: loaded by the real VS Code (code-server) through extensionTestsPath.
  { ...common, entryPoints: ['test/vscode/suite/index.ts', ...listTests('test/vscode/suite')], outdir: 'out/test/vscode/suite', outbase: 'test/vscode/suite' },
].filter((b) => Object.values(b.entryPoints).length > 0 && Object.values(b.entryPoints).every((p) => existsSync(p)));

if (!watch) rmSync('out/test', { recursive: true, force: true });
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
