// A cheap signature of everything that decides the jobs and their states: the discovered layout and the
// size and mtime of each dataset and manifest (stat only, no file is opened). File-system events can be
// lost (network file systems such as NFS or Lustre deliver none; inotify can miss files written into a
// just-created folder), so the extension polls this and refreshes when it changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { discoverStudy, type DiscoverOptions } from './discovery';
import { jobMatrix } from './jobs';
import { ARTIFACT, artifactDirFor } from './layout';

/** Bounds of `ptychoStudy.pollIntervalSeconds` (package.json says the same): a tiny value would busy-poll the disk. */
export const POLL_INTERVAL_BOUNDS_S = { min: 1, max: 3600, default: 5 } as const;

/** The poll interval actually used, in seconds: clamped to [1, 3600]; a non-number gives the default. */
export function clampPollSeconds(value: unknown): number {
  const { min, max, default: fallback } = POLL_INTERVAL_BOUNDS_S;
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

export async function studyFingerprint(options: DiscoverOptions): Promise<string> {
  let layout;
  try {
    layout = await discoverStudy(options);
  } catch (err) {
    return `error:${(err as Error).message}`;
  }
  const files: string[] = [];
  for (const slot of jobMatrix(layout)) {
    files.push(...Object.values(slot.source?.files ?? {}).filter((f): f is string => !!f));
    files.push(path.join(artifactDirFor(layout.artifactRoot, slot.dose, slot.view, slot.gridsize), ARTIFACT.manifest));
  }
  const parts = await Promise.all([...new Set(files)].sort().map(async (f) => {
    try {
      const st = await fs.promises.stat(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${f}:-`;
    }
  }));
  return parts.join('\n');
}
