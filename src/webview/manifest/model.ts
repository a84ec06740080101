// The manifest viewer's document, without the DOM: a job manifest (manifest.json, schemaVersion 1) or the
// study manifest (training_manifest.json) turned into titled sections of labelled fields and tables. The file
// comes from disk, so nothing is assumed: every value is type-checked, unknown keys are kept (in their
// section's "other" group or an "Other fields" section) and a dry-run manifest simply has fewer sections.
// Pure TypeScript (unit-tested in plain Node).
import { formatValue } from '../../core/image/ticks';
import { formatBytes } from '../shared/format';

export type FieldKind = 'code' | 'path' | 'hash' | 'warn' | 'error' | 'muted' | 'status';

export interface Field {
  label: string;
  value: string;
  kind?: FieldKind;
  /** Tooltip (e.g. the full value of a shortened hash). */
  title?: string;
  /** Stable id for tests (e.g. `field-executionProviderUsed`). */
  id?: string;
}

export interface Group {
  title?: string;
  fields: Field[];
}

export interface Cell {
  text: string;
  kind?: FieldKind;
  title?: string;
}

export interface Table {
  id: string;
  caption?: string;
  columns: string[];
  rows: Cell[][];
  /** Job ids of the rows (study manifest: a button opens each job). */
  rowJobIds?: (string | undefined)[];
}

export interface Section {
  id: string;
  title: string;
  groups: Group[];
  tables: Table[];
  note?: string;
  /** Values the section did not know how to show, as JSON (shown with the JSON tree). */
  extra?: Record<string, unknown>;
}

export interface ManifestDocument {
  kind: 'job' | 'study' | 'unknown';
  title: string;
  status?: string;
  reason?: string;
  sections: Section[];
  /** Shown at the top (e.g. the fallback reason, an unknown schema version). */
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);


export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function formatDate(v: string): string {
  const t = Date.parse(v);
  if (!Number.isFinite(t)) return v;
  return `${v.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`;
}

/** Any JSON value as one line of text. */
export function formatAny(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : formatValue(v, 6);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) return v.map((x) => formatAny(x)).join(', ');
  return JSON.stringify(v);
}

const KIND_BY_KEY: Record<string, FieldKind> = {
  path: 'path', trainPath: 'path', testPath: 'path', artifactDir: 'path', phaseCRoot: 'path', phaseDRoot: 'path', artifactRoot: 'path',
  sha256: 'hash', previousManifest: 'path',
};

function field(label: string, v: unknown, key?: string): Field | undefined {
  if (v === undefined) return undefined;
  const kind = key ? KIND_BY_KEY[key] : undefined;
  const f: Field = { label, value: formatAny(v), id: key ? `field-${key}` : undefined };
  if (kind) f.kind = kind;
  if (typeof v === 'string' && /At$/.test(key ?? '')) f.value = formatDate(v);
  if (kind === 'hash' && typeof v === 'string') {
    f.title = v;
  }
  return f;
}

/** Fields for `keys` of `o` (label → key), in that order; the other keys of `o` follow under their own names. */
function fieldsOf(o: Obj, keys: [string, string][], rest = true): Field[] {
  const out: Field[] = [];
  const used = new Set<string>();
  for (const [key, label] of keys) {
    used.add(key);
    const f = field(label, o[key], key);
    if (f) out.push(f);
  }
  if (rest) {
    for (const [k, v] of Object.entries(o)) {
      // Objects and lists of objects are shown by their own tables, not squeezed into one line.
      if (used.has(k) || isObj(v) || (Array.isArray(v) && v.some((x) => isObj(x) || Array.isArray(x)))) continue;
      const f = field(k, v, k);
      if (f) out.push(f);
    }
  }
  return out;
}

