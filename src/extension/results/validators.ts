// Shape checks of everything a reconstruction-viewer or study-comparison page may send (the host refuses
// anything else). Whether a job id names a real job is checked by the panels themselves (it depends on the
// study as it is now).
import type { ComparisonProtocol, ReconstructionProtocol, ResultArtifact } from '../../webview/protocol';
import type { RunCompareProtocol } from '../../webview/runCompare/protocol';
import { check, type ProtocolValidators } from '../../webview/shared/validate';
import { commonEventValidators, saveCsvValidator, savePngValidator } from '../../webview/shared/screen';

/** `dose_<int>/<view>/gs<g>`, checked for shape here and for existence by the panel. */
export const jobIdCheck = check.string({ maxLength: 200, nonEmpty: true });

export const reconstructionValidators: ProtocolValidators<ReconstructionProtocol> = {
  hostRequests: {
    savePng: savePngValidator,
    saveCsv: saveCsvValidator,
    readImages: check.object<{ jobId: string; groundTruth?: boolean }>({ jobId: jobIdCheck, groundTruth: check.optional(check.boolean()) }),
    readGroundTruth: check.object<{ jobId: string }>({ jobId: jobIdCheck }),
    train: check.object<{ jobId: string }>({ jobId: jobIdCheck }),
    openArtifact: check.object<{ jobId: string; artifact: ResultArtifact }>({ jobId: jobIdCheck, artifact: check.literal('metrics', 'manifest', 'log', 'folder') }),
    previewHere: check.object<{ jobId: string; x: number; y: number }>({ jobId: jobIdCheck, x: check.int({ min: 0, max: 1_000_000 }), y: check.int({ min: 0, max: 1_000_000 }) }),
  },
  webviewEvents: commonEventValidators,
};

export const comparisonValidators: ProtocolValidators<ComparisonProtocol> = {
  hostRequests: {
    savePng: savePngValidator,
    saveCsv: saveCsvValidator,
    readCell: check.object<{ jobId: string; groundTruth: boolean }>({ jobId: jobIdCheck, groundTruth: check.boolean() }),
    openReconstruction: check.object<{ jobId: string }>({ jobId: jobIdCheck }),
    train: check.object<{ jobId: string }>({ jobId: jobIdCheck }),
    reconstruct: check.object<{ jobId: string }>({ jobId: jobIdCheck }),
    exportReport: check.object<Record<string, never>>({}),
  },
  webviewEvents: commonEventValidators,
};

/** Compare Runs: runs are named by their key (`<job id>@<run id>`), checked against the comparison by the panel. */
const runKey = check.string({ maxLength: 400, nonEmpty: true });
export const runCompareValidators: ProtocolValidators<RunCompareProtocol> = {
  hostRequests: {
    savePng: savePngValidator,
    saveCsv: saveCsvValidator,
    readImage: check.object<{ key: string }>({ key: runKey }),
    open: check.object<{ key: string; what: 'manifest' | 'jobPanel' }>({ key: runKey, what: check.literal('manifest', 'jobPanel') }),
  },
  webviewEvents: commonEventValidators,
};
