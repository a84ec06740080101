// The open panels of one kind (the reconstruction viewers, the study comparisons, Compare Runs): one per key, forgotten
// when disposed, announced on onDidCreate (tests wait on it), disposed together, and the save dialog their Export PNG
// uses (tests replace it). Each kind adds how it opens, revives and keys its panels.
import * as vscode from 'vscode';
import { Disposable, trackPanel } from './dispose';
import { showExportSaveDialog, type PickSaveUri } from './host';

export abstract class PanelSet<T extends { readonly onDidDispose: vscode.Event<void>; dispose(): void }> extends Disposable {
  protected readonly panels = new Map<string, T>();
  private readonly createdEmitter = this.register(new vscode.EventEmitter<T>());
  readonly onDidCreate = this.createdEmitter.event;
  pickSaveUri: PickSaveUri = showExportSaveDialog;

  all(): T[] {
    return [...this.panels.values()];
  }

  /** Records `panel` under `key` and announces it. */
  protected track(key: string, panel: T): T {
    return trackPanel(this.panels, key, panel, this.createdEmitter);
  }

  override dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
    super.dispose();
  }
}
