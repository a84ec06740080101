// Where a path really is, and whether it lies in a folder: the one check behind every "never write into X" refusal.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** `p` is `root` or lies inside it, by name (both resolved). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * `p` with symlinks resolved: its deepest existing ancestor's real path, the rest appended, so a link cannot hide
 * which folder a path (existing or not yet) is in.
 */
export function realLocation(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.resolve(p);
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}
