// `_metadata` JSON of the simulated datasets, following PtychoPINN's metadata schema (domain.md §3.4) and
// the records the study's tools append (canonicalize, train/test split, overlap view).

export const METADATA_SCHEMA_VERSION = '1.0.0';
/** Version of this simulator (recorded in every file it writes). */
export const SIMULATOR_VERSION = '1.0.0';
export const SIMULATOR_SCRIPT = 'ptycho-study simulate';

export interface TransformationRecord {
  tool: string;
  timestamp: string;
  operation: string;
  parameters: Record<string, unknown>;
}

export interface PhaseCMetadataInput {
  timestamp: string;
  hostname: string;
  dose: number;
  n: number;
  nImages: number;
  seed: number;
  buffer: number;
  sSim: number;
  /** Mean total counts per pattern over the patterns of this file. */
  meanCountsPerPattern: number;
  objectShape: [number, number];
  objectSource: string;
  probeSource: string;
  baseNpz?: string;
  split: 'train' | 'test';
  splitFraction: number;
  splitPoint: number;
  trainCount: number;
  testCount: number;
}

/** Metadata of a Phase C split file (patched_train.npz / patched_test.npz). */
export function phaseCMetadata(m: PhaseCMetadataInput): Record<string, unknown> {
  const ts = m.timestamp;
  const transformations: TransformationRecord[] = [
    {
      tool: SIMULATOR_SCRIPT,
      timestamp: ts,
      operation: 'simulate',
      parameters: {
        nphotons: m.dose,
        n_images: m.nImages,
        N: m.n,
        gridsize: 1,
        seed: m.seed,
        buffer: m.buffer,
        object_source: m.objectSource,
        probe_source: m.probeSource,
        object_shape: m.objectShape,
        scan_positions: 'uniform random in [buffer, size - buffer)',
        forward_model: 'I = fftshift(|FFT2(probe * bilinear_patch)|^2) / N^2, no padding',
        noise: 'counts = Poisson(s_sim^2 * I); diffraction = sqrt(counts) / s_sim',
        s_sim: m.sSim,
        simulator_version: SIMULATOR_VERSION,
      },
    },
    {
      tool: 'transpose_rename_convert',
      timestamp: ts,
      operation: 'canonicalize',
      parameters: { flipx: false, flipy: false, rename: { diff3d: 'diffraction' }, dtype: 'float32 amplitude (no sqrt applied)' },
    },
    {
      tool: 'split_dataset_tool.py',
      timestamp: ts,
      operation: 'train_test_split',
      parameters: {
        split_fraction: m.splitFraction,
        split_axis: 'y',
        split_point: m.splitPoint,
        train_count: m.trainCount,
        test_count: m.testCount,
      },
    },
  ];
  return {
    schema_version: METADATA_SCHEMA_VERSION,
    creation_info: {
      timestamp: ts,
      script: SIMULATOR_SCRIPT,
      hostname: m.hostname,
      ptychopinn_version: null,
      generator: `ptychopinn-study-workbench simulate ${SIMULATOR_VERSION}`,
    },
    physics_parameters: {
      nphotons: m.dose,
      gridsize: 1,
      N: m.n,
      probe_trainable: false,
      intensity_scale_trainable: true,
      nll_weight: 1.0,
      model_type: 'pinn',
    },
    training_parameters: { n_images: m.nImages, batch_size: 16, nepochs: 50 },
    data_transformations: transformations,
    additional_parameters: {
      input_file: m.baseNpz ?? null,
      buffer: m.buffer,
      seed: m.seed,
      simulation_type: 'coordinate_based',
      s_sim: m.sSim,
      mean_counts_per_pattern: m.meanCountsPerPattern,
      expected_counts_per_pattern: m.dose,
      split: m.split,
      object_source: m.objectSource,
      probe_source: m.probeSource,
    },
  };
}

export interface PhaseDViewInput {
  timestamp: string;
  view: string;
  sImg: number;
  nGroups: number;
  neighborCount: number;
  /** Phase C file the view derives from, relative to the study root. */
  sourceFile: string;
  rngSeedSubsample: number;
  groupingSeed: number;
  probeDiameterPx: number;
  geometryAcceptanceBound: number;
  effectiveMinAcceptance: number;
  metricsVersion: string;
  nImagesTotal: number;
  nImagesSubsampled: number;
  meanCountsPerPattern: number;
  oversampled: boolean;
}

/**
 * Metadata of a Phase D view file: the parent's metadata (deep-copied) with gridsize 2, the overlap-view
 * record appended to `data_transformations`, and the view's fields at the top level too (as the seed study's
 * own Phase D files carry them).
 */
export function phaseDMetadata(parent: Record<string, unknown>, v: PhaseDViewInput): Record<string, unknown> {
  const meta = JSON.parse(JSON.stringify(parent)) as Record<string, unknown>;
  const view = {
    overlap_view: v.view,
    gridsize: 2,
    s_img: v.sImg,
    n_groups: v.nGroups,
    neighbor_count: v.neighborCount,
    source_file: v.sourceFile,
    rng_seed_subsample: v.rngSeedSubsample,
    geometry_acceptance_bound: v.geometryAcceptanceBound,
    effective_min_acceptance: v.effectiveMinAcceptance,
  };
  const physics = (meta.physics_parameters ?? {}) as Record<string, unknown>;
  meta.physics_parameters = { ...physics, gridsize: 2 };
  const additional = (meta.additional_parameters ?? {}) as Record<string, unknown>;
  meta.additional_parameters = { ...additional, mean_counts_per_pattern: v.meanCountsPerPattern };
  const record: TransformationRecord = {
    tool: SIMULATOR_SCRIPT,
    timestamp: v.timestamp,
    operation: 'overlap_view',
    parameters: {
      ...view,
      rng_seed_grouping: v.groupingSeed,
      probe_diameter_px: v.probeDiameterPx,
      metrics_version: v.metricsVersion,
      n_images_total: v.nImagesTotal,
      n_images_subsampled: v.nImagesSubsampled,
      oversampled: v.oversampled,
      group_indices: 'n_groups x 4 rows of this file: C = 4 of the K nearest neighbours of a seed, seed excluded',
    },
  };
  const list = Array.isArray(meta.data_transformations) ? (meta.data_transformations as unknown[]) : [];
  meta.data_transformations = [...list, record];
  return { ...meta, ...view };
}
