// Where a worker_threads script bundled beside the running code lives (dist/<name>.js): next to the bundle that
// runs (the extension, the CLI, the worker), or in the repository's dist/ from a test bundle under out/.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The bundled thread script `file` (e.g. 'iterative-thread.js'), if it is there. */
export function bundledThreadScript(file: string): string | undefined {
  const candidates = [path.join(__dirname, file), path.join(__dirname, '..', '..', 'dist', file), path.join(__dirname, '..', '..', '..', 'dist', file)];
  return candidates.find((f) => fs.existsSync(f));
}
