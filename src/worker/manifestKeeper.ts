// Keeps a run's manifest.json true at every moment (training runs and Phase F reconstructions alike): writes are
// chained (in order, one at a time) and atomic; while the run is `running` every write refreshes its heartbeat,
// and a timer rewrites it every HEARTBEAT_INTERVAL_MS; the end records the status, reason, times and peak memory.
// A failed write is kept in `error`: the run stops at its next step and fails with it, since a manifest that
// stays `running` would lie.
import * as fs from 'node:fs';
import { writeJsonAtomic } from '../core/atomic';
import { writing } from '../core/run/ioError';
import type { Finding } from '../core/study/findings';
import { HEARTBEAT_INTERVAL_MS, type RunStatus } from '../core/study/manifest';

export interface KeptManifest {
  status: RunStatus;
  reason?: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  findings: Finding[];
  runtime: { heartbeatAt?: string; peakRssMB?: number };
  timing?: { startedAt: string; finishedAt?: string; seconds?: number };
}

export class ManifestKeeper<M extends KeptManifest> {
  /** The first write that failed; the run must stop and fail with it. */
  error: Error | undefined;
  private chain: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly manifest: M,
    private readonly file: string,
    private readonly jobId: string,
    private readonly startedAt: Date,
    private readonly stderr: (line: string) => void,
  ) {}

  /**
   * Takes over what an earlier manifest in the folder says about the job rather than the run (its creation date
   * and findings); returns the earlier manifest for the caller's own fields, or undefined.
   */
  async carryOver(): Promise<Record<string, unknown> | undefined> {
    try {
      const previous = JSON.parse(await fs.promises.readFile(this.file, 'utf8')) as Partial<KeptManifest> & Record<string, unknown>;
      this.manifest.createdAt = previous.createdAt ?? this.manifest.createdAt;
      this.manifest.findings = previous.findings ?? [];
      return previous;
    } catch {
      return undefined; // no earlier manifest
    }
  }

  /** Writes the manifest now (after the writes already queued); rejects with the first write error. */
  persist(): Promise<void> {
    const m = this.manifest;
    m.updatedAt = new Date().toISOString();
    if (m.status === 'running') m.runtime.heartbeatAt = m.updatedAt;
    const snapshot = JSON.parse(JSON.stringify(m)) as M;
    this.chain = this.chain.then(() => writing(this.jobId, this.file, () => writeJsonAtomic(this.file, snapshot))).catch((err) => {
      this.error ??= err as Error;
      this.stderr(`manifest write failed: ${(err as Error).message}`);
    });
    return this.chain.then(() => {
      if (this.error) throw this.error;
    });
  }

  /** Persists in the background (a failure is kept in `error`). */
  touch(): void {
    void this.persist().catch(() => undefined);
  }

  startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.touch(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /** Records the run's end: status, reason, finish time, wall seconds of this process and its peak memory. */
  async finish(status: RunStatus, reason?: string): Promise<void> {
    clearInterval(this.heartbeat);
    const end = new Date();
    const m = this.manifest;
    m.status = status;
    m.reason = reason;
    m.finishedAt = end.toISOString();
    m.timing = { ...m.timing!, finishedAt: end.toISOString(), seconds: (end.getTime() - this.startedAt.getTime()) / 1000 };
    m.runtime.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    await this.persist();
  }
}
