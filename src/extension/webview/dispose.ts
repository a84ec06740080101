// Disposal helpers (after vscode-hexeditor's dispose.ts): register disposables on an owner; registering
// after disposal disposes at once; disposal runs in reverse order (LIFO) and only once.
import type * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private _isDisposed = false;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  protected register<T extends vscode.Disposable>(d: T): T {
    if (this._isDisposed) d.dispose();
    else this.owned.push(d);
    return d;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this.owned);
  }
}

export function disposeAll(items: vscode.Disposable[]): void {
  while (items.length > 0) {
    try {
      items.pop()!.dispose();
    } catch {
      // One failing dispose must not keep the others alive.
    }
  }
}

/** The next value `event` fires that matches, or a rejection naming `what` after `timeoutMs`. */
export function nextEvent<T>(event: vscode.Event<T>, match: (x: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = event((x) => {
      if (!match(x)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(x);
    });
  });
}

/**
 * Records an open panel under `key` (one panel per key), forgets it when it is disposed (unless another
 * panel has taken the key since), and announces it on `opened`.
 */
export function trackPanel<T extends { onDidDispose: vscode.Event<void> }>(panels: Map<string, T>, key: string, panel: T, opened: vscode.EventEmitter<T>): T {
  panels.set(key, panel);
  panel.onDidDispose(() => {
    if (panels.get(key) === panel) panels.delete(key);
  });
  opened.fire(panel);
  return panel;
}
