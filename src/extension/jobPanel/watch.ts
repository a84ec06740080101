// Change notification for one file: fs.watch on its folder (events arrive at once on local disks; watching the
// folder also sees a file replaced by rename, as atomic writes do) plus a stat poll as the fallback for file
// systems that send no events (NFS, Lustre) and for a folder that does not exist yet. Calls are coalesced:
// `onChange` runs at most once per `debounceMs`. Node only (no vscode).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FileWatchOptions {
  /** Stat poll interval (ms); 0 turns polling off. Changeable with setPollMs. */
  pollMs: number;
  /** Coalescing delay after an event (ms). Default 40. */
  debounceMs?: number;
}

export class FileWatch {
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private last = '';
  private disposed = false;
  private pollMs: number;
  private readonly debounceMs: number;
  private readonly base: string;
  private readonly dir: string;

  constructor(readonly file: string, private readonly onChange: () => void, opts: FileWatchOptions) {
    this.pollMs = opts.pollMs;
    this.debounceMs = opts.debounceMs ?? 40;
    this.base = path.basename(file);
    this.dir = path.dirname(file);
    this.tryWatch();
    this.schedule();
  }

  setPollMs(ms: number): void {
    if (ms === this.pollMs) return;
    this.pollMs = ms;
    this.schedule();
  }

  /** Fires the change callback (coalesced) as if the file had changed. */
  poke(): void {
    if (this.disposed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (!this.disposed) this.onChange();
    }, this.debounceMs);
  }

  private tryWatch(): void {
    if (this.watcher || this.disposed) return;
    try {
      this.watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        if (!name || name.toString() === this.base) this.poke();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined; // e.g. the folder was deleted: the poll takes over and re-watches
      });
    } catch {
      this.watcher = undefined; // the folder does not exist yet
    }
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.pollMs > 0 && !this.disposed) {
      this.timer = setInterval(() => void this.pollOnce(), this.pollMs);
      this.timer.unref?.();
    }
  }

  private async pollOnce(): Promise<void> {
    if (this.disposed) return;
    this.tryWatch();
    let sig: string;
    try {
      const st = await fs.promises.stat(this.file);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      sig = 'missing';
    }
    if (sig !== this.last) {
      this.last = sig;
      this.poke();
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
