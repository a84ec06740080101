// `ptycho-study` subcommands: a thin layer over src/core. Each returns an exit code; output goes to `io`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz, openNpy, NpyFormatError, type NpzMember, type NpyHeader } from '../core/npy';
import { escapeControl, escapeJsonControl } from '../core/text/escape';
import { discoverStudy, listJobs, inspectDataset, formatFinding, formatDose, hasErrors, parseJobId, DEFAULT_TRAINING, type StudyJob, type StudyLayout, type TrainingSettings, type ExecutionProvider, EXECUTION_PROVIDERS, OBJECT_SUPPORTS, STITCH_BLENDS } from '../core/study';
import { describePlan, PlanError } from '../core/run/plan';
import { writeDryRun } from '../core/run/dryRun';
import { SlurmBackend } from '../core/run/backend';
import { archivedRunIds, chooseRepresentativeRun, deleteRun, listRuns, representativeRun, RunHistoryError, settingsDiff } from '../core/run/runHistory';
import { COMPARED_METRICS, compareRuns, loadComparedRun, parseRunRef, RunCompareError, type ComparedRun, type RunComparison, type RunRef } from '../core/run/compareRuns';
import { csvDocument } from '../core/text/csv';
import { parseReconstructionJobId } from '../core/study/reconstructJobs';
import { defaultSimulationConfig, simulateStudy } from '../core/simulate';
import { table } from '../core/text/table';
import { cmdScore, SCORE_FLAGS, SCORE_HELP, SCORE_OPTIONS_HELP, SCORE_SUMMARY, SCORE_USAGE } from './score';
import { APPLY_FLAGS, APPLY_HELP, APPLY_OPTIONS_HELP, APPLY_SUMMARY, APPLY_USAGE, cmdApply } from './apply';
import { parse, str, bool, num, numList, onOffChoice, UsageError, type Parsed, type FlagSpec } from './args';
import { cmdTrain } from './train';
import { cmdSubmit, cmdTrainPlanned, SUBMIT_FLAGS, SUBMIT_HELP } from './submit';
import {
  cmdReconstruct, listedReconstructions, phaseFRootOf, PHASE_F_ROOT_FLAG, PHASE_F_ROOT_HELP, reconstructionJobToJson, reconstructionListLines,
  RECONSTRUCT_FLAGS, RECONSTRUCT_HELP, RECONSTRUCT_OPTIONS_HELP, RECONSTRUCT_USAGE,
} from './reconstruct';
import { cmdReport, REPORT_FLAGS, REPORT_HELP, REPORT_OPTIONS_HELP, REPORT_USAGE } from './report';
import { cmdRerun, RERUN_FLAGS, RERUN_HELP, RERUN_USAGE } from './rerun';
import { rootsWithFiles, settingsSourcesOf, SETTINGS_FILES_HELP, trainingSettingsWithFiles, WORKSPACE_SETTINGS_FLAG, WORKSPACE_SETTINGS_HELP } from './settingsFiles';
import { cmdNotebook, NOTEBOOK_FLAGS, NOTEBOOK_HELP, NOTEBOOK_OPTIONS_HELP, NOTEBOOK_USAGE } from './notebook';
import { cmdExportPtychodus, EXPORT_PTYCHODUS_FLAGS, EXPORT_PTYCHODUS_HELP, EXPORT_PTYCHODUS_OPTIONS_HELP, EXPORT_PTYCHODUS_SUMMARY, EXPORT_PTYCHODUS_USAGE } from './exportPtychodus';

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Folder holding the bundled entries (cli.js, worker.js). */
  distDir: string;
  cwd: string;
  signal?: AbortSignal;
  /**
   * A redrawn status line (undefined clears it): given only when stderr is a terminal. Live progress goes there; when
   * the output is piped there is none, and a run prints one line per epoch (no 500-ms lines flooding batch logs).
   */
  status?: (line: string | undefined) => void;
}

/** How a command that takes a job id finds its folder in the study (export-ptychodus, notebook, score, apply). */
export interface StudyLookup {
  loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout>;
  /** The artifact folder of a training or Phase F job id of the study. */
  jobDirOf(p: Parsed, io: CliIO, layout: StudyLayout, id: string): Promise<string>;
}

interface Command {
  summary: string;
  usage: string;
  flags: FlagSpec;
  positionals: number;
  help: string[];
  run(p: Parsed, io: CliIO): Promise<number>;
}

