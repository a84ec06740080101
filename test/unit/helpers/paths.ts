// Repository paths and temp folders for tests. Tests are bundled into out/test/unit/, so __dirname is not
// the source folder: walk up until the folder holding package.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function findRepoRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRepoRoot(__dirname);
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');

/** A fresh temporary folder and a function that removes it (and everything in it). */
export function tempDir(prefix = 'ptycho-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
