// Validation findings in the Problems panel, attached to the .npz files they are about.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { Finding } from '../core/study';
import type { StudyModel } from './studyModel';

const SEVERITY: Record<Finding['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export class StudyDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('ptychoStudy');
  private readonly sub: vscode.Disposable;

  /** `readme`: the extension's README, whose "Validation rules" section each finding's rule links to. */
  constructor(private readonly model: StudyModel, private readonly readme?: vscode.Uri) {
    this.sub = model.onDidChange(() => this.update());
  }

  /** Replaces all diagnostics with the model's current findings (only after frame-sampling validation). */
  update(): void {
    if (!this.model.folders.every((s) => s.deepValidated)) return;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const seen = new Set<string>();
    for (const job of this.model.allJobs()) {
      for (const f of job.findings) {
        const key = `${f.file}|${f.rule}|${f.key ?? ''}|${f.message}`;
        // Findings about absent files (a missing split) live in the tree; Problems needs a real file.
        if (seen.has(key) || !fs.existsSync(f.file)) continue;
        seen.add(key);
        const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), f.key ? `${f.key}: ${f.message}` : f.message, SEVERITY[f.severity]);
        d.source = 'PtychoPINN Study';
        // The rule links to its explanation (README, Validation rules).
        d.code = this.readme ? { value: f.rule, target: this.readme.with({ fragment: `rule-${f.rule.toLowerCase()}` }) } : f.rule;
        const list = byFile.get(f.file) ?? [];
        list.push(d);
        byFile.set(f.file, list);
      }
    }
    this.collection.clear();
    for (const [file, diags] of byFile) this.collection.set(vscode.Uri.file(file), diags);
  }

  dispose(): void {
    this.sub.dispose();
    this.collection.dispose();
  }
}
