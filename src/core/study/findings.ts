// Validation findings: one shape for the CLI, the Jobs tree tooltips and the Problems panel.

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Absolute path of the file the finding is about. */
  file: string;
  /** NPZ member (array key) concerned, if any. */
  key?: string;
  /** Stable rule id, e.g. DATA-001, FORMAT-001, NORMALIZATION-001, OVERSAMPLING-001. */
  rule: string;
  severity: Severity;
  /** One sentence a scientist understands, saying what is wrong and what to do. */
  message: string;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

export function formatFinding(f: Finding): string {
  return `${f.severity.toUpperCase()} ${f.rule}${f.key ? ` [${f.key}]` : ''}: ${f.message}`;
}
