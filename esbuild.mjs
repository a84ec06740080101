// Bundles the extension, the CLI, the worker, the benchmarks and the unit tests with esbuild.
// Type-checking is separate: `tsc --noEmit -p .` (npm run typecheck).
import * as esbuild from 'esbuild';
import { readdirSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import createWabt from 'wabt';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native or host-provided modules that must never be bundled. */
const external = ['vscode', 'onnxruntime-node', 'mocha', 'playwright-core'];

/** The package version, compiled into the bundles (`ptycho-study --version`). */
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;

/**
 * `.wat` imports become the module's bytes (a Uint8Array): WebAssembly text compiled with wabt at build time, so the
 * binary is never committed and always matches its source (src/core/iterative/pie.wat).
 */
const wabt = await createWabt();
const watPlugin = {
  name: 'wat',
  setup(build) {
    build.onLoad({ filter: /\.wat$/ }, (args) => {
      const mod = wabt.parseWat(args.path, readFileSync(args.path, 'utf8'), { simd: true, threads: true });
      try {
        return { contents: mod.toBinary({}).buffer, loader: 'binary' };
      } finally {
        mod.destroy();
      }
    });
  },
};

const common = {
  plugins: [watPlugin],
  define: { __PTYCHO_VERSION__: JSON.stringify(version) },
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

/** Panels with a webview page: folders of src/webview holding a main.ts. */
function webviewPanels() {
  const dir = 'src/webview';
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'main.ts'))).map((e) => e.name);
}

const builds = [
  { ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  // The training worker: a separate process (child_process.fork) that loads onnxruntime-node.
  { ...common, entryPoints: { worker: 'src/worker/worker.ts' }, outdir: 'dist' },
  // The second ePIE/rPIE thread (worker_threads), loaded from next to the bundle that runs the engine.
  { ...common, entryPoints: { 'iterative-thread': 'src/core/iterative/iterativeThread.ts' }, outdir: 'dist' },
  // The group-refinement threads (worker_threads), loaded from next to the bundle that reconstructs.
  { ...common, entryPoints: { 'refinement-thread': 'src/core/train/refinementThread.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'bench-io': 'scripts/bench-io.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'bench-ui': 'scripts/bench-ui.ts' }, outdir: 'dist' },
  // The NPZ preview benchmark's extension-host side (loaded through extensionTestsPath by bench-ui).
  { ...common, entryPoints: ['test/vscode/bench/index.ts'], outdir: 'out/test/vscode/bench', outbase: 'test/vscode/bench' },
  { ...common, entryPoints: { 'bench-train': 'scripts/bench-train.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'bench-quality': 'scripts/bench-quality.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'bench-recon': 'scripts/bench-recon.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'phase-information': 'scripts/phase-information.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'group-refinement': 'scripts/group-refinement.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'stitch-phase': 'scripts/stitch-phase.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'stitch-groups': 'scripts/stitch-groups.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'phase-bands': 'scripts/phase-bands.ts' }, outdir: 'dist' },
  { ...common, entryPoints: listTests('test/unit'), outdir: 'out/test/unit', outbase: 'test/unit' },
  // Extension-host suite: loaded by the real VS Code (code-server) through extensionTestsPath.
  { ...common, entryPoints: ['test/vscode/suite/index.ts', ...listTests('test/vscode/suite')], outdir: 'out/test/vscode/suite', outbase: 'test/vscode/suite' },
  // Webview bundles (browser, iife): src/webview/<panel>/main.ts → dist/webview/<panel>.js.
  ...webviewPanels().map((panel) => ({
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: !production, minify: production,
    logLevel: 'warning', entryPoints: { [panel]: `src/webview/${panel}/main.ts` }, outdir: 'dist/webview',
  })),
].filter((b) => Object.values(b.entryPoints).length > 0 && Object.values(b.entryPoints).every((p) => existsSync(p)));

if (!watch) rmSync('out/test', { recursive: true, force: true });
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