const ROOT_FLAGS: FlagSpec = {
  workspace: { type: 'string' },
  'phase-c-root': { type: 'string' },
  'phase-d-root': { type: 'string' },
  'artifact-root': { type: 'string' },
  ...WORKSPACE_SETTINGS_FLAG,
};
const FILTER_FLAGS: FlagSpec = { dose: { type: 'string' }, view: { type: 'string' }, gridsize: { type: 'string' } };
/** Training settings of the reconstruction-quality work (README, Reconstruction quality). */
const QUALITY_FLAGS = {
  'probe-normalization': { type: 'string' }, 'object-support': { type: 'string' }, 'min-delta': { type: 'string' }, 'early-stopping-monitor': { type: 'string' }, 'weight-init': { type: 'string' }, 'warmup-steps': { type: 'string' }, 'probe-big': { type: 'boolean' }, 'ramp-head': { type: 'boolean' }, 'no-ramp-head': { type: 'boolean' }, 'residual-blocks': { type: 'boolean' }, 'no-residual-blocks': { type: 'boolean' }, 'regroup-each-epoch': { type: 'boolean' }, 'no-regroup-each-epoch': { type: 'boolean' }, 'symmetry-augment': { type: 'boolean' }, 'no-symmetry-augment': { type: 'boolean' }, 'backprojected-input': { type: 'boolean' }, 'no-backprojected-input': { type: 'boolean' }, 'energy-amplitude': { type: 'boolean' },
  'early-stopping-patience': { type: 'string' }, 'patience-restart': { type: 'boolean' }, 'no-patience-restart': { type: 'boolean' }, 'stitch-crop-size': { type: 'string' }, 'stitch-blend': { type: 'string' },
  'preview-center': { type: 'string' }, 'preview-size': { type: 'string' }, 'keep-holes': { type: 'boolean' }, 'no-crosstalk-correction': { type: 'boolean' }, 'crosstalk-correction': { type: 'boolean' }, 'no-amplitude-filter': { type: 'boolean' }, 'no-phase-filter': { type: 'boolean' }, 'phase-filter': { type: 'boolean' }, 'amplitude-filter': { type: 'boolean' }, 'no-centroid-refinement': { type: 'boolean' }, 'group-refinement': { type: 'string' }, 'centroid-refinement': { type: 'boolean' }, 'no-contrast-calibration': { type: 'boolean' }, 'contrast-calibration': { type: 'boolean' },
} as const;
/** The core training settings' flags, each with its meaning and default (DEFAULT_TRAINING). */
const SETTINGS_HELP = [
  `  --epochs N             training epochs (default ${DEFAULT_TRAINING.epochs}; early stopping may end sooner)`,
  `  --batch-size N         groups per optimizer step (default ${DEFAULT_TRAINING.batchSize})`,
  `  --lr X                 initial Adam learning rate (default ${DEFAULT_TRAINING.learningRate}; halved on a plateau down to ${DEFAULT_TRAINING.minLearningRate})`,
  '  --n-groups N           training groups drawn from the split (default: every pattern, and for gridsize 2 no fewer than',
  '                         the dose\'s Phase C training patterns, so every view of a dose trains as many steps per',
  '                         epoch; PtychoPINN\'s n_groups, 512 upstream for every view)',
  `  --neighbor-count K     gridsize 2: a group's other patterns come from its K nearest positions (default ${DEFAULT_TRAINING.neighborCount})`,
  `  --seed S               seed of every random choice: grouping, order, initialisation (default ${DEFAULT_TRAINING.seed})`,
  `  --n-filters-scale S    network width: encoder filters 32S, 64S, 128S for 64-px patterns (PtychoPINN's n_filters_scale; default ${DEFAULT_TRAINING.nFiltersScale})`,
];
const QUALITY_HELP = [
  "  --probe-normalization energy|mask-mean  how the probe is scaled in the model (default energy; mask-mean = PtychoPINN's)",
  '  --weight-init glorot|he  how the conv kernels start (default glorot, PtychoPINN\'s; he: He-uniform, zero heads)',
  '  --warmup-steps N       linear learning-rate warm-up over the first N optimizer steps (default 0)',
  '  --probe-big            also predict the object outside the central N/2 (PtychoPINN\'s probe.big border branch)',
  '  --no-ramp-head         the network as PtychoPINN builds it, without the head that adds each pattern\'s linear phase',
  '                         ramp (default: with it; the decoders alone under-predict the local phase gradient);',
  '                         --ramp-head turns it on over a settings file that turned it off',
  '  --residual-blocks      make each level\'s second conv a residual block (it adds to its input; the same parameters):',
  '                         a lower loss sooner on some studies, no better phase (README item 27; not in PtychoPINN; off);',
  '                         --no-residual-blocks turns them off over a settings file that turned them on',
  '  --regroup-each-epoch   gridsize 2: draw each training group\'s 4 patterns afresh from its seed\'s K nearest neighbours',
  '                         every epoch (K-choose-C; README item 33); --no-regroup-each-epoch keeps one grouping',
  '  --symmetry-augment     draw each training group under a mirror or rotation the probe is symmetric under (the',
  '                         pattern and offsets turned alike: another specimen\'s data; README items 34–35), gridsize 1',
  '                         too; a probe without symmetry leaves the data as they are. Default (auto): gridsize 2 only;',
  '                         --no-symmetry-augment turns it off',
  '  --backprojected-input  let the encoder also read each pattern propagated back to the sample (its amplitude with',
  '                         the flat object\'s far-field phase, divided by the probe; README item 28; not in PtychoPINN);',
  '                         --no-backprojected-input turns it off over a settings file that turned it on',
  '  --energy-amplitude     scale each pattern\'s predicted amplitude by the rms amplitude its total counts imply',
  '                         (the decoder learns only the relative structure; not in PtychoPINN; default off)',
  '  --object-support auto|centre|full  where the network predicts the object: the central N/2 (PtychoPINN\'s',
  '                         pad_object) or all N × N (a decoder level more; gridsize 2 merges by probe intensity);',
  '                         auto (default) = full for gridsize 2, centre for gridsize 1',
  '  --min-delta X          smallest loss decrease that counts as an improvement at dose 1e5 (default 1e-4, absolute;',
  '                         scaled by dose / 1e5: the loss\'s differences scale with the counts)',
  '  --early-stopping-monitor val_loss|loss  what the schedule and early stopping watch (default val_loss)',
  '  --early-stopping-patience N  epochs without improvement before training stops (default 3)',
  '  --no-patience-restart  Keras\'s early stopping: a learning-rate reduction does not restart its patience (default: it',
  '                         does, so a run stops only at the floor of the schedule); --patience-restart turns it on',
  '  --stitch-crop-size M   central M×M of each patch used in stitching, and the evaluation margin (default 20)',
  '  --stitch-blend auto|crop|taper|probe  how patches are blended in stitching: crop = their central M×M crops with',
  '                         hard edges, as the study did; taper = every pixel weighted cos²(π·d/L) from the patch centre,',
  '                         L = N/2; probe = every pixel weighted by its patterns\' probe intensity Σ|P(x − r_k)|²;',
  '                         auto (default) = probe for gridsize 2 on the full object support, taper for gridsize 2',
  '                         on the central N/2, crop for gridsize 1',
  '  --keep-holes           stitch the central M×M crops only, as the study did: pixels no crop reaches stay 0 (default:',
  '                         such holes are filled from the rest of each patch\'s N/2 support, at weight 1e-3)',
  '  --no-crosstalk-correction  gridsize 1: stitch each pattern with the phase slopes as predicted (default: the slopes',
  '                         are re-explained with the stitched amplitude first — under a curved probe an amplitude edge',
  '                         moves the diffraction pattern as a phase ramp does); --crosstalk-correction turns it on over',
  '                         a settings file that turned it off',
  '  --no-centroid-refinement  stitch without the centroid-consistency step (default: each patch gets the phase plane its',
  '                         patterns\' measured far-field centroids ask of the stitched object, kept only when the',
  '                         result explains them better); --centroid-refinement turns it on over a settings file',
  '  --group-refinement N   gridsize 2: refine each group\'s prediction by N iterations of alternating projections on',
  '                         its own patterns before stitching (measured moduli, probe-weighted average; no other group,',
  '                         no ground truth; 0 = the network\'s predictions as made, the network alone);',
  '                         auto (default): 0, 1, 3, 10, 30 or 100, whichever makes each half\'s stitch predict the',
  '                         other half\'s held-out patterns best; 3-30 tried only where 1 beats 0, 100 only where 30',
  '                         beats 10 (README items 44-46)',
  '  --no-amplitude-filter  keep the stitched amplitude as predicted (default: each spatial frequency is weighted by',
  '                         2·FRC/(1+FRC) (Wiener), FRC between the stitches of the even and the odd patches (gridsize 2:',
  '                         of two disjoint halves of the patterns, grouped and inferred apart, the 2 raised to what four',
  '                         quarters say a doubling of the data gains) — no ground truth); --amplitude-filter turns it on',
  '                         over a settings file',
  '  --no-phase-filter      keep the stitched phase as predicted (default: weighted the same way by the FRC of the two',
  '                         half-stitches\' phases); --phase-filter turns it on over a settings file',
  '  --contrast-calibration  last step of the evaluation\'s stitching (opt-in): the phase is scaled about its mean',
  '                         plane by the one gain with which the stitched object reproduces the evaluation\'s own',
  '                         measured patterns best — no ground truth (settings files: \'auto\' = gridsize 2 only);',
  '                         --no-contrast-calibration turns it off over a settings file',
  '  --preview-center X,Y   centre (object pixels) of the window scored and previewed after each epoch (default: the',
  '                         centre of the test groups); --preview-size N its side (default 96, 16…512)',
];

/** Data checks the user may accept deliberately (recorded with the training settings). */
const DATA_FLAGS = { 'allow-intensity-data': { type: 'boolean' } } as const;
const DATA_HELP = ['  --allow-intensity-data accept diffraction that looks like intensity or counts (validation errors become warnings)'];

const ROOT_HELP = [
  '  --workspace DIR        search DIR for the Phase C/D roots (folders holding dose_* folders) and read its settings',
  '                         files (ptycho-study --help); default: the current folder',
  '  --phase-c-root DIR     Phase C root (dose_<int>/patched_{train,test}.npz); overrides the search',
  '  --phase-d-root DIR     Phase D root (dose_<int>/<view>/<view>_{train,test}.npz); overrides the search',
  '  --artifact-root DIR    where job folders go (default: phase_e beside Phase C)',
  ...WORKSPACE_SETTINGS_HELP,
];
const FILTER_HELP = [
  '  --dose X               only jobs of this dose (1000, 1e3, …)',
  '  --view V               only this view (baseline, dense, sparse, …)',
  '  --gridsize G           only this gridsize (1 or 2)',
];

