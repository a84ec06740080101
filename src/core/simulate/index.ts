// Public entry of the study simulator (pure Node: no `vscode`, no onnxruntime): simulates a small, real
// PtychoPINN dose/overlap study — Phase C train/test datasets per dose and Phase D overlap views with their
// metrics — from a synthetic object and probe or from a base dataset's objectGuess/probeGuess.
export {
  defaultSimulationConfig, defaultObjectSize, validateSimulationConfig, doseFolder,
  DEFAULT_SEEDS, DEFAULT_DOSES, DEFAULT_CACHE_BYTES,
  type SimulationConfig, type OverlapViewConfig,
} from './config';
export { simulateStudy, type SimulationReport, type ProgressCallback } from './simulate';
export { Rng, logGamma } from './rng';
export { syntheticObject, smoothObject, syntheticProbe, probeDiameterPx, OBJECT_KINDS, type ObjectKind, type ComplexImage } from './synthetic';
export { extractPatch, FarField, farFieldAmplitude } from './forward';
export { simulationScale, noisyAmplitude, patternNoiseRng, countsFromAmplitude } from './noise';
export { PointIndex, formGroups, subsampleIndices, GROUP_SIZE, type GroupingResult } from './grouping';
export {
  discOverlapFraction, computeOverlapMetrics, geometryAcceptance, METRICS_VERSION,
  GEOMETRY_ACCEPTANCE_CAP, GEOMETRY_ACCEPTANCE_EPS, type OverlapMetrics,
} from './overlap';
export { loadBaseDataset } from './base';
export { SIMULATOR_VERSION, METADATA_SCHEMA_VERSION } from './metadata';
