// Public entry of the iterative baseline (Phase F): ePIE and rPIE reconstructions with known scan positions,
// on the simulator's far-field model. Pure Node TypeScript (no vscode, no onnxruntime).
export { createReconstruction, Reconstruction } from './engine';
export { ModulusProjector } from './modulus';
export { footprints, illumination, type Footprints } from './footprint';
export { compareWithTruth, coverageMask, probePeak, type TruthComparison } from './quality';
export { optionsFromDataset } from './dataset';
export type {
  Algorithm, AmplitudeReader, AmplitudeSource, ComplexImage, ComplexPlanes, IterateOptions, IterationReport, ProbeMode,
  ReconstructionOptions, ReconstructionSnapshot,
} from './types';
