// Reconstruction-quality metrics of the PtychoPINN study (ptycho/evaluation.py recipe): alignment, MAE/MSE/PSNR,
// SSIM (skimage defaults), the study's MS-SSIM, FRC (in cycles/pixel), Pearson r. Pure TypeScript on typed arrays:
// no vscode, no Node APIs.
export {
  evaluateReconstruction, evaluateSsim, toJsonMetrics, DEFAULT_TRIM, DEFAULT_MS_SSIM_SIGMA,
  type ImageMetrics, type ReconstructionMetrics, type MetricOptions, type JsonImageMetrics, type JsonReconstructionMetrics,
} from './evaluate';
export { ssim, SSIM_WIN } from './ssim';
export { msSsim, msSsimLevels, MS_SSIM_WEIGHTS } from './msssim';
export { frc, centreSquare, thresholdCrossing, EMPTY_SHELL, type FrcResult } from './frc';
export { removePlane, removePlaneAt, removeMean, trimImage, splitComplex, scaleToMean, mean, dataRange, type Image } from './align';
export { gaussianFilter, gaussianKernel1d, reflectIndex, separableCorrelate } from './filters';
export { mae, mse, psnr, psnrFromMse, psnrStudy, STUDY_PSNR_PEAK } from './errors';
export { pearson, pearsonOnPixels, shellToCyclesPerPixel, cyclesPerMeter } from './pearson';
export { DftPlan, fft2d } from '../fft';
