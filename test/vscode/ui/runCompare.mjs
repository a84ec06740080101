// UI check of Compare Runs (issue 15) in the real VS Code (code-server + Playwright), called from ui-checks.mjs
// after the job panel trained dose_10000/baseline/gs1: the CLI trains it again with other settings (its first run
// moves to runs/<id>/), then "Compare Runs" from the command palette picks the job and its two runs, and the panel
// shows the setting that differs, the metrics with the better value marked, both loss curves and both
// reconstructions on one colour scale. Screenshot: 60-compare-runs.png.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * @param page Playwright page of the workbench
 * @param step (name, fn) → records one check
 * @param shot (file name) → saves a screenshot
 * @param h helpers: { workspace, repoRoot, runCommand, webviewFrame, canvasPixels }
 */
export async function runCompareChecks(page, step, shot, h) {
  const { workspace, repoRoot, runCommand, webviewFrame, canvasPixels } = h;
  await step('Compare Runs: a job trained twice — the palette picks its runs; settings that differ, ★ on the better metrics, both curves, both reconstructions on one scale', async () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'train', '--workspace', workspace, '--dose', '10000', '--view', 'baseline',
      '--epochs', '2', '--batch-size', '8', '--n-filters-scale', '1'], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`train failed (${r.status}): ${(r.stdout + r.stderr).slice(-800)}`);
    await runCommand('View: Close All Editors');
    await runCommand('PtychoPINN Study: Compare Runs');
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'dose_10000/baseline/gs1' }).first().waitFor({ timeout: 30_000 });
    await input.fill('dose_10000/baseline/gs1');
    await page.keyboard.press('Enter');
    // The runs: the two newest are picked already; OK.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: '(latest)' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    const panel = await webviewFrame('#rc-metrics-table');
    await panel.locator('#rc-title', { hasText: 'Compare Runs of dose_10000/baseline/gs1' }).waitFor();
    await panel.locator('#rc-settings-table', { hasText: 'training.epochs' }).waitFor();
    const best = await panel.locator('#rc-metrics-table td.rc-best').count();
    if (best < 1) throw new Error('no better value marked in the metrics table');
    await panel.waitForFunction(() => !!document.getElementById('rc-amp-1') && /One colour scale for every run: amplitude/.test(document.getElementById('rc-scale')?.textContent ?? ''), undefined, { timeout: 30_000 });
    for (const sel of ['#rc-amp-0', '#rc-amp-1', '#rc-phase-0', '#rc-phase-1']) {
      const px = await canvasPixels(panel, sel);
      if (px.drawn < 0.2 || px.colors < 8) throw new Error(`${sel} looks blank (${JSON.stringify(px)})`);
    }
    const chart = await canvasPixels(panel, '#rc-chart-canvas');
    if (chart.colors < 3) throw new Error(`the curves chart looks empty (${JSON.stringify(chart)})`);
    await panel.locator('#rc-curves').scrollIntoViewIfNeeded();
    await shot('60-compare-runs.png');
    await panel.locator('#rc-images').scrollIntoViewIfNeeded();
    await shot('61-compare-runs-images.png');
  });
}