/** Hyperparameter groups of config.training (every key shown; unknown ones under "other"). */
const TRAINING_GROUPS: [string, [string, string][]][] = [
  ['Optimisation', [['epochs', 'epochs'], ['batchSize', 'batch size (groups)'], ['learningRate', 'learning rate (Adam)'], ['minLearningRate', 'minimum learning rate'],
    ['plateauFactor', 'plateau factor'], ['plateauPatience', 'plateau patience (epochs)'], ['earlyStoppingPatience', 'early-stopping patience (epochs)'], ['patienceRestartsOnLrReduction', 'patience restarts on a learning-rate reduction'],
    ['validationFraction', 'validation fraction']]],
  ['Model', [['nFiltersScale', 'n_filters_scale'], ['intensityScaleTrainable', 'intensity scale trainable'], ['probeTrainable', 'probe trainable'],
    ['rampHead', 'ramp head (linear phase per pattern)'], ['residualBlocks', 'residual blocks'], ['backprojectedInput', 'back-projected input'], ['energyAmplitude', 'energy-scaled amplitude'], ['objectSupport', 'object support'], ['probeBig', 'probe.big border branch']]],
  ['Grouping and stitching', [['neighborCount', 'neighbour count K'], ['regroupEachEpoch', 'groups drawn afresh each epoch (gs2)'], ['symmetryAugment', 'groups turned by the probe\'s symmetries'], ['stitchCropSize', 'stitch crop size (px)'], ['stitchPhaseAlignment', 'phase-aligned stitching'], ['stitchFillHoles', 'holes filled in stitching'], ['stitchCrosstalkCorrection', 'probe crosstalk corrected (gs1)'], ['stitchCentroidRefinement', 'centroid-consistency step'], ['groupRefinement', 'group refinement iterations (gs2)'], ['stitchBlend', 'patch blending'], ['stitchAmplitudeFilter', 'amplitude weighted by its half-set FRC'], ['stitchPhaseFilter', 'phase weighted by its half-set FRC'], ['stitchContrastCalibration', 'phase contrast fitted to the patterns']]],
  ['Reproducibility and runtime', [['seed', 'seed'], ['executionProvider', 'execution provider requested']]],
];

function configSection(config: Obj): Section {
  const groups: Group[] = [];
  groups.push({
    title: 'Job and data', fields: fieldsOf(config, [
      ['jobId', 'job'], ['dose', 'dose (photons/pattern)'], ['view', 'view'], ['gridsize', 'gridsize'], ['groupSize', 'patterns per group'],
      ['n', 'N (pattern side, px)'], ['trainPatterns', 'train patterns'], ['testPatterns', 'test patterns'], ['nGroups', 'groups'],
      ['intensityScale', 'intensity scale s = √dose/(N/2)'], ['diffractionKey', 'diffraction key'], ['diffractionLayout', 'diffraction layout'],
      ['trainPath', 'train file'], ['testPath', 'test file'], ['artifactDir', 'job folder'],
    ]),
  });
  const training = isObj(config.training) ? config.training : undefined;
  if (training) {
    const used = new Set<string>();
    for (const [title, keys] of TRAINING_GROUPS) {
      keys.forEach(([k]) => used.add(k));
      const fields = fieldsOf(training, keys, false);
      if (fields.length > 0) groups.push({ title, fields });
    }
    const other = Object.keys(training).filter((k) => !used.has(k));
    if (other.length > 0) groups.push({ title: 'Other training settings', fields: other.map((k) => field(k, training[k], k)!).filter(Boolean) });
  }
  if (isObj(config.study)) groups.push({ title: 'Study roots', fields: fieldsOf(config.study, [['phaseCRoot', 'Phase C'], ['phaseDRoot', 'Phase D'], ['artifactRoot', 'artifacts']]) });
  const extra: Obj = {};
  for (const [k, v] of Object.entries(config)) if (isObj(v) && k !== 'training' && k !== 'study') extra[k] = v;
  return { id: 'config', title: 'Configuration', groups, tables: [], ...(Object.keys(extra).length ? { extra } : {}) };
}