const COMMANDS: Record<string, Command> = {
  inspect: {
    summary: 'show the members (dtype, shape, order, compression) and _metadata of an .npz/.npy file',
    usage: 'ptycho-study inspect <file.npz|file.npy> [--json]',
    flags: { json: { type: 'boolean' } },
    positionals: 1,
    help: ['Reads only the zip directory and the .npy headers (and _metadata): instant even for multi-GB files.', '  --json                 machine-readable output'],
    run: cmdInspect,
  },
  validate: {
    summary: 'check a dataset against the PtychoPINN NPZ contract',
    usage: 'ptycho-study validate <file.npz> [--gridsize N] [--neighbor-count K] [--json]',
    flags: { gridsize: { type: 'string' }, 'neighbor-count': { type: 'string' }, json: { type: 'boolean' }, ...DATA_FLAGS },
    positionals: 1,
    help: [
      'Checks keys, dtypes, shapes, lengths, the legacy (H,W,n) order, normalized amplitude and finite values',
      '(sampling a fixed number of frames). Exit code 1 when a finding is an error.',
      '  --gridsize N           gridsize the data will train with (2 adds the grouping checks; default 1)',
      '  --neighbor-count K     K nearest neighbours for gridsize-2 groups (default 7)',
      ...DATA_HELP,
      '  --json                 machine-readable output',
    ],
    run: cmdValidate,
  },
  list: {
    summary: 'list the dose × view jobs of a study with their state',
    usage: 'ptycho-study list [--workspace DIR | --phase-c-root D --phase-d-root D] [--artifact-root D] [filters] [--deep] [--allow-intensity-data] [--json]',
    flags: { ...ROOT_FLAGS, ...PHASE_F_ROOT_FLAG, ...FILTER_FLAGS, deep: { type: 'boolean' }, json: { type: 'boolean' }, ...DATA_FLAGS },
    positionals: 0,
    help: [...ROOT_HELP, PHASE_F_ROOT_HELP, ...FILTER_HELP, '  --deep                 also sample frames (values) — slower; default reads headers only', ...DATA_HELP, '  --json                 machine-readable output'],
    run: cmdList,
  },
  'dry-run': {
    summary: 'write the planned run of matching jobs to their artifact folders, without training',
    usage: 'ptycho-study dry-run [roots] [--dose X] [--view V] [--gridsize G] [training settings] [--json]',
    flags: {
      ...ROOT_FLAGS, ...FILTER_FLAGS, json: { type: 'boolean' },
      epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, 'n-groups': { type: 'string' },
      'neighbor-count': { type: 'string' }, seed: { type: 'string' }, ep: { type: 'string' },
      'n-filters-scale': { type: 'string' }, 'stitch-phase-align': { type: 'boolean' }, 'plain-stitch': { type: 'boolean' }, ...QUALITY_FLAGS, ...DATA_FLAGS,
    },
    positionals: 0,
    help: [
      'Resolves each job\'s full run configuration, appends it to <job>/train.log and writes <job>/manifest.json',
      '(status "dry-run") and <job>/run-config.json. Jobs whose data is missing are skipped with the reason.',
      'Exit code 1 when no job matches or a planned job is not runnable.',
      ...ROOT_HELP, ...FILTER_HELP,
      ...SETTINGS_HELP,
      '  --stitch-phase-align   synchronise the patches\' constant phases over their overlaps before stitching (default)',
      '  --plain-stitch         the study\'s plain average of the patches instead (reassemble_position)',
      ...QUALITY_HELP, ...DATA_HELP,
      `  --ep P                 execution provider: one of ${EXECUTION_PROVIDERS.join(', ')} (default auto)`,
      '  --json                 machine-readable output',
    ],
    run: cmdDryRun,
  },
  train: {
    summary: 'train the matching jobs (one after another) in worker processes with onnxruntime',
    usage: 'ptycho-study train [roots] [--dose X] [--view V] [--gridsize G] [--epochs E] [--batch-size B] [--lr L] [--ep auto|cuda|webgpu|cpu] [--threads N] [--resume | --restart] [--json]',
    flags: {
      ...ROOT_FLAGS, ...FILTER_FLAGS, json: { type: 'boolean' }, quiet: { type: 'boolean' }, resume: { type: 'boolean' }, restart: { type: 'boolean' },
      epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, 'n-groups': { type: 'string' },
      'neighbor-count': { type: 'string' }, seed: { type: 'string' }, ep: { type: 'string' },
      'n-filters-scale': { type: 'string' }, 'stitch-phase-align': { type: 'boolean' }, 'plain-stitch': { type: 'boolean' }, threads: { type: 'string' }, ...QUALITY_FLAGS, ...DATA_FLAGS,
      plan: { type: 'string' }, index: { type: 'string' },
    },
    positionals: 0,
    help: [
      'Each job trains in its own worker process (dist/worker.js): progress goes to the terminal (one redrawn line on a',
      'terminal\'s stderr; piped, one line per epoch), <job>/train.log and <job>/events.jsonl; the results (manifest.json,',
      'checkpoint.npz, model.onnx, reconstruction.npz, metrics.json, amplitude.png, phase.png) go to the job folder, and',
      'training_manifest.json / skip_summary.json to the artifact root.',
      'Ctrl-C cancels: the worker finishes its step, writes checkpoint.npz and stops; --resume continues from it.',
      'One run per job at a time: a job another run holds (<job>/run.lock) is skipped with the holder\'s pid and host.',
      'Exit code 0 when every run succeeded, 1 when one failed, was not runnable or was skipped as already running,',
      '130 when cancelled.',
      ...ROOT_HELP, ...FILTER_HELP,
      ...SETTINGS_HELP,
      '  --stitch-phase-align   synchronise the patches\' constant phases over their overlaps before stitching (default)',
      '  --plain-stitch         the study\'s plain average of the patches instead (reassemble_position)',
      ...QUALITY_HELP, ...DATA_HELP,
      `  --ep P                 execution provider: ${EXECUTION_PROVIDERS.join(', ')} (default auto: CUDA when installed, else CPU;`,
      '                         a provider that cannot start falls back to CPU and the manifest says why)',
      '  --threads N            onnxruntime intra-op threads (default 0 = automatic: SLURM_CPUS_PER_TASK, else',
      '                         OMP_NUM_THREADS, else every available core); recorded in the manifest',
      '  --resume               continue each job from its checkpoint.npz (refused when it is missing or unreadable)',
      '  --restart              start each job from scratch, discarding its checkpoint.npz',
      '  --plan F --index I     train job I of a submission plan (what a Slurm array task runs; see submit)',
      '  --json                 one JSON event per line, then a summary',
      '  --quiet                only skips, refusals, failures and each job\'s final status',
    ],
    run: (p, io) => (str(p, 'plan') !== undefined ? cmdTrainPlanned(p, io) : cmdTrain(p, io, { loadStudy: loadStudyNoted, filterOf, settingsOf: (q) => settingsOf(q, io) })),
  },
  submit: {
    summary: 'submit the matching training jobs to Slurm as one job array',
    usage: 'ptycho-study submit [roots] [--dose X] [--view V] [--gridsize G] --backend slurm [--partition P] [--time HH:MM:SS] [--gpus-per-task N] [--cpus-per-task N] [--mem M] [--array-limit K] [--account A] [training flags] [--resume] [--dry-run] [--json]',
    flags: {
      ...ROOT_FLAGS, ...FILTER_FLAGS, ...SUBMIT_FLAGS,
      epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, 'n-groups': { type: 'string' },
      'neighbor-count': { type: 'string' }, seed: { type: 'string' }, ep: { type: 'string' },
      'n-filters-scale': { type: 'string' }, 'stitch-phase-align': { type: 'boolean' }, 'plain-stitch': { type: 'boolean' }, ...QUALITY_FLAGS, ...DATA_FLAGS,
    },
    positionals: 0,
    help: [...SUBMIT_HELP, ...ROOT_HELP, ...FILTER_HELP,
      '  --epochs N  --batch-size N  --lr X  --n-groups N  --neighbor-count K  --seed S  --n-filters-scale N  --ep P (as train)',
      ...QUALITY_HELP, ...DATA_HELP],
    run: (p, io) => cmdSubmit(p, io, { loadStudy: loadStudyNoted, filterOf, settingsOf: (q) => settingsOf(q, io) }),
  },
  reconstruct: {
    summary: 'Phase F: reconstruct the matching jobs iteratively (ePIE, rPIE, ad) in worker processes',
    usage: RECONSTRUCT_USAGE,
    flags: { ...ROOT_FLAGS, ...FILTER_FLAGS, ...RECONSTRUCT_FLAGS },
    positionals: 0,
    help: [...RECONSTRUCT_HELP, ...ROOT_HELP, ...FILTER_HELP, ...RECONSTRUCT_OPTIONS_HELP],
    run: (p, io) => cmdReconstruct(p, io, { loadStudy: loadStudyNoted, filterOf }),
  },
  report: {
    summary: 'Phase G: write the study report (metrics CSV/JSON, PINN − iterative deltas, figure, README)',
    usage: REPORT_USAGE,
    flags: { ...ROOT_FLAGS, ...FILTER_FLAGS, ...REPORT_FLAGS },
    positionals: 0,
    help: [...REPORT_HELP, ...ROOT_HELP, ...FILTER_HELP, ...REPORT_OPTIONS_HELP],
    run: (p, io) => cmdReport(p, io, { loadStudy, filterOf }),
  },
  runs: {
    summary: 'list every run of a job, newest first (the latest, then the earlier ones kept under runs/)',
    usage: 'ptycho-study runs <job id> [roots] [--phase-f-root DIR] [--delete RUN_ID] [--use-in-comparisons RUN_ID|latest] [--json]',
    flags: { ...ROOT_FLAGS, ...PHASE_F_ROOT_FLAG, delete: { type: 'string' }, 'use-in-comparisons': { type: 'string' }, json: { type: 'boolean' } },
    positionals: 1,
    help: [
      'A training job (dose_<int>/<view>/gs<g>) or a Phase F job (dose_<int>/<view>/<split>/<algorithm>). A fresh run never',
      'overwrites the previous one: its files move to <job>/runs/<run id>/ when the new run starts (a resume continues',
      'the same run); the job folder\'s top level is the latest run. Each run: status, start, epochs or iterations, the',
      'amplitude and phase Pearson r of the common evaluation, and the settings that differ from the latest run.',
      ...ROOT_HELP, PHASE_F_ROOT_HELP,
      '  --delete RUN_ID        delete that earlier run (never the latest; nothing is pruned otherwise)',
      '  --use-in-comparisons RUN_ID   that (succeeded) run stands for the job in the study comparison and report;',
      '                         `latest` goes back to the default: the latest run if it succeeded, else the latest that did',
      '  --json                 one JSON object: the job and its runs',
    ],
    run: cmdRuns,
  },
  'compare-runs': {
    summary: 'compare two or more runs (of one job or of several): settings that differ, metrics with the better marked, curves',
    usage: 'ptycho-study compare-runs <job>[@<run id>] <job>[@<run id>]... [roots] [--phase-f-root DIR] [--json]',
    flags: { ...ROOT_FLAGS, ...PHASE_F_ROOT_FLAG, json: { type: 'boolean' } },
    positionals: 32,
    help: [
      'Each run is a job id (its latest run) or <job id>@<run id> (an earlier run kept under <job>/runs/<run id>/; see',
      '`ptycho-study runs <job>`). Prints the settings whose values differ, the metrics of the common evaluation',
      '(amplitude and phase: Pearson r, SSIM, MS-SSIM, FRC50, PSNR, MAE) with the best value of each row marked *, and',
      'each run\'s loss (or relative error, for a Phase F run) per epoch (iteration), read from the job\'s events.jsonl.',
      ...ROOT_HELP, PHASE_F_ROOT_HELP,
      '  --json                 one JSON object: runs (with their curves), settings, metrics, notes',
    ],
    run: cmdCompareRuns,
  },
  metrics: {
    summary: "print a job's metrics (one or more runs) as a table, CSV or JSON",
    usage: 'ptycho-study metrics <job>[@<run id>]... [roots] [--phase-f-root DIR] [--csv | --json]',
    flags: { ...ROOT_FLAGS, ...PHASE_F_ROOT_FLAG, csv: { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: 64,
    help: [
      'The metrics of each run\'s common evaluation (metrics.json): amplitude and phase Pearson r (covered and region),',
      'SSIM, MS-SSIM, FRC50 (cycles/px), PSNR, MAE. A job id means its latest run; <job id>@<run id> an earlier one.',
      ...ROOT_HELP, PHASE_F_ROOT_HELP,
      '  --csv                  tidy CSV on stdout: job,run,kind,status,part,metric,value (one row per value)',
      '  --json                 one JSON object per run: job, run, kind, status, metrics {amplitude, phase}',
    ],
    run: cmdMetrics,
  },
  'export-ptychodus': {
    summary: EXPORT_PTYCHODUS_SUMMARY,
    usage: EXPORT_PTYCHODUS_USAGE,
    flags: { ...ROOT_FLAGS, ...PHASE_F_ROOT_FLAG, ...EXPORT_PTYCHODUS_FLAGS },
    positionals: 1,
    help: [...EXPORT_PTYCHODUS_HELP, ...ROOT_HELP, PHASE_F_ROOT_HELP, ...EXPORT_PTYCHODUS_OPTIONS_HELP],
    run: (p, io) => cmdExportPtychodus(p, io, { loadStudy, jobDirOf }),
  },
  score: {
    summary: SCORE_SUMMARY,
    usage: SCORE_USAGE,
    flags: { ...ROOT_FLAGS, ...SCORE_FLAGS },
    positionals: 1,
    help: [...SCORE_HELP, ...ROOT_HELP, ...SCORE_OPTIONS_HELP],
    run: (p, io) => cmdScore(p, io, { loadStudy, jobDirOf }),
  },
  apply: {
    summary: APPLY_SUMMARY,
    usage: APPLY_USAGE,
    flags: { ...ROOT_FLAGS, ...APPLY_FLAGS },
    positionals: 1,
    help: [...APPLY_HELP, ...ROOT_HELP, ...APPLY_OPTIONS_HELP],
    run: (p, io) => cmdApply(p, io, { loadStudy, jobDirOf }),
  },
  notebook: {
    summary: 'write a Jupyter notebook beside a job: its reconstruction, metrics, amplitude/phase and loss plots',
    usage: NOTEBOOK_USAGE,
    flags: { ...ROOT_FLAGS, ...NOTEBOOK_FLAGS },
    positionals: 1,
    help: [...NOTEBOOK_HELP, ...ROOT_HELP, ...NOTEBOOK_OPTIONS_HELP],
    run: (p, io) => cmdNotebook(p, io, { loadStudy, jobDirOf }),
  },
  rerun: {
    summary: 'recreate a training or reconstruction run from its manifest and compare the metrics',
    usage: RERUN_USAGE,
    flags: RERUN_FLAGS,
    positionals: 1,
    help: RERUN_HELP,
    run: cmdRerun,
  },
  simulate: {
    summary: 'generate a small, real Phase C + Phase D study (simulated diffraction with Poisson noise)',
    usage: 'ptycho-study simulate --out DIR [--n-images N] [--size 64] [--doses 1e3,1e4,1e5] [--seed S] [--object structured|smooth] [--base file.npz] [--compress]',
    flags: {
      out: { type: 'string' }, 'n-images': { type: 'string' }, size: { type: 'string' }, doses: { type: 'string' },
      seed: { type: 'string' }, object: { type: 'string' }, base: { type: 'string' }, compress: { type: 'boolean' }, json: { type: 'boolean' },
    },
    positionals: 0,
    help: [
      'Writes DIR/phase_c/dose_<int>/patched_{train,test}.npz and DIR/phase_d/dose_<int>/{dense,sparse}/…',
      'from a built-in synthetic object and probe, or from a base .npz holding objectGuess and probeGuess.',
      '  --out DIR              study folder to create (required)',
      '  --n-images N           patterns per dose before the train/test split (default 400)',
      '  --size N               pattern size, 64 or 128 (default 64)',
      '  --doses LIST           photons per pattern (default 1e3,1e4,1e5)',
      '  --seed S               random seed (default 42); the same seed gives the same files',
      '  --object KIND          synthetic object: structured (multi-scale, sharp features; default) or smooth (specimen-like)',
      '  --base FILE            base dataset with objectGuess and probeGuess (the fly64 workflow)',
      '  --compress             deflate the arrays (smaller; no random frame access)',
      '  --json                 print the report as JSON',
    ],
    run: cmdSimulate,
  },
};

export async function runCli(argv: string[], rawIo: CliIO): Promise<number> {
  // What is printed quotes files (member names, metadata, paths, errors): no control sequence reaches the terminal.
  const json = argv.includes('--json');
  const io: CliIO = {
    ...rawIo,
    out: (l) => rawIo.out(json ? escapeJsonControl(l) : escapeControl(l)),
    err: (l) => rawIo.err(escapeControl(l)),
    ...(rawIo.status ? { status: (l: string | undefined) => rawIo.status!(l === undefined ? undefined : escapeControl(l)) } : {}),
  };
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) {
    // help <command>: that command's help, as <command> --help prints it.
    const c = COMMANDS[rest[0]];
    if (!c) {
      io.err(`ptycho-study help: unknown command "${rest[0]}". Run ptycho-study --help.`);
      return 2;
    }
    io.out(`${c.usage}\n\n${c.summary}.\n${c.help.join('\n')}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    printUsage(io);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === '-v') {
    io.out(VERSION);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`ptycho-study: unknown command "${name}". Run ptycho-study --help.`);
    return 2;
  }
  // Under --json an error is a JSON object on stdout too (and the sentence on stderr), so scripts parse every outcome.
  const fail = (code: number, kind: string, message: string, err?: unknown): number => {
    io.err(`ptycho-study ${name}: ${message}${kind === 'usage' ? ` (usage: ${cmd.usage})` : ''}`);
    if (json) {
      const file = (err as { file?: unknown } | undefined)?.file;
      io.out(JSON.stringify({ error: { code: kind, exitCode: code, message, file: typeof file === 'string' ? file : null } }));
    }
    return code;
  };
  try {
    const parsed = parse(rest, cmd.flags, cmd.positionals);
    if (bool(parsed, 'help')) {
      io.out(`${cmd.usage}\n\n${cmd.summary}.\n${cmd.help.join('\n')}`);
      return 0;
    }
    return await cmd.run(parsed, io);
  } catch (err) {
    if (err instanceof UsageError) return fail(EXIT.usage, 'usage', err.message, err);
    if ((err as Error).name === 'AbortError') return fail(EXIT.cancelled, 'cancelled', 'cancelled.', err);
    return fail(EXIT.failed, 'failed', (err as Error).message, err);
  }
}

/** Exit codes, the same for every command (documented in --help and the README). */
export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

declare const __PTYCHO_VERSION__: string | undefined;
const VERSION = typeof __PTYCHO_VERSION__ === 'string' ? __PTYCHO_VERSION__ : 'dev';

function printUsage(io: CliIO): void {
  io.out('ptycho-study — the PtychoPINN dose/overlap study from the command line\n');
  io.out('Commands:');
  for (const [name, c] of Object.entries(COMMANDS)) io.out(`  ${name.padEnd(9)} ${c.summary}`);
  io.out('\nRun ptycho-study <command> --help (or ptycho-study help <command>) for its options; --version prints the version.');
  io.out('Exit codes (every command): 0 done; 1 failed (a job, a file, the study: the reason on stderr); 2 usage (a flag or');
  io.out('argument is wrong); 130 cancelled (Ctrl-C, SIGTERM, a closed output pipe). With --json an error is also printed');
  io.out('on stdout as {"error": {"code": "failed"|"usage"|"cancelled", "exitCode", "message", "file"}}.');
  io.out('');
  for (const l of SETTINGS_FILES_HELP) io.out(l);
}

// ---------------------------------------------------------------- inspect

interface MemberSummary {
  name: string;
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  compressed: boolean;
  sizeBytes: number;
}

function summarize(name: string, h: NpyHeader, m?: NpzMember): MemberSummary {
  return { name, dtype: h.dtype.descr, shape: h.shape, fortranOrder: h.fortranOrder, compressed: m?.compression === 'deflated', sizeBytes: h.dataBytes };
}

async function cmdInspect(p: Parsed, io: CliIO): Promise<number> {
  const file = requireFile(p, io);
  let members: MemberSummary[];
  let metadata: unknown;
  let metadataRaw: string | undefined;
  let metadataError: string | undefined;
  if (file.toLowerCase().endsWith('.npy')) {
    const npy = await openNpy(file);
    try {
      members = [summarize(path.basename(file, '.npy'), npy.header)];
    } finally {
      await npy.close();
    }
  } else {
    const a = await openNpz(file);
    try {
      members = [...a.members.values()].map((m) => summarize(m.name, m.header, m));
      // Too large or not one string: said, and the members are still listed.
      const meta = await a.readMetadata().catch((err) => void (metadataError = err instanceof NpyFormatError ? err.problem : (err as Error).message));
      metadata = meta?.json;
      metadataRaw = meta && meta.json === undefined ? meta.raw : undefined;
    } finally {
      await a.close();
    }
  }
  if (bool(p, 'json')) {
    io.out(JSON.stringify({ file, members, metadata: metadata ?? metadataRaw ?? null, ...(metadataError ? { metadataError } : {}) }, null, 2));
    return 0;
  }
  io.out(file);
  io.out(table(['member', 'dtype', 'shape', 'order', 'storage', 'size'], members.map((m) => [
    m.name, m.dtype, `(${m.shape.join(', ')}${m.shape.length === 1 ? ',' : ''})`, m.fortranOrder ? 'F' : 'C', m.compressed ? 'deflated' : 'stored', bytes(m.sizeBytes),
  ])));
  if (metadata !== undefined) io.out(`_metadata:\n${JSON.stringify(metadata, null, 2)}`);
  else if (metadataRaw !== undefined) io.out(`_metadata (not JSON): ${metadataRaw}`);
  else if (metadataError !== undefined) io.out(`_metadata: not shown (${metadataError})`);
  return 0;
}

// ---------------------------------------------------------------- validate

async function cmdValidate(p: Parsed, io: CliIO): Promise<number> {
  const file = requireFile(p, io);
  const gridsize = num(p, 'gridsize', { integer: true, min: 1 }) ?? 1;
  const neighborCount = num(p, 'neighbor-count', { integer: true, min: 1 });
  const info = await inspectDataset(file, { gridsize, neighborCount, deep: true, allowIntensityData: bool(p, 'allow-intensity-data') });
  const ok = !hasErrors(info.findings);
  if (bool(p, 'json')) {
    io.out(JSON.stringify({ file, ok, patternCount: info.patternCount ?? null, n: info.n ?? null, diffractionKey: info.diffractionKey ?? null, layout: info.layout ?? null, findings: info.findings }, null, 2));
    return ok ? 0 : 1;
  }
  io.out(`${file}: ${ok ? 'OK' : 'INVALID'}${info.patternCount !== undefined ? ` — ${info.patternCount} patterns of ${info.n}×${info.n} (${info.diffractionKey})` : ''}`);
  for (const f of info.findings) io.out(`  ${formatFinding(f)}`);
  return ok ? 0 : 1;
}

// ---------------------------------------------------------------- list

async function loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout> {
  const workspace = str(p, 'workspace');
  const c = str(p, 'phase-c-root');
  const d = str(p, 'phase-d-root');
  if (workspace && (c || d)) throw new UsageError('give either --workspace or --phase-c-root/--phase-d-root, not both.');
  const resolve = (x: string | undefined): string | undefined => (x ? path.resolve(io.cwd, x) : undefined);
  // Flags, else the workspace's settings files (ptycho-study.json, .vscode/settings.json), else the search.
  const roots = rootsWithFiles(p, io, { phaseCRoot: resolve(c), phaseDRoot: resolve(d), artifactRoot: resolve(str(p, 'artifact-root')) });
  const layout = await discoverStudy({
    ...roots,
    workspace: roots.phaseCRoot || roots.phaseDRoot ? undefined : resolve(workspace) ?? io.cwd,
  });
  if (layout.doses.length === 0) {
    const where = roots.phaseCRoot || roots.phaseDRoot ? [roots.phaseCRoot, roots.phaseDRoot].filter(Boolean).join(' and ') : resolve(workspace) ?? io.cwd;
    throw new Error(`No study found in ${where}: expected folders of dose_<int> folders (Phase C: dose_<int>/patched_{train,test}.npz). Generate one with "ptycho-study simulate --out DIR".`);
  }
  return layout;
}

/** loadStudy, telling the user on stderr (one line; stdout may be JSON) when the folder held more than one study. */
async function loadStudyNoted(p: Parsed, io: CliIO): Promise<StudyLayout> {
  const layout = await loadStudy(p, io);
  if (layout.ambiguity) io.err(`note: ${layout.ambiguity.message}`);
  return layout;
}

function filterOf(p: Parsed): { dose?: number; view?: string; gridsize?: number } {
  return { dose: num(p, 'dose', { min: 0 }), view: str(p, 'view'), gridsize: num(p, 'gridsize', { integer: true, min: 1 }) };
}

export function jobToJson(j: StudyJob): Record<string, unknown> {
  const ds = (d: StudyJob['train']) => ({ path: d.path, exists: d.exists, patternCount: d.info?.patternCount ?? null, n: d.info?.n ?? null });
  return {
    kind: 'train', id: j.id, dose: j.dose, view: j.view, gridsize: j.gridsize, state: j.state, reason: j.reason ?? null,
    train: ds(j.train), test: ds(j.test), artifactDir: j.artifactDir, logPath: j.logPath, layout: j.layout ?? null,
    n: j.train.info?.n ?? null, findings: j.findings,
    lastRun: j.run ? { status: j.run.status, manifest: j.run.manifestPath, runId: typeof j.run.manifest?.runId === 'string' ? j.run.manifest.runId : null, earlierRuns: archivedRunIds(j.artifactDir).length } : null,
  };
}

/** The latest run of a job as `list` shows it: its id, and how many earlier runs are kept under runs/. */
function latestRunCell(j: StudyJob): string {
  if (!j.run || j.run.status === 'dry-run') return '-';
  const id = typeof j.run.manifest?.runId === 'string' ? j.run.manifest.runId : '?';
  const earlier = archivedRunIds(j.artifactDir).length;
  return earlier ? `${id} (+${earlier})` : id;
}

/**
 * The Slurm view of the listed jobs, when the study has recorded submissions: each job whose latest submitted task is
 * still queued or running, or ended before its run recorded anything (SlurmBackend.describe).
 */
async function slurmStatesOf(layout: StudyLayout, jobs: readonly StudyJob[]): Promise<{ states: Map<string, { slurmState: string; state: string; reason: string; arrayJobId: string; task: number }>; note?: string }> {
  const states = new Map<string, { slurmState: string; state: string; reason: string; arrayJobId: string; task: number }>();
  if (!fs.existsSync(path.join(layout.artifactRoot, 'slurm'))) return { states };
  try {
    const backend = new SlurmBackend({ artifactRoot: layout.artifactRoot }, {}, { node: process.execPath, cli: '' });
    for (const [dir, st] of await backend.describe(jobs.map((j) => ({ jobId: j.id, artifactDir: j.artifactDir, artifactRoot: layout.artifactRoot })))) {
      if (st.task) states.set(dir, { slurmState: st.task.slurmState, state: st.state, reason: st.reason ?? '', arrayJobId: st.task.arrayJobId, task: st.task.index });
    }
    return { states };
  } catch (err) {
    return { states, note: `the Slurm states of submitted jobs are not shown: ${(err as Error).message}` };
  }
}

/** The artifact folder of a training or Phase F job of the study. */
async function jobDirOf(p: Parsed, io: CliIO, layout: StudyLayout, id: string): Promise<string> {
  let dir: string | undefined;
  if (parseJobId(id)) dir = (await listJobs(layout)).find((j) => j.id === id)?.artifactDir;
  else if (parseReconstructionJobId(id)) dir = (await listedReconstructions(p, io, layout, {})).find((j) => j.id === id)?.artifactDir;
  else throw new UsageError(`"${id}" is not a job id (dose_<int>/<view>/gs<g>, or dose_<int>/<view>/<split>/<algorithm>).`);
  if (!dir) throw new Error(`No job ${id} in this study.`);
  return dir;
}

async function cmdRuns(p: Parsed, io: CliIO): Promise<number> {
  const id = p.positionals[0];
  const layout = await loadStudy(p, io);
  const dir = await jobDirOf(p, io, layout, id);
  const del = str(p, 'delete');
  if (del !== undefined) {
    try {
      await deleteRun(dir, del);
    } catch (err) {
      if (err instanceof RunHistoryError) throw new UsageError(err.message);
      throw err;
    }
    io.out(`DELETED run ${del} of ${id}`);
    return 0;
  }
  const use = str(p, 'use-in-comparisons');
  if (use !== undefined) {
    try {
      await chooseRepresentativeRun(dir, use === 'latest' ? undefined : use);
    } catch (err) {
      if (err instanceof RunHistoryError) throw new UsageError(err.message);
      throw err;
    }
    const rep = representativeRun(dir);
    io.out(rep ? `${id} is represented in comparisons by run ${rep.id}${rep.latest ? ' (latest)' : ''}: ${rep.why === 'chosen' ? 'chosen' : rep.why === 'latest' ? 'the latest run' : 'the latest that succeeded'}.` : `${id} has not run yet.`);
    return 0;
  }
  const runs = await listRuns(dir);
  const rep = representativeRun(dir, runs);
  if (bool(p, 'json')) {
    io.out(JSON.stringify({ job: id, artifactDir: dir, runs, usedInComparisons: rep ? { id: rep.id, latest: rep.latest, why: rep.why } : null }));
    return 0;
  }
  if (runs.length === 0) {
    io.out(`${id} has not run yet (${dir}).`);
    return 0;
  }
  const latest = runs[0].latest ? runs[0] : undefined;
  const r3 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
  io.out(table(['run', 'where', 'status', 'started', 'epochs', 'amp r', 'phase r', 'settings vs latest'], runs.map((r) => [
    r.id, r.latest ? '(latest)' : `runs/${r.id}`, r.status, r.startedAt ?? '', r.epochs !== undefined ? String(r.epochs) : '', r3(r.amplitudeR), r3(r.phaseR),
    r.latest ? '' : settingsDiff(latest?.settings, r.settings).join(', '),
  ])));
  if (rep) io.out(`In the study comparison and report: run ${rep.id}${rep.latest ? ' (latest)' : ''} — ${rep.why === 'chosen' ? 'chosen (--use-in-comparisons latest goes back to the default)' : rep.why === 'latest' ? 'the latest run' : 'the latest that succeeded (the latest run did not)'}.`);
  return 0;
}

/** The positionals as runs (`<job>[@<run id>]`) of the study, each with its job folder. */
async function runRefsOf(p: Parsed, io: CliIO): Promise<RunRef[]> {
  const layout = await loadStudy(p, io);
  const refs: RunRef[] = [];
  for (const text of p.positionals) {
    let ref: { jobId: string; runId?: string };
    try {
      ref = parseRunRef(text);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    refs.push({ ...ref, jobDir: await jobDirOf(p, io, layout, ref.jobId) });
  }
  return refs;
}

async function cmdCompareRuns(p: Parsed, io: CliIO): Promise<number> {
  if (p.positionals.length < 2) throw new UsageError('compare-runs needs two or more runs: <job>[@<run id>] <job>[@<run id>]...');
  const refs = await runRefsOf(p, io);
  let cmp: RunComparison;
  try {
    cmp = await compareRuns(refs);
  } catch (err) {
    if (err instanceof RunCompareError) throw new UsageError(err.message);
    throw err;
  }
  if (bool(p, 'json')) {
    io.out(JSON.stringify(cmp));
    return 0;
  }
  const names = cmp.runs.map((r, i) => `[${i + 1}]`);
  io.out(table(['', 'run', 'status', 'started', 'length'], cmp.runs.map((r, i) => [
    names[i], `${r.jobId}@${r.runId}${r.latest ? ' (latest)' : ''}`, r.status, r.startedAt ?? '', r.length !== undefined ? `${r.length} ${r.kind === 'train' ? 'epochs' : 'iterations'}` : '',
  ])));
  io.out('');
  if (cmp.settings.length) io.out(table(['setting', ...names], cmp.settings.map((s) => [s.key, ...s.values])));
  else io.out('The runs have the same settings.');
  io.out('');
  const fmt = (v: number | null, best: boolean): string => (v === null ? '—' : `${Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4)}${best ? ' *' : ''}`);
  io.out(table(['part', 'metric', ...names], cmp.metrics.map((m) => [m.part, m.label, ...m.values.map((v, i) => fmt(v, m.best.includes(i)))])));
  io.out('* the better value of the row');
  for (const n of cmp.notes) io.out(`note: ${n}`);
  return 0;
}

async function cmdMetrics(p: Parsed, io: CliIO): Promise<number> {
  if (p.positionals.length < 1) throw new UsageError('metrics needs a job: <job>[@<run id>]');
  if (bool(p, 'csv') && bool(p, 'json')) throw new UsageError('--csv and --json exclude each other');
  const runs: ComparedRun[] = [];
  for (const ref of await runRefsOf(p, io)) {
    try {
      runs.push(await loadComparedRun(ref));
    } catch (err) {
      if (err instanceof RunCompareError) throw new UsageError(err.message);
      throw err;
    }
  }
  const rows: [string, string, string, string, string, string, number][] = [];
  for (const r of runs) {
    for (const part of ['amplitude', 'phase'] as const) {
      for (const m of COMPARED_METRICS) {
        const v = r.metrics?.[part]?.[m.key];
        if (typeof v === 'number' && Number.isFinite(v)) rows.push([r.jobId, r.runId, r.kind, r.status, part, m.key, v]);
      }
    }
  }
  if (bool(p, 'json')) {
    for (const r of runs) io.out(JSON.stringify({ job: r.jobId, run: r.runId, latest: r.latest, kind: r.kind, status: r.status, metrics: r.metrics ?? null }));
    return 0;
  }
  if (bool(p, 'csv')) {
    io.out(csvDocument([['job', 'run', 'kind', 'status', 'part', 'metric', 'value'], ...rows]).replace(/\n$/, ''));
    return 0;
  }
  for (const r of runs.filter((x) => !x.metrics)) io.err(`${r.jobId}@${r.runId} (${r.status}) has no metrics.json yet.`);
  if (rows.length === 0) return runs.some((x) => x.metrics) ? 0 : 1;
  const label = new Map(COMPARED_METRICS.map((m) => [m.key, m.label]));
  io.out(table(['job', 'run', 'part', 'metric', 'value'], rows.map(([job, run, , , part, metric, value]) => [job, run, part, label.get(metric) ?? metric, String(Number(value.toPrecision(6)))])));
  return 0;
}

async function cmdList(p: Parsed, io: CliIO): Promise<number> {
  const filter = filterOf(p);
  const layout = await loadStudy(p, io);
  // The gridsize-2 checks group as training would: the neighbour count of the settings files (as the VS Code tree).
  const { neighborCount } = trainingSettingsWithFiles(p, io, {});
  const jobs = await listJobs(layout, { filter, deep: bool(p, 'deep'), neighborCount, allowIntensityData: bool(p, 'allow-intensity-data') });
  const reconstructions = await listedReconstructions(p, io, layout, filter);
  const slurm = await slurmStatesOf(layout, jobs);
  const notes = slurm.note ? [...layout.notes, slurm.note] : layout.notes;
  if (bool(p, 'json')) {
    io.out(JSON.stringify({
      phaseCRoot: layout.phaseCRoot ?? null, phaseDRoot: layout.phaseDRoot ?? null, artifactRoot: layout.artifactRoot, phaseFRoot: phaseFRootOf(p, io, layout),
      notes, ambiguity: layout.ambiguity ?? null, findings: layout.findings,
      jobs: [...jobs.map((j) => ({ ...jobToJson(j), ...(slurm.states.has(j.artifactDir) ? { slurm: slurm.states.get(j.artifactDir) } : {}) })), ...reconstructions.map(reconstructionJobToJson)],
    }, null, 2));
    return 0;
  }
  io.out(`Phase C: ${layout.phaseCRoot ?? '(none)'}\nPhase D: ${layout.phaseDRoot ?? '(none)'}\nArtifacts: ${layout.artifactRoot}`);
  for (const n of notes) io.out(`note: ${n}`);
  for (const f of layout.findings) io.out(`${formatFinding(f)} (${f.file})`);
  if (jobs.length === 0) {
    io.out('No job matches the filter.');
    return 0;
  }
  io.out(table(['job', 'dose', 'view', 'gs', 'state', 'train', 'test', 'N', 'latest run', 'reason'], jobs.map((j) => {
    const q = slurm.states.get(j.artifactDir);
    return [
      j.id, formatDose(j.dose), j.view, String(j.gridsize), q ? `${q.slurmState === 'PENDING' ? 'pending' : q.slurmState.toLowerCase()} on Slurm` : j.state,
      j.train.exists ? String(j.train.info?.patternCount ?? '?') : '-', j.test.exists ? String(j.test.info?.patternCount ?? '?') : '-',
      String(j.train.info?.n ?? '-'), latestRunCell(j), q ? `array ${q.arrayJobId}_${q.task}${q.reason && !/^None\b/.test(q.reason) ? ` (${q.reason})` : ''}` : j.reason ?? '',
    ];
  })));
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  io.out(`${jobs.length} jobs: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`);
  for (const line of reconstructionListLines(reconstructions, phaseFRootOf(p, io, layout), table)) io.out(line);
  return 0;
}

// ---------------------------------------------------------------- dry-run

function oneOf<T extends string>(p: Parsed, flag: string, allowed: readonly T[]): T | undefined {
  const v = str(p, flag);
  if (v !== undefined && !allowed.includes(v as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got "${v}").`);
  return v as T | undefined;
}

/** --stitch-phase-align (the default) or --plain-stitch; undefined when neither is given. */
function stitchChoice(p: Parsed): boolean | undefined {
  const align = bool(p, 'stitch-phase-align');
  const plain = bool(p, 'plain-stitch');
  if (align && plain) throw new UsageError('--stitch-phase-align and --plain-stitch exclude each other.');
  return align ? true : plain ? false : undefined;
}

/** `--NAME` true, `--no-NAME` false, neither undefined (the settings decide). */
/** --preview-center X,Y (object pixels). */
function previewCenterOf(p: Parsed): [number, number] | undefined {
  const v = str(p, 'preview-center');
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(v);
  if (!m) throw new UsageError(`--preview-center needs X,Y in object pixels, e.g. 400,380 (got "${v}").`);
  return [Number(m[1]), Number(m[2])];
}

/** The training settings of the flags, completed from the workspace's settings files (settingsFiles.ts). */
function settingsOf(p: Parsed, io: CliIO): Partial<TrainingSettings> {
  return trainingSettingsWithFiles(p, io, flagSettingsOf(p));
}

function flagSettingsOf(p: Parsed): Partial<TrainingSettings> {
  const ep = str(p, 'ep');
  if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProvider)) {
    throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')} (got "${ep}").`);
  }
  return {
    epochs: num(p, 'epochs', { integer: true, min: 1 }),
    batchSize: num(p, 'batch-size', { integer: true, min: 1 }),
    learningRate: num(p, 'lr'),
    nGroups: num(p, 'n-groups', { integer: true, min: 1 }),
    neighborCount: num(p, 'neighbor-count', { integer: true, min: 1 }),
    seed: num(p, 'seed', { integer: true }),
    nFiltersScale: num(p, 'n-filters-scale', { integer: true, min: 1 }),
    stitchPhaseAlignment: stitchChoice(p),
    stitchFillHoles: bool(p, 'keep-holes') ? false : undefined,
    stitchCrosstalkCorrection: onOffChoice(p, 'crosstalk-correction'),
    stitchCentroidRefinement: onOffChoice(p, 'centroid-refinement'),
    stitchAmplitudeFilter: onOffChoice(p, 'amplitude-filter'),
    stitchPhaseFilter: onOffChoice(p, 'phase-filter'),
    stitchContrastCalibration: onOffChoice(p, 'contrast-calibration'),
    probeNormalization: oneOf(p, 'probe-normalization', ['energy', 'mask-mean'] as const),
    minDelta: num(p, 'min-delta', { min: 0 }),
    weightInit: oneOf(p, 'weight-init', ['he', 'glorot'] as const),
    warmupSteps: num(p, 'warmup-steps', { min: 0, integer: true }),
    probeBig: bool(p, 'probe-big') ? true : undefined,
    rampHead: onOffChoice(p, 'ramp-head'),
    residualBlocks: onOffChoice(p, 'residual-blocks'),
    regroupEachEpoch: onOffChoice(p, 'regroup-each-epoch'),
    symmetryAugment: onOffChoice(p, 'symmetry-augment'),
    backprojectedInput: onOffChoice(p, 'backprojected-input'),
    energyAmplitude: bool(p, 'energy-amplitude') ? true : undefined,
    objectSupport: oneOf(p, 'object-support', OBJECT_SUPPORTS),
    earlyStoppingMonitor: oneOf(p, 'early-stopping-monitor', ['val_loss', 'loss'] as const),
    earlyStoppingPatience: num(p, 'early-stopping-patience', { integer: true, min: 1 }),
    patienceRestartsOnLrReduction: onOffChoice(p, 'patience-restart'),
    stitchCropSize: num(p, 'stitch-crop-size', { integer: true, min: 1 }),
    groupRefinement: str(p, 'group-refinement') === 'auto' ? 'auto' : num(p, 'group-refinement', { integer: true, min: 0 }),
    stitchBlend: oneOf(p, 'stitch-blend', STITCH_BLENDS),
    previewCenter: previewCenterOf(p),
    previewSize: num(p, 'preview-size', { integer: true, min: 16 }),
    executionProvider: ep as ExecutionProvider | undefined,
    allowIntensityData: bool(p, 'allow-intensity-data') ? true : undefined,
  };
}

