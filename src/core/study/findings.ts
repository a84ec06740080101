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
  /** An error the user may accept deliberately with this setting; it then becomes a warning (see applyOverrides). */
  override?: keyof FindingOverrides;
}

/** Settings that accept an overridable error: deliberate choices, recorded with the run's training settings. */
export interface FindingOverrides {
  allowIntensityData?: boolean;
}

/** `findings` with each error that `overrides` accepts turned into a warning that says so. */
export function applyOverrides(findings: readonly Finding[], overrides: FindingOverrides): Finding[] {
  return findings.map((f) => (f.severity === 'error' && f.override && overrides[f.override]
    ? { ...f, severity: 'warning' as const, message: `${f.message} (Accepted: ${f.override} is set.)` }
    : f));
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

export function formatFinding(f: Finding): string {
  return `${f.severity.toUpperCase()} ${f.rule}${f.key ? ` [${f.key}]` : ''}: ${f.message}`;
}
