// UI checks of Phase F and the study report (called from ui-checks.mjs after the result-panel checks, on the
// demo study they trained): a reconstruction run with the CLI appears in the study comparison as an iterative
// column with its PINN − iterative row, and Export Study Report… on the comparison's toolbar asks for a folder
// (code-server's folder dialog is a quick input) and writes the report there.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * @param page Playwright page of the workbench
 * @param step (name, fn) → records one check
 * @param shot (file name) → saves a screenshot
 * @param h helpers: { workspace, repoRoot, runCommand, webviewFrame }
 */
export async function phaseFChecks(page, step, shot, h) {
  const { workspace, repoRoot, runCommand, webviewFrame } = h;
  let grid;
  await step('Phase F: a reconstruction (CLI, ePIE, 5 iterations) shows as an iterative column and a PINN − iterative row of the comparison', async () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'reconstruct', '--workspace', workspace, '--dose', '1000', '--view', 'dense', '--iterations', '5'],
      { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`reconstruct failed (${r.status}): ${(r.stdout + r.stderr).slice(-800)}`);
    await runCommand('View: Close All Editors');
    await runCommand('PtychoPINN Study: Compare Study');
    grid = await webviewFrame('#cmp-grid');
    // The grid follows the study live: the new job shows once the file watcher has reported it.
    await grid.waitForFunction(() => [...document.querySelectorAll('.cmp-colhead')].some((e) => e.textContent === 'dense · ePIE'), undefined, { timeout: 60_000 });
    await grid.locator('#delta-table tr[data-iterative="dose_1000/dense/test/epie"]').waitFor({ timeout: 30_000 });
    const marked = await grid.locator('#delta-table td.best, #delta-table td.delta-iterative').count();
    if (marked < 1) throw new Error('no better value marked in the PINN − iterative table');
    await grid.locator('#delta-table').scrollIntoViewIfNeeded();
    await shot('60-comparison-phase-f.png');
  });

  await step('Phase F: Export Study Report… on the comparison toolbar writes the report into the folder picked', async () => {
    const out = path.join(workspace, 'study-report');
    fs.mkdirSync(out, { recursive: true });
    await grid.locator('#export-report').scrollIntoViewIfNeeded();
    await grid.locator('#export-report').click();
    // code-server's folder dialog is a quick input; it starts beside Phase C (the demo-study folder).
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await page.waitForFunction(() => /demo-study\/?$/.test(document.querySelector('.quick-input-widget input')?.value ?? ''));
    await input.fill(out);
    // Let the dialog list the typed folder, then accept with its OK button ("Export Report Here"); Enter on a
    // folder path may only open that folder in the list, so it is the fallback.
    const accept = page.locator('.quick-input-widget .monaco-button', { hasText: 'Export Report Here' });
    for (let i = 0; i < 4; i++) {
      await page.waitForTimeout(1000);
      if (!(await input.isVisible().catch(() => false))) break;
      if (await accept.isVisible().catch(() => false)) await accept.click();
      else await page.keyboard.press('Enter');
    }
    await grid.waitForFunction(() => /^Report written to /.test(document.querySelector('#cmp-status')?.textContent ?? ''), undefined, { timeout: 60_000 });
    const status = await grid.locator('#cmp-status').innerText();
    for (const f of ['comparison_metrics.csv', 'metrics_summary.json', 'metrics_delta_summary.json', 'comparison_figure.png', 'README.md']) {
      if (!fs.existsSync(path.join(out, f))) throw new Error(`${f} missing in ${out} (${status})`);
    }
    const csv = fs.readFileSync(path.join(out, 'comparison_metrics.csv'), 'utf8');
    if (!/\n1000,dense,epie,test,phase,ssim,/.test(csv)) throw new Error('the ePIE job is not in comparison_metrics.csv');
    console.log(`    ${status}`);
    await shot('61-report-exported.png');
  });

  await step('Tables: CSV… above the PINN − iterative table saves the table as shown through the save dialog', async () => {
    await grid.locator('#delta-table').scrollIntoViewIfNeeded();
    // The button sits right before the table (or its scroll wrapper).
    await grid.evaluate(() => {
      const t = document.querySelector('#delta-table');
      const anchor = t.parentElement.classList.contains('table-x') ? t.parentElement : t;
      if (!anchor.previousElementSibling?.classList.contains('table-csv')) throw new Error('no CSV… button before #delta-table');
      anchor.previousElementSibling.id = 'delta-csv';
    });
    await grid.locator('#delta-csv').click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await page.waitForFunction(() => /\.csv$/.test(document.querySelector('.quick-input-widget input')?.value ?? ''));
    const target = await input.inputValue();
    await page.keyboard.press('Enter');
    const deadline = Date.now() + 15_000;
    while (!fs.existsSync(target) && Date.now() < deadline) await page.waitForTimeout(200);
    if (!fs.existsSync(target)) throw new Error(`no CSV at ${target}`);
    const lines = fs.readFileSync(target, 'utf8').trim().split('\n');
    const rows = await grid.locator('#delta-table tbody tr').count();
    if (lines.length !== rows + 1) throw new Error(`CSV has ${lines.length} lines for ${rows} table rows + header`);
    if (!/dense/.test(lines.slice(1).join('\n'))) throw new Error(`the CSV does not hold the dense rows: ${lines.slice(0, 3).join(' | ')}`);
    console.log(`    ${path.basename(target)}: ${lines.length} lines, header "${lines[0].slice(0, 80)}"`);
  });
}