async function cmdDryRun(p: Parsed, io: CliIO): Promise<number> {
  const filter = filterOf(p);
  const settings = settingsOf(p, io);
  const layout = await loadStudyNoted(p, io);
  const jobs = await listJobs(layout, { filter, deep: true, neighborCount: settings.neighborCount, allowIntensityData: settings.allowIntensityData });
  if (jobs.length === 0) throw new Error(`No job matches ${describeFilter(filter)}.`);
  const settingsSources = settingsSourcesOf(p, io);
  const json = bool(p, 'json');
  const results: Record<string, unknown>[] = [];
  let blocked = 0;
  for (const job of jobs) {
    if (job.state === 'missing') {
      results.push({ id: job.id, status: 'skipped', reason: job.reason });
      if (!json) io.out(`SKIP ${job.id}: ${job.reason}`);
      continue;
    }
    try {
      const r = await writeDryRun(job, { settings, workerScript: path.join(io.distDir, 'worker.js'), study: { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot }, settingsSources });
      if (!r.plan.runnable) blocked++;
      results.push({ id: job.id, status: 'dry-run', runnable: r.plan.runnable, blockers: r.plan.blockers, manifest: r.manifestPath, runConfig: r.runConfigPath, log: r.logPath, previousManifest: r.previousManifest ?? null, plan: r.plan });
      if (!json) {
        io.out(`DRY RUN ${job.id}`);
        for (const l of describePlan(r.plan)) io.out(`  ${l}`);
        io.out(`  wrote          ${r.manifestPath}`);
      }
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      blocked++;
      results.push({ id: job.id, status: 'error', reason: err.message });
      if (!json) io.out(`ERROR ${job.id}: ${err.message}`);
    }
  }
  if (json) io.out(JSON.stringify({ artifactRoot: layout.artifactRoot, settingsSources: settingsSources ?? [], jobs: results }, null, 2));
  else io.out(`${results.filter((r) => r.status === 'dry-run').length} planned, ${results.filter((r) => r.status === 'skipped').length} skipped, ${blocked} not runnable.`);
  return blocked > 0 ? 1 : 0;
}

