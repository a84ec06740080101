// onnxruntime sessions with honest execution-provider fallback. onnxruntime-node throws (it does not fall
// back) when a provider's libraries are missing (onnx-training.md §8), so each candidate is tried in turn and
// the reason for every fallback is kept for the log, the event stream and the manifest.
// The onnxruntime module is passed in (never imported here), so core stays loadable without it.
import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

export interface SessionChoice {
  session: OrtSession;
  /** The provider the session runs on. */
  provider: string;
  /** Why earlier candidates were not used (empty when the first one worked). */
  fallbacks: { provider: string; reason: string }[];
}

export interface SessionOptions {
  /** Providers to try in order; `cpu` should be last. */
  providers: readonly string[];
  optimization: 'disabled' | 'basic' | 'extended' | 'all';
  intraOpThreads?: number;
}

/** Turns onnxruntime's provider errors into a sentence a user can act on. */
export function explainProviderError(provider: string, err: unknown): string {
  const msg = String((err as Error)?.message ?? err).split('\n')[0];
  if (provider === 'cuda' && /Failed to load shared library|providers_cuda|providers_shared/i.test(msg)) {
    return 'CUDA execution provider not installed (libonnxruntime_providers_cuda.so is missing: onnxruntime-node downloads it at install time, which was skipped); trained on CPU. On a machine with network access and an NVIDIA GPU run: ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@1.30.0';
  }
  if (provider === 'cuda' && /CUDA|cudart|cublas|cudnn/i.test(msg)) {
    return `CUDA is not usable on this machine (${msg}); trained on CPU.`;
  }
  if (provider === 'webgpu' && /adapter|Vulkan|webgpu/i.test(msg)) {
    return `WebGPU has no usable GPU adapter (${msg}); it needs the Vulkan loader (libvulkan1) and a GPU driver. Trained on CPU.`;
  }
  return `${provider} execution provider failed to start (${msg}); fell back to the next provider.`;
}

/**
 * A provider can start and still lack a kernel the graph needs, failing only at its first run (measured on an H200:
 * onnxruntime 1.30's WebGPU provider has no MaxPool with the Indices output that the training graph's pooling
 * backward uses — README, Execution providers). So a session on any provider but the CPU's runs once on zero inputs
 * (every symbolic dimension 1; the outputs are dropped: sessions hold no state) before it is accepted.
 */
async function trialRun(ort: OrtModule, session: OrtSession): Promise<void> {
  const feeds: Record<string, Ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new Error(`input ${m.name} is not a tensor`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const data = m.type === 'float32' ? new Float32Array(size) : m.type === 'float64' ? new Float64Array(size) : m.type === 'int64' ? new BigInt64Array(size)
      : m.type === 'int32' ? new Int32Array(size) : m.type === 'bool' ? new Uint8Array(size) : undefined;
    if (!data) throw new Error(`input ${m.name} has type ${m.type}, which the trial run does not build`);
    feeds[m.name] = new ort.Tensor(m.type, data, dims);
  }
  await session.run(feeds);
}

/** Creates a session on the first provider that works (and, but for the CPU, runs the graph). Throws only when every candidate fails. */
export async function createSession(ort: OrtModule, model: Uint8Array, options: SessionOptions): Promise<SessionChoice> {
  const fallbacks: { provider: string; reason: string }[] = [];
  for (const provider of options.providers) {
    let session: OrtSession | undefined;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: options.optimization,
        ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
    } catch (err) {
      fallbacks.push({ provider, reason: explainProviderError(provider, err) });
      continue;
    }
    if (provider === 'cpu') return { session, provider, fallbacks };
    try {
      await trialRun(ort, session);
      return { session, provider, fallbacks };
    } catch (err) {
      await session.release().catch(() => undefined);
      const msg = String((err as Error)?.message ?? err).split('\n')[0];
      fallbacks.push({ provider, reason: `the ${provider} execution provider started but cannot run this model (${msg}); fell back to the next provider.` });
    }
  }
  const tried = fallbacks.map((f) => `${f.provider}: ${f.reason}`).join(' | ');
  throw new Error(`No execution provider could run the model. ${tried}`);
}

/** Quiets onnxruntime's native logger (it prints provider-loading errors to stderr that we report ourselves). */
export function quietOrt(ort: OrtModule): void {
  ort.env.logLevel = 'fatal';
}
