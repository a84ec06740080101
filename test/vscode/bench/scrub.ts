// The job panel's Reconstruction slider in `npm run bench:ui` (extension-host side): opens the job panel of the
// bench job (50 epoch previews written by bench-recon-study.ts) and moves the slider through every epoch twice —
// the first pass reads each preview from the host, the second redraws from the page's cache — recording, per
// move, the page's time from the slider moving to the image drawn (PreviewView.show). No assertions.
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';

export interface ScrubBench {
  epochs: number;
  /** ms per slider move, first pass (fetch + draw) and second pass (drawn from the cache). */
  firstPass: number[];
  secondPass: number[];
}

export async function runScrubBench(api: WorkbenchApi, jobId: string): Promise<ScrubBench> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.commands.executeCommand('ptychoStudy.openLog', jobId);
  const jp = await api.jobPanels.panels.whenReady(jobId);
  const deadline = Date.now() + 60_000;
  let epochs: number[] = [];
  while (Date.now() < deadline) {
    await jp.flush();
    epochs = (await jp.host.sendRequest('getViewState', {})).preview.epochs;
    if (epochs.length >= 50) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const pass = async (): Promise<number[]> => {
    const out: number[] = [];
    for (const epoch of epochs) out.push((await jp.host.sendRequest('showPreview', { epoch })).drawMs);
    return out;
  };
  const firstPass = await pass();
  const secondPass = await pass();
  return { epochs: epochs.length, firstPass, secondPass };
}
