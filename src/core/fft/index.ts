// The project's one FFT (pure TypeScript on split re/im Float64Arrays; no Node APIs, no vscode):
//   FftPlan     power-of-two lengths: 1-D (strided, batched) and n×n 2-D, in place, forward and inverse,
//               unnormalised like numpy.fft; natural order or the permutation-free bit-reversed order (pow2.ts)
//   DftPlan     any length (Bluestein's chirp-z over a power-of-two plan), and fft2d of any h×w (dft.ts)
//   fftshift2d / ifftshift2d / shiftedIndex   the centring shift of numpy.fft (shift.ts)
export { FftPlan, isPowerOfTwo, MAX_FFT_SIZE } from './pow2';
export { DftPlan, fft2d } from './dft';
export { fftshift2d, ifftshift2d, shiftedIndex } from './shift';
