// The reconstruction-viewer part of `npm run bench:ui` (extension-host side): opens the viewer on the job
// named by PTYCHO_BENCH_RECON_JOB (a 1024 × 1024 complex object written by bench-ui.ts) a few times and
// records, per open, the host's command → first pixels and the page's own breakdown: the readImages request
// (host read + transfer) and message → pixels (decoding the ArrayBuffers, amplitude and phase through their
// colormaps onto the canvases), then the time until the ground truth and both differences are drawn too.
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';

export interface ReconBenchRound {
  round: number;
  commandToPixelsMs: number;
  /** The page: readImages request → response (host read of the npz and the transfer). */
  requestMs: number;
  /** The page: response arrived → amplitude and phase drawn (decode, colormaps, canvas). */
  messageToPixelsMs: number;
  /** The page: response arrived → all six images drawn (ground truth and differences included). */
  messageToAllMs?: number;
  /** Where message → pixels went (derive, then per image: values, window, colormap, putImageData, draw). */
  stagesMs?: Record<string, number>;
  hostReadMs?: number;
  width?: number;
  height?: number;
}

export async function runReconBench(api: WorkbenchApi, jobId: string, rounds: number): Promise<ReconBenchRound[]> {
  const out: ReconBenchRound[] = [];
  await api.refresh();
  await api.whenIdle();
  for (let round = 1; round <= rounds; round++) {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    const panel = await vscode.commands.executeCommand<import('../../../src/extension/results').ReconstructionPanel>('ptychoStudy.showReconstruction', jobId);
    if (!panel) throw new Error(`no reconstruction viewer for ${jobId}`);
    const first = await panel.renders.when((r) => r.event.what.startsWith('reconstruction amplitude+phase'), 60_000);
    const commandToPixelsMs = performance.now() - t0;
    const all = await panel.renders.when((r) => r.event.what === 'all images', 60_000).catch(() => undefined);
    out.push({
      round, commandToPixelsMs, requestMs: first.event.requestMs, messageToPixelsMs: first.event.drawMs,
      ...(all ? { messageToAllMs: all.event.drawMs } : {}),
      ...(first.event.stagesMs ? { stagesMs: first.event.stagesMs } : {}),
      ...(panel.lastImages ? { hostReadMs: panel.lastImages.readMs, width: panel.lastImages.width, height: panel.lastImages.height } : {}),
    });
    panel.panel.dispose();
  }
  return out;
}