function describeFilter(f: { dose?: number; view?: string; gridsize?: number }): string {
  const parts = [f.dose !== undefined ? `dose ${f.dose}` : '', f.view ? `view ${f.view}` : '', f.gridsize !== undefined ? `gridsize ${f.gridsize}` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'the study';
}

// ---------------------------------------------------------------- simulate

async function cmdSimulate(p: Parsed, io: CliIO): Promise<number> {
  const out = str(p, 'out');
  if (!out) throw new UsageError('--out DIR is required.');
  const cfg = defaultSimulationConfig(path.resolve(io.cwd, out));
  const nImages = num(p, 'n-images', { integer: true, min: 8 });
  const size = num(p, 'size', { integer: true, min: 8 });
  const seed = num(p, 'seed', { integer: true });
  const doses = numList(p, 'doses');
  const base = str(p, 'base');
  if (nImages !== undefined) cfg.nImages = nImages;
  if (size !== undefined) cfg.size = size;
  if (seed !== undefined) cfg.seed = seed;
  if (doses) cfg.doses = doses;
  if (base) cfg.baseNpz = path.resolve(io.cwd, base);
  const object = str(p, 'object');
  if (object !== undefined) {
    if (object !== 'structured' && object !== 'smooth') throw new UsageError(`--object must be structured or smooth (got ${object}).`);
    cfg.objectKind = object;
  }
  if (bool(p, 'compress')) cfg.compress = true;
  let lastPct = -1;
  const report = await simulateStudy(cfg, (msg, fraction) => {
    const pct = Math.floor(fraction * 100);
    if (pct !== lastPct) {
      lastPct = pct;
      io.err(`[${String(pct).padStart(3)}%] ${msg}`);
    }
  }, io.signal);
  if (bool(p, 'json')) {
    io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  io.out(`Simulated study in ${cfg.outDir} (${report.seconds.toFixed(1)} s):`);
  for (const d of report.doses) io.out(`  dose ${formatDose(d.dose)}: ${d.train} train + ${d.test} test patterns, mean counts/pattern ${d.meanCounts.toFixed(0)}`);
  io.out(`${report.files.length} files written. Next: ptycho-study list --workspace ${out}`);
  return 0;
}

// ---------------------------------------------------------------- helpers

function requireFile(p: Parsed, io: CliIO): string {
  const f = p.positionals[0];
  if (!f) throw new UsageError('a file argument is required.');
  const file = path.resolve(io.cwd, f);
  // Opening a FIFO for reading blocks until a writer appears: refuse anything but a regular file up front.
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw new Error(`${file} is not a regular file (a folder, FIFO, device or socket); it is not opened.`);
  return file;
}


function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
