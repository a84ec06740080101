// Loaded by the real VS Code extension host (extensionTestsPath) for `npm run bench:ui`: opens the file
// named by PTYCHO_BENCH_FILE in the NPZ preview a few times and records open → first pixels, then the time
// to show frames far into the file. Writes the numbers as JSON to PTYCHO_BENCH_RESULTS. No assertions.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import { runReconBench, type ReconBenchRound } from './recon';
import { runScrubBench, type ScrubBench } from './scrub';

const now = (): number => performance.now();

export async function run(): Promise<void> {
  // The NPZ preview part needs PTYCHO_BENCH_FILE; the reconstruction viewer part PTYCHO_BENCH_RECON_JOB.
  const file = process.env.PTYCHO_BENCH_FILE ?? '';
  const reconJob = process.env.PTYCHO_BENCH_RECON_JOB;
  let recon: ReconBenchRound[] = [];
  let scrub: ScrubBench | undefined;
  const out = process.env.PTYCHO_BENCH_RESULTS!;
  const rounds = Number(process.env.PTYCHO_BENCH_ROUNDS ?? 3);
  const api = await vscode.extensions.getExtension<WorkbenchApi>('ptychopinn.ptychopinn-study-workbench')!.activate();
  const provider = api.npzPreview.provider;
  const uri = vscode.Uri.file(file);
  const opens: { round: number; commandToPixelsMs: number; openToPixelsMs: number; headersMs: number; page: Record<string, number> }[] = [];
  const frames: { frame: number; selectMs: number; hostReadMs: number }[] = [];
  try {
    if (reconJob) recon = await runReconBench(api, reconJob, rounds);
    if (reconJob) scrub = await runScrubBench(api, reconJob);
    if (!file) {
      fs.writeFileSync(`${out}.tmp`, JSON.stringify({ ok: true, opens, frameSteps: frames, recon, scrub, vscode: vscode.version }, null, 2));
      fs.renameSync(`${out}.tmp`, out);
      return;
    }
    for (let round = 1; round <= rounds; round++) {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await new Promise((r) => setTimeout(r, 500));
      const t0 = now();
      await vscode.commands.executeCommand('vscode.openWith', uri, api.npzPreview.viewType);
      const editor = await provider.whenReady(uri, 60_000);
      const first = await editor.whenRendered((r) => r.event.first, 60_000);
      const e = first.event;
      opens.push({
        round, commandToPixelsMs: now() - t0, openToPixelsMs: first.openToPixelsMs, headersMs: editor.document.openMs,
        page: { scriptStartMs: e.scriptStartMs, readyMs: e.readyMs, drawnMs: e.drawnMs, requestMs: e.requestMs, drawMs: e.drawMs },
      });
    }
    const editor = provider.editorFor(uri)!;
    const state = await editor.host.sendRequest('getViewState', {});
    const n = state.frames ?? 1;
    for (const frame of [n - 1, Math.floor(n / 2), 12_345 % n, 1, n - 2]) {
      const t0 = now();
      await editor.host.sendRequest('select', { member: state.member!, frame });
      const rec = await editor.whenRendered((r) => r.event.what === `${state.member}[${frame}]`, 60_000);
      frames.push({ frame, selectMs: now() - t0, hostReadMs: rec.event.requestMs });
    }
    fs.writeFileSync(`${out}.tmp`, JSON.stringify({ ok: true, file, fileBytes: fs.statSync(file).size, frames: n, member: state.member, opens, frameSteps: frames, recon, scrub, vscode: vscode.version }, null, 2));
    fs.renameSync(`${out}.tmp`, out);
  } catch (err) {
    fs.writeFileSync(out, JSON.stringify({ ok: false, error: String((err as Error).stack ?? err), opens, frameSteps: frames, recon, scrub }, null, 2));
  }
}
