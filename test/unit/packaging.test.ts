// Packaging conventions, checked on the repository: the VS Code engine the extension declares is the one its
// API typings are pinned to (the type-check, `tsc --noEmit -p .`, is what proves the bundle uses no newer API),
// that engine's extension host runs a Node the package supports, the icon is the generator's, and every
// platform package (scripts/package.mjs) ships exactly its own onnxruntime binaries.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { repoRoot } from './helpers/paths';
import { iconPng } from '../../scripts/make-icon';

const readJson = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(repoRoot, ...p), 'utf8'));
const pkg = readJson('package.json');
const lock = readJson('package-lock.json');

/** `^1.100.0` → [1, 100, 0]; anything but a plain caret range fails. */
function caret(range: string): number[] {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  assert.ok(m, `engines.vscode ${range} is not a ^major.minor.patch range`);
  return m.slice(1).map(Number);
}
const cmp = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const semver = (v: string) => v.replace(/^[^\d]*/, '').split('.').map(Number);

/**
 * The Node.js of VS Code's extension host (desktop, from each minor release's Electron), where the extension,
 * its CLI and its training worker run (process.execPath). Each entry holds until the next one. Source: the
 * release notes, tabulated at github.com/ewanharris/vscode-versions.
 */
const EXTENSION_HOST_NODE: [vscodeMinor: number, node: string][] = [
  [80, '16.17.1'], [82, '18.15.0'], [86, '18.17.1'], [90, '20.9.0'], [92, '20.14.0'], [93, '20.15.1'], [94, '20.16.0'],
  [95, '20.18.0'], [96, '20.18.1'], [98, '20.18.2'], [99, '20.18.3'], [100, '20.19.0'], [101, '22.15.1'], [103, '22.17.0'],
  [104, '22.18.0'], [105, '22.19.0'], [106, '22.20.0'], [107, '22.21.1'], [110, '22.22.0'], [123, '24.15.0'],
];

describe('packaging', () => {
  it('engines.vscode is ^ the pinned @types/vscode (package.json, package-lock.json, node_modules): the type-check proves no newer API is used', () => {
    const engine = caret(pkg.engines.vscode).join('.');
    assert.equal(pkg.devDependencies['@types/vscode'], engine, 'package.json devDependencies');
    assert.equal(lock.packages[''].devDependencies['@types/vscode'], engine, 'package-lock.json root devDependencies');
    assert.equal(lock.packages[''].engines?.vscode, pkg.engines.vscode, 'package-lock.json root engines');
    assert.equal(lock.packages['node_modules/@types/vscode'].version, engine, 'package-lock.json node_modules/@types/vscode');
    assert.equal(readJson('node_modules', '@types', 'vscode', 'package.json').version, engine, 'installed @types/vscode (npm ci)');
    // The type-check runs against exactly these typings (tsconfig "types": [... "vscode"]) in npm test.
    assert.ok(readJson('tsconfig.json').compilerOptions.types.includes('vscode'));
    assert.match(fs.readFileSync(path.join(repoRoot, 'scripts', 'test-all.sh'), 'utf8'), /npx tsc --noEmit -p \./);
  });

  it('the oldest VS Code allowed runs extensions on a Node the package supports (engines.node, the @types/node typings)', () => {
    const [major, minor] = caret(pkg.engines.vscode);
    assert.equal(major, 1);
    const row = [...EXTENSION_HOST_NODE].reverse().find(([m]) => m <= minor);
    assert.ok(row, `no extension-host Node known for VS Code 1.${minor}`);
    const nodeFloor = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    assert.ok(nodeFloor, `engines.node ${pkg.engines.node} is not >=x.y.z`);
    assert.ok(cmp(semver(row[1]), semver(nodeFloor)) >= 0, `VS Code 1.${minor} runs extensions on Node ${row[1]}, below engines.node ${pkg.engines.node}`);
    // The Node typings are those of the oldest supported Node, so the type-check also catches newer Node APIs.
    assert.deepEqual(semver(pkg.devDependencies['@types/node']).slice(0, 2), semver(nodeFloor).slice(0, 2), '@types/node major.minor = engines.node floor');
  });

  it('the pinned code-server (the tests\' real VS Code) satisfies engines.vscode', () => {
    const want = fs.readFileSync(path.join(repoRoot, 'scripts', 'setup-vscode-host.sh'), 'utf8').match(/code-server@4\.(\d+)\.(\d+)/);
    assert.ok(want, 'scripts/setup-vscode-host.sh pins code-server@4.<minor>.<patch> (VS Code 1.<minor>.<patch>)');
    assert.ok(cmp([1, Number(want[1]), Number(want[2])], caret(pkg.engines.vscode)) >= 0, `code-server ${want[0]} is older than engines.vscode ${pkg.engines.vscode}`);
  });

  it('media/icon.png is the 128×128 icon that scripts/make-icon.ts draws, and the package ships it', () => {
    assert.equal(pkg.icon, 'media/icon.png');
    const file = fs.readFileSync(path.join(repoRoot, pkg.icon));
    assert.deepEqual([file.readUInt32BE(16), file.readUInt32BE(20)], [128, 128], 'IHDR width × height');
    // Same pixels: the inflated (filtered) image data match; the compressed bytes may differ between zlib builds.
    const idat = (png: Buffer) => {
      const parts: Buffer[] = [];
      for (let p = 8; p < png.length;) {
        const len = png.readUInt32BE(p);
        if (png.toString('ascii', p + 4, p + 8) === 'IDAT') parts.push(png.subarray(p + 8, p + 8 + len));
        p += 12 + len;
      }
      return zlib.inflateSync(Buffer.concat(parts));
    };
    assert.ok(idat(file).equals(idat(iconPng())), 'media/icon.png differs from the generator: run npm run icon');
    assert.match(fs.readFileSync(path.join(repoRoot, '.vscodeignore'), 'utf8'), /^!media\/\*\*$/m);
  });

  it('scripts/package.mjs gives every target an ignore file that ships that target\'s onnxruntime folder only', () => {
    const script = `import('./scripts/package.mjs').then((m) => console.log(JSON.stringify(Object.keys(m.TARGETS).map((t) => [t, m.TARGETS[t], m.ignoreFileFor(t)]))))`;
    const rows: [string, string, string][] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' }));
    assert.deepEqual(rows.map((r) => r[0]), ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64']);
    for (const [target, folder, ignore] of rows) {
      const binLines = ignore.split('\n').filter((l) => l.includes('onnxruntime-node/bin/'));
      assert.deepEqual(binLines, [`!node_modules/onnxruntime-node/bin/napi-v6/${folder}/**`], target);
      assert.ok(fs.existsSync(path.join(repoRoot, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', folder, 'onnxruntime_binding.node')), `${target}: onnxruntime-node has no ${folder} binding`);
    }
    assert.equal(pkg.scripts.package, 'node scripts/package.mjs');
    assert.match(fs.readFileSync(path.join(repoRoot, '.gitignore'), 'utf8'), /^dist-vsix\/$/m);
  });
});
