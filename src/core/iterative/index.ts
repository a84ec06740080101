// Public entry of the iterative baseline (Phase F): ePIE and rPIE reconstructions with known scan positions,
// on the simulator's far-field model (TypeScript driving a WebAssembly SIMD kernel, pieKernel.ts), and the ad reconstructor (an ONNX graph run by onnxruntime,
// which the caller passes in: nothing here loads it).
export { createReconstruction, Reconstruction, stepSizes } from './engine';
export { AdReconstruction, AD_DEFAULTS, AD_LOSSES, type AdLoss, type AdOptions, type AdRuntime } from './ad';
export { footprints, illumination, type Footprints } from './footprint';
export { compareWithTruth, coverageMask, probePeak, type TruthComparison } from './quality';
export { optionsFromDataset } from './dataset';
export type {
  Algorithm, AmplitudeReader, AmplitudeSource, ComplexImage, ComplexPlanes, IterateOptions, IterationReport, ProbeMode,
  ReconstructionOptions, ReconstructionSnapshot,
} from './types';