function provenanceTable(data: Obj): Table | undefined {
  const splits = (['train', 'test'] as const).filter((s) => isObj(data[s]));
  if (splits.length === 0) return undefined;
  const rows = splits.map((s) => {
    const d = data[s] as Obj;
    const sha = str(d.sha256);
    const bytes = num(d.bytes);
    return [
      { text: s },
      { text: str(d.path) ?? '—', kind: 'path' as const },
      { text: bytes !== undefined && bytes > 0 ? formatBytes(bytes, { exact: true }) : '—' },
      { text: num(d.nPatterns)?.toLocaleString('en-US') ?? '—' },
      { text: num(d.N)?.toString() ?? '—' },
      { text: [str(d.diffractionKey), str(d.layout)].filter(Boolean).join(', ') || '—' },
      sha ? { text: `${sha.slice(0, 12)}…`, kind: 'hash' as const, title: sha } : { text: 'not recorded (dry runs read headers only)', kind: 'muted' as const },
      { text: num(d.mtimeMs) !== undefined ? new Date(num(d.mtimeMs)!).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—' },
    ];
  });
  return { id: 'data-table', columns: ['split', 'path', 'size', 'patterns', 'N', 'key, layout', 'sha256', 'modified'], rows };
}

const METRICS: [string, string][] = [['mae', 'MAE'], ['mse', 'MSE'], ['psnr', 'PSNR (dB)'], ['ssim', 'SSIM'], ['msSsim', 'MS-SSIM'], ['pearson', 'Pearson r'], ['frc50', 'FRC50 (cycles/px)']];

function metricsTable(metrics: Obj): Table | undefined {
  const parts = (['amplitude', 'phase'] as const).filter((k) => isObj(metrics[k]));
  if (parts.length === 0) return undefined;
  const keys = new Set<string>(METRICS.map(([k]) => k));
  for (const p of parts) for (const k of Object.keys(metrics[p] as Obj)) keys.add(k);
  const cols = [...keys];
  // Runs before the common evaluation (no frcUnit) recorded FRC50 as a shell index.
  const legacy = metrics.frcUnit !== 'cycles/px';
  const label = (k: string): string => (k === 'frc50' && legacy ? 'FRC50 (shell)' : METRICS.find(([m]) => m === k)?.[1] ?? k);
  const ev = isObj(metrics.evaluation) ? metrics.evaluation : undefined;
  const where = ev && typeof ev.dataset === 'string'
    ? `${ev.source === 'phase-c-test' ? 'The dose\'s common evaluation' : 'The job\'s own split'} (${ev.dataset.split(/[\\/]/).pop()})`
    : 'Test reconstruction';
  return {
    id: 'metrics-table', caption: `${where} vs. ground truth (after the study's alignment)`,
    columns: ['', ...cols.map(label)],
    rows: parts.map((p) => [{ text: p }, ...cols.map((k) => {
      const v = (metrics[p] as Obj)[k];
      return { text: v === undefined ? '' : v === null ? '—' : formatAny(v) };
    })]),
  };
}

function historyTable(history: unknown[]): Table | undefined {
  const rows = history.filter(isObj);
  if (rows.length === 0) return undefined;
  if ('iteration' in rows[0]) {
    // A Phase F run: per iteration, its error and its quality against the ground truth.
    return {
      id: 'history-table', caption: 'Per iteration',
      columns: ['iteration', 'relative error', 'amplitude r', 'phase r', 'seconds'],
      rows: rows.map((r) => [r.iteration, r.relativeError, r.amplitudeR, r.phaseR, r.seconds].map((v) => ({ text: v === null || v === undefined ? '—' : formatAny(v) }))),
    };
  }
  return {
    id: 'history-table', caption: 'Per epoch',
    columns: ['epoch', 'train loss', 'val loss', 'learning rate', 'seconds'],
    rows: rows.map((r) => [r.epoch, r.trainLoss, r.valLoss, r.lr, r.seconds].map((v) => ({ text: v === null ? '—' : formatAny(v) }))),
  };
}

function jobDocument(m: Obj): ManifestDocument {
  const sections: Section[] = [];
  const warnings: string[] = [];
  const status = str(m.status);
  const reason = str(m.reason);
  const job = isObj(m.job) ? m.job : {};
  if (m.schemaVersion !== 1) warnings.push(`Schema version ${formatAny(m.schemaVersion)}: this viewer knows version 1; fields it does not know are listed as they are.`);
  const runtime = isObj(m.runtime) ? m.runtime : undefined;
  const fallback = runtime ? str(runtime.fallbackReason) : undefined;
  if (fallback) warnings.push(`Execution provider fallback: ${fallback}`);

  const statusFields: Field[] = [];
  if (status) statusFields.push({ label: 'status', value: status, kind: 'status', id: 'field-status' });
  if (reason) statusFields.push({ label: 'reason', value: reason, kind: status === 'failed' ? 'error' : 'warn', id: 'field-reason' });
  statusFields.push(...fieldsOf(job, [['id', 'job'], ['dose', 'dose (photons/pattern)'], ['view', 'view'], ['gridsize', 'gridsize']]));
  statusFields.push(...[field('created', m.createdAt, 'createdAt'), field('updated', m.updatedAt, 'updatedAt'), field('kind', m.kind), field('schema version', m.schemaVersion),
    field('previous manifest', m.previousManifest, 'previousManifest')].filter((f): f is Field => !!f));
  sections.push({
    id: 'status', title: 'Status', groups: [{ fields: statusFields }], tables: [],
    ...(status === 'dry-run' ? { note: 'A dry run: the fully resolved plan, written without training, so there is no timing, result or artifacts yet.' } : {}),
  });

  if (isObj(m.config)) sections.push(configSection(m.config));

  if (isObj(m.data)) {
    const t = provenanceTable(m.data);
    const layout = str(m.data.layout);
    sections.push({
      id: 'data', title: 'Data provenance', groups: layout ? [{ fields: [{ label: 'study layout', value: layout }] }] : [], tables: t ? [t] : [],
    });
  }

  if (runtime) {
    const fields = fieldsOf(runtime, [
      ['executionProviderRequested', 'execution provider requested'], ['executionProviderCandidates', 'providers tried, in order'],
      ['executionProviderUsed', 'execution provider used'], ['fallbackReason', 'fallback reason'],
      ['node', 'Node.js'], ['onnxruntime', 'onnxruntime-node'], ['platform', 'platform'], ['hostname', 'host'], ['pid', 'worker pid'],
      ['threads', 'intra-op threads'], ['threadsSource', 'threads from'], ['peakRssMB', 'peak memory (MiB)'], ['heartbeatAt', 'last heartbeat'],
    ]);
    for (const f of fields) {
      if (f.id === 'field-fallbackReason') f.kind = 'warn';
      if (f.id === 'field-executionProviderUsed' && fallback) f.kind = 'warn';
    }
    if (!('executionProviderUsed' in runtime)) fields.splice(2, 0, { label: 'execution provider used', value: status === 'dry-run' ? 'not started (dry run)' : '—', kind: 'muted', id: 'field-executionProviderUsed' });
    const groups: Group[] = [{ fields }];
    const worker = isObj(m.worker) && Array.isArray(m.worker.command) ? m.worker.command.filter((x): x is string => typeof x === 'string') : undefined;
    if (worker) groups.push({ title: 'Worker', fields: [{ label: 'command', value: worker.join(' '), kind: 'code', id: 'field-workerCommand' }] });
    if (isObj(m.scheduler)) groups.push({ title: 'Scheduler', fields: Object.entries(m.scheduler).map(([k, v]) => field(k, v)!).filter(Boolean) });
    sections.push({ id: 'runtime', title: 'Runtime', groups, tables: [] });
  }

  if (isObj(m.timing)) {
    const t = m.timing;
    const fields = fieldsOf(t, [['startedAt', 'started'], ['finishedAt', 'finished'], ['seconds', 'wall time of this run'], ['trainingSeconds', 'training time (all runs)']]);
    for (const f of fields) if (f.id === 'field-seconds' || f.id === 'field-trainingSeconds') f.value = formatSeconds(num(t[f.id.slice(6)])!);
    sections.push({ id: 'timing', title: 'Timing', groups: [{ fields }], tables: [] });
  }

  if (isObj(m.progress)) {
    sections.push({ id: 'progress', title: 'Progress', groups: [{ fields: fieldsOf(m.progress, [['epoch', 'epoch'], ['epochs', 'of epochs'], ['step', 'step in epoch'], ['stepsPerEpoch', 'steps per epoch'], ['loss', 'loss'], ['imagesPerSec', 'images/s'],
      ['iteration', 'iteration'], ['iterations', 'of iterations'], ['relativeError', 'relative error'], ['updatesPerSec', 'pattern updates/s'], ['etaSeconds', 'ETA (s)']]) }], tables: [] });
  }

  // A Phase F job: the engine, its every parameter, and how it started.
  if (isObj(m.reconstruction)) {
    const rc = m.reconstruction;
    const groups: Group[] = [{ fields: fieldsOf(rc, [['engine', 'engine'], ['patterns', 'patterns'], ['n', 'N'], ['probeScale', 'probe scale'], ['initialObject', 'initial object'],
      ['initialProbe', 'initial probe'], ['positions', 'positions'], ['updateOrder', 'update order'], ['forwardModel', 'forward model'], ['loss', 'loss'], ['configKey', 'resume fingerprint']]) }];
    if (isObj(rc.parameters)) groups.push({ title: 'parameters', fields: Object.entries(rc.parameters).map(([k, v]) => field(k, v)!).filter(Boolean) });
    if (isObj(rc.resumedFrom)) groups.push({ title: 'resumed from', fields: Object.entries(rc.resumedFrom).map(([k, v]) => field(k, v)!).filter(Boolean) });
    sections.push({ id: 'reconstruction', title: 'Reconstruction', groups, tables: [] });
  }

  if (isObj(m.training)) {
    const tr = m.training;
    const fields = fieldsOf(tr, [['parameters', 'parameters'], ['batchSize', 'batch size'], ['stepsPerEpoch', 'steps per epoch'], ['trainGroups', 'train groups'],
      ['validationGroups', 'validation groups'], ['testGroups', 'test groups'], ['canvas', 'canvas (px)'], ['graphNodes', 'ONNX graph nodes'], ['sessionMs', 'session creation (ms)'],
      ['probeNormalization', 'probe normalisation'], ['probeOutsideSupport', 'probe energy outside the network\'s support'], ['patternsStreamed', 'patterns streamed from disk'], ['symmetries', 'training groups turned by']]);
    const groups: Group[] = [{ fields }];
    for (const [k, v] of Object.entries(tr)) {
      if (isObj(v) && Object.values(v).every((x) => !isObj(x))) groups.push({ title: k, fields: Object.entries(v).map(([kk, vv]) => field(kk, vv)!).filter(Boolean) });
    }
    sections.push({ id: 'training', title: 'Training plan', groups, tables: [] });
  }

  if (isObj(m.result)) {
    const r = m.result;
    const fields = fieldsOf(r, [['epochs', 'epochs'], ['steps', 'steps'], ['finalLoss', 'final train loss'], ['bestValLoss', 'best validation loss'],
      ['iterations', 'iterations'], ['relativeError', 'final relative error'], ['mse', 'final amplitude MSE'], ['stopReason', 'stopped because']]);
    const tables: Table[] = [];
    const metrics = isObj(r.metrics) ? r.metrics : undefined;
    if (metrics) {
      const t = metricsTable(metrics);
      if (t) tables.push(t);
      for (const [k, v] of Object.entries(metrics)) if (!isObj(v)) fields.push(field(k === 'testLoss' ? 'test loss' : k === 'frcUnit' ? 'FRC unit' : k, v, k)!);
      const ev = isObj(metrics.evaluation) ? metrics.evaluation : undefined;
      if (ev) {
        if (typeof ev.dataset === 'string') fields.push(field('evaluation set', ev.dataset, 'evaluationDataset')!);
        const rg = isObj(ev.region) ? ev.region : undefined;
        if (rg) fields.push(field('evaluation region', `${formatAny(rg.width)} × ${formatAny(rg.height)} px at (${formatAny(rg.x0)}, ${formatAny(rg.y0)})`, 'evaluationRegion')!);
      }
    }
    if (Array.isArray(r.history)) {
      const t = historyTable(r.history);
      if (t) tables.push(t);
    }
    const note = 'epochs' in r
      ? 'Loss is the Poisson negative log-likelihood per pattern (it can be negative; lower is better).'
      : 'The relative error is Σ(|Ψ|/N − A)² / Σ A² over every pattern of the last iteration (lower is better).';
    sections.push({ id: 'result', title: 'Result', groups: [{ fields }], tables, note });
  }

  if (isObj(m.artifacts)) {
    const rows = Object.entries(m.artifacts).filter(([, v]) => isObj(v)).map(([name, v]) => {
      const a = v as Obj;
      const sha = str(a.sha256);
      return [{ text: name, kind: 'code' as const }, { text: num(a.bytes) !== undefined ? formatBytes(num(a.bytes)!, { exact: true }) : '—' },
        sha ? { text: `${sha.slice(0, 16)}…`, kind: 'hash' as const, title: sha } : { text: '—', kind: 'muted' as const }];
    });
    sections.push({ id: 'artifacts', title: 'Artifacts', groups: [], tables: [{ id: 'artifacts-table', columns: ['file', 'size', 'sha256'], rows }] });
  }

  if (Array.isArray(m.findings) && m.findings.length > 0) {
    const rows = m.findings.filter(isObj).map((f) => [
      { text: str(f.severity) ?? '', kind: (f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warn' : 'muted') as FieldKind },
      { text: str(f.rule) ?? '', kind: 'code' as const }, { text: str(f.file) ?? '', kind: 'path' as const }, { text: str(f.key) ?? '' }, { text: str(f.message) ?? '' },
    ]);
    sections.push({ id: 'findings', title: 'Validation findings', groups: [], tables: [{ id: 'findings-table', columns: ['severity', 'rule', 'file', 'key', 'message'], rows }] });
  }

  // The order a scientist reads in: what happened and how well, where it ran, then how it was set up.
  const ORDER = ['status', 'result', 'runtime', 'timing', 'progress', 'config', 'data', 'training', 'reconstruction', 'artifacts', 'findings'];
  sections.sort((x, y) => ORDER.indexOf(x.id) - ORDER.indexOf(y.id));
  const known = new Set(['schemaVersion', 'kind', 'job', 'status', 'createdAt', 'updatedAt', 'startedAt', 'finishedAt', 'reason', 'data', 'config', 'runtime', 'worker',
    'findings', 'timing', 'progress', 'result', 'artifacts', 'training', 'reconstruction', 'scheduler', 'previousManifest']);
  const other: Obj = {};
  for (const [k, v] of Object.entries(m)) if (!known.has(k)) other[k] = v;
  if (Object.keys(other).length > 0) sections.push({ id: 'other', title: 'Other fields', groups: [], tables: [], extra: other });
  return { kind: 'job', title: `Manifest of ${str(job.id) ?? 'a job'}`, status, reason, sections, warnings };
}

function studyDocument(m: Obj): ManifestDocument {
  const sections: Section[] = [];
  const jobs = Array.isArray(m.jobs) ? m.jobs.filter(isObj) : [];
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(str(j.state) ?? '?', (counts.get(str(j.state) ?? '?') ?? 0) + 1);
  sections.push({
    id: 'study', title: 'Study', tables: [], groups: [{
      fields: [
        field('written', m.timestamp, 'writtenAt'), field('Phase C root', m.phase_c_root, 'phaseCRoot'), field('Phase D root', m.phase_d_root, 'phaseDRoot'),
        field('artifact root', m.artifact_root, 'artifactRoot'), { label: 'jobs', value: `${jobs.length} (${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')})`, id: 'field-jobs' },
        field('skipped views', m.skipped_count), field('skip summary', m.skip_summary_path, 'path'),
      ].filter((f): f is Field => !!f),
    }],
  });
  const rows = jobs.map((j) => {
    const r = isObj(j.result) ? j.result : {};
    const metrics = isObj(r.metrics) ? r.metrics : {};
    const ssim = (k: string): string => {
      const v = isObj(metrics[k]) ? num((metrics[k] as Obj).ssim) : undefined;
      return v === undefined ? '—' : formatValue(v, 3);
    };
    const st = str(j.state) ?? '';
    return [
      { text: str(j.id) ?? '', kind: 'code' as const }, { text: st, kind: (st === 'failed' ? 'error' : st === 'cancelled' ? 'warn' : undefined) as FieldKind | undefined },
      { text: num(j.gridsize)?.toString() ?? '' }, { text: num(r.epochs_completed)?.toString() ?? '—' },
      { text: num(r.final_loss) !== undefined ? formatValue(num(r.final_loss)!, 5) : '—' }, { text: num(r.best_val_loss) !== undefined ? formatValue(num(r.best_val_loss)!, 5) : '—' },
      { text: ssim('amplitude') }, { text: ssim('phase') }, { text: str(r.execution_provider) ?? '—' },
      { text: str(r.reason) ?? '', kind: 'muted' as const },
    ];
  });
  sections.push({
    id: 'jobs', title: 'Jobs', groups: [], tables: [{
      id: 'jobs-table', columns: ['job', 'state', 'gs', 'epochs', 'final loss', 'best val loss', 'amplitude SSIM', 'phase SSIM', 'provider', 'reason'],
      rows, rowJobIds: jobs.map((j) => str(j.id)),
    }],
  });
  const skipped = Array.isArray(m.skipped_views) ? m.skipped_views : [];
  if (skipped.length > 0) {
    sections.push({
      id: 'skipped', title: 'Skipped views', groups: [], tables: [{
        id: 'skipped-table', columns: ['entry'], rows: skipped.map((s) => [{ text: isObj(s) ? Object.entries(s).map(([k, v]) => `${k}: ${formatAny(v)}`).join(' · ') : formatAny(s) }]),
      }],
    });
  }
  const known = new Set(['timestamp', 'phase_c_root', 'phase_d_root', 'artifact_root', 'jobs', 'skipped_views', 'skipped_count', 'skip_summary_path']);
  const other: Obj = {};
  for (const [k, v] of Object.entries(m)) if (!known.has(k)) other[k] = v;
  if (Object.keys(other).length > 0) sections.push({ id: 'other', title: 'Other fields', groups: [], tables: [], extra: other });
  return { kind: 'study', title: 'Study training manifest', sections, warnings: [] };
}

/** The document of a parsed manifest file (job or study, recognised by its content). */
export function manifestDocument(m: unknown, hint: 'job' | 'study'): ManifestDocument {
  if (!isObj(m)) return { kind: 'unknown', title: 'Manifest', sections: [], warnings: ['The file holds no JSON object.'] };
  if (m.kind === 'ptycho-study-job' || (hint === 'job' && !Array.isArray(m.jobs))) return jobDocument(m);
  if (Array.isArray(m.jobs) || hint === 'study') return studyDocument(m);
  return { kind: 'unknown', title: 'Manifest', sections: [{ id: 'other', title: 'Fields', groups: [], tables: [], extra: m }], warnings: [] };
}
