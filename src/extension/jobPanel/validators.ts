// Shape checks of everything a job panel or manifest viewer page may send (the host refuses anything else).
import { JOB_ACTIONS, type JobAction, type JobPanelProtocol, type ManifestProtocol } from '../../webview/protocol';
import { check, type ProtocolValidators } from '../../webview/shared/validate';
import { commonEventValidators, saveCsvValidator, savePngValidator } from '../../webview/shared/screen';

const jobId = check.string({ maxLength: 300, nonEmpty: true });
/** Text the user selected in the log (the host copies it to the clipboard). */
export const MAX_COPY_CHARS = 64 << 20;

export const jobPanelValidators: ProtocolValidators<JobPanelProtocol> = {
  hostRequests: {
    savePng: savePngValidator,
    action: check.object<{ action: JobAction; jobId: string }>({ action: check.literal(...JOB_ACTIONS), jobId }),
    copyAll: check.object<{ jobId: string }>({ jobId }),
    copyText: check.object<{ text: string }>({ text: check.string({ maxLength: MAX_COPY_CHARS }) }),
    saveCsv: saveCsvValidator,
    preview: check.object<{ jobId: string; epoch: number }>({ jobId, epoch: check.int({ min: 0, max: 999_999 }) }),
    showRun: check.object<{ jobId: string; runId: string | null }>({ jobId, runId: check.nullable(check.string({ maxLength: 100, nonEmpty: true })) }),
  },
  webviewEvents: commonEventValidators,
};

export const manifestValidators: ProtocolValidators<ManifestProtocol> = {
  hostRequests: {
    savePng: savePngValidator,
    saveCsv: saveCsvValidator,
    action: check.object<{ action: 'openFile' | 'openJobPanel'; jobId?: string }>({
      action: check.literal('openFile', 'openJobPanel'),
      jobId: check.optional(jobId),
    }),
  },
  webviewEvents: commonEventValidators,
};
