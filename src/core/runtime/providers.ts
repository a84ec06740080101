// Which onnxruntime execution providers a run would try, decided without loading onnxruntime
// (the extension host must never load it). The worker later tries them in this order and records
// in the manifest which one it really used and why it fell back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionProvider } from '../study/config';

export interface ProviderPlan {
  requested: ExecutionProvider;
  /** Providers to try, in order; `cpu` is always last. */
  candidates: string[];
  /** Facts that decided the order, e.g. "CUDA provider library not installed". */
  notes: string[];
}

/** Folder of the onnxruntime-node native binaries for this platform, if the package is installed. */
export function onnxruntimeBinDir(resolveFrom: string = __dirname): string | undefined {
  try {
    const pkg = require.resolve('onnxruntime-node/package.json', { paths: [resolveFrom, process.cwd()] });
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

export function cudaProviderInstalled(binDir: string | undefined): boolean {
  if (!binDir) return false;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return fs.existsSync(path.join(binDir, lib));
}

export function planProviders(requested: ExecutionProvider, binDir: string | undefined = onnxruntimeBinDir()): ProviderPlan {
  const notes: string[] = [];
  const cuda = cudaProviderInstalled(binDir);
  if (!binDir) notes.push('onnxruntime-node is not installed: training cannot run until it is (npm install).');
  const cudaNote = cuda
    ? 'CUDA provider library is installed; CUDA is tried first and falls back to CPU if the CUDA runtime is missing.'
    : 'CUDA provider library is not installed (install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node on a machine with network access).';
  switch (requested) {
    case 'cpu':
      return { requested, candidates: ['cpu'], notes };
    case 'cuda':
      notes.push(cudaNote);
      return { requested, candidates: ['cuda', 'cpu'], notes };
    case 'webgpu':
      notes.push('WebGPU needs a Vulkan loader and GPU driver; without them the run falls back to CPU.');
      return { requested, candidates: ['webgpu', 'cpu'], notes };
    case 'auto':
    default:
      notes.push(cudaNote);
      return { requested, candidates: cuda ? ['cuda', 'cpu'] : ['cpu'], notes };
  }
}
